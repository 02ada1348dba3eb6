//! The API at `/v1`: read-only JSON behind API tokens (a SCIM token gets 401 here). With the `directory` scope, for
//! the product's own services: users, groups and members in keyset pages, and the event feed with long polling. With
//! the `audit` scope, for a SIEM: the audit trail, OCSF records in commit order. Each scope gets 403 on the other's
//! endpoints. Errors are `{"error": {"code": "…", "message": "…"}}` with a stable code. Handlers are one expression
//! each.
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use roster::Error;
use roster::model::{ApiScope, DirectoryUserQuery, GroupId, TokenId, UserId};
use roster::service::Services;
use serde::Deserialize;
use serde_json::json;
use std::time::Duration;

/// The router under `/v1`, with its state applied.
pub fn router<S: Clone + Send + Sync + 'static>(services: Services) -> Router<S> {
    Router::new()
        .route("/users", get(users))
        .route("/users/{key}", get(user))
        .route("/groups", get(groups))
        .route("/groups/{id}", get(group))
        .route("/groups/{id}/members", get(members))
        .route("/events", get(events))
        .route("/audit", get(audit))
        .fallback(async || ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such directory API endpoint"))
        .layer(middleware::from_fn_with_state(services.clone(), authenticate))
        .with_state(services)
}

/// The directory API's one error type.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into() }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let (status, code) = match &e {
            Error::NotFound { .. } => (StatusCode::NOT_FOUND, "not_found"),
            Error::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Error::Gone(_) => (StatusCode::GONE, "cursor_expired"),
            Error::CursorAhead { .. } => (StatusCode::CONFLICT, "cursor_ahead"),
            Error::TooBusy(_) => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
            Error::Forbidden(_) => (StatusCode::FORBIDDEN, "insufficient_scope"),
            Error::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Error::Internal(_) => {
                tracing::error!(error = ?e, "directory API request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
            _ => (StatusCode::BAD_REQUEST, "invalid_request"),
        };
        let message = match status {
            StatusCode::UNAUTHORIZED => "an API token is required: Authorization: Bearer roster_api_…".into(),
            _ => e.to_string(),
        };
        ApiError { status, code, message }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", e.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(json!({ "error": { "code": self.code, "message": self.message } }));
        let mut res = (self.status, body).into_response();
        match self.status {
            StatusCode::UNAUTHORIZED => {
                res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"roster\""));
            }
            // RFC 6750 §3.1.
            StatusCode::FORBIDDEN => {
                res.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"roster\", error=\"insufficient_scope\""),
                );
            }
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS => {
                res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            _ => {}
        }
        res
    }
}

type ApiResult = Result<Json<serde_json::Value>, ApiError>;

/// The directory API token a request came with.
#[derive(Debug, Clone, Copy)]
struct ApiClient(TokenId);

/// Every `/v1` request needs a live API token of the scope its endpoint belongs to: `/v1/audit` the audit scope,
/// everything else the directory scope.
async fn authenticate(State(s): State<Services>, mut req: Request, next: Next) -> Response {
    let bearer =
        req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(crate::scim::bearer_token);
    let path = req.uri().path();
    let scope = if path == "/audit" || path.ends_with("/v1/audit") { ApiScope::Audit } else { ApiScope::Directory };
    match s.tokens.authenticate_api(bearer.as_deref(), scope).await {
        Ok(token) => {
            req.extensions_mut().insert(ApiClient(token.id));
            next.run(req).await
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct Paging {
    cursor: Option<String>,
    limit: Option<i64>,
    group: Option<String>,
    active: Option<bool>,
}

/// A cursor is the last id of the page before: a short plain token.
fn cursor(c: Option<String>) -> Result<Option<String>, ApiError> {
    match c.filter(|c| !c.is_empty()) {
        Some(c) if c.len() > 128 || !c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_') => {
            Err(ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", "cursor is not one this API returned"))
        }
        other => Ok(other),
    }
}

fn user_query(p: Paging, group: Option<GroupId>) -> Result<DirectoryUserQuery, ApiError> {
    Ok(DirectoryUserQuery {
        group: group.or(p.group.filter(|g| !g.is_empty()).map(GroupId)),
        active: p.active,
        after: cursor(p.cursor)?.map(UserId),
        limit: roster::service::directory_limit(p.limit),
    })
}

async fn users(State(s): State<Services>, q: Result<Query<Paging>, QueryRejection>) -> ApiResult {
    let page = s.directory.users(&user_query(q?.0, None)?).await?;
    Ok(Json(json!({ "users": page.items, "next": page.next })))
}

async fn user(State(s): State<Services>, Path(key): Path<String>) -> ApiResult {
    Ok(Json(serde_json::to_value(s.directory.user(&key).await?).map_err(Error::internal)?))
}

async fn groups(State(s): State<Services>, q: Result<Query<Paging>, QueryRejection>) -> ApiResult {
    let q = q?.0;
    let after = cursor(q.cursor)?.map(GroupId);
    let page = s.directory.groups(after.as_ref(), roster::service::directory_limit(q.limit)).await?;
    Ok(Json(json!({ "groups": page.items, "next": page.next })))
}

async fn group(State(s): State<Services>, Path(id): Path<String>) -> ApiResult {
    Ok(Json(serde_json::to_value(s.directory.group(&GroupId(id)).await?).map_err(Error::internal)?))
}

async fn members(
    State(s): State<Services>,
    Path(id): Path<String>,
    q: Result<Query<Paging>, QueryRejection>,
) -> ApiResult {
    let page = s.directory.users(&user_query(q?.0, Some(GroupId(id)))?).await?;
    Ok(Json(json!({ "members": page.items, "next": page.next })))
}

/// A shared page's JSON as a response body.
struct SharedJson(std::sync::Arc<str>);

impl AsRef<[u8]> for SharedJson {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

#[derive(Debug, Deserialize)]
struct FeedQuery {
    /// A `next` from an earlier answer; `now` starts at the newest event; absent starts at the oldest kept.
    after: Option<String>,
    limit: Option<i64>,
    /// Seconds to wait for an event when there is none yet, up to 30.
    wait: Option<u64>,
}

async fn events(
    State(s): State<Services>,
    Extension(client): Extension<ApiClient>,
    q: Result<Query<FeedQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = q?.0;
    let after = match q.after.as_deref().filter(|a| !a.is_empty()) {
        None => s.directory.cursor_bounds().await?.1,
        Some("now") => s.directory.cursor_bounds().await?.0,
        Some(a) => a.parse::<i64>().ok().filter(|a| *a >= 0).ok_or_else(|| {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", "after must be a cursor from `next`, or `now`")
        })?,
    };
    let wait = Duration::from_secs(q.wait.unwrap_or(0));
    let page = s.directory.events(client.0, after, roster::service::directory_limit(q.limit), wait).await?;
    // The page's JSON is written once and shared by every request that asks for it: the body is a reference to it.
    let body = axum::body::Bytes::from_owner(SharedJson(page.json()));
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

#[derive(Debug, Deserialize)]
struct AuditQuery {
    /// A `next` from an earlier page; absent starts at the oldest entry kept.
    after: Option<String>,
    /// Records per page, 1 to 1,000; 100 by default.
    limit: Option<i64>,
}

/// `GET /v1/audit`: OCSF records in commit order, the next page in `Link: <…>; rel="next"` and in `next`. An empty
/// page means caught up: ask again later with the same cursor.
async fn audit(State(s): State<Services>, q: Result<Query<AuditQuery>, QueryRejection>) -> Result<Response, ApiError> {
    let q = q?.0;
    let after = match q.after.as_deref().filter(|a| !a.is_empty()) {
        None => None,
        Some(a) => Some(a.parse::<i64>().ok().filter(|a| *a >= 0).ok_or_else(|| {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", "after must be a cursor from `next`")
        })?),
    };
    let page = s.audit.page(after, q.limit).await?;
    let version = env!("CARGO_PKG_VERSION");
    let records: Vec<_> = page.entries.iter().map(|e| roster::audit::ocsf::record(e, version)).collect();
    let limit = q.limit.map(|l| format!("&limit={}", l.clamp(1, roster::service::MAX_AUDIT_LIMIT))).unwrap_or_default();
    let link = format!("</v1/audit?after={}{limit}>; rel=\"next\"", page.next);
    let body = Json(json!({ "records": records, "next": page.next.to_string() }));
    Ok(([(header::LINK, link)], body).into_response())
}
