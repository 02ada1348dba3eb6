//! What the rest of the product hears: directory events (the outbox, the feed and webhooks), the directory API's
//! views, webhook endpoints and their deliveries, drift while SCIM is off, and the dashboard's chart series.
use super::{GroupId, Millis, User, UserId, rfc3339};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The kinds of directory event. The names are the wire names (`user.deactivated`), stable for consumers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventType {
    UserCreated,
    UserUpdated,
    UserActivated,
    UserDeactivated,
    UserDeleted,
    UserRestored,
    GroupCreated,
    GroupUpdated,
    GroupDeleted,
    GroupMembersAdded,
    GroupMembersRemoved,
    SeatsRefused,
    ScimEnabled,
    ScimDisabled,
}

impl EventType {
    pub const ALL: [EventType; 14] = [
        EventType::UserCreated,
        EventType::UserUpdated,
        EventType::UserActivated,
        EventType::UserDeactivated,
        EventType::UserDeleted,
        EventType::UserRestored,
        EventType::GroupCreated,
        EventType::GroupUpdated,
        EventType::GroupDeleted,
        EventType::GroupMembersAdded,
        EventType::GroupMembersRemoved,
        EventType::SeatsRefused,
        EventType::ScimEnabled,
        EventType::ScimDisabled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::UserCreated => "user.created",
            EventType::UserUpdated => "user.updated",
            EventType::UserActivated => "user.activated",
            EventType::UserDeactivated => "user.deactivated",
            EventType::UserDeleted => "user.deleted",
            EventType::UserRestored => "user.restored",
            EventType::GroupCreated => "group.created",
            EventType::GroupUpdated => "group.updated",
            EventType::GroupDeleted => "group.deleted",
            EventType::GroupMembersAdded => "group.members_added",
            EventType::GroupMembersRemoved => "group.members_removed",
            EventType::SeatsRefused => "seats.refused",
            EventType::ScimEnabled => "scim.enabled",
            EventType::ScimDisabled => "scim.disabled",
        }
    }
}

/// Which event types an endpoint wants: `user.deactivated`, `user.*` or `*`, comma-separated on the command line.
pub fn parse_event_patterns(s: &str) -> Result<Vec<String>, String> {
    let patterns: Vec<String> =
        s.split(',').map(str::trim).filter(|p| !p.is_empty()).map(str::to_ascii_lowercase).collect();
    if patterns.is_empty() {
        return Ok(vec!["*".into()]);
    }
    for p in &patterns {
        let known = p == "*"
            || EventType::ALL.iter().any(|t| t.as_str() == p)
            || p.strip_suffix(".*")
                .is_some_and(|prefix| EventType::ALL.iter().any(|t| t.as_str().split('.').next() == Some(prefix)));
        if !known {
            let types: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
            return Err(format!(
                "'{p}' is not an event type or pattern; use '*', 'user.*', 'group.*', or one of: {}",
                types.join(", ")
            ));
        }
    }
    Ok(patterns)
}

/// Whether an event of type `t` matches one of `patterns`.
pub fn wants(patterns: &[String], t: &str) -> bool {
    patterns
        .iter()
        .any(|p| p == "*" || p == t || p.strip_suffix(".*").is_some_and(|prefix| t.split('.').next() == Some(prefix)))
}

/// An event to write with the change that caused it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDirectoryEvent {
    pub kind: EventType,
    pub at: Millis,
    pub data: Value,
}

/// A stored event. `seq` orders events by commit and is the feed's cursor; `id` is the Standard Webhooks message id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirectoryEvent {
    pub seq: i64,
    pub id: String,
    pub kind: String,
    pub at: Millis,
    pub data: Value,
}

impl DirectoryEvent {
    /// The JSON the feed lists and each webhook delivery carries: the Standard Webhooks payload shape (`type`,
    /// `timestamp`, `data`) plus the event's `id`.
    pub fn payload(&self) -> Value {
        json!({ "id": self.id, "type": self.kind, "timestamp": rfc3339(self.at), "data": self.data })
    }
}

/// A group as the directory API and events name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DirectoryGroupRef {
    pub id: GroupId,
    pub display_name: String,
}

/// A user as the directory API returns it and events carry it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DirectoryUser {
    pub id: UserId,
    pub user_name: String,
    pub display_name: Option<String>,
    /// The primary email (else the first).
    pub email: Option<String>,
    /// Whether the user may use the product now.
    pub active: bool,
    /// Deleted in the IdP: kept as a tombstone, never active.
    pub deleted: bool,
    /// `active`, `inactive` or `deleted`.
    pub status: String,
    /// The reason in the words of the user page: "Inactive: deactivated by Okta on 2026-11-29 14:02 UTC".
    pub status_text: String,
    /// Why an inactive user is inactive, as a stable code: `idp`, `idp_deleted`, `last_group_removed`, `admin`,
    /// `created_inactive`.
    pub reason: Option<String>,
    /// "Okta", or "roster" for local users.
    pub managed_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<DirectoryGroupRef>>,
    /// When the user last changed (RFC 3339).
    pub last_change: String,
    pub version: i64,
}

impl DirectoryUser {
    pub fn of(u: &User, groups: Option<Vec<DirectoryGroupRef>>) -> DirectoryUser {
        use super::InactiveReason as R;
        let reason = u.inactive_reason.as_ref().filter(|_| !u.active).map(|r| match r {
            R::DeactivatedByIdp { .. } => "idp",
            R::DeletedInIdp { .. } => "idp_deleted",
            R::LastGroupRemoved { .. } => "last_group_removed",
            R::DeactivatedByAdmin { .. } => "admin",
            R::CreatedInactive { .. } => "created_inactive",
        });
        let status = match (u.deleted_at.is_some(), u.active) {
            (true, _) => "deleted",
            (false, true) => "active",
            (false, false) => "inactive",
        };
        DirectoryUser {
            id: u.id.clone(),
            user_name: u.user_name.clone(),
            display_name: u.display_name.clone(),
            email: u.email.clone(),
            active: u.takes_seat(),
            deleted: u.deleted_at.is_some(),
            status: status.into(),
            status_text: u.status_text(),
            reason: reason.map(str::to_owned),
            managed_by: u.managed_by.label().to_owned(),
            groups,
            last_change: rfc3339(u.updated_at),
            version: u.version,
        }
    }
}

/// A group as the directory API lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DirectoryGroup {
    pub id: GroupId,
    pub display_name: String,
    pub managed_by: String,
    pub member_count: i64,
    pub last_change: String,
}

impl DirectoryGroup {
    pub fn of(g: &super::Group) -> DirectoryGroup {
        DirectoryGroup {
            id: g.id.clone(),
            display_name: g.display_name.clone(),
            managed_by: g.managed_by.label().to_owned(),
            member_count: g.member_count,
            last_change: rfc3339(g.updated_at),
        }
    }
}

/// A page of the directory API: the items and, when there are more, the cursor of the next page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CursorPage<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// `GET /v1/users`'s filters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirectoryUserQuery {
    pub group: Option<GroupId>,
    pub active: Option<bool>,
    /// The last id of the previous page.
    pub after: Option<UserId>,
    pub limit: i64,
}

/// A webhook endpoint as the panel and the CLI show it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEndpoint {
    pub id: String,
    pub url: String,
    pub event_types: Vec<String>,
    pub created_at: Millis,
    /// The seq of the last event handled.
    pub delivered_through: i64,
    /// Failed attempts at the next event.
    pub attempt: i64,
    pub failing_since: Option<Millis>,
    pub next_attempt_at: Millis,
    pub last_error: Option<String>,
    /// Until when the secret before the last rotation still signs.
    pub previous_secret_until: Option<Millis>,
}

/// The signing secrets of an endpoint: the current one and, for 24 hours after a rotation, the previous one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSecrets {
    pub current: String,
    pub previous: Option<String>,
}

/// An endpoint with the secrets that sign for it, as delivery and "Send again" need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointWithSecrets {
    pub endpoint: WebhookEndpoint,
    pub secrets: WebhookSecrets,
}

/// One delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    pub id: i64,
    pub endpoint_id: String,
    pub event_seq: i64,
    pub event_id: String,
    pub event_type: String,
    pub attempt: i64,
    pub at: Millis,
    pub instance: String,
    pub status: Option<i64>,
    pub outcome: DeliveryOutcome,
    pub error: String,
    pub duration_ms: i64,
}

/// What changes a webhook attempt makes to its endpoint, decided by the delivery rule
/// ([`crate::rules::delivery`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointState {
    pub delivered_through: i64,
    pub attempt: i64,
    pub failing_since: Option<Millis>,
    pub next_attempt_at: Millis,
    pub last_error: Option<String>,
}

/// What became of a delivery attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryOutcome {
    /// The receiver answered 2xx; the endpoint moves on.
    Delivered,
    /// It will be tried again.
    Failed,
    /// A day of failures: given up on, and the endpoint moved on.
    GaveUp,
    /// Sent again by hand ("Send again"), outside the endpoint's order.
    Resent,
}

impl DeliveryOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryOutcome::Delivered => "delivered",
            DeliveryOutcome::Failed => "failed",
            DeliveryOutcome::GaveUp => "gave_up",
            DeliveryOutcome::Resent => "resent",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryOutcome> {
        [DeliveryOutcome::Delivered, DeliveryOutcome::Failed, DeliveryOutcome::GaveUp, DeliveryOutcome::Resent]
            .into_iter()
            .find(|o| o.as_str() == s)
    }
}

/// What an attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptResult {
    pub status: Option<i64>,
    pub error: String,
    pub duration_ms: i64,
}

impl AttemptResult {
    pub fn delivered(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// An admin's change to an IdP group's membership while SCIM was off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftMember {
    pub user_id: UserId,
    pub user_name: String,
    /// true: added by the admin; false: removed.
    pub added: bool,
    pub by_admin: String,
    pub at: Millis,
}

/// Drift per group, for the SCIM page and the confirmation that turns SCIM on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupDrift {
    pub group_id: GroupId,
    pub display_name: String,
    pub idp: String,
    pub added: i64,
    pub removed: i64,
}

impl GroupDrift {
    /// "Eng: +3 members, −1 member since SCIM was turned off".
    pub fn describe(&self) -> String {
        let n = |k: i64| if k == 1 { "member" } else { "members" };
        let mut parts = Vec::new();
        if self.added > 0 {
            parts.push(format!("+{} {}", self.added, n(self.added)));
        }
        if self.removed > 0 {
            parts.push(format!("−{} {}", self.removed, n(self.removed)));
        }
        format!("{}: {} since SCIM was turned off", self.display_name, parts.join(", "))
    }
}

/// One day of the seats chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatDay {
    /// Days since the Unix epoch.
    pub day: i64,
    pub used: i64,
    pub peak: i64,
    pub limit: i64,
}

/// One hour of the activity chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ActivityHour {
    /// Hours since the Unix epoch.
    pub hour: i64,
    pub writes: i64,
    pub no_seats: i64,
    pub failed: i64,
}

/// The dashboard's two charts.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Charts {
    /// The last 30 days, oldest first, each day present (carried forward from the last change).
    pub seats: Vec<SeatDay>,
    /// The last 168 hours, oldest first, each hour present.
    pub activity: Vec<ActivityHour>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert_eq!(parse_event_patterns("").unwrap_or_default(), vec!["*"]);
        let p = parse_event_patterns("user.*, group.members_added").unwrap_or_default();
        assert!(wants(&p, "user.deactivated"));
        assert!(wants(&p, "group.members_added"));
        assert!(!wants(&p, "group.created"));
        assert!(!wants(&p, "scim.enabled"));
        assert!(parse_event_patterns("users.*").is_err());
        assert!(parse_event_patterns("user.gone").is_err());
    }
}
