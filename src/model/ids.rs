use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! string_id {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(&self.0) }
        }
        impl $name {
            pub fn as_str(&self) -> &str { &self.0 }
        }
    };
}

macro_rules! int_id {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { write!(f, "{}", self.0) }
        }
    };
}

string_id!(
    /// A user's SCIM `id`: a UUID assigned by roster, stable, never reused (RFC 7643 §3.1).
    UserId
);
string_id!(
    /// A group's SCIM `id`.
    GroupId
);
int_id!(AdminId);
int_id!(TokenId);
int_id!(
    /// A provisioning-log entry. Quoted at the end of every SCIM error detail so Okta's task list leads to it.
    EventId
);

/// A SCIM `userName`: stored and returned exactly as sent, compared case-insensitively (RFC 7643 §4.1.1 caseExact=false).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserName(String);

impl UserName {
    /// Trims nothing and changes nothing: Okta's SPEC test checks the case survives. Empty names are refused.
    pub fn parse(s: &str) -> crate::Result<Self> {
        if s.trim().is_empty() {
            return Err(crate::Error::InvalidValue("userName is required and must not be empty".into()));
        }
        if s.chars().count() > 256 {
            return Err(crate::Error::InvalidValue("userName is longer than 256 characters".into()));
        }
        Ok(UserName(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The folded form the unique index is on.
    pub fn folded(&self) -> String {
        fold(&self.0)
    }
}

impl PartialEq for UserName {
    fn eq(&self, other: &Self) -> bool {
        self.folded() == other.folded()
    }
}
impl Eq for UserName {}

impl fmt::Display for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Case folding used for every case-insensitive column, done in Rust so SQLite and PostgreSQL agree exactly.
pub fn fold(s: &str) -> String {
    s.to_lowercase()
}
