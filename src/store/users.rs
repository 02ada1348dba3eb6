//! Users: rows, their emails and their search index, the listings, and the directory API's keyset pages.
use crate::Result;
use crate::model::*;
use async_trait::async_trait;

/// Reads of this concern: on a read connection, a snapshot, or inside a write transaction.
#[async_trait]
pub trait UserRead: Send {
    async fn user(&mut self, id: &UserId) -> Result<Option<User>>;
    async fn user_by_name(&mut self, user_name_folded: &str) -> Result<Option<User>>;
    async fn list_users(&mut self, q: &UserQuery) -> Result<Page<User>>;
    /// The users among `ids` that exist (tombstones included), in no particular order.
    async fn users_by_ids(&mut self, ids: &[UserId]) -> Result<Vec<User>>;
    /// The users among `ids` that exist and are not tombstones, each with whether it is active.
    async fn live_users(&mut self, ids: &[UserId]) -> Result<Vec<(UserId, bool)>>;
    /// Live and tombstoned users by id order after `q.after`, filtered by group and active.
    async fn directory_users(&mut self, q: &DirectoryUserQuery) -> Result<Vec<User>>;
}

/// Writes of this concern: only a write transaction has them.
#[async_trait]
pub trait UserWrite: Send {
    /// `Error::Conflict` when the folded userName is taken.
    async fn insert_user(&mut self, user: &User) -> Result<()>;
    /// Writes every field of `after`; `before` is the stored user it replaces, so only what changed is re-indexed.
    /// `Error::Conflict` on a userName clash.
    async fn update_user(&mut self, before: &User, after: &User) -> Result<()>;
}
