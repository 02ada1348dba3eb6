//! Users: every create, replace, PATCH, (de)activation and delete, from SCIM or the panel, goes through [`UserService::mutate`]
//! or [`UserService::create`], which hold the transaction and run the rules.
use super::{Ctx, check_if_match, now, read_tx, target, write_tx};
use crate::error::Kind;
use crate::model::*;
use crate::rules::{ownership, seats};
use crate::scim::patch::{PatchOp, apply_user};
use crate::scim::resource::{UserBody, parse_user};
use crate::store::{EventQuery, Store, Tx, UserQuery};
use crate::{Error, Result};
use serde_json::{Map, Value};
use std::sync::Arc;

#[derive(Clone)]
pub struct UserService {
    pub(super) store: Arc<dyn Store>,
}

impl UserService {
    /// POST /Users. A userName taken in any case is a 409 — unless it belongs to a tombstone (an earlier DELETE), which
    /// is restored with the same id, memberships and history. Returns the user and whether it was restored.
    pub async fn create(&self, ctx: &Ctx, body: Value) -> Result<(User, bool)> {
        let body = parse_user(body)?;
        let at = now();
        write_tx!(self.store, |tx| {
            let settings = tx.settings().await?;
            let folded = fold(&body.user_name);
            let existing = tx.user_by_name(&folded).await?;
            let restore = match existing {
                Some(u) if u.deleted_at.is_some() => Some(u),
                Some(_) => {
                    return Err(Error::Conflict { what: "userName", value: body.user_name.clone() });
                }
                None => None,
            };
            let active = body.active.unwrap_or(true);
            if active {
                seats::check(false, true, tx.count_active_users().await?, settings.seats.0)?;
            }
            let managed_by = match ctx.idp() {
                Some(idp) => ManagedBy::Scim { idp },
                None => ManagedBy::Local,
            };
            let (user, restored) = match restore {
                Some(before) => {
                    let mut u = before.clone();
                    u.deleted_at = None;
                    apply_body(&mut u, body);
                    u.active = active;
                    u.inactive_reason = (!active).then_some(InactiveReason::CreatedInactive { at });
                    u.managed_by = managed_by;
                    u.version += 1;
                    u.updated_at = at; // A restore is a write: meta.lastModified moves, so `lastModified gt` syncs see it.
                    tx.update_user(&u).await?;
                    let diff = format!("restored after deletion in the IdP; {}", diff(&before, &u));
                    log(tx, ctx, 201, &u, diff).await?;
                    (u, true)
                }
                None => {
                    let mut u = new_user(body, managed_by, active, at);
                    u.derive_fields();
                    tx.insert_user(&u).await?;
                    log(tx, ctx, 201, &u, format!("created ({})", if active { "active" } else { "inactive" })).await?;
                    (u, false)
                }
            };
            Ok((user, restored))
        })
        .await
    }

    /// A local user made in the panel: email is the userName.
    pub async fn create_local(&self, ctx: &Ctx, email: &str, given: &str, family: &str) -> Result<User> {
        let email = super::admins::parse_email(email)?;
        let mut doc = Map::new();
        doc.insert("userName".into(), Value::from(email.as_str()));
        doc.insert("emails".into(), serde_json::json!([{"value": email, "type": "work", "primary": true}]));
        let mut name = Map::new();
        for (k, v) in [("givenName", given.trim()), ("familyName", family.trim())] {
            if !v.is_empty() {
                name.insert(k.into(), Value::from(v));
            }
        }
        if !name.is_empty() {
            doc.insert("name".into(), Value::Object(name));
        }
        doc.insert("active".into(), Value::Bool(true));
        self.create(ctx, Value::Object(doc)).await.map(|(u, _)| u)
    }

    /// GET /Users/{id}. Tombstones are 404 over SCIM (RFC 7644 §3.6: a deleted resource is gone for the client).
    pub async fn get(&self, id: &UserId) -> Result<User> {
        read_tx!(self.store, |tx| live(tx, id).await).await
    }

    pub async fn get_with_groups(&self, id: &UserId) -> Result<(User, Vec<GroupRef>)> {
        read_tx!(self.store, |tx| {
            let u = live(tx, id).await?;
            let g = tx.groups_of_user(id).await?;
            Ok((u, g))
        })
        .await
    }

    /// The user page: tombstones included, with the access decision and the provisioning history.
    pub async fn detail(&self, actor: &Actor, id: &UserId) -> Result<UserDetail> {
        read_tx!(self.store, |tx| {
            let user = tx.user(id).await?.ok_or_else(|| Error::not_found(Kind::User, id))?;
            let settings = tx.settings().await?;
            let access = ownership::access(actor, &user.managed_by, settings.scim_enabled);
            let groups = tx.groups_of_user(id).await?;
            let q = EventQuery { target: Some(id.to_string()), start_index: 1, count: 50, ..Default::default() };
            let history = tx.list_events(&q).await?.items;
            Ok(UserDetail { user, access, groups, history })
        })
        .await
    }

    pub async fn list(&self, q: &UserQuery) -> Result<Page<User>> {
        read_tx!(self.store, |tx| tx.list_users(q).await).await
    }

    /// PUT /Users/{id}: full replace (RFC 7644 §3.5.1). An omitted `active` leaves it unchanged, never false.
    pub async fn replace(&self, ctx: &Ctx, id: &UserId, body: Value, if_match: Option<&str>) -> Result<User> {
        let body = parse_user(body)?;
        let at = now();
        self.mutate(ctx, id, if_match, 200, |u| {
            let active = body.active;
            apply_body(u, body);
            if let Some(a) = active {
                set_active(u, a, ctx, at);
            }
            Ok(())
        })
        .await
    }

    /// PATCH /Users/{id} (RFC 7644 §3.5.2): the ops run on the SCIM document, which is then validated like a PUT.
    pub async fn patch(&self, ctx: &Ctx, id: &UserId, ops: &[PatchOp], if_match: Option<&str>) -> Result<User> {
        let at = now();
        self.mutate(ctx, id, if_match, 200, |u| {
            let mut doc = Value::Object(u.attributes.clone());
            if let Value::Object(m) = &mut doc {
                m.insert("id".into(), Value::from(u.id.as_str()));
                m.insert("active".into(), Value::Bool(u.active));
            }
            apply_user(&mut doc, ops).map_err(patch_error)?;
            let body = parse_user(doc)?;
            let active = body.active;
            apply_body(u, body);
            if let Some(a) = active {
                set_active(u, a, ctx, at);
            }
            Ok(())
        })
        .await
    }

    /// Activates or deactivates (the panel, for local users; the same seat rule and message as SCIM).
    pub async fn set_active(&self, ctx: &Ctx, id: &UserId, active: bool) -> Result<User> {
        let at = now();
        self.mutate(ctx, id, None, 200, |u| {
            set_active(u, active, ctx, at);
            Ok(())
        })
        .await
    }

    /// DELETE /Users/{id}: access ends and the seat frees, but nothing is lost. The user becomes a tombstone: 404 over
    /// SCIM, "deleted in the IdP" in the panel, restorable by a later POST of the same userName.
    pub async fn delete(&self, ctx: &Ctx, id: &UserId, if_match: Option<&str>) -> Result<()> {
        let at = now();
        let idp = ctx.idp().unwrap_or_else(|| "roster".into());
        self.mutate(ctx, id, if_match, 204, |u| {
            u.active = false;
            u.deleted_at = Some(at);
            u.inactive_reason = Some(InactiveReason::DeletedInIdp { idp, at });
            Ok(())
        })
        .await
        .map(|_| ())
    }

    /// The one write path for an existing user: load, If-Match, ownership, change, seats, store, log, commit.
    async fn mutate(
        &self,
        ctx: &Ctx,
        id: &UserId,
        if_match: Option<&str>,
        status: u16,
        change: impl FnOnce(&mut User) -> Result<()>,
    ) -> Result<User> {
        write_tx!(self.store, |tx| {
            let settings = tx.settings().await?;
            let before = live(tx, id).await?;
            check_if_match(if_match, before.version)?;
            ownership::check_write(&ctx.actor, &before.managed_by, settings.scim_enabled, || {
                format!("User '{}'", before.user_name)
            })?;
            let mut after = before.clone();
            change(&mut after)?;
            if let Some(idp) = ctx.idp() {
                after.managed_by = ManagedBy::Scim { idp }; // An IdP write adopts the user.
            }
            if !before.active && after.active {
                seats::check(false, true, tx.count_active_users().await?, settings.seats.0)?;
            }
            if after == before {
                return Ok(after); // A retried request that changes nothing writes nothing.
            }
            after.version = before.version + 1;
            after.updated_at = now();
            tx.update_user(&after).await?;
            log(tx, ctx, status, &after, diff(&before, &after)).await?;
            Ok(after)
        })
        .await
    }
}

async fn live(tx: &mut dyn Tx, id: &UserId) -> Result<User> {
    tx.user(id).await?.filter(|u| u.deleted_at.is_none()).ok_or_else(|| Error::not_found(Kind::User, id))
}

fn new_user(body: UserBody, managed_by: ManagedBy, active: bool, at: Millis) -> User {
    User {
        id: UserId(uuid::Uuid::new_v4().to_string()),
        user_name: body.user_name,
        external_id: None,
        display_name: None,
        given_name: None,
        family_name: None,
        email: None,
        active,
        inactive_reason: (!active).then_some(InactiveReason::CreatedInactive { at }),
        managed_by,
        deleted_at: None,
        attributes: body.attributes,
        version: 1,
        created_at: at,
        updated_at: at,
    }
}

/// Replaces the SCIM document (everything but `active`) and re-derives the named fields.
fn apply_body(u: &mut User, body: UserBody) {
    u.attributes = body.attributes;
    u.user_name = body.user_name;
    u.derive_fields();
}

fn set_active(u: &mut User, active: bool, ctx: &Ctx, at: Millis) {
    if u.active == active {
        return;
    }
    u.active = active;
    u.inactive_reason = if active {
        None
    } else {
        Some(match &ctx.actor {
            Actor::Scim { name, .. } => InactiveReason::DeactivatedByIdp { idp: name.clone(), at },
            other => InactiveReason::DeactivatedByAdmin { admin: other.name(), at },
        })
    };
}

async fn log(tx: &mut dyn Tx, ctx: &Ctx, status: u16, u: &User, diff: String) -> Result<()> {
    tx.insert_event(&ctx.event(status, target(Kind::User, u.id.as_str(), &u.user_name), diff)).await.map(|_| ())
}

/// A short, redacted summary of what changed, for the provisioning log: `active: true → false; title: "A" → "B"`.
pub(crate) fn diff(before: &User, after: &User) -> String {
    let mut parts = Vec::new();
    if before.active != after.active {
        parts.push(format!("active: {} → {}", before.active, after.active));
    }
    if before.deleted_at.is_none() && after.deleted_at.is_some() {
        parts.push("deleted in the IdP (kept as a tombstone)".into());
    }
    let keys: std::collections::BTreeSet<&String> = before.attributes.keys().chain(after.attributes.keys()).collect();
    for k in keys {
        let (a, b) = (before.attributes.get(k), after.attributes.get(k));
        if a != b {
            let show = |v: Option<&Value>| match v {
                None => "∅".to_owned(),
                Some(v) => {
                    let s = v.to_string();
                    if s.chars().count() > 80 { format!("{}…", s.chars().take(80).collect::<String>()) } else { s }
                }
            };
            parts.push(format!("{k}: {} → {}", show(a), show(b)));
        }
    }
    if before.managed_by != after.managed_by {
        parts.push(format!("managed by: {} → {}", before.managed_by.label(), after.managed_by.label()));
    }
    let s = parts.join("; ");
    if s.chars().count() > 2000 { format!("{}…", s.chars().take(2000).collect::<String>()) } else { s }
}

pub(crate) fn patch_error(e: crate::scim::patch::PatchError) -> Error {
    use crate::scim::patch::PatchError as P;
    match e {
        P::InvalidPath(m) => Error::InvalidPath(m),
        P::InvalidValue(m) => Error::InvalidValue(m),
        P::NoTarget(m) => Error::NoTarget(m),
        P::Mutability(m) => Error::Mutability(m),
        P::InvalidFilter(m) => Error::InvalidFilter(m),
    }
}
