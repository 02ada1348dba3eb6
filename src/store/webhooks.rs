//! Webhook endpoints, their leases and deliveries.
use crate::Result;
pub use crate::model::EndpointState;
use crate::model::*;
use async_trait::async_trait;

/// Reads of this concern: on a read connection, a snapshot, or inside a write transaction.
#[async_trait]
pub trait WebhookRead: Send {
    async fn list_webhooks(&mut self) -> Result<Vec<WebhookEndpoint>>;
    async fn webhook(&mut self, id: &str) -> Result<Option<EndpointWithSecrets>>;
    /// Endpoints with an attempt due and no live lease that have an event to send.
    async fn due_webhooks(&mut self, now: Millis) -> Result<Vec<String>>;
    async fn webhook_deliveries(&mut self, id: &str, limit: i64) -> Result<Vec<WebhookDelivery>>;
}

/// Writes of this concern: only a write transaction has them.
#[async_trait]
pub trait WebhookWrite: Send {
    /// Adds an endpoint that hears of events committed from now on.
    async fn insert_webhook(
        &mut self,
        url: &str,
        patterns: &[String],
        secret: &str,
        now: Millis,
    ) -> Result<WebhookEndpoint>;
    async fn delete_webhook(&mut self, id: &str) -> Result<bool>;
    /// Stores the secrets as they are (resealed under another key), changing nothing else.
    async fn set_webhook_secrets(&mut self, id: &str, secret: &str, previous: Option<&str>) -> Result<()>;
    /// Replaces the secret; the old one keeps signing until `previous_until`.
    async fn rotate_webhook(&mut self, id: &str, secret: &str, previous_until: Millis) -> Result<bool>;
    /// Takes the endpoint's lease until `until` for `owner` if it is due and no other instance holds it.
    async fn claim_webhook(
        &mut self,
        id: &str,
        owner: &str,
        now: Millis,
        until: Millis,
    ) -> Result<Option<EndpointWithSecrets>>;
    /// Records attempts and moves the endpoint on, keeping the lease until `lease_until` (0 lets it go), if `owner`
    /// still holds it; false when another instance took it meanwhile.
    async fn finish_attempt(
        &mut self,
        id: &str,
        owner: &str,
        deliveries: &[WebhookDelivery],
        state: &EndpointState,
        lease_until: Millis,
    ) -> Result<bool>;
    /// Records a manual "send again", which does not move the endpoint.
    async fn record_delivery(&mut self, delivery: &WebhookDelivery) -> Result<()>;
    /// Deletes delivery records from before `before`.
    async fn prune_webhook_deliveries(&mut self, before: Millis) -> Result<u64>;
    /// Makes a failing endpoint's next attempt due now.
    async fn retry_webhook_now(&mut self, id: &str, now: Millis) -> Result<bool>;
}
