//! The SCIM 2.0 endpoint at `/scim/v2` (RFC 7644). Handlers are one expression each: extract, call the service, map
//! the result. Authentication, the SCIM on/off switch and failure logging happen once, in [`gate`].
mod discovery;
pub mod error;
mod groups;
pub mod json;
mod users;

use crate::telemetry::RequestId;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};
use error::ScimError;
use roster::Kind;
use roster::model::{Outcome, Target};
use roster::scim::{MAX_BODY_BYTES, MAX_GROUP_BODY_BYTES};
use roster::service::{Ctx, Services};
use roster::store::NewLogEntry;
use std::sync::Arc;

/// The SCIM endpoint's state, one pointer: axum clones a route's state for every request (the gate's and the
/// handler's), and a clone of [`Scim`] was two strings and several atomic increments per service, 14-19 % of a lookup's
/// CPU time on two cores (bench/RESULTS.md).
#[derive(Clone)]
pub struct ScimState(Arc<Scim>);

/// What the SCIM endpoint needs, and nothing more: the services, its own base URL, and the throttle of logged 401s.
pub struct Scim {
    pub services: Services,
    /// `<public URL>/scim/v2`, the base of every `meta.location`.
    pub base: String,
    /// The page `/ServiceProviderConfig` points to as `documentationUri`.
    pub docs: String,
    pub auth_failures: AuthFailures,
}

impl ScimState {
    pub fn new(services: Services, public_url: &str) -> Self {
        ScimState(Arc::new(Scim {
            services,
            base: format!("{public_url}/scim/v2"),
            docs: format!("{public_url}/scim"),
            auth_failures: AuthFailures::default(),
        }))
    }
}

impl std::ops::Deref for ScimState {
    type Target = Scim;

    fn deref(&self) -> &Scim {
        &self.0
    }
}

/// The router under `/scim/v2`, with its state applied, ready to nest in any router.
pub fn router<S: Clone + Send + Sync + 'static>(state: ScimState) -> Router<S> {
    let not_allowed = |m: MethodRouter<ScimState>| m.fallback(method_not_allowed);
    Router::new()
        .route("/Users", not_allowed(get(users::list).post(users::create)))
        .route("/Users/.search", not_allowed(post(users::search)))
        .route("/.search", not_allowed(post(search_all_types)))
        .route(
            "/Users/{id}",
            not_allowed(get(users::get).put(users::replace).patch(users::patch).delete(users::delete)),
        )
        // A Push now carries a whole membership, so /Groups takes larger bodies than the rest (still bounded).
        .route("/Groups", not_allowed(get(groups::list).post(groups::create)).layer(group_limit()))
        .route("/Groups/.search", not_allowed(post(groups::search)))
        .route(
            "/Groups/{id}",
            not_allowed(get(groups::get).put(groups::replace).patch(groups::patch).delete(groups::delete))
                .layer(group_limit()),
        )
        .route("/ServiceProviderConfig", not_allowed(get(discovery::service_provider_config)))
        .route("/ResourceTypes", not_allowed(get(discovery::resource_types)))
        .route("/ResourceTypes/{id}", not_allowed(get(discovery::resource_type)))
        .route("/Schemas", not_allowed(get(discovery::schemas)))
        .route("/Schemas/{id}", not_allowed(get(discovery::schema)))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(state.clone(), gate))
        .with_state(state)
}

fn group_limit() -> DefaultBodyLimit {
    DefaultBodyLimit::max(MAX_GROUP_BODY_BYTES)
}

/// Decided from the method alone, before any body is read (Okta's SPEC test POSTs a non-JSON body here).
async fn method_not_allowed() -> ScimError {
    ScimError::new(StatusCode::METHOD_NOT_ALLOWED, None, "this method is not supported on this endpoint")
}

/// `POST /.search` at the root searches every resource type at once (RFC 7644 §3.4.3); roster searches one type at a
/// time, and says so with 501, which §3.12 gives for an operation a service provider does not support.
async fn search_all_types() -> ScimError {
    ScimError::new(
        StatusCode::NOT_IMPLEMENTED,
        None,
        "searching every resource type at once is not supported; POST /Users/.search or /Groups/.search",
    )
}

pub async fn not_found() -> ScimError {
    ScimError::new(StatusCode::NOT_FOUND, None, "no such SCIM endpoint; the base URL ends in /scim/v2")
}

/// Every /scim request passes here: bearer auth (401), the SCIM switch (403), then the handler. A failure from any
/// of them is written to the provisioning log and its detail gets the entry's id, so Okta's error text leads to it.
async fn gate(State(s): State<ScimState>, mut req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
    let client = roster::model::Client {
        address: req
            .extensions()
            .get::<app::api::ctx::ClientAddr>()
            .map(|c| c.0.clone())
            .unwrap_or_else(|| "unknown".into()),
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .unwrap_or_default(),
    };
    let bearer = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(bearer_token);
    let actor = match s.services.tokens.authenticate(bearer.as_deref()).await {
        Ok(actor) => actor,
        Err(e) => {
            let who = if bearer.is_some() { "unknown or revoked token" } else { "request without a token" };
            let mut err = ScimError::from(e);
            if err.status == StatusCode::UNAUTHORIZED {
                // Anyone can send a bad token; logging each one would let them force database writes.
                match s.auth_failures.admit() {
                    None => {
                        err.count();
                        return err.render(None);
                    }
                    Some(0) => {}
                    Some(n) => {
                        err.detail.push_str(&format!(" ({n} more unauthenticated requests since the last logged one)"))
                    }
                }
            }
            // Anyone can send these: their entries are capped in size, like their rate.
            let path: String = path.chars().take(UNAUTHENTICATED_PATH_CHARS).collect();
            return log_failure(&s, Failed { who, method: &method, path: &path, request_id, client }, err).await;
        }
    };
    let who = actor.name();
    let ctx = Ctx {
        actor,
        method: method.to_string(),
        path: path.clone(),
        request_id: request_id.clone(),
        client: Some(client.clone()),
    };
    req.extensions_mut().insert(ctx);
    let response = next.run(req).await;
    let Some(err) = response.extensions().get::<ScimError>().cloned() else {
        s.services.activity.record_request(method == Method::GET);
        return response;
    };
    s.services.activity.record_request(false);
    log_failure(&s, Failed { who: &who, method: &method, path: &path, request_id, client }, err).await
}

/// The token of an `Authorization: Bearer <token>` header; the scheme is matched without regard to case (RFC 7235
/// §2.1).
pub(crate) fn bearer_token(header: &str) -> Option<String> {
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned())
}

/// The request that failed, as its log entry records it.
struct Failed<'a> {
    who: &'a str,
    method: &'a Method,
    path: &'a str,
    request_id: Option<String>,
    client: roster::model::Client,
}

async fn log_failure(s: &ScimState, f: Failed<'_>, err: ScimError) -> Response {
    err.count();
    if err.status == StatusCode::SERVICE_UNAVAILABLE {
        return err.render(None); // The log is in the database that is unavailable.
    }
    let event = NewLogEntry {
        at: roster::service::now(),
        actor: f.who.to_owned(),
        method: f.method.to_string(),
        path: f.path.to_owned(),
        status: err.status.as_u16(),
        outcome: if err.no_seats.is_some() { Outcome::NoSeats } else { Outcome::Failed },
        target: refused_target(target_of(f.path), err.no_seats.as_deref()),
        diff: String::new(),
        detail: err.detail.clone(),
        request_id: f.request_id,
        client: Some(f.client),
    };
    match s.services.record_failure(event).await {
        Ok(id) => err.render(Some(id.0)),
        Err(e) => {
            tracing::error!(error = %e, "could not write the provisioning log");
            err.render(None)
        }
    }
}

/// The longest path an unauthenticated request's log entry keeps.
const UNAUTHENTICATED_PATH_CHARS: usize = 256;

/// Logs unauthenticated requests at most once a second per instance, counting the rest.
#[derive(Debug, Default)]
pub struct AuthFailures {
    last_logged: std::sync::atomic::AtomicI64,
    suppressed: std::sync::atomic::AtomicI64,
}

impl AuthFailures {
    /// `Some(n)` when this failure should be logged (with `n` unlogged ones before it), `None` when it is only counted.
    pub fn admit(&self) -> Option<i64> {
        use std::sync::atomic::Ordering::Relaxed;
        let now = roster::service::now();
        let last = self.last_logged.load(Relaxed);
        if now - last >= 1000 && self.last_logged.compare_exchange(last, now, Relaxed, Relaxed).is_ok() {
            Some(self.suppressed.swap(0, Relaxed))
        } else {
            self.suppressed.fetch_add(1, Relaxed);
            None
        }
    }
}

/// The target of a push refused for lack of seats, so the dashboard and the log say whom the IdP tried to push: the
/// user, named, when the path names a user or none (a create, whose user has no id yet); a group's push keeps the group
/// as its target (its detail names the seats).
fn refused_target(target: Option<Target>, user: Option<&str>) -> Option<Target> {
    let Some(user) = user else { return target };
    let name: String = user.chars().take(512).collect();
    match target {
        Some(t) if t.kind == Kind::User => Some(Target { name, ..t }),
        None => Some(Target { kind: Kind::User, id: String::new(), name }),
        other => other,
    }
}

/// `/scim/v2/Users/abc` → the user abc, for the log entry of a failed request.
fn target_of(path: &str) -> Option<Target> {
    let mut parts = path.rsplit('/');
    let id = parts.next().filter(|id| *id != ".search")?;
    let kind = match parts.next()? {
        "Users" => Kind::User,
        "Groups" => Kind::Group,
        _ => return None,
    };
    // The target id is indexed, and PostgreSQL refuses over-long index entries: a junk id of thousands of characters
    // (never a real one, which is a UUID) is cut so the failure is still logged. The full path stays in the entry.
    let id: String = id.chars().take(roster::scim::MAX_INDEXED_CHARS).collect();
    Some(Target { kind, id, name: String::new() })
}
