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
use roster::model::{DirectoryGroup, DirectoryUser};
use roster::service::Services;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use utoipa::{IntoParams, OpenApi, ToSchema};

/// The router under `/v1`, with its state applied.
pub fn router<S: Clone + Send + Sync + 'static>(services: Services) -> Router<S> {
    // One pointer to clone per request, not every service (see `crate::scim::ScimState`).
    let services = Arc::new(services);
    // Each scope's routes behind a token of that scope: the scope is the route's, never read from the path.
    let scoped = |scope| middleware::from_fn_with_state((services.clone(), scope), authenticate);
    let directory = Router::new()
        .route("/users", get(users))
        .route("/users/{key}", get(user))
        .route("/groups", get(groups))
        .route("/groups/{id}", get(group))
        .route("/groups/{id}/members", get(members))
        .route("/events", get(events))
        .route_layer(scoped(ApiScope::Directory));
    let audit = Router::new().route("/audit", get(audit)).route_layer(scoped(ApiScope::Audit));
    Router::new()
        .merge(directory)
        .merge(audit)
        // Public: integrators generate clients from it before they have a token.
        .route("/openapi.json", get(openapi_json))
        .fallback(async || ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such API endpoint"))
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

/// Every error's body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, for code to branch on: `invalid_request`, `unauthorized`, `insufficient_scope`, `not_found`,
    /// `cursor_expired`, `cursor_ahead`, `too_many_requests`, `unavailable`.
    code: String,
    /// For people: what went wrong and what to do.
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(ErrorBody { error: ErrorDetail { code: self.code.into(), message: self.message } });
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

type ApiResult<T> = Result<Json<T>, ApiError>;

/// The directory API token a request came with.
#[derive(Debug, Clone, Copy)]
struct ApiClient(TokenId);

/// Every `/v1` endpoint but the document needs a live API token of its scope.
async fn authenticate(State((s, scope)): State<(Arc<Services>, ApiScope)>, mut req: Request, next: Next) -> Response {
    let bearer =
        req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(crate::scim::bearer_token);
    match s.tokens.authenticate_api(bearer.as_deref(), scope).await {
        Ok(token) => {
            req.extensions_mut().insert(ApiClient(token.id));
            next.run(req).await
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// `GET /v1/users`'s query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct UserPaging {
    /// The `next` of the page before; absent for the first page.
    cursor: Option<String>,
    /// Users per page, 1 to 1,000; 100 by default.
    limit: Option<i64>,
    /// Only the members of the group with this id.
    group: Option<String>,
    /// Only active (`true`) or only inactive (`false`) users.
    active: Option<bool>,
}

/// A keyset page's query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct Paging {
    /// The `next` of the page before; absent for the first page.
    cursor: Option<String>,
    /// Items per page, 1 to 1,000; 100 by default.
    limit: Option<i64>,
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

fn user_query(p: UserPaging, group: Option<GroupId>) -> Result<DirectoryUserQuery, ApiError> {
    Ok(DirectoryUserQuery {
        group: group.or(p.group.filter(|g| !g.is_empty()).map(GroupId)),
        active: p.active,
        after: cursor(p.cursor)?.map(UserId),
        limit: roster::service::directory_limit(p.limit),
    })
}

/// A page of users.
#[derive(Debug, Serialize, ToSchema)]
struct UsersPage {
    users: Vec<DirectoryUser>,
    /// The cursor of the next page; null on the last.
    next: Option<String>,
}

/// A page of groups.
#[derive(Debug, Serialize, ToSchema)]
struct GroupsPage {
    groups: Vec<DirectoryGroup>,
    /// The cursor of the next page; null on the last.
    next: Option<String>,
}

/// A page of a group's members.
#[derive(Debug, Serialize, ToSchema)]
struct MembersPage {
    members: Vec<DirectoryUser>,
    /// The cursor of the next page; null on the last.
    next: Option<String>,
}

/// Users, in keyset pages by id.
#[utoipa::path(get, path = "/v1/users", tag = "directory", params(UserPaging),
    responses((status = 200, body = UsersPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, description = "No group has the id in `group`", body = ErrorBody),
        (status = 503, body = ErrorBody)))]
async fn users(State(s): State<Arc<Services>>, q: Result<Query<UserPaging>, QueryRejection>) -> ApiResult<UsersPage> {
    let page = s.directory.users(&user_query(q?.0, None)?).await?;
    Ok(Json(UsersPage { users: page.items, next: page.next }))
}

/// One user, by id or userName.
#[utoipa::path(get, path = "/v1/users/{key}", tag = "directory",
    params(("key" = String, Path, description = "The user's id, or their userName")),
    responses((status = 200, body = DirectoryUser), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn user(State(s): State<Arc<Services>>, Path(key): Path<String>) -> ApiResult<DirectoryUser> {
    Ok(Json(s.directory.user(&key).await?))
}

/// Groups, in keyset pages by id.
#[utoipa::path(get, path = "/v1/groups", tag = "directory", params(Paging),
    responses((status = 200, body = GroupsPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn groups(State(s): State<Arc<Services>>, q: Result<Query<Paging>, QueryRejection>) -> ApiResult<GroupsPage> {
    let q = q?.0;
    let after = cursor(q.cursor)?.map(GroupId);
    let page = s.directory.groups(after.as_ref(), roster::service::directory_limit(q.limit)).await?;
    Ok(Json(GroupsPage { groups: page.items, next: page.next }))
}

/// One group.
#[utoipa::path(get, path = "/v1/groups/{id}", tag = "directory", params(("id" = String, Path, description = "The group's id")),
    responses((status = 200, body = DirectoryGroup), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn group(State(s): State<Arc<Services>>, Path(id): Path<String>) -> ApiResult<DirectoryGroup> {
    Ok(Json(s.directory.group(&GroupId(id)).await?))
}

/// A group's members, in keyset pages by user id.
#[utoipa::path(get, path = "/v1/groups/{id}/members", tag = "directory",
    params(("id" = String, Path, description = "The group's id"), UserPaging),
    responses((status = 200, body = MembersPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn members(
    State(s): State<Arc<Services>>,
    Path(id): Path<String>,
    q: Result<Query<UserPaging>, QueryRejection>,
) -> ApiResult<MembersPage> {
    let page = s.directory.users(&user_query(q?.0, Some(GroupId(id)))?).await?;
    Ok(Json(MembersPage { members: page.items, next: page.next }))
}

/// A shared page's JSON as a response body.
struct SharedJson(std::sync::Arc<str>);

impl AsRef<[u8]> for SharedJson {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct FeedQuery {
    /// A `next` from an earlier answer; `now` starts at the newest event; absent starts at the oldest kept.
    after: Option<String>,
    /// Events per page, 1 to 1,000; 100 by default.
    limit: Option<i64>,
    /// Seconds to wait for an event when there is none yet, up to 30.
    #[param(maximum = 30)]
    wait: Option<u64>,
}

/// A directory event: the Standard Webhooks payload shape, as webhook deliveries carry it.
#[derive(Debug, Serialize, ToSchema)]
struct FeedEvent {
    /// Unique, and the `webhook-id` of its deliveries.
    id: String,
    /// `user.created`, `user.deactivated`, `group.members_added`, … (docs/integrations.md).
    #[serde(rename = "type")]
    kind: String,
    /// RFC 3339.
    timestamp: String,
    /// What changed: the user or group, and why.
    data: serde_json::Value,
}

/// A page of the event feed.
#[derive(Debug, Serialize, ToSchema)]
struct EventsPage {
    events: Vec<FeedEvent>,
    /// The cursor to ask with next: `after=<next>`.
    next: String,
}

/// Directory events in commit order, long-polled with `wait`.
#[utoipa::path(get, path = "/v1/events", tag = "directory", params(FeedQuery),
    responses((status = 200, body = EventsPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, description = "The cursor is ahead of the newest event", body = ErrorBody),
        (status = 410, description = "Retention removed events after the cursor", body = ErrorBody),
        (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn events(
    State(s): State<Arc<Services>>,
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

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AuditQuery {
    /// A `next` from an earlier page; absent starts at the oldest entry kept.
    after: Option<String>,
    /// Records per page, 1 to 1,000; 100 by default.
    limit: Option<i64>,
}

/// A page of the audit trail.
#[derive(Debug, Serialize, ToSchema)]
struct AuditPage {
    /// OCSF 1.8.0 records, oldest first: Authentication (3002), Account Change (3001), Group Management (3006) or
    /// Entity Management (3004). Their JSON Schemas are in the repository's `schemas/ocsf/1.8.0`.
    records: Vec<serde_json::Map<String, serde_json::Value>>,
    /// The cursor to ask with next: `after=<next>`, also in the `Link` header.
    next: String,
}

/// The audit trail: every log entry as an OCSF record, in commit order. The next page is in `Link: <…>; rel="next"`
/// and in `next`; an empty page means caught up, so ask again later with the same cursor.
#[utoipa::path(get, path = "/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = AuditPage,
            headers(("Link" = String, description = "The next page: `</v1/audit?after=N>; rel=\"next\"`"))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "The token's scope is not `audit`", body = ErrorBody),
        (status = 409, description = "The cursor is ahead of the newest entry", body = ErrorBody),
        (status = 410, description = "Retention removed entries after the cursor", body = ErrorBody),
        (status = 503, body = ErrorBody)))]
async fn audit(
    State(s): State<Arc<Services>>,
    q: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = q?.0;
    let after = match q.after.as_deref().filter(|a| !a.is_empty()) {
        None => None,
        Some(a) => Some(a.parse::<i64>().ok().filter(|a| *a >= 0).ok_or_else(|| {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", "after must be a cursor from `next`")
        })?),
    };
    let page = s.audit.page(after, q.limit).await?;
    let version = env!("CARGO_PKG_VERSION");
    let records = page.entries.iter().map(|e| roster::audit::ocsf::record(e, version)).collect();
    let limit = q.limit.map(|l| format!("&limit={}", l.clamp(1, roster::service::MAX_AUDIT_LIMIT))).unwrap_or_default();
    let link = format!("</v1/audit?after={}{limit}>; rel=\"next\"", page.next);
    Ok(([(header::LINK, link)], Json(AuditPage { records, next: page.next.to_string() })).into_response())
}

/// The OpenAPI 3.1 document of `/v1`, from the handlers above and their types; `docs/openapi.json` is a copy, which
/// a test keeps equal.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "roster API",
        description = "Read-only JSON for the product's own services (the `directory` scope: users, groups, the event \
            feed) and for a SIEM (the `audit` scope: the audit trail as OCSF records). Each API token has one scope and \
            gets 403 on the other's endpoints. Create one with `roster api token create --name N --scope directory|audit`."
    ),
    paths(users, user, groups, group, members, events, audit),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&BearerToken),
    security(("api_token" = [])),
    tags((name = "directory", description = "Needs an API token with the `directory` scope"),
        (name = "audit", description = "Needs an API token with the `audit` scope"))
)]
pub struct ApiDoc;

struct BearerToken;

impl utoipa::Modify for BearerToken {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let scheme =
            HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some("An API token, `roster_api_…`")).build();
        doc.components
            .get_or_insert_with(Default::default)
            .add_security_scheme("api_token", SecurityScheme::Http(scheme));
    }
}

/// The document as served and as kept in the repository.
pub fn openapi_document() -> String {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").into();
    doc.to_pretty_json().unwrap_or_default() + "\n"
}

async fn openapi_json() -> Response {
    static DOC: std::sync::OnceLock<axum::body::Bytes> = std::sync::OnceLock::new();
    let doc = DOC.get_or_init(|| openapi_document().into()).clone();
    ([(header::CONTENT_TYPE, "application/json")], doc).into_response()
}
