//! Storage traits. `server` implements them once per database (SQLite and PostgreSQL) and one contract suite tests
//! both. A [`Tx`] is one database transaction: services open one per mutation, run every rule inside it, and commit
//! once, so a refused request changes nothing.
use crate::Result;
use crate::model::*;
use crate::scim::filter::Filter;
use async_trait::async_trait;

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// A read-only snapshot. Dropping it without commit rolls back.
    async fn begin_read(&self) -> Result<Box<dyn Tx>>;
    /// A write transaction that holds the write lock from its first statement (SQLite `BEGIN IMMEDIATE`; PostgreSQL
    /// locks the settings row), so a seat count read inside it stays true until commit.
    async fn begin_write(&self) -> Result<Box<dyn Tx>>;
    /// For `/readyz`.
    async fn ping(&self) -> Result<()>;
}

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

/// A log entry to write.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub at: Millis,
    pub actor: String,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub outcome: Outcome,
    pub target: Option<Target>,
    pub diff: String,
    pub detail: String,
}

#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    /// Matches the target's id or name, or the actor.
    pub target: Option<String>,
    pub kind: Option<crate::error::Kind>,
    pub failed_only: bool,
    pub outcome: Option<Outcome>,
    pub since: Option<Millis>,
    pub until: Option<Millis>,
    pub start_index: i64,
    pub count: i64,
}

#[async_trait]
pub trait Tx: Send {
    async fn commit(self: Box<Self>) -> Result<()>;

    // Settings.
    async fn settings(&mut self) -> Result<Settings>;
    async fn set_scim_enabled(&mut self, on: bool) -> Result<()>;
    async fn set_seat_limit(&mut self, seats: SeatLimit) -> Result<()>;
    async fn setup_token_hash(&mut self) -> Result<Option<String>>;
    async fn set_setup_token_hash(&mut self, hash: Option<&str>) -> Result<()>;
    async fn counts(&mut self) -> Result<Counts>;

    // Admins.
    async fn count_admins(&mut self) -> Result<i64>;
    /// `Error::Conflict` when the folded email is taken.
    async fn insert_admin(&mut self, email: &str, password_hash: &str, now: Millis) -> Result<Admin>;
    /// The admin and their password hash, by folded email.
    async fn admin_credentials(&mut self, email_folded: &str) -> Result<Option<(Admin, String)>>;
    async fn admin_password_hash(&mut self, id: AdminId) -> Result<Option<String>>;
    async fn admin(&mut self, id: AdminId) -> Result<Option<Admin>>;
    async fn list_admins(&mut self) -> Result<Vec<Admin>>;
    async fn set_admin_password(&mut self, id: AdminId, password_hash: &str, now: Millis) -> Result<()>;

    // SCIM tokens.
    /// `Error::Conflict` when an unrevoked token has this name (folded).
    async fn insert_token(&mut self, name: &str, token_hash: &str, now: Millis) -> Result<ScimToken>;
    async fn list_tokens(&mut self) -> Result<Vec<ScimToken>>;
    /// Revokes the unrevoked token with this folded name; false when there is none.
    async fn revoke_token(&mut self, name_folded: &str, now: Millis) -> Result<bool>;
    /// An unrevoked token by hash, with whether SCIM is enabled, in one query (it runs on every SCIM request).
    async fn authenticate_token(&mut self, token_hash: &str) -> Result<Option<(ScimToken, bool)>>;
    async fn touch_token(&mut self, id: TokenId, now: Millis) -> Result<()>;

    // Users.
    async fn count_active_users(&mut self) -> Result<i64>;
    async fn user(&mut self, id: &UserId) -> Result<Option<User>>;
    async fn user_by_name(&mut self, user_name_folded: &str) -> Result<Option<User>>;
    /// `Error::Conflict` when the folded userName is taken.
    async fn insert_user(&mut self, user: &User) -> Result<()>;
    /// Writes every field and re-indexes emails. `Error::Conflict` on a userName clash.
    async fn update_user(&mut self, user: &User) -> Result<()>;
    async fn list_users(&mut self, q: &UserQuery) -> Result<Page<User>>;
    async fn groups_of_user(&mut self, id: &UserId) -> Result<Vec<GroupRef>>;
    /// The users among `ids` that exist (tombstones included), in no particular order.
    async fn users_by_ids(&mut self, ids: &[UserId]) -> Result<Vec<User>>;
    /// How many groups each of `ids` is in now.
    async fn group_counts(&mut self, ids: &[UserId]) -> Result<Vec<(UserId, i64)>>;

    // Groups.
    async fn group(&mut self, id: &GroupId) -> Result<Option<Group>>;
    async fn group_by_name(&mut self, display_name_folded: &str) -> Result<Option<Group>>;
    /// `Error::Conflict` when the folded displayName is taken.
    async fn insert_group(&mut self, group: &Group) -> Result<()>;
    async fn update_group(&mut self, group: &Group) -> Result<()>;
    async fn delete_group(&mut self, id: &GroupId) -> Result<()>;
    async fn list_groups(&mut self, q: &GroupQuery) -> Result<Page<Group>>;
    /// Members of one group, tombstones excluded, ordered by userName. `count` 0 means all.
    async fn members(&mut self, id: &GroupId, start_index: i64, count: i64) -> Result<Page<MemberRef>>;
    /// Adds the given users; returns those that were not members before. O(changed), not O(group size).
    async fn add_members(&mut self, id: &GroupId, users: &[UserId], now: Millis) -> Result<Vec<UserId>>;
    /// Removes the given users; returns those that were members.
    async fn remove_members(&mut self, id: &GroupId, users: &[UserId]) -> Result<Vec<UserId>>;
    /// Removes everyone; returns who was a member.
    async fn clear_members(&mut self, id: &GroupId) -> Result<Vec<UserId>>;
    async fn member_ids(&mut self, id: &GroupId) -> Result<Vec<UserId>>;

    // The provisioning log.
    async fn insert_event(&mut self, event: &NewEvent) -> Result<EventId>;
    async fn list_events(&mut self, q: &EventQuery) -> Result<Page<Event>>;
    async fn event(&mut self, id: EventId) -> Result<Option<Event>>;
}
