//! Groups and memberships. Membership changes are deltas (O(changed members)); deleting a group deactivates the
//! members for whom it was the only group, in the same transaction.
use super::users::patch_error;
use super::{Ctx, check_if_match, now, read_tx, target, write_tx};
use crate::error::Kind;
use crate::model::*;
use crate::rules::{membership, ownership};
use crate::scim::patch::{MemberOp, PatchOp, group_patch};
use crate::scim::resource::{GroupBody, parse_group};
use crate::store::{GroupQuery, Store, Tx};
use crate::{Error, Result};
use serde_json::Value;
use std::collections::HashSet;
use std::sync::Arc;

#[derive(Clone)]
pub struct GroupService {
    pub(super) store: Arc<dyn Store>,
}

/// The one write path for an existing group: load, If-Match, ownership, then `$body` changes `$g` (it may use `$tx`
/// for membership deltas) and yields the log summary; [`finish`] stores and logs. All in one transaction.
macro_rules! mutate_group {
    ($self:ident, $ctx:expr, $id:expr, $if_match:expr, $status:expr, |$tx:ident, $g:ident| $body:expr) => {
        write_tx!($self.store, |tx| {
            let settings = tx.settings().await?;
            let before = tx.group($id).await?.ok_or_else(|| Error::not_found(Kind::Group, $id))?;
            check_if_match($if_match, before.version)?;
            ownership::check_write(&$ctx.actor, &before.managed_by, settings.scim_enabled, || {
                format!("Group '{}'", before.display_name)
            })?;
            let mut group = before.clone();
            let summary: Result<(String, bool)> = async {
                let $tx: &mut dyn Tx = &mut *tx;
                let $g: &mut Group = &mut group;
                $body
            }
            .await;
            let (summary, members_changed) = summary?;
            finish(tx, $ctx, &before, group, $status, summary, members_changed).await
        })
    };
}

/// Stores and logs the change. `members_changed` counts too: swapping one member for another leaves every group
/// field equal but is a change (a new ETag and a log entry).
async fn finish(
    tx: &mut dyn Tx,
    ctx: &Ctx,
    before: &Group,
    mut g: Group,
    status: u16,
    summary: String,
    members_changed: bool,
) -> Result<Group> {
    if let Some(idp) = ctx.idp() {
        g.managed_by = ManagedBy::Scim { idp }; // An IdP write adopts the group.
    }
    if g == *before && !members_changed {
        return Ok(g); // A retried request that changes nothing writes nothing.
    }
    g.version = before.version + 1;
    g.updated_at = now();
    tx.update_group(&g).await?;
    log(tx, ctx, status, &g, summary).await?;
    Ok(g)
}

impl GroupService {
    /// POST /Groups. A displayName that exists in any case is adopted (the brief's same-name push): the group becomes
    /// IdP-managed, keeps its id, and the POSTed members replace its membership. Returns the group and whether it was adopted.
    pub async fn create(&self, ctx: &Ctx, body: Value) -> Result<(Group, bool)> {
        let body = parse_group(body)?;
        let at = now();
        write_tx!(self.store, |tx| {
            let managed_by = ctx.idp().map(|idp| ManagedBy::Scim { idp }).unwrap_or(ManagedBy::Local);
            match tx.group_by_name(&fold(&body.display_name)).await? {
                // Adopt a local group, or re-adopt one this IdP already owns (a retried or repeated push); never take
                // over a group another IdP manages.
                Some(mut existing)
                    if ctx.idp().is_some() && (!existing.managed_by.is_scim() || existing.managed_by == managed_by) =>
                {
                    // Adoption changes the owner and the membership, so it is a new version: an If-Match carrying the
                    // local group's old ETag must no longer match (RFC 7644 §3.14).
                    existing.version += 1;
                    let (g, summary, _) = overwrite(tx, ctx, existing, body, managed_by, at).await?;
                    log(tx, ctx, 201, &g, format!("adopted existing group; {summary}")).await?;
                    Ok((g, true))
                }
                Some(_) => Err(Error::Conflict { what: "group name", value: body.display_name }),
                None => {
                    let mut g = Group {
                        id: GroupId(uuid::Uuid::new_v4().to_string()),
                        display_name: body.display_name,
                        external_id: body.external_id,
                        managed_by,
                        extra: body.extra,
                        member_count: 0,
                        version: 1,
                        created_at: at,
                        updated_at: at,
                    };
                    tx.insert_group(&g).await?;
                    let members = resolve_members(tx, &body.members.unwrap_or_default()).await?;
                    let added = add(tx, ctx, &g, &members, at).await?;
                    g.member_count = added;
                    log(tx, ctx, 201, &g, format!("created with {added} members")).await?;
                    Ok((g, false))
                }
            }
        })
        .await
    }

    /// A local group made in the panel.
    pub async fn create_local(&self, ctx: &Ctx, name: &str) -> Result<Group> {
        self.create(ctx, serde_json::json!({ "displayName": name.trim() })).await.map(|(g, _)| g)
    }

    pub async fn get(&self, id: &GroupId) -> Result<Group> {
        read_tx!(self.store, |tx| tx.group(id).await?.ok_or_else(|| Error::not_found(Kind::Group, id))).await
    }

    /// The group with all its members (SCIM GET without `excludedAttributes=members`).
    pub async fn get_with_members(&self, id: &GroupId) -> Result<(Group, Vec<MemberRef>)> {
        read_tx!(self.store, |tx| {
            let g = tx.group(id).await?.ok_or_else(|| Error::not_found(Kind::Group, id))?;
            let m = tx.members(id, 1, 0).await?.items;
            Ok((g, m))
        })
        .await
    }

    pub async fn detail(&self, actor: &Actor, id: &GroupId, start_index: i64, count: i64) -> Result<GroupDetail> {
        read_tx!(self.store, |tx| {
            let group = tx.group(id).await?.ok_or_else(|| Error::not_found(Kind::Group, id))?;
            let settings = tx.settings().await?;
            let access = ownership::access(actor, &group.managed_by, settings.scim_enabled);
            let members = tx.members(id, start_index, count).await?;
            Ok(GroupDetail { group, access, members })
        })
        .await
    }

    pub async fn list(&self, q: &GroupQuery) -> Result<Page<Group>> {
        read_tx!(self.store, |tx| tx.list_groups(q).await).await
    }

    /// Members for a list response, one query per listed group.
    pub async fn members_of(&self, ids: &[GroupId]) -> Result<Vec<Vec<MemberRef>>> {
        read_tx!(self.store, |tx| {
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                out.push(tx.members(id, 1, 0).await?.items);
            }
            Ok(out)
        })
        .await
    }

    /// PUT /Groups/{id}: name, externalId and membership are overwritten exactly (Okta's "Push now").
    pub async fn replace(&self, ctx: &Ctx, id: &GroupId, body: Value, if_match: Option<&str>) -> Result<Group> {
        let body = parse_group(body)?;
        let at = now();
        mutate_group!(self, ctx, id, if_match, 200, |tx, g| {
            let managed_by = g.managed_by.clone();
            let (after, summary, changed) = overwrite(tx, ctx, g.clone(), body, managed_by, at).await?;
            *g = after;
            Ok((summary, changed))
        })
        .await
    }

    /// PATCH /Groups/{id}: a rename and membership deltas, applied in the order sent.
    pub async fn patch(&self, ctx: &Ctx, id: &GroupId, ops: &[PatchOp], if_match: Option<&str>) -> Result<Group> {
        let delta = group_patch(id.as_str(), ops).map_err(patch_error)?;
        let at = now();
        mutate_group!(self, ctx, id, if_match, 204, |tx, g| {
            let (mut summary, mut changed) = (Vec::new(), false);
            if let Some(name) = delta.display_name {
                rename(tx, g, &name).await?;
                summary.push(format!("renamed to '{name}'"));
            }
            if let Some(x) = delta.external_id {
                g.external_id = x;
            }
            for op in delta.members {
                let (line, c) = apply_member_op(tx, ctx, g, op, at).await?;
                summary.push(line);
                changed |= c;
            }
            Ok((summary.join("; "), changed))
        })
        .await
    }

    /// Panel: rename.
    pub async fn rename(&self, ctx: &Ctx, id: &GroupId, name: &str) -> Result<Group> {
        let name = name.trim().to_owned();
        mutate_group!(self, ctx, id, None, 200, |tx, g| {
            rename(tx, g, &name).await?;
            Ok((format!("renamed to '{name}'"), false))
        })
        .await
    }

    /// Panel: add members by id (allowed for local groups always, for IdP groups only while SCIM is off).
    pub async fn add_members(&self, ctx: &Ctx, id: &GroupId, users: Vec<String>) -> Result<Group> {
        mutate_group!(self, ctx, id, None, 200, |tx, g| apply_member_op(tx, ctx, g, MemberOp::Add(users), now()).await)
            .await
    }

    pub async fn remove_members(&self, ctx: &Ctx, id: &GroupId, users: Vec<String>) -> Result<Group> {
        mutate_group!(self, ctx, id, None, 200, |tx, g| apply_member_op(tx, ctx, g, MemberOp::Remove(users), now())
            .await)
        .await
    }

    /// DELETE /Groups/{id} (and the panel's delete). When the IdP deletes a group, each former member for whom it was the
    /// only group becomes Inactive ("last group removed"), in this same transaction.
    pub async fn delete(&self, ctx: &Ctx, id: &GroupId, if_match: Option<&str>) -> Result<()> {
        let at = now();
        write_tx!(self.store, |tx| {
            let settings = tx.settings().await?;
            let g = tx.group(id).await?.ok_or_else(|| Error::not_found(Kind::Group, id))?;
            check_if_match(if_match, g.version)?;
            ownership::check_write(&ctx.actor, &g.managed_by, settings.scim_enabled, || {
                format!("Group '{}'", g.display_name)
            })?;
            let former = tx.member_ids(id).await?;
            tx.delete_group(id).await?;
            let mut deactivated = 0;
            if let Some(idp) = ctx.idp() {
                let remaining: std::collections::HashMap<UserId, i64> =
                    tx.group_counts(&former).await?.into_iter().collect();
                for mut u in tx.users_by_ids(&former).await? {
                    let left = remaining.get(&u.id).copied().unwrap_or(0);
                    if let Some(reason) = membership::after_group_deleted(u.active, left, &g.display_name, &idp, at) {
                        let before = u.clone();
                        u.active = false;
                        u.inactive_reason = Some(reason);
                        u.version += 1;
                        u.updated_at = at;
                        tx.update_user(&u).await?;
                        let t = target(Kind::User, u.id.as_str(), &u.user_name);
                        let diff =
                            format!("{} (last group '{}' removed)", super::users::diff(&before, &u), g.display_name);
                        tx.insert_event(&ctx.event(204, t, diff)).await?;
                        deactivated += 1;
                    }
                }
            }
            let summary = format!(
                "deleted with {} members; {deactivated} became inactive (it was their only group)",
                former.len()
            );
            log(tx, ctx, 204, &g, summary).await
        })
        .await
    }
}

async fn rename(tx: &mut dyn Tx, g: &mut Group, name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::InvalidValue("displayName must not be empty".into()));
    }
    if let Some(msg) = crate::scim::too_long("displayName", name) {
        return Err(Error::InvalidValue(msg)); // The panel's rename; SCIM bodies are checked when parsed.
    }
    if fold(name) != fold(&g.display_name) && tx.group_by_name(&fold(name)).await?.is_some() {
        return Err(Error::Conflict { what: "group name", value: name.to_owned() });
    }
    g.display_name = name.to_owned();
    Ok(())
}

/// Overwrites name, externalId, extensions and (when the body has `members`) the exact membership.
async fn overwrite(
    tx: &mut dyn Tx,
    ctx: &Ctx,
    mut g: Group,
    body: GroupBody,
    managed_by: ManagedBy,
    at: Millis,
) -> Result<(Group, String, bool)> {
    rename(tx, &mut g, &body.display_name).await?;
    g.external_id = body.external_id;
    g.extra = body.extra;
    g.managed_by = managed_by;
    let (mut summary, mut changed) = (String::from("membership unchanged"), false);
    if let Some(members) = body.members {
        (summary, changed) = apply_member_op(tx, ctx, &mut g, MemberOp::Replace(members), at).await?;
    }
    if g.version > 0 {
        g.updated_at = at;
    }
    tx.update_group(&g).await?;
    Ok((g, summary, changed))
}

/// Applies one membership delta and returns its log summary. Costs O(changed), except Replace, which must read the
/// current membership once to compute the delta.
async fn apply_member_op(
    tx: &mut dyn Tx,
    ctx: &Ctx,
    g: &mut Group,
    op: MemberOp,
    at: Millis,
) -> Result<(String, bool)> {
    Ok(match op {
        MemberOp::Add(ids) => {
            let ids = resolve_members(tx, &ids).await?;
            let n = add(tx, ctx, g, &ids, at).await?;
            g.member_count += n;
            (format!("{n} members added"), n > 0)
        }
        MemberOp::Remove(ids) => {
            let ids: Vec<UserId> = ids.into_iter().map(UserId).collect();
            let n = tx.remove_members(&g.id, &ids).await?.len() as i64;
            g.member_count -= n;
            (format!("{n} members removed"), n > 0)
        }
        MemberOp::RemoveAll => {
            let n = tx.clear_members(&g.id).await?.len() as i64;
            g.member_count = 0;
            (format!("all {n} members removed"), n > 0)
        }
        MemberOp::Replace(ids) => {
            let wanted = resolve_members(tx, &ids).await?;
            let current: HashSet<UserId> = tx.member_ids(&g.id).await?.into_iter().collect();
            let wanted_set: HashSet<&UserId> = wanted.iter().collect();
            let gone: Vec<UserId> = current.iter().filter(|u| !wanted_set.contains(u)).cloned().collect();
            let new: Vec<UserId> = wanted.iter().filter(|u| !current.contains(*u)).cloned().collect();
            tx.remove_members(&g.id, &gone).await?;
            let n = add(tx, ctx, g, &new, at).await?;
            g.member_count = g.member_count - gone.len() as i64 + n;
            (format!("membership overwritten: {n} added, {} removed", gone.len()), n > 0 || !gone.is_empty())
        }
    })
}

/// Adds members and re-activates, seats permitting, those who were inactive only because they lost their last group.
async fn add(tx: &mut dyn Tx, ctx: &Ctx, g: &Group, ids: &[UserId], at: Millis) -> Result<i64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let added = tx.add_members(&g.id, ids, at).await?;
    if ctx.idp().is_some() && !added.is_empty() {
        let limit = tx.settings().await?.seats.0;
        let mut used: Option<i64> = None;
        for mut u in tx.users_by_ids(&added).await? {
            if !membership::reactivates_on_group_add(u.active, u.inactive_reason.as_ref()) {
                continue;
            }
            let n = match used {
                Some(n) => n,
                None => tx.count_active_users().await?,
            };
            if n >= limit {
                used = Some(n);
                continue; // Seats permitting: the push still succeeds, the user stays inactive.
            }
            used = Some(n + 1);
            let before = u.clone();
            u.active = true;
            u.inactive_reason = None;
            u.version += 1;
            u.updated_at = at;
            tx.update_user(&u).await?;
            let t = target(Kind::User, u.id.as_str(), &u.user_name);
            let diff = format!("{} (added to group '{}')", super::users::diff(&before, &u), g.display_name);
            tx.insert_event(&ctx.event(200, t, diff)).await?;
        }
    }
    Ok(added.len() as i64)
}

/// Checks member ids name live users (RFC 7644 §3.5.2: an unknown member is `invalidValue`), de-duplicated.
async fn resolve_members(tx: &mut dyn Tx, ids: &[String]) -> Result<Vec<UserId>> {
    let mut seen = HashSet::new();
    let ids: Vec<UserId> = ids.iter().filter(|i| seen.insert(i.as_str())).map(|i| UserId(i.clone())).collect();
    if ids.is_empty() {
        return Ok(ids);
    }
    let found: HashSet<UserId> =
        tx.users_by_ids(&ids).await?.into_iter().filter(|u| u.deleted_at.is_none()).map(|u| u.id).collect();
    if let Some(missing) = ids.iter().find(|i| !found.contains(*i)) {
        return Err(Error::InvalidValue(format!(
            "member '{missing}' is not a user in roster; provision the user first"
        )));
    }
    Ok(ids)
}

async fn log(tx: &mut dyn Tx, ctx: &Ctx, status: u16, g: &Group, summary: String) -> Result<()> {
    tx.insert_event(&ctx.event(status, target(Kind::Group, g.id.as_str(), &g.display_name), summary)).await.map(|_| ())
}
