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
    pub client: Option<Client>,
}

/// The log's hash chain as its row records it (migration 0013).
#[derive(Debug, Clone)]
pub struct LogChain {
    /// The newest entry's number.
    pub head: i64,
    /// Where retention cut the chain: the oldest kept entry chains to this.
    pub cut: crate::audit::chain::Link,
    /// Entries from this number on are numbered one after another.
    pub numbered_from: i64,
    /// Entries up to here have their hashes.
    pub sealed_through: i64,
}

/// Reads of this concern: on a read connection, a snapshot, or inside a write transaction.
#[async_trait]
pub trait LogRead: Send {
    async fn log_entries(&mut self, q: &LogQuery) -> Result<Page<LogEntry>>;
    async fn log_entry(&mut self, id: LogEntryId) -> Result<Option<LogEntry>>;
    /// Up to `limit` entries matching `q` numbered after `after`, oldest first: the audit trail's pages and exports.
    async fn log_entries_after(&mut self, q: &LogQuery, after: i64, limit: i64) -> Result<Vec<LogEntry>>;
    async fn log_chain(&mut self) -> Result<LogChain>;
    /// Up to `limit` entries numbered after `after`, oldest first, exactly as stored: what `roster log verify` walks.
    async fn log_rows_after(&mut self, after: i64, limit: i64) -> Result<Vec<crate::audit::chain::Row>>;
}

/// Writes of this concern: only a write transaction has them.
#[async_trait]
pub trait LogWrite: Send {
    /// Writes a log entry now and returns its id (for a failure's detail, which quotes it).
    async fn insert_log_entry(&mut self, entry: &NewLogEntry) -> Result<LogEntryId>;
    /// Records a log entry of this transaction: written when it commits, or never if it does not.
    async fn add_log_entry(&mut self, entry: &NewLogEntry) -> Result<()>;
    /// Deletes up to `limit` of the oldest log entries from before `before`; returns how many went. The chain is cut
    /// after the last one removed.
    async fn prune_log_entries(&mut self, before: Millis, limit: i64) -> Result<u64>;
    /// Hashes up to `limit` entries from before the chain began (migration 0013), oldest first; returns how many.
    async fn seal_log_backlog(&mut self, limit: i64) -> Result<u64>;
}
