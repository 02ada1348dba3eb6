//! The outbox: directory events written with the changes they describe, in commit order.
use crate::Result;
use crate::model::*;
use async_trait::async_trait;

/// Reads of this concern: on a read connection, a snapshot, or inside a write transaction.
#[async_trait]
pub trait OutboxRead: Send {
    /// Up to `limit` events after `after`, in commit order.
    async fn directory_events(&mut self, after: i64, limit: i64) -> Result<Vec<DirectoryEvent>>;
    /// The newest event's seq (0 when none) and the highest seq retention pruned.
    async fn event_bounds(&mut self) -> Result<(i64, i64)>;
}

/// Writes of this concern: only a write transaction has them.
#[async_trait]
pub trait OutboxWrite: Send {
    /// Records a directory event of this transaction: written when it commits, or never if it does not.
    async fn emit(&mut self, event: NewDirectoryEvent) -> Result<()>;
    /// Deletes up to `limit` of the oldest events from before `before`; returns how many went.
    async fn prune_directory_events(&mut self, before: Millis, limit: i64) -> Result<u64>;
}
