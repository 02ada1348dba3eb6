//! The domain model. Everything here is plain data, serialisable, and compiles to wasm so the panel can share it.
mod directory;
mod ids;
mod query;
mod user;
mod views;

pub use directory::*;
pub use ids::*;
pub use query::*;
pub use user::*;
pub use views::*;

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch, UTC. One integer type on both databases, sortable, and free of time-zone doubt.
pub type Millis = i64;

/// Formats [`Millis`] as RFC 3339 (`2026-11-29T14:02:00Z`), the form SCIM's `meta` uses (RFC 7643 §3.1).
pub fn rfc3339(ms: Millis) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// Parses RFC 3339 into [`Millis`], for filters such as `meta.lastModified gt "2011-05-13T04:42:34Z"`.
pub fn parse_rfc3339(s: &str) -> Option<Millis> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

/// A short, human form for the panel: `2026-11-29 14:02 UTC`.
pub fn human_time(ms: Millis) -> String {
    let s = rfc3339(ms);
    match (s.get(0..10), s.get(11..16)) {
        (Some(d), Some(t)) => format!("{d} {t} UTC"),
        _ => s,
    }
}

/// Who owns a user or group. IdP-synced users and groups are read-only in the panel while SCIM is on, so ownership is
/// recorded on the row, not inferred from the request path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ManagedBy {
    /// Created in roster by an admin.
    Local,
    /// Created or adopted by an IdP over SCIM; `idp` is the name of the token it came through ("Okta").
    Scim { idp: String },
}

impl ManagedBy {
    pub fn is_scim(&self) -> bool {
        matches!(self, ManagedBy::Scim { .. })
    }

    /// The label the panel shows: "Okta", or "roster" for local objects.
    pub fn label(&self) -> &str {
        match self {
            ManagedBy::Local => "roster",
            ManagedBy::Scim { idp } => idp,
        }
    }
}

/// The instance-wide settings row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    pub scim_enabled: bool,
    pub seats: SeatLimit,
}

/// The licence: how many active users the installation may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SeatLimit(pub i64);

/// Seat use at a moment, for the dashboard and the licence page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatUsage {
    pub used: i64,
    pub limit: i64,
}

impl SeatUsage {
    pub fn free(&self) -> i64 {
        (self.limit - self.used).max(0)
    }
}

/// Who is acting. Ownership decisions depend on this, never on which endpoint a request came through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Actor {
    Admin {
        id: AdminId,
        email: String,
        /// What the admin may do ([`crate::rules::roles`]), as of this request.
        role: Role,
    },
    Scim {
        token: TokenId,
        name: String,
    },
    /// The command line, run by whoever holds the server's database.
    System,
}

impl Actor {
    pub fn name(&self) -> String {
        match self {
            Actor::Admin { email, .. } => email.clone(),
            Actor::Scim { name, .. } => name.clone(),
            Actor::System => "roster CLI".into(),
        }
    }
}

/// An admin of the panel. The password hash never leaves the store layer in this type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Admin {
    pub id: AdminId,
    pub email: String,
    pub created_at: Millis,
    /// Sessions signed in before this moment are over (set when the password changes).
    #[serde(default)]
    pub sessions_valid_from: Millis,
    pub role: Role,
    /// A local password that works even when sign-in through the company's IdP is required: the way in when the IdP is
    /// down. Each of its sign-ins is logged as such.
    #[serde(default)]
    pub break_glass: bool,
    #[serde(default)]
    pub last_sign_in_at: Option<Millis>,
    /// The admin's subject at the company's OpenID provider, once they signed in through it: from then on they are
    /// found by it, not by email.
    #[serde(default)]
    pub oidc_subject: Option<String>,
}

impl Admin {
    /// How the admin signs in, for `roster admin list` and the Admins page.
    pub fn sign_in_method(&self) -> &'static str {
        match (&self.oidc_subject, self.break_glass) {
            (_, true) => "password (break-glass)",
            (Some(_), false) => "single sign-on",
            (None, false) => "password",
        }
    }
}

/// Sign-in through the company's OpenID provider (OIDC), installation-wide. The client secret is never in this type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoSettings {
    pub issuer: String,
    pub client_id: String,
    /// The sign-in button's label: "Sign in with {label}".
    pub label: String,
    /// The ID token or userinfo claim that lists the admin's groups.
    pub groups_claim: String,
    /// Scopes asked for beyond `openid email profile`.
    pub scopes: Vec<String>,
    /// Password sign-in refused but for break-glass admins.
    pub required: bool,
    /// Which of the provider's groups gives which role.
    pub roles: Vec<(String, Role)>,
}

/// What an admin may do in the panel, highest first. The table of what each may do is [`crate::rules::roles`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including admins, roles and sign-in settings.
    Owner,
    /// Everything but admins, roles and sign-in settings.
    Admin,
    /// Local users and the membership of groups roster manages.
    Helpdesk,
    /// Reads every page; changes nothing.
    Auditor,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Owner, Role::Admin, Role::Helpdesk, Role::Auditor];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Helpdesk => "helpdesk",
            Role::Auditor => "auditor",
        }
    }

    /// A role by its name, as the CLI and the panel's forms send it.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a bearer token opens: SCIM (read and write, for IdPs) or the directory API (read only, for the product's own
/// services). Neither works where the other does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenKind {
    Scim,
    Api,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Scim => "scim",
            TokenKind::Api => "api",
        }
    }
}

/// A named bearer token (SCIM or directory API). Only its SHA-256 is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    pub id: TokenId,
    pub name: String,
    pub created_at: Millis,
    pub last_used_at: Option<Millis>,
    pub revoked_at: Option<Millis>,
    /// What an API token may read; SCIM tokens are always `Directory`.
    pub scope: ApiScope,
}

/// What a directory API token may read: the directory (users, groups, events) or the audit trail, never both, so a
/// SIEM's credential reads no personal data beyond the log and a service's reads no log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ApiScope {
    #[default]
    Directory,
    Audit,
}

impl ApiScope {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiScope::Directory => "directory",
            ApiScope::Audit => "audit",
        }
    }

    pub fn parse(s: &str) -> Option<ApiScope> {
        match s {
            "directory" => Some(ApiScope::Directory),
            "audit" => Some(ApiScope::Audit),
            _ => None,
        }
    }
}

/// A group, without its members (which may number 50,000 and are paged separately).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub id: GroupId,
    pub display_name: String,
    pub external_id: Option<String>,
    pub managed_by: ManagedBy,
    /// Attributes of unknown extensions, kept and echoed back (RFC 7643 §3.3).
    pub extra: serde_json::Map<String, serde_json::Value>,
    pub member_count: i64,
    pub version: i64,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// A member as a group lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRef {
    pub id: UserId,
    pub user_name: String,
    pub active: bool,
}

/// A group as a user's page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRef {
    pub id: GroupId,
    pub display_name: String,
}

/// One line of the provisioning log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    pub id: LogEntryId,
    pub at: Millis,
    pub actor: String,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub outcome: Outcome,
    pub target: Option<Target>,
    /// A short, redacted summary of what changed: `active: true → false`.
    pub diff: String,
    pub detail: String,
    /// The HTTP request's `X-Request-Id`, to find its lines in the server log.
    pub request_id: Option<String>,
    /// Where the request came from, where known.
    pub client: Option<Client>,
    /// The entry's link in the audit chain: SHA-256 over its content and the previous entry's hash
    /// ([`crate::audit::chain`]). None only for an entry not yet sealed.
    pub hash: Option<String>,
}

/// Who sent a request: the client's address and user agent, as the log records them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    pub address: String,
    pub user_agent: String,
}

/// What an event's request came to, for filtering and for the dashboard's refused-push count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Ok,
    /// Refused because every seat was taken.
    NoSeats,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::NoSeats => "no_seats",
            Outcome::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Outcome {
        match s {
            "ok" => Outcome::Ok,
            "no_seats" => Outcome::NoSeats,
            _ => Outcome::Failed,
        }
    }
}

/// What a log entry was about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub kind: crate::error::Kind,
    pub id: String,
    pub name: String,
}

/// A page of results: SCIM's ListResponse and the panel's tables share it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Every match, not just this page (RFC 7644 §3.4.2.4).
    pub total: i64,
    /// 1-based index of the first item.
    pub start_index: i64,
}

impl<T> Page<T> {
    pub fn new(items: Vec<T>, total: i64, start_index: i64) -> Page<T> {
        Page { items, total, start_index }
    }

    /// The same page with each item turned into another.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), total: self.total, start_index: self.start_index }
    }

    /// [`Page::map`] with a conversion that can fail.
    pub fn try_map<U, E>(self, f: impl FnMut(T) -> Result<U, E>) -> Result<Page<U>, E> {
        let items = self.items.into_iter().map(f).collect::<Result<_, _>>()?;
        Ok(Page { items, total: self.total, start_index: self.start_index })
    }

    /// The 1-based index of the first item on page `page` (1-based) of `per_page` items. Page numbers come from URLs,
    /// so any number is bounded here: below 1 is the first page, and a page past the largest index an `i64` holds is
    /// that last page (it is empty), never an overflow.
    pub fn start_of(page: i64, per_page: i64) -> i64 {
        let per_page = per_page.max(1);
        (page.clamp(1, i64::MAX / per_page) - 1) * per_page + 1
    }
}

#[cfg(test)]
mod page_tests {
    use super::Page;

    #[test]
    fn any_page_number_gives_a_start_index() {
        assert_eq!(Page::<()>::start_of(1, 50), 1);
        assert_eq!(Page::<()>::start_of(3, 50), 101);
        assert_eq!(Page::<()>::start_of(0, 50), 1);
        assert_eq!(Page::<()>::start_of(i64::MIN, 50), 1);
        let last = Page::<()>::start_of(i64::MAX, 50);
        assert!(last > 0 && last <= i64::MAX - 49, "{last}");
    }
}
