use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! string_id {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    LogEntryId
);

/// Case folding used for every case-insensitive column, done in Rust so SQLite and PostgreSQL agree exactly.
pub fn fold(s: &str) -> String {
    s.to_lowercase()
}
