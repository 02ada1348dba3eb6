//! Webhook endpoints, their leases and their deliveries.
use super::direct::record;
use super::job::SqlTx;
use super::sql::args;
use async_trait::async_trait;
use roster::model::*;
use roster::store::{EndpointState, OutboxRead, WebhookRead, WebhookWrite};
use roster::{Error, Result};

const ENDPOINT_COLUMNS: &str = "endpoint_id, url, event_types, secret, previous_secret, previous_secret_until, \
    created_at, delivered_through, attempt, failing_since, next_attempt_at, last_error";

const DELIVERY_COLUMNS: &str = "delivery_id, endpoint_id, event_seq, event_id, event_type, attempt, at, instance, \
    status, outcome, error, duration_ms";

record! {
    struct EndpointRow {
        endpoint_id: String,
        url: String,
        event_types: String,
        secret: String,
        previous_secret: Option<String>,
        previous_secret_until: Option<i64>,
        created_at: i64,
        delivered_through: i64,
        attempt: i64,
        failing_since: Option<i64>,
        next_attempt_at: i64,
        last_error: Option<String>,
    }
}

impl TryFrom<EndpointRow> for EndpointWithSecrets {
    type Error = Error;
    fn try_from(r: EndpointRow) -> Result<EndpointWithSecrets> {
        Ok(EndpointWithSecrets {
            endpoint: WebhookEndpoint {
                id: r.endpoint_id,
                url: r.url,
                event_types: serde_json::from_str(&r.event_types).map_err(Error::internal)?,
                created_at: r.created_at,
                delivered_through: r.delivered_through,
                attempt: r.attempt,
                failing_since: r.failing_since,
                next_attempt_at: r.next_attempt_at,
                last_error: r.last_error,
                previous_secret_until: r.previous_secret_until,
            },
            secrets: WebhookSecrets { current: r.secret, previous: r.previous_secret },
        })
    }
}

record! {
    struct DeliveryRow {
        delivery_id: i64,
        endpoint_id: String,
        event_seq: i64,
        event_id: String,
        event_type: String,
        attempt: i64,
        at: i64,
        instance: String,
        status: Option<i64>,
        outcome: String,
        error: String,
        duration_ms: i64,
    }
}

impl TryFrom<DeliveryRow> for WebhookDelivery {
    type Error = Error;
    fn try_from(r: DeliveryRow) -> Result<WebhookDelivery> {
        let outcome = DeliveryOutcome::parse(&r.outcome)
            .ok_or_else(|| Error::internal(format!("unknown delivery outcome '{}'", r.outcome)))?;
        Ok(WebhookDelivery {
            id: r.delivery_id,
            endpoint_id: r.endpoint_id,
            event_seq: r.event_seq,
            event_id: r.event_id,
            event_type: r.event_type,
            attempt: r.attempt,
            at: r.at,
            instance: r.instance,
            status: r.status,
            outcome,
            error: r.error,
            duration_ms: r.duration_ms,
        })
    }
}

#[async_trait]
impl WebhookRead for SqlTx {
    async fn list_webhooks(&mut self) -> Result<Vec<WebhookEndpoint>> {
        let sql = format!("select {ENDPOINT_COLUMNS} from webhook_endpoint order by created_at");
        let rows: Vec<EndpointRow> = self.fetch_all(&sql, &[]).await?;
        rows.into_iter().map(|r| EndpointWithSecrets::try_from(r).map(|c| c.endpoint)).collect()
    }

    async fn webhook(&mut self, id: &str) -> Result<Option<EndpointWithSecrets>> {
        let sql = format!("select {ENDPOINT_COLUMNS} from webhook_endpoint where endpoint_id = $1");
        self.fetch_optional::<EndpointRow>(&sql, &args![id]).await?.map(EndpointWithSecrets::try_from).transpose()
    }

    async fn due_webhooks(&mut self, now: Millis) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = self
            .fetch_all(
                "select endpoint_id from webhook_endpoint e where next_attempt_at <= $1 and lease_until < $1 \
                 and exists (select 1 from directory_event d where d.seq > e.delivered_through)",
                &args![now],
            )
            .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    async fn webhook_deliveries(&mut self, id: &str, limit: i64) -> Result<Vec<WebhookDelivery>> {
        let sql = format!(
            "select {DELIVERY_COLUMNS} from webhook_delivery where endpoint_id = $1 order by delivery_id desc limit $2"
        );
        let rows: Vec<DeliveryRow> = self.fetch_all(&sql, &args![id, limit]).await?;
        rows.into_iter().map(WebhookDelivery::try_from).collect()
    }
}

#[async_trait]
impl WebhookWrite for SqlTx {
    async fn insert_webhook(
        &mut self,
        url: &str,
        patterns: &[String],
        secret: &str,
        now: Millis,
    ) -> Result<WebhookEndpoint> {
        let id = format!("ep_{}", uuid::Uuid::now_v7().simple());
        let types = serde_json::to_string(patterns).map_err(Error::internal)?;
        // From now on: the newest event so far counts as handled.
        let newest = self.event_bounds().await?.0;
        self.write(
            "insert into webhook_endpoint (endpoint_id, url, event_types, secret, created_at, delivered_through, \
             next_attempt_at) values ($1, $2, $3, $4, $5, $6, $5)",
            &args![&id, url, types, secret, now, newest],
        )
        .await?;
        self.webhook(&id).await?.map(|c| c.endpoint).ok_or_else(|| Error::internal("the new endpoint vanished"))
    }

    async fn delete_webhook(&mut self, id: &str) -> Result<bool> {
        self.write("delete from webhook_delivery where endpoint_id = $1", &args![id]).await?;
        Ok(self.write("delete from webhook_endpoint where endpoint_id = $1", &args![id]).await? > 0)
    }

    async fn set_webhook_secrets(&mut self, id: &str, secret: &str, previous: Option<&str>) -> Result<()> {
        let sql = "update webhook_endpoint set secret = $2, previous_secret = $3 where endpoint_id = $1";
        self.write(sql, &args![id, secret, previous]).await.map(|_| ())
    }

    async fn rotate_webhook(&mut self, id: &str, secret: &str, previous_until: Millis) -> Result<bool> {
        let sql = "update webhook_endpoint set previous_secret = secret, previous_secret_until = $2, secret = $3 \
                   where endpoint_id = $1";
        Ok(self.write(sql, &args![id, previous_until, secret]).await? > 0)
    }

    async fn claim_webhook(
        &mut self,
        id: &str,
        owner: &str,
        now: Millis,
        until: Millis,
    ) -> Result<Option<EndpointWithSecrets>> {
        // One conditional update decides, on either database: of several instances trying at once, one changes the
        // row and the others find it leased.
        let claimed = self
            .write(
                "update webhook_endpoint set lease_until = $1, lease_owner = $2 \
                 where endpoint_id = $3 and lease_until < $4 and next_attempt_at <= $4",
                &args![until, owner, id, now],
            )
            .await?;
        if claimed == 0 {
            return Ok(None);
        }
        self.webhook(id).await
    }

    async fn finish_attempt(
        &mut self,
        id: &str,
        owner: &str,
        deliveries: &[WebhookDelivery],
        state: &EndpointState,
        lease_until: Millis,
    ) -> Result<bool> {
        let moved = self
            .write(
                "update webhook_endpoint set delivered_through = $1, attempt = $2, failing_since = $3, \
                 next_attempt_at = $4, last_error = $5, lease_until = $6 \
                 where endpoint_id = $7 and lease_owner = $8",
                &args![
                    state.delivered_through,
                    state.attempt,
                    state.failing_since,
                    state.next_attempt_at,
                    state.last_error.clone(),
                    lease_until,
                    id,
                    owner
                ],
            )
            .await?;
        if moved == 0 {
            return Ok(false);
        }
        for d in deliveries {
            self.record_delivery(d).await?;
        }
        Ok(true)
    }

    async fn record_delivery(&mut self, d: &WebhookDelivery) -> Result<()> {
        self.write(
            "insert into webhook_delivery (endpoint_id, event_seq, event_id, event_type, attempt, at, instance, status, \
             outcome, error, duration_ms) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &args![
                &d.endpoint_id,
                d.event_seq,
                &d.event_id,
                &d.event_type,
                d.attempt,
                d.at,
                &d.instance,
                d.status,
                d.outcome.as_str(),
                &d.error,
                d.duration_ms
            ],
        )
        .await
        .map(|_| ())
    }

    async fn prune_webhook_deliveries(&mut self, before: Millis) -> Result<u64> {
        self.write("delete from webhook_delivery where at < $1", &args![before]).await
    }

    async fn retry_webhook_now(&mut self, id: &str, now: Millis) -> Result<bool> {
        let sql = "update webhook_endpoint set next_attempt_at = $1 where endpoint_id = $2";
        Ok(self.write(sql, &args![now, id]).await? > 0)
    }
}
