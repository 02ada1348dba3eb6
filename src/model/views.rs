//! What pages show: plain data assembled by the services, shared with the wasm build of the panel.
use super::*;
use crate::rules::ownership::Access;

/// Counts for the dashboard.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Users that are not tombstones.
    pub users: i64,
    pub groups: i64,
}

/// What the dashboard shows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Dashboard {
    pub settings: Settings,
    pub seats: SeatUsage,
    pub counts: Counts,
    /// IdP pushes refused for lack of seats, newest first.
    pub refused: Vec<LogEntry>,
    pub refused_total: i64,
    pub errors_24h: i64,
    /// The last SCIM request any instance served (to the minute for other instances' requests).
    pub last_request_at: Option<Millis>,
    /// Successful SCIM reads this instance served since it started.
    pub reads: i64,
    pub recent: Vec<LogEntry>,
    pub charts: Charts,
}

/// Everything the user page shows, with the same access decision the write path enforces.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserDetail {
    pub user: User,
    pub access: Access,
    pub groups: Vec<GroupRef>,
    pub history: Vec<LogEntry>,
}

/// The group page: the group, its access decision, and a page of members.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupDetail {
    pub group: Group,
    pub access: Access,
    pub members: Page<MemberRef>,
}

/// A user as a table row: the fields lists show, without the SCIM document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRow {
    pub id: UserId,
    pub user_name: String,
    pub name: String,
    pub email: Option<String>,
    pub active: bool,
    pub deleted: bool,
    pub status: String,
    pub managed_by: ManagedBy,
    pub updated_at: Millis,
}

impl From<&User> for UserRow {
    fn from(u: &User) -> Self {
        UserRow {
            id: u.id.clone(),
            user_name: u.user_name.clone(),
            name: u.full_name(),
            email: u.email.clone(),
            active: u.active,
            deleted: u.deleted_at.is_some(),
            status: u.status_text(),
            managed_by: u.managed_by.clone(),
            updated_at: u.updated_at,
        }
    }
}

/// The SCIM settings page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScimSettings {
    pub enabled: bool,
    /// `<public URL>/scim/v2`: what to paste into Okta or Entra.
    pub base_url: String,
    pub tokens: Vec<Token>,
    /// The IdPs that manage objects, for "release".
    pub idps: Vec<IdpObjects>,
    /// A token created by the request that led here, shown this once.
    pub new_token: Option<String>,
    /// Admins' changes to IdP groups since SCIM was turned off, which the IdP's next Push now undoes.
    pub drift: Vec<GroupDrift>,
}

/// What one IdP manages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdpObjects {
    /// The token name the objects are managed by ("Okta").
    pub idp: String,
    pub users: i64,
    pub groups: i64,
}

/// The directory API and webhooks page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Integrations {
    /// `<public URL>/v1`.
    pub api_base: String,
    pub api_tokens: Vec<Token>,
    /// Each endpoint with its latest deliveries, newest first.
    pub webhooks: Vec<(WebhookEndpoint, Vec<WebhookDelivery>)>,
    /// A token or signing secret created by the request that led here, shown this once.
    pub new_secret: Option<String>,
}
