//! The provisioning log: an entry per write or refusal, with its diff and request.
use crate::Result;
use crate::model::*;
use async_trait::async_trait;

/// A log entry to write.
#[derive(Debug, Clone)]
pub struct NewLogEntry {
    pub at: Millis,
    pub actor: String,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub outcome: Outcome,
    pub target: Option<Target>,
    pub diff: String,
    pub detail: String,
    pub request_id: Option<String>,
}

/// Reads of this concern: on a read connection, a snapshot, or inside a write transaction.
#[async_trait]
pub trait LogRead: Send {
    async fn log_entries(&mut self, q: &LogQuery) -> Result<Page<LogEntry>>;
    async fn log_entry(&mut self, id: LogEntryId) -> Result<Option<LogEntry>>;
}

/// Writes of this concern: only a write transaction has them.
#[async_trait]
pub trait LogWrite: Send {
    /// Writes a log entry now and returns its id (for a failure's detail, which quotes it).
    async fn insert_log_entry(&mut self, entry: &NewLogEntry) -> Result<LogEntryId>;
    /// Records a log entry of this transaction: written when it commits, or never if it does not.
    async fn add_log_entry(&mut self, entry: &NewLogEntry) -> Result<()>;
    /// Deletes up to `limit` of the oldest log entries from before `before`; returns how many went.
    async fn prune_log_entries(&mut self, before: Millis, limit: i64) -> Result<u64>;
}
