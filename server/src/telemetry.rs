//! Logging through `tracing`, filtered by `RUST_LOG` (default: info for roster, warn for the rest), as text or, with
//! `ROSTER_LOG_FORMAT=json`, one JSON object per line; and each request's id.
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;
use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,roster=info,server=info,tower_http=info"));
    let json = std::env::var("ROSTER_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if json { logs.json().with_current_span(true).with_span_list(false).try_init() } else { logs.try_init() };
}

/// The id of a request, in its log lines, its `X-Request-Id` response header and, for a SCIM write, its provisioning
/// log entry.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

pub const REQUEST_ID: &str = "x-request-id";

/// Takes the caller's `X-Request-Id` when it is a plain token (a proxy's or load balancer's id, so one request can be
/// followed across them), else makes one. Anything else a client sends there would end up in logs and the
/// provisioning log, so it is replaced, not cleaned.
pub async fn request_id(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| (1..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b)))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().simple().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!("request", id = %id);
    let mut res = next.run(req).instrument(span).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    res
}
