use std::fmt;

/// What kind of thing an id named, for "not found" messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Kind {
    User,
    Group,
    Token,
    Admin,
    Event,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::User => "user",
            Kind::Group => "group",
            Kind::Token => "SCIM token",
            Kind::Admin => "admin",
            Kind::Event => "log entry",
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
    #[error("No free seats: {used} of {limit} in use. Raise the licence seats in roster, then retry the task in Okta.")]
    NoFreeSeats { used: i64, limit: i64 },
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
    #[error("too many failed sign-in attempts; try again in a minute")]
    Throttled,
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

pub type Result<T, E = Error> = std::result::Result<T, E>;
