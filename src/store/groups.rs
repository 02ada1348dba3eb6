//! Groups and their members, and the groups of users.
use crate::Result;
use crate::model::*;
use async_trait::async_trait;

/// Reads of this concern: on a read connection, a snapshot, or inside a write transaction.
#[async_trait]
pub trait GroupRead: Send {
    async fn group(&mut self, id: &GroupId) -> Result<Option<Group>>;
    async fn group_by_name(&mut self, display_name_folded: &str) -> Result<Option<Group>>;
    async fn list_groups(&mut self, q: &GroupQuery) -> Result<Page<Group>>;
    /// Members of one group, tombstones excluded, ordered by userName. `count` 0 means all.
    async fn members(&mut self, id: &GroupId, start_index: i64, count: i64) -> Result<Page<MemberRef>>;
    /// Members of several groups (tombstones excluded), in the order of `ids`.
    async fn members_of(&mut self, ids: &[GroupId]) -> Result<Vec<Vec<MemberRef>>>;
    async fn member_ids(&mut self, id: &GroupId) -> Result<Vec<UserId>>;
    async fn groups_of_user(&mut self, id: &UserId) -> Result<Vec<GroupRef>>;
    /// Groups of several users at once, for a page of the directory API.
    async fn groups_of_users(&mut self, ids: &[UserId]) -> Result<Vec<(UserId, GroupRef)>>;
    /// How many groups each of `ids` is in now; users in none are left out.
    async fn group_counts(&mut self, ids: &[UserId]) -> Result<Vec<(UserId, i64)>>;
    /// Groups by id order after `after`.
    async fn directory_groups(&mut self, after: Option<&GroupId>, limit: i64) -> Result<Vec<Group>>;
}

/// Writes of this concern: only a write transaction has them.
#[async_trait]
pub trait GroupWrite: Send {
    /// Writes every field, `member_count` included. `Error::Conflict` when the folded displayName is taken.
    async fn insert_group(&mut self, group: &Group) -> Result<()>;
    /// Writes every field, `member_count` included. `Error::Conflict` when the folded displayName is taken.
    async fn update_group(&mut self, group: &Group) -> Result<()>;
    async fn delete_group(&mut self, id: &GroupId) -> Result<()>;
    /// Adds the given users; returns those that were not members before. O(changed), not O(group size).
    async fn add_members(&mut self, id: &GroupId, users: &[UserId], now: Millis) -> Result<Vec<UserId>>;
    /// Removes the given users; returns those that were members.
    async fn remove_members(&mut self, id: &GroupId, users: &[UserId]) -> Result<Vec<UserId>>;
    /// Removes everyone; returns who was a member.
    async fn clear_members(&mut self, id: &GroupId) -> Result<Vec<UserId>>;
}
