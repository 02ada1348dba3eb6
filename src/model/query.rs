//! What a listing asks for: the SCIM list parameters and the panel's searches, as plain data the store answers.
use super::Millis;
use super::Outcome;
use crate::scim::filter::Filter;

/// Which users a listing wants. `filter` comes from SCIM; the other fields from the panel.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    pub filter: Option<Filter>,
    /// The panel's search box: userName, name or email containing this, case-insensitively.
    pub search: Option<String>,
    pub status: Option<UserStatus>,
    /// `Some(true)`: IdP-managed only; `Some(false)`: local only.
    pub managed_by_idp: Option<bool>,
    pub sort: UserSort,
    pub descending: bool,
    /// 1-based (RFC 7644 §3.4.2.4).
    pub start_index: i64,
    pub count: i64,
    /// SCIM never sees tombstones; the panel shows them as "deleted in the IdP".
    pub include_deleted: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserStatus {
    Active,
    Inactive,
    DeletedInIdp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserSort {
    /// Creation order: stable across pages while users are added (the SCIM default).
    #[default]
    Created,
    UserName,
    DisplayName,
    FamilyName,
    LastModified,
}

#[derive(Debug, Clone, Default)]
pub struct GroupQuery {
    pub filter: Option<Filter>,
    pub search: Option<String>,
    pub sort_by_name: bool,
    pub descending: bool,
    pub start_index: i64,
    pub count: i64,
}

#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    /// Matches the target's id or name, or the actor.
    pub target: Option<String>,
    pub kind: Option<crate::Kind>,
    pub failed_only: bool,
    pub outcome: Option<Outcome>,
    pub since: Option<Millis>,
    pub until: Option<Millis>,
    pub start_index: i64,
    pub count: i64,
}
