//! Users. Every user write ends in [`save`]: those from SCIM, the panel and the CLI, and those of the group rules that
//! deactivate or reactivate members. It applies the seat rule to the real before and after states, bumps the
//! version, writes the row, moves the count of seats used, and writes one log entry.
use super::{Ctx, check_if_match, now, target};
use crate::Kind;
use crate::model::*;
use crate::rules::roles::Action;
use crate::rules::{ownership, seats};
use crate::scim::patch::{PatchOp, apply_user};
use crate::scim::resource::{UserBody, parse_user};
use crate::store::{Read, Store, Tx};
use crate::{Error, Result};
use serde_json::{Map, Value};
use std::sync::Arc;

#[derive(Clone)]
pub struct UserService {
    pub(super) store: Arc<dyn Store>,
}

/// What a write to an existing user does.
enum Change {
    /// PUT: the whole document; an omitted `active` leaves it unchanged.
    Replace(UserBody),
    Patch(Vec<PatchOp>),
    SetActive(bool),
    /// DELETE: the user becomes a tombstone.
    Delete,
}

/// Why a user row was written, for its log entry.
pub(super) enum Why<'a> {
    Created,
    Restored,
    Changed,
    LastGroupRemoved(&'a str),
    AddedToGroup(&'a str),
}

impl UserService {
    /// POST /Users. A userName taken in any case is a 409, unless it belongs to a tombstone (an earlier DELETE), which
    /// is restored with the same id, memberships and history. Returns the user and whether it was restored.
    pub async fn create(&self, ctx: &Ctx, body: Value) -> Result<(User, bool)> {
        ctx.require(Action::LocalUsers)?;
        let body = parse_user(body)?;
        let ctx = ctx.clone();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let at = now();
                    let tombstone = match tx.user_by_name(&fold(&body.user_name)).await? {
                        Some(u) if u.deleted_at.is_some() => Some(u),
                        Some(_) => return Err(Error::Conflict { what: "userName", value: body.user_name }),
                        None => None,
                    };
                    if let Some(t) = &tombstone {
                        // Restoring is a write to the tombstone: the same ownership rule as any other write.
                        let scim_enabled = tx.settings().await?.scim_enabled;
                        ownership::check_write(&ctx.actor, &t.managed_by, scim_enabled, || {
                            format!("User '{}' (deleted, kept with their history)", t.user_name)
                        })?;
                    }
                    let active = body.active.unwrap_or(true);
                    let (before, mut after) = match tombstone {
                        Some(t) => (Some(t.clone()), t),
                        None => (None, new_user(at)),
                    };
                    after.deleted_at = None;
                    after.active = active;
                    after.inactive_reason = (!active).then_some(InactiveReason::CreatedInactive { at });
                    after.managed_by = ctx.owner();
                    apply_body(&mut after, body);
                    let why = if before.is_some() { Why::Restored } else { Why::Created };
                    let user = save(tx, &ctx, before.as_ref(), after, 201, why).await?;
                    Ok((user, before.is_some()))
                })
            })
            .await
    }

    /// A local user made in the panel: email is the userName.
    pub async fn create_local(&self, ctx: &Ctx, email: &str, given: &str, family: &str) -> Result<User> {
        ctx.require(Action::LocalUsers)?;
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
        live(self.store.begin_read().await?.as_mut(), id).await
    }

    /// The user and the groups they are in, from one snapshot.
    pub async fn get_with_groups(&self, id: &UserId) -> Result<(User, Vec<GroupRef>)> {
        let mut tx = self.store.begin_snapshot().await?;
        let user = live(tx.as_mut(), id).await?;
        Ok((user, tx.groups_of_user(id).await?))
    }

    /// The user page: tombstones included, with the access decision and the provisioning history.
    pub async fn detail(&self, actor: &Actor, id: &UserId) -> Result<UserDetail> {
        let mut tx = self.store.begin_read().await?;
        let user = tx.user(id).await?.ok_or_else(|| Error::not_found(Kind::User, id))?;
        let settings = tx.settings().await?;
        let access = ownership::access(actor, &user.managed_by, settings.scim_enabled);
        let groups = tx.groups_of_user(id).await?;
        let q = LogQuery { target: Some(id.to_string()), start_index: 1, count: 50, ..Default::default() };
        let history = tx.log_entries(&q).await?.items;
        Ok(UserDetail { user, access, groups, history })
    }

    pub async fn list(&self, q: &UserQuery) -> Result<Page<User>> {
        self.store.begin_read().await?.list_users(q).await
    }

    /// PUT /Users/{id}: full replace (RFC 7644 §3.5.1). An omitted `active` leaves it unchanged, never false.
    pub async fn replace(&self, ctx: &Ctx, id: &UserId, body: Value, if_match: Option<&str>) -> Result<User> {
        ctx.require(Action::LocalUsers)?;
        let body = parse_user(body)?;
        self.update(ctx, id, if_match, 200, Change::Replace(body)).await
    }

    /// PATCH /Users/{id} (RFC 7644 §3.5.2): the ops run on the SCIM document, which is then validated like a PUT.
    pub async fn patch(&self, ctx: &Ctx, id: &UserId, ops: Vec<PatchOp>, if_match: Option<&str>) -> Result<User> {
        ctx.require(Action::LocalUsers)?;
        self.update(ctx, id, if_match, 200, Change::Patch(ops)).await
    }

    /// Activates or deactivates (the panel, for local users; the same seat rule and message as SCIM).
    pub async fn set_active(&self, ctx: &Ctx, id: &UserId, active: bool) -> Result<User> {
        ctx.require(Action::LocalUsers)?;
        self.update(ctx, id, None, 200, Change::SetActive(active)).await
    }

    /// DELETE /Users/{id}: access ends and the seat frees, but nothing is lost. The user becomes a tombstone: 404 over
    /// SCIM, "deleted in the IdP" in the panel, restorable by a later POST of the same userName.
    pub async fn delete(&self, ctx: &Ctx, id: &UserId, if_match: Option<&str>) -> Result<()> {
        ctx.require(Action::LocalUsers)?;
        self.update(ctx, id, if_match, 204, Change::Delete).await.map(|_| ())
    }

    /// The write path for an existing user: load, If-Match, ownership, the change, then [`save`].
    async fn update(
        &self,
        ctx: &Ctx,
        id: &UserId,
        if_match: Option<&str>,
        status: u16,
        change: Change,
    ) -> Result<User> {
        let (ctx, id, if_match) = (ctx.clone(), id.clone(), if_match.map(str::to_owned));
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let settings = tx.settings().await?;
                    let before = live(tx, &id).await?;
                    check_if_match(if_match.as_deref(), before.version)?;
                    ownership::check_write(&ctx.actor, &before.managed_by, settings.scim_enabled, || {
                        format!("User '{}'", before.user_name)
                    })?;
                    let mut after = before.clone();
                    apply(&mut after, change, &ctx, now())?;
                    if let Some(idp) = ctx.idp() {
                        after.managed_by = ManagedBy::Scim { idp }; // An IdP write adopts the user.
                    }
                    save(tx, &ctx, Some(&before), after, status, Why::Changed).await
                })
            })
            .await
    }
}

/// The one write of a user row. `before` is `None` for a new user. A write that changes nothing writes nothing, so a
/// retried request leaves no trace.
pub(super) async fn save(
    tx: &mut dyn Tx,
    ctx: &Ctx,
    before: Option<&User>,
    mut after: User,
    status: u16,
    why: Why<'_>,
) -> Result<User> {
    if before == Some(&after) {
        return Ok(after);
    }
    let seats_delta = seats::delta(before, &after);
    if seats_delta > 0 {
        // Only a write that takes a seat needs the count.
        seats::check(before, &after, tx.seat_usage().await?)?;
    }
    match before {
        Some(b) => {
            after.version = b.version + 1;
            after.updated_at = now();
            tx.update_user(b, &after).await?;
        }
        None => tx.insert_user(&after).await?,
    }
    tx.adjust_seats_used(seats_delta).await?;
    super::outbox::user_written(tx, before, &after).await?;
    let diff = why.describe(before, &after);
    tx.add_log_entry(&ctx.entry(status, target(Kind::User, after.id.as_str(), &after.user_name), diff)).await?;
    let usable = |u: &User| u.active && u.deleted_at.is_none();
    if before.is_some_and(usable) && !usable(&after) && matches!(ctx.actor, Actor::Scim { .. }) {
        // Offboarding: the IdP deprovisioned this person, and an admin who is them loses the panel in the same
        // transaction.
        super::sso::offboard(tx, &after.id, ctx).await?;
    }
    Ok(after)
}

impl Why<'_> {
    /// The log entry's summary: what happened and, for a change, what changed.
    fn describe(&self, before: Option<&User>, after: &User) -> String {
        let changes = || before.map(|b| diff(b, after)).unwrap_or_default();
        match self {
            Why::Created => format!("created ({})", if after.active { "active" } else { "inactive" }),
            Why::Restored => format!("restored after deletion in the IdP; {}", changes()),
            Why::Changed => changes(),
            Why::LastGroupRemoved(group) => format!("{} (last group '{group}' removed)", changes()),
            Why::AddedToGroup(group) => format!("{} (added to group '{group}')", changes()),
        }
    }
}

/// Applies a change to a loaded user, in memory.
fn apply(u: &mut User, change: Change, ctx: &Ctx, at: Millis) -> Result<()> {
    match change {
        Change::Replace(body) => {
            let active = body.active;
            apply_body(u, body);
            if let Some(a) = active {
                set_active(u, a, ctx, at);
            }
        }
        Change::Patch(ops) => {
            let mut doc = Value::Object(u.attributes.clone());
            if let Value::Object(m) = &mut doc {
                m.insert("id".into(), Value::from(u.id.as_str()));
                m.insert("active".into(), Value::Bool(u.active));
            }
            apply_user(&mut doc, &ops)?;
            return apply(u, Change::Replace(parse_user(doc)?), ctx, at);
        }
        Change::SetActive(active) => set_active(u, active, ctx, at),
        Change::Delete => {
            u.active = false;
            u.deleted_at = Some(at);
            u.inactive_reason =
                Some(InactiveReason::DeletedInIdp { idp: ctx.idp().unwrap_or_else(|| "roster".into()), at });
        }
    }
    Ok(())
}

async fn live(tx: &mut dyn Read, id: &UserId) -> Result<User> {
    tx.user(id).await?.filter(|u| u.deleted_at.is_none()).ok_or_else(|| Error::not_found(Kind::User, id))
}

/// A user with a fresh id and nothing else yet; [`apply_body`] fills in the document.
fn new_user(at: Millis) -> User {
    User {
        // Time-ordered (UUIDv7): a new id goes at the end of every index keyed by it, not onto a random page.
        id: UserId(uuid::Uuid::now_v7().to_string()),
        user_name: String::new(),
        external_id: None,
        display_name: None,
        given_name: None,
        family_name: None,
        email: None,
        active: true,
        inactive_reason: None,
        managed_by: ManagedBy::Local,
        deleted_at: None,
        attributes: Map::new(),
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

/// A short, redacted summary of what changed, for the provisioning log: `active: true → false; title: "A" → "B"`.
fn diff(before: &User, after: &User) -> String {
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
            parts.push(format!("{k}: {} → {}", shorten(a, 80), shorten(b, 80)));
        }
    }
    if before.managed_by != after.managed_by {
        parts.push(format!("managed by: {} → {}", before.managed_by.label(), after.managed_by.label()));
    }
    cut(parts.join("; "), 2000)
}

fn shorten(v: Option<&Value>, max: usize) -> String {
    match v {
        None => "∅".to_owned(),
        Some(v) => cut(v.to_string(), max),
    }
}

fn cut(s: String, max: usize) -> String {
    if s.chars().count() > max { format!("{}…", s.chars().take(max).collect::<String>()) } else { s }
}
