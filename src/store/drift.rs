//! Drift: an admin's changes to an IdP group's members while SCIM was off, netted, until the IdP's next push.
use crate::Result;
use crate::model::*;
use async_trait::async_trait;

/// Reads of this concern: on a read connection, a snapshot, or inside a write transaction.
#[async_trait]
pub trait DriftRead: Send {
    async fn drift_of_group(&mut self, group: &GroupId) -> Result<Vec<DriftMember>>;
    /// Drift per group, for the SCIM page.
    async fn drift(&mut self) -> Result<Vec<GroupDrift>>;
}

/// Writes of this concern: only a write transaction has them.
#[async_trait]
pub trait DriftWrite: Send {
    /// Keeps an admin's changes to an IdP group's members, each user with whether they were added, already netted by
    /// [`crate::rules::drift::net`]; a user's newer change replaces the one kept.
    async fn record_drift(&mut self, group: &GroupId, changes: &[(UserId, bool)], by: &str, at: Millis) -> Result<()>;
    /// Forgets the drift of these users in the group.
    async fn clear_drift(&mut self, group: &GroupId, users: &[UserId]) -> Result<()>;
}
