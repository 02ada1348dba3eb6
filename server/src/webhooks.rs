//! Webhook deliveries over HTTP: the server's side of `roster::service::WebhookSender`. The rules (order, retries,
//! leases, signatures) are the service's; this only sends a request and says how it went.
use async_trait::async_trait;
use roster::model::AttemptResult;
use roster::service::WebhookSender;
use std::time::{Duration, Instant};

pub struct HttpSender {
    client: reqwest::Client,
}

impl HttpSender {
    pub fn new() -> anyhow::Result<HttpSender> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(roster::service::WEBHOOK_TIMEOUT_SECS))
            .connect_timeout(Duration::from_secs(5))
            // A redirect would send the signed event somewhere the admin did not configure.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(HttpSender { client })
    }
}

#[async_trait]
impl WebhookSender for HttpSender {
    async fn post(&self, url: &str, headers: &[(&'static str, String)], body: &str) -> AttemptResult {
        let started = Instant::now();
        let mut req = self.client.post(url).body(body.to_owned());
        for (name, value) in headers {
            req = req.header(*name, value);
        }
        let (status, error) = match req.send().await {
            Ok(res) => {
                let status = res.status();
                let error = if status.is_success() { String::new() } else { format!("HTTP {status}") };
                (Some(i64::from(status.as_u16())), error)
            }
            Err(e) if e.is_timeout() => (None, format!("no answer within {} s", roster::service::WEBHOOK_TIMEOUT_SECS)),
            Err(e) if e.is_connect() => (None, "connection refused or unreachable".to_owned()),
            Err(e) => (None, describe(&e)),
        };
        AttemptResult { status, error, duration_ms: started.elapsed().as_millis() as i64 }
    }
}

/// The error and its causes in one line, for the panel.
fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    parts.join(": ")
}
