//! Prometheus metrics at `GET /metrics`, on a listener of their own (`--metrics-listen`), never on the public port.
//! Recorded through the `metrics` facade wherever they happen; `metrics-exporter-prometheus` renders them. Without
//! `--metrics-listen` no recorder is installed and every recording is a no-op.
//!
//! Labels are bounded: routes are the router's patterns, never raw paths, so a client cannot grow the series.
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Seconds: from a cache hit to a slow page.
const LATENCY_BUCKETS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// Jobs per write transaction (group commit): 1 when idle, up to the writer's batch size under load.
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];

/// The process's recorder, installed once, however many applications start (tests start several in one process).
pub fn install() -> anyhow::Result<PrometheusHandle> {
    static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();
    let installed = HANDLE.get_or_init(|| {
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full("roster_http_request_duration_seconds".into()), LATENCY_BUCKETS)
            .and_then(|b| b.set_buckets_for_metric(Matcher::Full("roster_write_batch_jobs".into()), BATCH_BUCKETS))
            .map_err(|e| e.to_string())?
            .install_recorder()
            .map_err(|e| e.to_string())?;
        describe();
        // Histograms keep a window of samples until drained; drain them even when nobody scrapes, on a thread of
        // its own so that it outlives whichever runtime installed the recorder.
        let upkeep = handle.clone();
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_secs(5));
                upkeep.run_upkeep();
            }
        });
        Ok(handle)
    });
    installed.clone().map_err(|e| anyhow::anyhow!("cannot install the metrics recorder: {e}"))
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!("roster_http_requests_total", "HTTP requests answered, by route pattern, method and status");
    describe_histogram!("roster_http_request_duration_seconds", Unit::Seconds, "Time to answer, by route pattern");
    describe_counter!("roster_scim_errors_total", "SCIM error responses, by status and scimType (RFC 7644 §3.12)");
    describe_counter!(
        "roster_writes_total",
        "Write jobs by outcome: ok, no_seats, refused (a rule or bad input), failed"
    );
    describe_histogram!("roster_write_batch_jobs", "Write jobs committed together in one transaction");
    describe_gauge!("roster_seats_used", "Seats in use (installation-wide)");
    describe_gauge!("roster_seats_licensed", "Seats the licence allows");
    describe_gauge!("roster_db_pool_connections", "Open read connections in this instance");
    describe_gauge!("roster_db_pool_idle", "Idle read connections in this instance");
    describe_counter!(
        "roster_long_reads_total",
        "SQLite statements run off the request's thread because their text once worked past 1 ms there"
    );
    describe_gauge!("roster_write_queue_depth", "Write jobs waiting for this instance's writer");
    describe_counter!(
        "roster_slow_database_calls_total",
        "Database calls found still running after 5 s (each is logged with its statement)"
    );
    describe_gauge!("roster_feed_waiting_requests", "Event feed requests waiting for an event on this instance");
}

/// Counts and times every request. Outermost, so it sees every answer, including the guards' refusals.
pub async fn track(req: Request, next: Next) -> Response {
    let route = route(req.uri().path());
    let method = method(req.method());
    let started = Instant::now();
    let res = next.run(req).await;
    let status = res.status().as_str().to_owned();
    metrics::counter!("roster_http_requests_total", "route" => route, "method" => method, "status" => status)
        .increment(1);
    metrics::histogram!("roster_http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    res
}

/// The pattern a path belongs to. Raw paths would let any client add series (one per id).
pub fn route(path: &str) -> &'static str {
    if let Some(scim) = path.strip_prefix("/scim/v2") {
        let mut parts = scim.trim_matches('/').split('/');
        return match (parts.next().unwrap_or(""), parts.next(), parts.next()) {
            ("Users", None, _) => "/scim/v2/Users",
            ("Users", Some(".search"), None) => "/scim/v2/Users/.search",
            ("Users", Some(_), None) => "/scim/v2/Users/{id}",
            ("Groups", None, _) => "/scim/v2/Groups",
            ("Groups", Some(".search"), None) => "/scim/v2/Groups/.search",
            ("Groups", Some(_), None) => "/scim/v2/Groups/{id}",
            ("ServiceProviderConfig", None, _) => "/scim/v2/ServiceProviderConfig",
            ("Schemas", _, None) => "/scim/v2/Schemas",
            ("ResourceTypes", _, None) => "/scim/v2/ResourceTypes",
            (".search", None, _) => "/scim/v2/.search",
            _ => "/scim/v2/other",
        };
    }
    match path {
        "/healthz" => "/healthz",
        "/readyz" => "/readyz",
        "/favicon.ico" | "/favicon.svg" => "/favicon",
        p if p.starts_with("/pkg/") => "/pkg/{file}",
        // Server functions: the panel's data and actions.
        p if p.starts_with("/api/") => "/api/{function}",
        _ => "panel",
    }
}

fn method(m: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// What a scrape reads at that moment: the seats (one read of the installation-wide count) and the pool. (The write
/// queue's depth is kept by the writer as it changes.)
#[derive(Clone)]
pub struct Scrape {
    pub handle: PrometheusHandle,
    pub services: roster::service::Services,
    pub db: crate::store::Db,
}

pub fn router(scrape: Scrape) -> axum::Router {
    axum::Router::new().route("/metrics", axum::routing::get(metrics)).with_state(scrape)
}

async fn metrics(State(s): State<Scrape>) -> Response {
    match s.services.settings.seats().await {
        Ok(seats) => {
            metrics::gauge!("roster_seats_used").set(seats.used as f64);
            metrics::gauge!("roster_seats_licensed").set(seats.limit as f64);
        }
        Err(e) => tracing::warn!(error = %e, "metrics: could not read the seat count"),
    }
    let pool = s.db.pool_state();
    metrics::gauge!("roster_db_pool_connections").set(f64::from(pool.size));
    metrics::gauge!("roster_db_pool_idle").set(pool.idle as f64);
    metrics::gauge!("roster_feed_waiting_requests").set(s.services.directory.waiting() as f64);
    let content_type = HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8");
    ([(header::CONTENT_TYPE, content_type)], s.handle.render()).into_response()
}
