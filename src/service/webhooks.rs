//! Webhooks, signed by the Standard Webhooks specification (version 1): endpoints, their secrets, and delivery.
//!
//! Delivery is at least once and in order per endpoint; what each attempt does to its endpoint (retries, giving up) is
//! the rule in [`crate::rules::delivery`]. An instance sends to an endpoint only while it holds the endpoint's lease, taken in a write transaction, so with
//! several instances each attempt is made by one. Sending happens on tasks of its own, never in a request, so a slow
//! or dead endpoint cannot slow SCIM. The HTTP client is the server's ([`WebhookSender`]).
use super::network::NetworkPolicy;
use super::sealed::SecretKeys;
use super::{Ctx, now};
use crate::Kind;
use crate::model::*;
use crate::rules::delivery;
use crate::rules::roles::Action;
use crate::store::{EndpointState, Store};
use crate::{Error, Result};
use async_trait::async_trait;
use base64::Engine;
use std::sync::Arc;

/// How long a claimed endpoint stays this instance's: longer than a request may take ([`SEND_TIMEOUT_SECS`]).
const LEASE_MS: i64 = 30_000;
/// How long one delivery may take.
pub const SEND_TIMEOUT_SECS: u64 = 10;
/// After a rotation, the old secret also signs for this long, so receivers can move to the new one.
pub const ROTATION_OVERLAP_MS: i64 = 24 * 3600 * 1000;
/// Events read per look at the outbox while delivering.
const BATCH: i64 = 100;
/// While deliveries succeed, progress is saved this often.
const SAVE_EVERY_MS: i64 = 250;

/// Sends one signed request. The server implements it with its HTTP client.
#[async_trait]
pub trait WebhookSender: Send + Sync {
    async fn post(&self, url: &str, headers: &[(&'static str, String)], body: &str) -> AttemptResult;
}

#[derive(Clone)]
pub struct WebhookService {
    pub(super) store: Arc<dyn Store>,
    pub(super) sender: Option<Arc<dyn WebhookSender>>,
    /// This process, in each delivery's record and as the lease's owner.
    pub(super) instance: Arc<str>,
    /// Plain HTTP to any host (tests and local networks); otherwise only to loopback.
    pub(super) allow_http: bool,
    /// The networks besides the public internet that endpoints may be on.
    pub(super) policy: NetworkPolicy,
    /// Seals signing secrets at rest, when the operator gave a key file.
    pub(super) keys: SecretKeys,
}

/// The `webhook-signature` header: one `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` per secret, space-separated
/// (the specification allows several, which is how a rotation overlaps).
pub fn sign(secrets: &WebhookSecrets, msg_id: &str, timestamp: i64, body: &str) -> Result<String> {
    let one = |secret: &str| -> Result<String> {
        standardwebhooks::Webhook::new(secret)
            .and_then(|w| w.sign(msg_id, timestamp, body.as_bytes()))
            .map_err(|e| Error::internal(format!("cannot sign a webhook: {e}")))
    };
    let mut header = one(&secrets.current)?;
    if let Some(previous) = &secrets.previous {
        header.push(' ');
        header.push_str(&one(previous)?);
    }
    Ok(header)
}

/// A new secret in the specification's form: `whsec_` and 24 random bytes, base64 (32 characters, no padding).
fn new_secret() -> String {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    let mut key = [0u8; 24];
    OsRng.fill_bytes(&mut key);
    format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(key))
}

/// Checks an endpoint URL: https (plain http to a loopback address, or anywhere with `allow_http`), no user name or
/// password, bounded, and, when its host is an IP address, one the network policy allows. A name is checked where it
/// is resolved, at every connection (the server's HTTP client), so DNS cannot swap an internal address in later. The
/// URL is parsed as the HTTP client parses it, so `http://0x7f.1/` is the loopback address it reaches, and
/// `http://127.0.0.1.example.com/` is a name, not loopback.
pub fn parse_url(url: &str, allow_http: bool, policy: &NetworkPolicy) -> Result<String> {
    let url = url.trim();
    let bad = |why: String| Err(Error::InvalidValue(format!("webhook URL '{}': {why}", url.escape_debug())));
    if url.len() > 2048 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("it must be at most 2,048 characters, without spaces".into());
    }
    let Ok(parsed) = url::Url::parse(url) else { return bad("it is not a URL".into()) };
    let https = match parsed.scheme() {
        "https" => true,
        "http" => false,
        _ => return bad("it must start with https://".into()),
    };
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return bad("it must not carry a user name or password".into());
    }
    let ip = match parsed.host() {
        None => return bad("it has no host".into()),
        Some(url::Host::Domain("")) => return bad("it has no host".into()),
        Some(url::Host::Domain(_)) => None,
        Some(url::Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
    };
    if let Some(ip) = ip
        && let Err(why) = policy.check(ip)
    {
        return bad(format!(
            "{ip} is a {why} address, refused by roster's network policy. Internal receivers need an operator to \
             allow their network with --webhook-allow-networks"
        ));
    }
    let loopback = ip.is_some_and(|ip| ip.is_loopback()) || parsed.host_str() == Some("localhost");
    if !https && !loopback && !allow_http {
        return bad(
            "use https:// (plain http:// is allowed only to a loopback address, or with ROSTER_WEBHOOK_ALLOW_HTTP=true)"
                .into(),
        );
    }
    Ok(url.to_owned())
}

/// An endpoint's place in the set of those being delivered, given back when its task ends, however it ends.
struct Delivering {
    active: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
    id: String,
}

impl Drop for Delivering {
    fn drop(&mut self) {
        self.active.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.id);
    }
}

impl WebhookService {
    /// The service that delivers: set by the server at start. Without it (the CLI), endpoints can be managed but
    /// nothing is sent.
    pub fn with_sender(mut self, sender: Arc<dyn WebhookSender>) -> Self {
        self.sender = Some(sender);
        self
    }

    /// What endpoints may be: plain http anywhere (`allow_http`), and on which networks besides the public internet.
    pub fn with_policy(mut self, allow_http: bool, policy: NetworkPolicy) -> Self {
        self.allow_http = allow_http;
        self.policy = policy;
        self
    }

    /// The key file's keys: secrets are sealed with the first.
    pub fn with_keys(mut self, keys: SecretKeys) -> Self {
        self.keys = keys;
        self
    }

    /// Adds an endpoint; it hears of events committed from now on. Returns it and its secret, shown this once.
    pub async fn add(&self, ctx: &Ctx, url: &str, events: &str) -> Result<(WebhookEndpoint, String)> {
        ctx.require(Action::Integrations)?;
        let url = parse_url(url, self.allow_http, &self.policy)?;
        let patterns = parse_event_patterns(events).map_err(Error::InvalidValue)?;
        let secret = new_secret();
        let (ctx, key) = (ctx.clone(), self.keys.seal(&secret)?);
        let endpoint = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    let e = tx.insert_webhook(&url, &patterns, &key, now()).await?;
                    let what = format!("webhook {} added for {}: {}", e.id, e.url, e.event_types.join(", "));
                    tx.add_log_entry(&ctx.entry(201, super::target(Kind::Webhook, &e.id, &e.url), what)).await?;
                    Ok(e)
                })
            })
            .await?;
        Ok((endpoint, secret))
    }

    /// Seals every signing secret that is in clear or sealed with a key other than the key file's first, in one
    /// write: at start, so setting a key file encrypts what was stored before, and putting a new key first rotates.
    /// Returns how many secrets were resealed.
    pub async fn reseal_secrets(&self) -> Result<usize> {
        if !self.keys.is_set() {
            return Ok(0);
        }
        let keys = self.keys.clone();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let mut resealed = 0;
                    for e in tx.list_webhooks().await? {
                        let Some(claimed) = tx.webhook(&e.id).await? else { continue };
                        let s = claimed.secrets;
                        if !keys.needs_reseal(&s.current)
                            && !s.previous.as_deref().is_some_and(|p| keys.needs_reseal(p))
                        {
                            continue;
                        }
                        let current = keys.seal(&keys.open(&s.current)?)?;
                        let previous =
                            s.previous.as_deref().map(|p| keys.open(p).and_then(|p| keys.seal(&p))).transpose()?;
                        tx.set_webhook_secrets(&e.id, &current, previous.as_deref()).await?;
                        resealed += 1 + usize::from(previous.is_some());
                    }
                    Ok(resealed)
                })
            })
            .await
    }

    pub async fn list(&self) -> Result<Vec<WebhookEndpoint>> {
        self.store.begin_read().await?.list_webhooks().await
    }

    /// An endpoint and its latest deliveries, newest first.
    pub async fn detail(&self, id: &str) -> Result<(WebhookEndpoint, Vec<WebhookDelivery>)> {
        let mut tx = self.store.begin_read().await?;
        let e = tx.webhook(id).await?.ok_or_else(|| Error::not_found(Kind::Webhook, id))?.endpoint;
        let deliveries = tx.webhook_deliveries(id, 50).await?;
        Ok((e, deliveries))
    }

    pub async fn remove(&self, ctx: &Ctx, id: &str) -> Result<()> {
        ctx.require(Action::Integrations)?;
        let (ctx, id) = (ctx.clone(), id.trim().to_owned());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    if !tx.delete_webhook(&id).await? {
                        return Err(Error::not_found(Kind::Webhook, &id));
                    }
                    let t = super::target(Kind::Webhook, &id, &id);
                    tx.add_log_entry(&ctx.entry(200, t, format!("webhook {id} removed"))).await
                })
            })
            .await
    }

    /// A new secret; the old one keeps signing for [`ROTATION_OVERLAP_MS`]. Returns the new one, shown this once.
    pub async fn rotate(&self, ctx: &Ctx, id: &str) -> Result<String> {
        ctx.require(Action::Integrations)?;
        let secret = new_secret();
        let (ctx, id, key) = (ctx.clone(), id.trim().to_owned(), self.keys.seal(&secret)?);
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    if !tx.rotate_webhook(&id, &key, now() + ROTATION_OVERLAP_MS).await? {
                        return Err(Error::not_found(Kind::Webhook, &id));
                    }
                    let what = format!("webhook {id}: secret rotated; the old one also signs for 24 hours");
                    tx.add_log_entry(&ctx.entry(200, super::target(Kind::Webhook, &id, &id), what)).await
                })
            })
            .await?;
        Ok(secret)
    }

    /// Makes a failing endpoint's next attempt due now ("Retry now" in the panel).
    pub async fn retry_now(&self, ctx: &Ctx, id: &str) -> Result<()> {
        ctx.require(Action::Integrations)?;
        let (ctx, id) = (ctx.clone(), id.trim().to_owned());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    if !tx.retry_webhook_now(&id, now()).await? {
                        return Err(Error::not_found(Kind::Webhook, &id));
                    }
                    let t = super::target(Kind::Webhook, &id, &id);
                    tx.add_log_entry(&ctx.entry(200, t, format!("webhook {id}: retry requested"))).await
                })
            })
            .await
    }

    /// Sends one event to an endpoint again, now, outside the endpoint's order ("Send again" in the panel). The
    /// receiver sees the same `webhook-id`, so it can tell a repeat.
    pub async fn send_again(&self, ctx: &Ctx, id: &str, event_seq: i64) -> Result<WebhookDelivery> {
        ctx.require(Action::Integrations)?;
        let sender =
            self.sender.clone().ok_or_else(|| Error::Unavailable("this process does not send webhooks".into()))?;
        let mut tx = self.store.begin_read().await?;
        let claimed = tx.webhook(id).await?.ok_or_else(|| Error::not_found(Kind::Webhook, id))?;
        let event = tx
            .directory_events(event_seq.saturating_sub(1), 1)
            .await?
            .into_iter()
            .find(|e| e.seq == event_seq)
            .ok_or_else(|| Error::Gone(format!("event {event_seq} is no longer kept (retention)")))?;
        drop(tx);
        let result = self.send(sender.as_ref(), &claimed, &event).await;
        let delivery = self.delivery(&claimed.endpoint, &event, 0, DeliveryOutcome::Resent, &result);
        let record = delivery.clone();
        self.store.write(move |tx| Box::pin(async move { tx.record_delivery(&record).await })).await?;
        Ok(delivery)
    }

    /// Starts delivering, for as long as the process runs: wakes on this instance's commits and every second for
    /// other instances' and for retries that come due.
    pub fn spawn_delivery(&self) {
        let Some(sender) = self.sender.clone() else { return };
        let this = self.clone();
        // The endpoints this instance is delivering to: one task each, so a due endpoint already being delivered
        // costs no second task and no second claim.
        let active: Arc<std::sync::Mutex<std::collections::HashSet<String>>> = Arc::default();
        tokio::spawn(async move {
            let mut signal = this.store.event_signal();
            loop {
                signal.borrow_and_update();
                match this.store.begin_read().await {
                    Ok(mut tx) => match tx.due_webhooks(now()).await {
                        Ok(due) => {
                            drop(tx);
                            for id in due {
                                if !active.lock().unwrap_or_else(|p| p.into_inner()).insert(id.clone()) {
                                    continue;
                                }
                                let (this, sender) = (this.clone(), sender.clone());
                                let delivering = Delivering { active: active.clone(), id };
                                tokio::spawn(async move {
                                    let id = &delivering.id;
                                    if let Err(e) = this.deliver(sender.as_ref(), id).await {
                                        tracing::warn!(error = %e, endpoint = %id, "webhook delivery stopped");
                                    }
                                });
                            }
                        }
                        Err(e) => tracing::warn!(error = %e, "could not look for webhook deliveries"),
                    },
                    Err(e) => tracing::warn!(error = %e, "could not look for webhook deliveries"),
                }
                let _ = tokio::time::timeout(std::time::Duration::from_secs(1), signal.changed()).await;
                // Under write load commits come hundreds a second; an endpoint already being delivered picks up new
                // events itself, so looking for due endpoints more than every 20 ms would only cost reads.
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        });
    }

    /// Delivers an endpoint's waiting events in order while they succeed, if this instance gets its lease. Progress is
    /// saved at most every [`SAVE_EVERY_MS`] while deliveries succeed (and at once on a failure), so a fast endpoint
    /// costs the writer a few jobs a second, not one per event; a crash in between re-sends a few, which at-least-once
    /// allows and the receiver can tell by `webhook-id`.
    async fn deliver(&self, sender: &dyn WebhookSender, id: &str) -> Result<()> {
        let (owner, key) = (self.instance.to_string(), id.to_owned());
        let at = now();
        let claimed = self
            .store
            .write(move |tx| Box::pin(async move { tx.claim_webhook(&key, &owner, at, at + LEASE_MS).await }))
            .await?;
        let Some(claimed) = claimed else { return Ok(()) };
        let e = &claimed.endpoint;
        let mut state = EndpointState {
            delivered_through: e.delivered_through,
            attempt: e.attempt,
            failing_since: e.failing_since,
            next_attempt_at: e.next_attempt_at,
            last_error: e.last_error.clone(),
        };
        let (mut done, mut saved_at) = (Vec::new(), now());
        loop {
            if now() - saved_at >= SAVE_EVERY_MS {
                if !self.finish(id, std::mem::take(&mut done), &state, now() + LEASE_MS).await? {
                    return Ok(());
                }
                saved_at = now();
            }
            let events = self.store.begin_read().await?.directory_events(state.delivered_through, BATCH).await?;
            let Some(last) = events.last().map(|e| e.seq) else {
                return self.finish(id, done, &state, 0).await.map(|_| ());
            };
            let Some(event) = events.into_iter().find(|ev| wants(&e.event_types, &ev.kind)) else {
                // Nothing this endpoint wants in this batch: move past it and look again.
                state.delivered_through = last;
                continue;
            };
            let result = self.send(sender, &claimed, &event).await;
            let attempt = state.attempt + 1;
            let (next, outcome) = delivery::after_attempt(&state, event.seq, &event.id, &result, now());
            done.push(self.delivery(e, &event, attempt, outcome, &result));
            state = next;
            if outcome == DeliveryOutcome::Delivered {
                continue;
            }
            self.finish(id, done, &state, 0).await?;
            return Ok(());
        }
    }

    /// Records attempts and the endpoint's new state, keeping the lease until `lease_until` (0 lets it go). False
    /// when another instance has taken the lease meanwhile.
    async fn finish(
        &self,
        id: &str,
        deliveries: Vec<WebhookDelivery>,
        state: &EndpointState,
        lease_until: Millis,
    ) -> Result<bool> {
        let (id, owner, state) = (id.to_owned(), self.instance.to_string(), state.clone());
        self.store
            .write(move |tx| {
                Box::pin(async move { tx.finish_attempt(&id, &owner, &deliveries, &state, lease_until).await })
            })
            .await
    }

    async fn send(
        &self,
        sender: &dyn WebhookSender,
        to: &EndpointWithSecrets,
        event: &DirectoryEvent,
    ) -> AttemptResult {
        let body = event.payload().to_string();
        let timestamp = now() / 1000;
        let signature = match self.signature(to, &event.id, timestamp, &body) {
            Ok(s) => s,
            // An attempt that could not be signed (the secret is sealed with a key the key file no longer has): recorded
            // as a failure, with its backoff, so the endpoint's page says why and a retry can work once the key is back.
            Err(e) => {
                tracing::warn!(error = %e, endpoint = %to.endpoint.id, "a webhook could not be signed");
                let error = "the signing secret cannot be opened with the secret key file".to_owned();
                return AttemptResult { status: None, error, duration_ms: 0 };
            }
        };
        let headers = [
            ("webhook-id", event.id.clone()),
            ("webhook-timestamp", timestamp.to_string()),
            ("webhook-signature", signature),
            ("content-type", "application/json".to_owned()),
            ("user-agent", concat!("roster/", env!("CARGO_PKG_VERSION")).to_owned()),
        ];
        sender.post(&to.endpoint.url, &headers, &body).await
    }

    /// The `webhook-signature` header: the current secret, and the previous one while it still signs.
    fn signature(&self, to: &EndpointWithSecrets, id: &str, timestamp: i64, body: &str) -> Result<String> {
        let previous_signs = to.endpoint.previous_secret_until.is_some_and(|until| until > now());
        let previous = to.secrets.previous.as_deref().filter(|_| previous_signs);
        let secrets = WebhookSecrets {
            current: self.keys.open(&to.secrets.current)?,
            previous: previous.map(|p| self.keys.open(p)).transpose()?,
        };
        sign(&secrets, id, timestamp, body)
    }

    fn delivery(
        &self,
        e: &WebhookEndpoint,
        event: &DirectoryEvent,
        attempt: i64,
        outcome: DeliveryOutcome,
        result: &AttemptResult,
    ) -> WebhookDelivery {
        WebhookDelivery {
            id: 0,
            endpoint_id: e.id.clone(),
            event_seq: event.seq,
            event_id: event.id.clone(),
            event_type: event.kind.clone(),
            attempt,
            at: now(),
            instance: self.instance.to_string(),
            status: result.status,
            outcome,
            error: result.error.chars().take(500).collect(),
            duration_ms: result.duration_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let public = NetworkPolicy::default();
        let local = NetworkPolicy::parse("127.0.0.0/8,::1").unwrap_or_default();
        assert!(parse_url("https://hooks.example.com/roster", false, &public).is_ok());
        assert!(parse_url("http://localhost/x", false, &public).is_ok(), "a name: checked when connecting");
        assert!(parse_url("http://127.0.0.1:9000/x", false, &local).is_ok());
        assert!(parse_url("http://[::1]:8080/x", false, &local).is_ok());
        assert!(parse_url("http://hooks.example.com/x", false, &public).is_err());
        assert!(parse_url("http://hooks.example.com/x", true, &public).is_ok());
        assert!(parse_url("ftp://x", true, &public).is_err());
        assert!(parse_url("https://user:pw@x/", false, &public).is_err());
        assert!(parse_url("https://", false, &public).is_err());
        assert!(parse_url("https://:443/x", false, &public).is_err());
        assert!(parse_url("https://x/ y", false, &public).is_err());
    }

    /// The addresses a security review added as endpoints: each is refused when added, with the reason.
    #[test]
    fn internal_addresses_are_refused_when_added() {
        let public = NetworkPolicy::default();
        for url in [
            "https://169.254.169.254/latest/meta-data",
            "https://10.0.0.5:8443/x",
            "https://[::ffff:a9fe:a9fe]/",
            "https://0.0.0.0:9090/",
            "http://127.0.0.1:9090/metrics",
            "https://0x7f.1/",
            "https://[::1]/",
            "https://[2002:a9fe:a9fe::1]/",
            "https://[64:ff9b::10.0.0.5]/",
        ] {
            let e = parse_url(url, true, &public).expect_err(url).to_string();
            assert!(e.contains("refused by roster's network policy"), "{url}: {e}");
        }
        // Plain http's loopback exemption is for a loopback host, not a name that starts like one.
        let e = parse_url("http://127.0.0.1.attacker.example/hook", false, &public).expect_err("a name").to_string();
        assert!(e.contains("use https://"), "{e}");
        // An operator's allowed network is allowed.
        let internal = NetworkPolicy::parse("10.0.0.0/8").unwrap_or_default();
        assert!(parse_url("https://10.0.0.5:8443/x", false, &internal).is_ok());
    }

    #[test]
    fn signatures_follow_the_specification() {
        // The example of the Standard Webhooks specification.
        let secrets = WebhookSecrets { current: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(), previous: None };
        let body = r#"{"test": 2432232314}"#;
        let sig = sign(&secrets, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).unwrap_or_default();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        let two = WebhookSecrets { previous: Some(new_secret()), ..secrets };
        assert_eq!(sign(&two, "m", 1, "{}").unwrap_or_default().split(' ').count(), 2);
    }
}
