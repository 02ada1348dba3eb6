//! Groups and memberships. Every change to an existing group passes [`load_for_write`] (load, If-Match, ownership)
//! and ends in [`save`] (version, row, one log entry). Membership changes are deltas, O(changed members); deleting a
//! group deactivates the members for whom it was the only group, in the same transaction.
use super::outbox;
use super::users::{self, Why};
use super::{Ctx, check_if_match, now, target};
use crate::Kind;
use crate::model::*;
use crate::rules::roles::Action;
use crate::rules::{self, membership, ownership};
use crate::scim::patch::{GroupPatch, MemberOp, PatchOp, group_patch};
use crate::scim::resource::{GroupBody, parse_group};
use crate::store::{Store, Tx};
use crate::{Error, Result};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

#[derive(Clone)]
pub struct GroupService {
    pub(super) store: Arc<dyn Store>,
}

/// A group as a write left it, with its members when the caller asked for them (read in the same transaction).
#[derive(Debug, Clone)]
pub struct Written {
    pub group: Group,
    pub members: Vec<MemberRef>,
    /// POST only: an existing group of that name was adopted.
    pub adopted: bool,
}

/// What a write to an existing group does.
enum Change {
    /// PUT (Okta's "Push now"): name, externalId, extensions and, when sent, the exact membership.
    Replace(GroupBody),
    Patch(GroupPatch),
    Rename(String),
    Members(MemberOp),
}

impl GroupService {
    /// POST /Groups. A displayName that exists in any case is adopted (a same-name push): the group becomes
    /// IdP-managed, keeps its id, and the POSTed members replace its membership.
    pub async fn create(&self, ctx: &Ctx, body: Value) -> Result<Written> {
        ctx.require(Action::Groups)?;
        let body = parse_group(body)?;
        let ctx = ctx.clone();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let existing = tx.group_by_name(&fold(&body.display_name)).await?;
                    let (group, adopted) = match existing {
                        Some(before) if ownership::may_adopt(&ctx.actor, &before.managed_by) => {
                            let mut after = before.clone();
                            after.managed_by = ctx.owner();
                            let summary = apply(tx, &ctx, &mut after, Change::Replace(body)).await?.0;
                            // Adoption changes the owner and the membership, so it is always a new version: an If-Match
                            // carrying the local group's old ETag must no longer match (RFC 7644 §3.14).
                            let summary = format!("adopted existing group; {summary}");
                            (save(tx, &ctx, Some(&before), after, 201, summary, true).await?, true)
                        }
                        Some(_) => return Err(Error::Conflict { what: "group name", value: body.display_name }),
                        None => (insert(tx, &ctx, body).await?, false),
                    };
                    let members = tx.members(&group.id, 1, 0).await?.items;
                    Ok(Written { group, members, adopted })
                })
            })
            .await
    }

    /// A local group made in the panel.
    pub async fn create_local(&self, ctx: &Ctx, name: &str) -> Result<Group> {
        ctx.require(Action::Groups)?;
        self.create(ctx, serde_json::json!({ "displayName": name.trim() })).await.map(|w| w.group)
    }

    pub async fn get(&self, id: &GroupId) -> Result<Group> {
        let mut tx = self.store.begin_read().await?;
        tx.group(id).await?.ok_or_else(|| Error::not_found(Kind::Group, id))
    }

    /// The group with all its members (SCIM GET without `excludedAttributes=members`), from one snapshot, so its
    /// members agree with its version and count.
    pub async fn get_with_members(&self, id: &GroupId) -> Result<(Group, Vec<MemberRef>)> {
        let mut tx = self.store.begin_snapshot().await?;
        let g = tx.group(id).await?.ok_or_else(|| Error::not_found(Kind::Group, id))?;
        Ok((g, tx.members(id, 1, 0).await?.items))
    }

    pub async fn detail(&self, actor: &Actor, id: &GroupId, start_index: i64, count: i64) -> Result<GroupDetail> {
        let mut tx = self.store.begin_read().await?;
        let group = tx.group(id).await?.ok_or_else(|| Error::not_found(Kind::Group, id))?;
        let settings = tx.settings().await?;
        let access = ownership::access(actor, &group.managed_by, settings.scim_enabled);
        let members = tx.members(id, start_index, count).await?;
        Ok(GroupDetail { group, access, members })
    }

    pub async fn list(&self, q: &GroupQuery) -> Result<Page<Group>> {
        self.store.begin_read().await?.list_groups(q).await
    }

    /// A page of groups and, when `with_members`, each one's members, from one snapshot: the groups, their members
    /// and `totalResults` describe the same moment (RFC 7644 §3.4.2).
    pub async fn list_with_members(&self, q: &GroupQuery, with_members: bool) -> Result<Page<(Group, Vec<MemberRef>)>> {
        let mut tx = self.store.begin_snapshot().await?;
        let page = tx.list_groups(q).await?;
        let mut members = if with_members {
            tx.members_of(&page.items.iter().map(|g| g.id.clone()).collect::<Vec<_>>()).await?
        } else {
            Vec::new()
        };
        members.resize_with(page.items.len(), Vec::new);
        let mut members = members.into_iter();
        Ok(page.map(|g| (g, members.next().unwrap_or_default())))
    }

    /// PUT /Groups/{id}: name, externalId and membership are overwritten exactly (Okta's "Push now").
    pub async fn replace(&self, ctx: &Ctx, id: &GroupId, body: Value, if_match: Option<&str>) -> Result<Written> {
        ctx.require(Action::Groups)?;
        let body = parse_group(body)?;
        self.update(ctx, id, if_match, 200, Change::Replace(body), true).await
    }

    /// PATCH /Groups/{id}: a rename and membership deltas, applied in the order sent.
    pub async fn patch(&self, ctx: &Ctx, id: &GroupId, ops: &[PatchOp], if_match: Option<&str>) -> Result<Group> {
        ctx.require(Action::Groups)?;
        let delta = group_patch(id.as_str(), ops)?;
        self.update(ctx, id, if_match, 204, Change::Patch(delta), false).await.map(|w| w.group)
    }

    /// Panel: rename.
    pub async fn rename(&self, ctx: &Ctx, id: &GroupId, name: &str) -> Result<Group> {
        ctx.require(Action::Groups)?;
        let change = Change::Rename(name.trim().to_owned());
        self.update(ctx, id, None, 200, change, false).await.map(|w| w.group)
    }

    /// Panel: add members by id (allowed for local groups always, for IdP groups only while SCIM is off).
    pub async fn add_members(&self, ctx: &Ctx, id: &GroupId, users: Vec<String>) -> Result<Group> {
        ctx.require(Action::LocalUsers)?;
        self.update(ctx, id, None, 200, Change::Members(MemberOp::Add(users)), false).await.map(|w| w.group)
    }

    pub async fn remove_members(&self, ctx: &Ctx, id: &GroupId, users: Vec<String>) -> Result<Group> {
        ctx.require(Action::LocalUsers)?;
        self.update(ctx, id, None, 200, Change::Members(MemberOp::Remove(users)), false).await.map(|w| w.group)
    }

    /// DELETE /Groups/{id} (and the panel's delete). When the IdP deletes a group, each former member for whom it was
    /// the only group becomes Inactive ("last group removed"), in this same transaction.
    pub async fn delete(&self, ctx: &Ctx, id: &GroupId, if_match: Option<&str>) -> Result<()> {
        ctx.require(Action::Groups)?;
        let (ctx, id, if_match) = (ctx.clone(), id.clone(), if_match.map(str::to_owned));
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let g = load_for_write(tx, &ctx, &id, if_match.as_deref()).await?;
                    let former = tx.member_ids(&id).await?;
                    tx.delete_group(&id).await?;
                    let mut deactivated = 0;
                    let idp = ctx.idp();
                    if let Some(idp) = membership::deletion_deactivates(idp.as_deref()) {
                        let at = now();
                        let left: HashMap<UserId, i64> = tx.group_counts(&former).await?.into_iter().collect();
                        for u in tx.users_by_ids(&membership::left_in_no_group(&former, &left)).await? {
                            // One IdP per token name: never a user another IdP manages.
                            if !ownership::access(&ctx.actor, &u.managed_by, true).can_edit {
                                continue;
                            }
                            let Some(reason) = membership::after_group_deleted(&u, &g.display_name, idp, at) else {
                                continue;
                            };
                            let mut after = u.clone();
                            after.active = false;
                            after.inactive_reason = Some(reason);
                            users::save(tx, &ctx, Some(&u), after, 204, Why::LastGroupRemoved(&g.display_name)).await?;
                            deactivated += 1;
                        }
                    }
                    outbox::group_deleted(tx, &g, former.len()).await?;
                    let summary = format!(
                        "deleted with {} members; {deactivated} became inactive (it was their only group)",
                        former.len()
                    );
                    log(tx, &ctx, 204, &g, summary).await
                })
            })
            .await
    }

    /// The write path for an existing group: [`load_for_write`], the change, then [`save`], all in one transaction.
    async fn update(
        &self,
        ctx: &Ctx,
        id: &GroupId,
        if_match: Option<&str>,
        status: u16,
        change: Change,
        with_members: bool,
    ) -> Result<Written> {
        let (ctx, id, if_match) = (ctx.clone(), id.clone(), if_match.map(str::to_owned));
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let before = load_for_write(tx, &ctx, &id, if_match.as_deref()).await?;
                    let mut after = before.clone();
                    let (summary, members_changed) = apply(tx, &ctx, &mut after, change).await?;
                    if let Some(idp) = ctx.idp() {
                        after.managed_by = ManagedBy::Scim { idp }; // An IdP write adopts the group.
                    }
                    let group = save(tx, &ctx, Some(&before), after, status, summary, members_changed).await?;
                    let members = if with_members { tx.members(&id, 1, 0).await?.items } else { Vec::new() };
                    Ok(Written { group, members, adopted: false })
                })
            })
            .await
    }
}

/// Loads a group for a write: it must exist, match `If-Match`, and be writable by the actor.
async fn load_for_write(tx: &mut dyn Tx, ctx: &Ctx, id: &GroupId, if_match: Option<&str>) -> Result<Group> {
    let settings = tx.settings().await?;
    let g = tx.group(id).await?.ok_or_else(|| Error::not_found(Kind::Group, id))?;
    check_if_match(if_match, g.version)?;
    ownership::check_write(&ctx.actor, &g.managed_by, settings.scim_enabled, || format!("Group '{}'", g.display_name))?;
    Ok(g)
}

/// The one write of a group row. `members_changed` counts too: swapping one member for another leaves every group
/// field equal but is a change (a new ETag and a log entry). A write that changes nothing writes nothing.
async fn save(
    tx: &mut dyn Tx,
    ctx: &Ctx,
    before: Option<&Group>,
    mut after: Group,
    status: u16,
    summary: String,
    members_changed: bool,
) -> Result<Group> {
    match before {
        Some(b) if *b == after && !members_changed => return Ok(after),
        Some(b) => {
            after.version = b.version + 1;
            after.updated_at = now();
            tx.update_group(&after).await?;
        }
        None => tx.insert_group(&after).await?,
    }
    outbox::group_written(tx, before, &after).await?;
    log(tx, ctx, status, &after, summary).await?;
    Ok(after)
}

/// A new group with its members: the row first (members refer to it), with the final member count.
async fn insert(tx: &mut dyn Tx, ctx: &Ctx, body: GroupBody) -> Result<Group> {
    let at = now();
    let members = resolve_members(tx, &body.members.unwrap_or_default()).await?;
    let group = Group {
        // Time-ordered, as user ids are.
        id: GroupId(uuid::Uuid::now_v7().to_string()),
        display_name: body.display_name,
        external_id: body.external_id,
        managed_by: ctx.owner(),
        extra: body.extra,
        member_count: members.len() as i64,
        version: 1,
        created_at: at,
        updated_at: at,
    };
    let summary = format!("created with {} members", members.len());
    let group = save(tx, ctx, None, group, 201, summary, false).await?;
    let added = add(tx, ctx, &group, &members).await?;
    outbox::members_changed(tx, &group, &added, true).await?;
    Ok(group)
}

/// Applies a change to a loaded group: fields in memory, membership deltas in the store. Returns the log summary and
/// whether the membership changed.
async fn apply(tx: &mut dyn Tx, ctx: &Ctx, g: &mut Group, change: Change) -> Result<(String, bool)> {
    match change {
        Change::Replace(body) => {
            rename(tx, g, &body.display_name).await?;
            g.external_id = body.external_id;
            g.extra = body.extra;
            match body.members {
                Some(members) => apply_member_op(tx, ctx, g, MemberOp::Replace(members)).await,
                None => Ok(("membership unchanged".into(), false)),
            }
        }
        Change::Patch(delta) => {
            let (mut summary, mut changed) = (Vec::new(), false);
            if let Some(name) = delta.display_name {
                rename(tx, g, &name).await?;
                summary.push(format!("renamed to '{name}'"));
            }
            if let Some(x) = delta.external_id {
                g.external_id = x;
            }
            for op in delta.members {
                let (line, c) = apply_member_op(tx, ctx, g, op).await?;
                summary.push(line);
                changed |= c;
            }
            Ok((summary.join("; "), changed))
        }
        Change::Rename(name) => {
            rename(tx, g, &name).await?;
            Ok((format!("renamed to '{name}'"), false))
        }
        Change::Members(op) => apply_member_op(tx, ctx, g, op).await,
    }
}

async fn rename(tx: &mut dyn Tx, g: &mut Group, name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::InvalidValue("displayName must not be empty".into()));
    }
    crate::scim::check_str("displayName", name, true)?;
    if let Some(msg) = crate::scim::too_long("displayName", name) {
        return Err(Error::InvalidValue(msg)); // The panel's rename; SCIM bodies are checked when parsed.
    }
    if fold(name) != fold(&g.display_name) && tx.group_by_name(&fold(name)).await?.is_some() {
        return Err(Error::Conflict { what: "group name", value: name.to_owned() });
    }
    g.display_name = name.to_owned();
    Ok(())
}

/// Applies one membership delta and returns its log summary. Costs O(changed), except Replace, which must read the
/// current membership once to compute the delta.
async fn apply_member_op(tx: &mut dyn Tx, ctx: &Ctx, g: &mut Group, op: MemberOp) -> Result<(String, bool)> {
    let replace = matches!(op, MemberOp::Replace(_));
    let (added, removed, summary) = match op {
        MemberOp::Add(ids) => {
            let ids = resolve_members(tx, &ids).await?;
            let added = add(tx, ctx, g, &ids).await?;
            let line = format!("{} members added", added.len());
            (added, Vec::new(), line)
        }
        MemberOp::Remove(ids) => {
            let ids: Vec<UserId> = ids.into_iter().map(UserId).collect();
            let removed = tx.remove_members(&g.id, &ids).await?;
            let line = format!("{} members removed", removed.len());
            (Vec::new(), removed, line)
        }
        MemberOp::RemoveAll => {
            let removed = tx.clear_members(&g.id).await?;
            let line = format!("all {} members removed", removed.len());
            (Vec::new(), removed, line)
        }
        MemberOp::Replace(ids) => {
            let wanted = resolve_members(tx, &ids).await?;
            let current: HashSet<UserId> = tx.member_ids(&g.id).await?.into_iter().collect();
            let wanted_set: HashSet<&UserId> = wanted.iter().map(|(id, _)| id).collect();
            let gone: Vec<UserId> = current.iter().filter(|u| !wanted_set.contains(u)).cloned().collect();
            let new: Vec<Member> = wanted.into_iter().filter(|(u, _)| !current.contains(u)).collect();
            let removed = tx.remove_members(&g.id, &gone).await?;
            let added = add(tx, ctx, g, &new).await?;
            let line = format!("membership overwritten: {} added, {} removed", added.len(), removed.len());
            (added, removed, line)
        }
    };
    g.member_count += added.len() as i64 - removed.len() as i64;
    let changed = !added.is_empty() || !removed.is_empty();
    outbox::members_changed(tx, g, &added, true).await?;
    outbox::members_changed(tx, g, &removed, false).await?;
    let undone = drift(tx, ctx, g, &added, &removed, replace).await?;
    Ok((format!("{summary}{undone}"), changed))
}

/// Drift ([`rules::drift`]): an admin's changes to an IdP's group are kept, netted; an IdP's write forgets what it
/// reverses (a Push now, everything). Returns what the IdP's write undid, for its log entry: "; undid changes made in
/// roster while SCIM was off: +grace@example.com, −bob@example.com".
async fn drift(
    tx: &mut dyn Tx,
    ctx: &Ctx,
    g: &Group,
    added: &[UserId],
    removed: &[UserId],
    replace: bool,
) -> Result<String> {
    let by_idp = ctx.idp().is_some();
    if !by_idp {
        if rules::drift::is_drift(by_idp, &g.managed_by) && !(added.is_empty() && removed.is_empty()) {
            let kept = tx.drift_of_group(&g.id).await?;
            let netted = rules::drift::net(&kept, added, removed);
            tx.clear_drift(&g.id, &netted.cancel).await?;
            tx.record_drift(&g.id, &netted.keep, &ctx.actor.name(), now()).await?;
        }
        return Ok(String::new());
    }
    if !replace && added.is_empty() && removed.is_empty() {
        return Ok(String::new());
    }
    let kept = tx.drift_of_group(&g.id).await?;
    if kept.is_empty() {
        return Ok(String::new());
    }
    let (undone, forget) = rules::drift::after_idp_write(&kept, added, removed, replace);
    tx.clear_drift(&g.id, &forget).await?;
    if undone.is_empty() {
        return Ok(String::new());
    }
    let list: Vec<String> = undone
        .iter()
        .map(|d| format!("{}{} (by {})", if d.added { "+" } else { "−" }, d.user_name, d.by_admin))
        .collect();
    Ok(format!("; undid changes made in roster while SCIM was off: {}", list.join(", ")))
}

/// A member to be: a live user, and whether they are active.
type Member = (UserId, bool);

/// Adds members and, for an IdP's push, reactivates those who were inactive only because they lost their last group,
/// seats permitting.
async fn add(tx: &mut dyn Tx, ctx: &Ctx, g: &Group, members: &[Member]) -> Result<Vec<UserId>> {
    if members.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<UserId> = members.iter().map(|(id, _)| id.clone()).collect();
    let added_list = tx.add_members(&g.id, &ids, now()).await?;
    let added: HashSet<&UserId> = added_list.iter().collect();
    if ctx.idp().is_some() {
        // Only an inactive user can be revived; the active ones (nearly all) are not even loaded.
        let inactive: Vec<UserId> =
            members.iter().filter(|(id, active)| !active && added.contains(id)).map(|(id, _)| id.clone()).collect();
        for u in tx.users_by_ids(&inactive).await? {
            let writable = ownership::access(&ctx.actor, &u.managed_by, true).can_edit;
            if !writable || !membership::reactivates_on_group_add(u.active, u.inactive_reason.as_ref()) {
                continue;
            }
            let mut after = u.clone();
            after.active = true;
            after.inactive_reason = None;
            match users::save(tx, ctx, Some(&u), after, 200, Why::AddedToGroup(&g.display_name)).await {
                // Seats permitting: the push still succeeds, and the user stays inactive.
                Err(Error::NoFreeSeats { .. }) => {}
                other => {
                    other?;
                }
            }
        }
    }
    Ok(added_list)
}

/// Checks member ids name live users (RFC 7644 §3.5.2: an unknown member is `invalidValue`), de-duplicated, in the
/// order sent.
async fn resolve_members(tx: &mut dyn Tx, ids: &[String]) -> Result<Vec<Member>> {
    let mut seen = HashSet::new();
    let ids: Vec<UserId> = ids.iter().filter(|i| seen.insert(i.as_str())).map(|i| UserId(i.clone())).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let found: HashMap<UserId, bool> = tx.live_users(&ids).await?.into_iter().collect();
    if let Some(missing) = ids.iter().find(|i| !found.contains_key(*i)) {
        return Err(Error::InvalidValue(format!(
            "member '{missing}' is not a user in roster; provision the user first"
        )));
    }
    Ok(ids
        .into_iter()
        .map(|id| {
            let active = found.get(&id).copied().unwrap_or(false);
            (id, active)
        })
        .collect())
}

async fn log(tx: &mut dyn Tx, ctx: &Ctx, status: u16, g: &Group, summary: String) -> Result<()> {
    let t = target(Kind::Group, g.id.as_str(), &g.display_name);
    tx.add_log_entry(&ctx.entry(status, t, summary)).await.map(|_| ())
}
