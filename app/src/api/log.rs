//! The provisioning log.
#[cfg(feature = "ssr")]
use super::ctx::admin;
#[cfg(feature = "ssr")]
use super::users::PER_PAGE;
use crate::error::UiError;
use leptos::prelude::*;
use roster::model::{LogEntry, Page};

/// `q`: a user or group id or name, an actor, or `#123` (the id quoted in a SCIM error); `status`: failed | no_seats;
/// `kind`: user | group; `since`/`until`: dates (YYYY-MM-DD, UTC).
#[server(prefix = "/api", endpoint = "events")]
pub async fn list_events(
    q: String,
    status: String,
    kind: String,
    since: String,
    until: String,
    page: i64,
) -> Result<Page<LogEntry>, UiError> {
    let (panel, _) = admin().await?;
    let mut q = log_query(&q, &status, &kind, &since, &until)?;
    q.start_index = roster::model::Page::<()>::start_of(page, PER_PAGE);
    q.count = PER_PAGE;
    Ok(panel.services.settings.log(&q).await?)
}

/// The log page's filter as a query: its list, and its CSV download (`/log/export.csv` with the same parameters).
#[cfg(feature = "ssr")]
pub fn log_query(
    q: &str,
    status: &str,
    kind: &str,
    since: &str,
    until: &str,
) -> Result<roster::model::LogQuery, UiError> {
    use roster::model::{Outcome, parse_rfc3339};
    let day = |d: &str| -> Result<Option<i64>, UiError> {
        let d = d.trim();
        if d.is_empty() {
            return Ok(None);
        }
        parse_rfc3339(&format!("{d}T00:00:00Z"))
            .map(Some)
            .ok_or_else(|| UiError::Message(format!("'{d}' is not a date like 2026-11-29")))
    };
    Ok(roster::model::LogQuery {
        target: Some(q.to_owned()),
        kind: match kind {
            "user" => Some(roster::error::Kind::User),
            "group" => Some(roster::error::Kind::Group),
            _ => None,
        },
        failed_only: status == "failed",
        outcome: (status == "no_seats").then_some(Outcome::NoSeats),
        since: day(since)?,
        until: day(until)?.map(|t| t + 24 * 3600 * 1000),
        start_index: 1,
        count: 0,
    })
}

#[server(prefix = "/api", endpoint = "event")]
pub async fn get_log_entry(id: i64) -> Result<LogEntry, UiError> {
    let (panel, _) = admin().await?;
    Ok(panel.services.settings.log_entry(roster::model::LogEntryId(id)).await?)
}
