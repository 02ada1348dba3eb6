//! Webhook deliveries over HTTP: the server's side of `roster::service::WebhookSender`. The rules (order, retries,
//! leases, signatures) are the service's; this sends a request, says how it went in a few words, and connects only
//! where the network policy allows: an IP address in the URL is checked before anything is sent, and a name is checked
//! on every address it resolves to, at every connection, so a name that resolves to a public address when the endpoint
//! is added and to an internal one later (DNS rebinding) is still refused.
use async_trait::async_trait;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use roster::model::AttemptResult;
use roster::service::{NetworkPolicy, WebhookSender};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What an attempt the policy stopped records, in the panel and the CLI.
pub const REFUSED: &str = "refused by roster's network policy";

pub struct HttpSender {
    client: reqwest::Client,
    policy: NetworkPolicy,
}

impl HttpSender {
    pub fn new(policy: NetworkPolicy) -> anyhow::Result<HttpSender> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(roster::service::WEBHOOK_TIMEOUT_SECS))
            .connect_timeout(Duration::from_secs(5))
            // A redirect would send the signed event somewhere the admin did not configure, past the policy.
            .redirect(reqwest::redirect::Policy::none())
            // A proxy from the environment would resolve names itself, past the policy.
            .no_proxy()
            .dns_resolver(Arc::new(PolicyResolver { policy: policy.clone() }))
            .build()?;
        Ok(HttpSender { client, policy })
    }

    /// The policy's verdict on a URL whose host is an IP address (names are judged by the resolver).
    fn refuses_literal(&self, url: &str) -> Option<String> {
        // The parser writes an address host in its standard form (`0x7f.1` becomes 127.0.0.1), IPv6 in brackets.
        let url = reqwest::Url::parse(url).ok()?;
        let ip: IpAddr = url.host_str()?.trim_start_matches('[').trim_end_matches(']').parse().ok()?;
        self.policy.check(ip).err().map(|why| format!("{ip} is a {why} address"))
    }
}

#[async_trait]
impl WebhookSender for HttpSender {
    async fn post(&self, url: &str, headers: &[(&'static str, String)], body: &str) -> AttemptResult {
        let started = Instant::now();
        let done = |status: Option<i64>, error: String| AttemptResult {
            status,
            error,
            duration_ms: started.elapsed().as_millis() as i64,
        };
        if let Some(why) = self.refuses_literal(url) {
            tracing::warn!(url, why, "webhook refused by the network policy");
            return done(None, REFUSED.into());
        }
        let mut req = self.client.post(url).body(body.to_owned());
        for (name, value) in headers {
            req = req.header(*name, value);
        }
        match req.send().await {
            Ok(res) => {
                let status = res.status();
                let error = if status.is_success() { String::new() } else { format!("HTTP {}", status.as_u16()) };
                done(Some(i64::from(status.as_u16())), error)
            }
            Err(e) => {
                // The whole chain goes to roster's own log; the panel and the CLI get a few words, so an admin session
                // cannot read the inside of the network off the error messages.
                tracing::warn!(url, error = %describe(&e), "webhook delivery failed");
                done(None, short_reason(&e))
            }
        }
    }
}

/// A delivery error in a few words.
fn short_reason(e: &reqwest::Error) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.downcast_ref::<Refused>().is_some() {
            return REFUSED.into();
        }
        source = s.source();
    }
    if e.is_timeout() {
        format!("no answer within {} s", roster::service::WEBHOOK_TIMEOUT_SECS)
    } else if e.is_connect() {
        "connection failed".into()
    } else {
        "request failed".into()
    }
}

/// Resolves names as the system does, then keeps only the addresses the policy allows.
struct PolicyResolver {
    policy: NetworkPolicy,
}

/// Every address of a name was refused by the policy.
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{REFUSED}: {}", self.0)
    }
}

impl std::error::Error for Refused {}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = all.iter().copied().filter(|a| policy.check(a.ip()).is_ok()).collect();
            if allowed.is_empty() {
                let why = all
                    .first()
                    .and_then(|a| policy.check(a.ip()).err().map(|why| format!("{host} resolves to a {why} address")))
                    .unwrap_or_else(|| format!("{host} resolves to no address"));
                return Err(Box::new(Refused(why)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// The error and its causes in one line, for roster's log.
fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    parts.join(": ")
}
