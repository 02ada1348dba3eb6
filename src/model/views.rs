//! What pages show: plain data assembled by the services, shared with the wasm build of the panel.
use super::*;
use crate::rules::ownership::Access;

/// Counts for the dashboard.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub users: i64,
    pub active_users: i64,
    pub groups: i64,
}

/// What the dashboard shows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Dashboard {
    pub settings: Settings,
    pub seats: SeatUsage,
    pub counts: Counts,
    /// IdP pushes refused for lack of seats, newest first.
    pub refused: Vec<Event>,
    pub refused_total: i64,
    pub errors_24h: i64,
    /// The last SCIM request this instance served.
    pub last_request_at: Option<Millis>,
    /// Successful SCIM reads this instance served since it started.
    pub reads: i64,
    pub recent: Vec<Event>,
}

/// Everything the user page shows, with the same access decision the write path enforces.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserDetail {
    pub user: User,
    pub access: Access,
    pub groups: Vec<GroupRef>,
    pub history: Vec<Event>,
}

/// The group page: the group, its access decision, and a page of members.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupDetail {
    pub group: Group,
    pub access: Access,
    pub members: Page<MemberRef>,
}
