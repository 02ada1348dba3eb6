//! Panel admins, their passwords, and the sign-in throttle's counts.
use crate::Result;
use crate::model::*;
use async_trait::async_trait;

/// An admin to add.
#[derive(Debug, Clone, Copy)]
pub struct NewAdmin<'a> {
    pub email: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    pub break_glass: bool,
}

/// Reads of this concern: on a read connection, a snapshot, or inside a write transaction.
#[async_trait]
pub trait AdminRead: Send {
    async fn count_admins(&mut self) -> Result<i64>;
    async fn admin_by_email(&mut self, email_folded: &str) -> Result<Option<Admin>>;
    /// The admin and their password hash, by folded email; None for an admin without a password (SSO only).
    async fn admin_credentials(&mut self, email_folded: &str) -> Result<Option<(Admin, String)>>;
    async fn admin_password_hash(&mut self, id: AdminId) -> Result<Option<String>>;
    async fn admin(&mut self, id: AdminId) -> Result<Option<Admin>>;
    async fn list_admins(&mut self) -> Result<Vec<Admin>>;
}

/// Writes of this concern: only a write transaction has them.
#[async_trait]
pub trait AdminWrite: Send {
    /// `Error::Conflict` when the folded email is taken.
    async fn insert_admin(&mut self, new: &NewAdmin<'_>, now: Millis) -> Result<Admin>;
    async fn set_admin_role(&mut self, id: AdminId, role: Role, now: Millis) -> Result<()>;
    async fn record_admin_sign_in(&mut self, id: AdminId, at: Millis) -> Result<()>;
    /// Sets the password and ends the admin's sessions signed in before `now`.
    async fn set_admin_password(&mut self, id: AdminId, password_hash: &str, now: Millis) -> Result<()>;
    async fn delete_admin(&mut self, id: AdminId) -> Result<()>;
    /// Counts one sign-in attempt for `key` and returns the attempts in its window and when the window began. A
    /// window that began before `window_floor` starts over.
    async fn count_sign_in_attempt(&mut self, key: &str, now: Millis, window_floor: Millis) -> Result<(i64, Millis)>;
    async fn clear_sign_in_attempts(&mut self, keys: &[String]) -> Result<()>;
    /// Deletes sign-in attempt windows that began before `before`.
    async fn prune_sign_in_attempts(&mut self, before: Millis) -> Result<u64>;
}
