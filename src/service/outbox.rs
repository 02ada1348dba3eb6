//! Directory events: what each change tells the rest of the product. Services call these inside the write
//! transaction, so an event is committed with its change or not at all (an outbox).
use super::now;
use crate::Result;
use crate::model::*;
use crate::store::Tx;
use serde_json::json;

/// Members per `group.members_added` / `group.members_removed` event: a 50,000-member push is 50 events a consumer
/// can take one at a time, not one 2 MB body.
pub const MEMBERS_PER_EVENT: usize = 1_000;

fn event(kind: EventType, data: serde_json::Value) -> NewDirectoryEvent {
    NewDirectoryEvent { kind, at: now(), data }
}

/// The event of one user write: created, deleted, restored, deactivated, activated, or updated.
pub(super) async fn user_written(tx: &mut dyn Tx, before: Option<&User>, after: &User) -> Result<()> {
    let kind = match before {
        None => EventType::UserCreated,
        Some(b) if b.deleted_at.is_none() && after.deleted_at.is_some() => EventType::UserDeleted,
        Some(b) if b.deleted_at.is_some() && after.deleted_at.is_none() => EventType::UserRestored,
        Some(b) if b.active && !after.active => EventType::UserDeactivated,
        Some(b) if !b.active && after.active => EventType::UserActivated,
        Some(_) => EventType::UserUpdated,
    };
    let user = DirectoryUser::of(after, None);
    let data = match kind {
        EventType::UserDeactivated => json!({ "user": user, "reason": user.reason, "reasonText": user.status_text }),
        _ => json!({ "user": user }),
    };
    tx.emit(event(kind, data)).await
}

/// `group.created` or `group.updated` (its name, externalId or extensions; membership has events of its own).
pub(super) async fn group_written(tx: &mut dyn Tx, before: Option<&Group>, after: &Group) -> Result<()> {
    let kind = match before {
        None => EventType::GroupCreated,
        Some(b)
            if b.display_name != after.display_name
                || b.external_id != after.external_id
                || b.extra != after.extra
                || b.managed_by != after.managed_by =>
        {
            EventType::GroupUpdated
        }
        Some(_) => return Ok(()),
    };
    tx.emit(event(kind, json!({ "group": DirectoryGroup::of(after) }))).await
}

pub(super) async fn group_deleted(tx: &mut dyn Tx, g: &Group, former_members: usize) -> Result<()> {
    let data = json!({ "group": DirectoryGroup::of(g), "formerMemberCount": former_members });
    tx.emit(event(EventType::GroupDeleted, data)).await
}

/// `group.members_added` or `group.members_removed`, in batches of [`MEMBERS_PER_EVENT`].
pub(super) async fn members_changed(tx: &mut dyn Tx, g: &Group, users: &[UserId], added: bool) -> Result<()> {
    let kind = if added { EventType::GroupMembersAdded } else { EventType::GroupMembersRemoved };
    let group = DirectoryGroupRef { id: g.id.clone(), display_name: g.display_name.clone() };
    for chunk in users.chunks(MEMBERS_PER_EVENT) {
        tx.emit(event(kind, json!({ "group": group, "userIds": chunk }))).await?;
    }
    Ok(())
}

/// `seats.refused`: an IdP's push that the licence refused, with its request line and, for an existing user, the id.
pub(super) async fn seats_refused(
    tx: &mut dyn Tx,
    refused: &crate::store::NewLogEntry,
    usage: SeatUsage,
) -> Result<()> {
    let user = refused.target.as_ref().filter(|t| t.kind == crate::Kind::User);
    let data = json!({
        "idp": refused.actor,
        "request": format!("{} {}", refused.method, refused.path),
        // A create refused has no id yet: null, with the userName the IdP pushed.
        "userId": user.map(|t| t.id.as_str()).filter(|id| !id.is_empty()),
        "userName": user.map(|t| t.name.as_str()).filter(|n| !n.is_empty()),
        "seatsUsed": usage.used,
        "seatLimit": usage.limit,
    });
    tx.emit(event(EventType::SeatsRefused, data)).await
}

pub(super) async fn scim_switched(tx: &mut dyn Tx, on: bool, by: &str) -> Result<()> {
    let kind = if on { EventType::ScimEnabled } else { EventType::ScimDisabled };
    tx.emit(event(kind, json!({ "by": by }))).await
}
