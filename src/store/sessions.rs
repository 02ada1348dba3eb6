//! Panel sessions: records the session layer keeps, opaque here, stored under a hash of their id so the table
//! holds no live cookie. Written through the writer like every other write, so on SQLite nothing else takes the write
//! lock.
use crate::Result;
use crate::model::*;
use async_trait::async_trait;

/// Reads of this concern: on a read connection, a snapshot, or inside a write transaction.
#[async_trait]
pub trait SessionRead: Send {
    /// The data and expiry of a session that has not expired by `now`.
    async fn session(&mut self, id_hash: &str, now: Millis) -> Result<Option<(String, Millis)>>;
}

/// Writes of this concern: only a write transaction has them.
#[async_trait]
pub trait SessionWrite: Send {
    /// Stores a new session; false when the id is taken (the caller draws another).
    async fn insert_session(&mut self, id_hash: &str, data: &str, expires_at: Millis) -> Result<bool>;
    /// Replaces a stored session's data and expiry; false when it is gone. Never creates one: a request still in
    /// flight when its session was signed out cannot bring the session back.
    async fn update_session(&mut self, id_hash: &str, data: &str, expires_at: Millis) -> Result<bool>;
    async fn delete_session(&mut self, id_hash: &str) -> Result<()>;
    /// Deletes sessions that expired before `now`; returns how many.
    async fn delete_expired_sessions(&mut self, now: Millis) -> Result<u64>;
}
