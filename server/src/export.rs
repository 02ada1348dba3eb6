//! `GET /log/export.csv`: the log page's current filter as a CSV download for auditors, streamed a batch at a time, for
//! any signed-in admin (every role reads the log). Formula cells are neutralised ([`roster::audit::csv`]).
use crate::web::AppState;
use app::api::ctx::current_admin;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use roster::audit::csv::CsvWriter;
use roster::model::LogQuery;
use roster::service::Services;
use serde::Deserialize;
use tower_sessions::Session;

/// The log page's filter, as its URL carries it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LogFilter {
    q: String,
    status: String,
    kind: String,
    since: String,
    until: String,
}

pub async fn log_csv(State(s): State<AppState>, session: Session, Query(f): Query<LogFilter>) -> Response {
    match current_admin(&session, &s.services).await {
        Ok(Some(_)) => {}
        Ok(None) => return Redirect::to("/login").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "could not read the session");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    }
    let q = match app::api::log::log_query(&f.q, &f.status, &f.kind, &f.since, &f.until) {
        Ok(q) => q,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let name = format!("roster-log-{}.csv", roster::model::rfc3339(roster::service::now()).replace(':', ""));
    let body = Body::from_stream(batches(s.services.clone(), q));
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response()
}

/// The CSV, header first, then a chunk per batch of entries.
fn batches(services: Services, q: LogQuery) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    futures_util::stream::unfold(Some(0_i64), move |after| {
        let (services, q) = (services.clone(), q.clone());
        async move {
            let after = after?;
            let batch = match services.audit.export_batch(&q, after).await {
                Ok(b) => b,
                Err(e) => {
                    // The download ends short; the entry is in the server's log.
                    tracing::error!(error = %e, "the log export stopped");
                    return Some((Err(std::io::Error::other("the log export stopped")), None));
                }
            };
            let Some(last) = batch.last().map(|e| e.id.0) else {
                return if after == 0 { Some((csv(&[], true), None)) } else { None };
            };
            Some((csv(&batch, after == 0), Some(last)))
        }
    })
}

fn csv(entries: &[roster::model::LogEntry], header: bool) -> Result<Bytes, std::io::Error> {
    let mut w = CsvWriter::new(Vec::new(), header).map_err(std::io::Error::other)?;
    for e in entries {
        w.write(e).map_err(std::io::Error::other)?;
    }
    w.finish().map(Bytes::from).map_err(std::io::Error::other)
}
