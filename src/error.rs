use std::fmt;

/// What kind of thing an id named, for "not found" messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Kind {
    User,
    Group,
    Token,
    Admin,
    LogEntry,
    ApiToken,
    Webhook,
}

impl Kind {
    /// The name the provisioning log stores, and the audit trail and its hash chain use.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Group => "group",
            Kind::Token => "token",
            Kind::Admin => "admin",
            Kind::LogEntry => "event",
            Kind::ApiToken => "api_token",
            Kind::Webhook => "webhook",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "user" => Kind::User,
            "group" => Kind::Group,
            "token" => Kind::Token,
            "admin" => Kind::Admin,
            "event" => Kind::LogEntry,
            "api_token" => Kind::ApiToken,
            "webhook" => Kind::Webhook,
            _ => return None,
        })
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::User => "user",
            Kind::Group => "group",
            Kind::Token => "SCIM token",
            Kind::Admin => "admin",
            Kind::LogEntry => "log entry",
            Kind::ApiToken => "directory API token",
            Kind::Webhook => "webhook endpoint",
        })
    }
}

/// The domain error. Every variant's message is written for the person who will read it: an admin in the panel, or an
/// admin reading Okta's task list. `Internal` hides its source, which is logged by the boundary and never shown.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{kind} {id} not found")]
    NotFound { kind: Kind, id: String },
    /// A case-insensitive uniqueness clash (RFC 7644 §3.12 `uniqueness`).
    #[error("{what} '{value}' is already taken")]
    Conflict { what: &'static str, value: String },
    /// The ownership rule: IdP-managed users and groups are read-only in roster while SCIM is on.
    #[error("{what} is managed by {by} and is read-only here while SCIM provisioning is on; change it in {by}")]
    ReadOnly { what: String, by: String },
    /// One IdP per token name: an object another IdP manages is not this IdP's to change.
    #[error(
        "{what} is managed by {owner}, not {actor}. To hand it over, release {owner}'s objects in roster (SCIM page, \
         or `roster scim release '{owner}'`); {actor}'s next push then adopts it"
    )]
    OtherIdp { what: String, owner: String, actor: String },
    #[error("No free seats: {used} of {limit} in use. Raise the licence seats in roster, then retry the task in Okta.")]
    NoFreeSeats {
        used: i64,
        limit: i64,
        /// The userName of the user the write would have made take a seat, for the log entry and the dashboard.
        user: String,
    },
    #[error(
        "SCIM provisioning is disabled in roster; an admin can turn it on under SCIM settings or with `roster scim enable`"
    )]
    ScimDisabled,
    #[error("{0}")]
    InvalidFilter(String),
    #[error("{0}")]
    InvalidPath(String),
    #[error("{0}")]
    InvalidValue(String),
    #[error("{0}")]
    InvalidSyntax(String),
    #[error("{0}")]
    Mutability(String),
    #[error("{0}")]
    NoTarget(String),
    #[error("{0}")]
    TooMany(String),
    /// An `If-Match` that names another version (RFC 7644 §3.14).
    #[error("the resource was changed by someone else (current version {current}); fetch it again and retry")]
    PreconditionFailed { current: String },
    #[error("sign-in required")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(String),
    #[error("too many failed sign-in attempts; try again in {minutes} minutes")]
    Throttled { minutes: i64 },
    /// The database cannot be reached, or roster is too busy to take the request now; a retry later succeeds.
    #[error("{0}")]
    Unavailable(String),
    /// What was asked for existed once and is gone for good: an event feed cursor older than the retention.
    #[error("{0}")]
    Gone(String),
    /// An event feed cursor past the newest event, as after a restore of an older backup: following it would wait
    /// forever for numbers that were handed out to events this database no longer has.
    #[error(
        "the cursor {cursor} is ahead of the newest event, {newest}: this database was restored from an older copy, or \
         the cursor is not one it gave. Read the current state from /v1/users and /v1/groups, then follow the feed \
         from cursor {newest}"
    )]
    CursorAhead { cursor: i64, newest: i64 },
    /// Too many requests of one kind are in progress: a retry after a few seconds is welcome.
    #[error("{0}")]
    TooBusy(String),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl Error {
    pub fn not_found(kind: Kind, id: impl fmt::Display) -> Self {
        Error::NotFound { kind, id: id.to_string() }
    }

    pub fn internal(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Error::Internal(e.into())
    }
}

impl Error {
    /// The HTTP status and `scimType` of this error on `/scim` (RFC 7644 §3.12): the one table, used by the SCIM
    /// boundary and by tests that check which error a rule gives.
    pub fn scim(&self) -> (u16, Option<&'static str>) {
        match self {
            Error::NotFound { .. } => (404, None),
            Error::Conflict { .. } => (409, Some("uniqueness")),
            Error::ReadOnly { .. } => (403, Some("mutability")),
            Error::OtherIdp { .. } => (403, None),
            // A refusal Okta shows the admin verbatim, with the fix in the detail; a retry succeeds once seats are
            // raised.
            Error::NoFreeSeats { .. } => (403, None),
            Error::ScimDisabled => (403, None),
            Error::InvalidFilter(_) => (400, Some("invalidFilter")),
            Error::InvalidPath(_) => (400, Some("invalidPath")),
            Error::InvalidValue(_) => (400, Some("invalidValue")),
            Error::InvalidSyntax(_) => (400, Some("invalidSyntax")),
            Error::Mutability(_) => (400, Some("mutability")),
            Error::NoTarget(_) => (400, Some("noTarget")),
            Error::TooMany(_) => (400, Some("tooMany")),
            Error::PreconditionFailed { .. } => (412, None),
            Error::Unauthenticated => (401, None),
            Error::Forbidden(_) | Error::Throttled { .. } => (403, None),
            Error::Unavailable(_) => (503, None),
            Error::Gone(_) => (410, None),
            Error::CursorAhead { .. } => (409, None),
            Error::TooBusy(_) => (429, None),
            Error::Internal(_) => (500, None),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
