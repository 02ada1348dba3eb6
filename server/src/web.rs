//! The axum application: the panel (leptos, with sessions), the SCIM endpoint, health checks and static assets.
use crate::guard::{self, Guards};
use crate::scim::ScimState;
use crate::site::Site;
use crate::store::sessions::Sessions;
use app::{App, Panel, shell};
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use axum::routing::any;
use axum::routing::get;
use axum::{Json, Router};
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use roster::service::Services;
use std::sync::Arc;
use std::time::Duration;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

/// The panel's and the health checks' state, one pointer: axum clones it for every request it serves (see
/// [`crate::scim::ScimState`]).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What the panel and the health checks need: the services, the public URL, and leptos's options.
pub struct Shared {
    pub services: Services,
    /// `https://roster.example.com`, without a trailing slash.
    pub public_url: String,
    pub leptos: LeptosOptions,
}

impl AppState {
    pub fn new(services: Services, public_url: String, leptos: LeptosOptions) -> Self {
        AppState(Arc::new(Shared { services, public_url, leptos }))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(s: &AppState) -> Self {
        s.leptos.clone()
    }
}

/// The panel's routes, listed once per process. Listing them renders the app with every resource held back, and
/// leptos holds them back through a process-wide flag: a page of another app in the same process (the tests run many)
/// whose resource first ran during a listing waited forever, and its request ended in the timeout's 503.
pub fn panel_routes() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// The whole application. `idle` is how long a panel session lasts without a request.
pub fn router(state: AppState, sessions: Sessions, guards: Arc<Guards>, idle: Duration, site: Site) -> Router {
    let panel = Panel { services: state.services.clone(), public_url: state.public_url.clone() };
    let routes = panel_routes();
    let opts = state.leptos.clone();
    let idle = tower_sessions::cookie::time::Duration::seconds(i64::try_from(idle.as_secs()).unwrap_or(i64::MAX));
    let session_layer = SessionManagerLayer::new(sessions)
        .with_name("roster_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(guards.https)
        // Saved only when it changed; the panel renews the idle expiry when it has drifted (`app::api::ctx`), so a page
        // load is not a write.
        .with_expiry(Expiry::OnInactivity(idle));
    let panel_router = Router::new()
        .route("/auth/oidc/login", get(crate::signin::login))
        .route("/auth/oidc/callback", get(crate::signin::callback))
        .route("/log/export.csv", get(crate::export::log_csv))
        .leptos_routes_with_context(&state, routes, move || provide_context(panel.clone()), move || shell(opts.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(from_fn_with_state(state.clone(), require_admin))
        .layer(session_layer)
        .layer(from_fn_with_state(guards.clone(), guard::same_origin));
    let scim = crate::scim::router(ScimState::new(state.services.clone(), &state.public_url));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .nest("/scim/v2", scim)
        .nest("/v1", crate::api::router(state.services.clone()))
        // The nested router does not see its own root with a trailing slash; it is a SCIM path all the same.
        .route("/scim/v2/", any(crate::scim::not_found))
        .merge(site.router())
        .merge(panel_router)
        .layer(from_fn_with_state(guards.clone(), guard::security_headers))
        .layer(from_fn_with_state(guards.clone(), guard::timeout))
        .layer(from_fn_with_state(guards, guard::client_addr))
        .layer(TraceLayer::new_for_http())
        .layer(axum::middleware::from_fn(crate::telemetry::request_id))
        .layer(axum::middleware::from_fn(crate::metrics::track))
        .with_state(state)
}

/// Pages behind sign-in redirect to /login without a valid session, before any rendering. Server functions check the
/// session themselves (and answer `Unauthenticated`), so this guards pages, not data.
async fn require_admin(
    State(s): State<AppState>,
    session: tower_sessions::Session,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let path = req.uri().path();
    let public = path == "/login"
        || path == "/setup"
        || path.starts_with("/api/")
        || path.starts_with("/auth/oidc/")
        || path.starts_with("/pkg/")
        || path == "/favicon.ico"
        || path == "/favicon.svg";
    if !public && req.method() == axum::http::Method::GET {
        match app::api::ctx::current_admin(&session, &s.services).await {
            Ok(Some(_)) => {}
            Ok(None) => return axum::response::Redirect::to("/login").into_response(),
            Err(e) => {
                tracing::warn!(error = %e, "could not check the session");
                let msg = "roster cannot reach its database just now; reload the page in a moment.";
                return (StatusCode::SERVICE_UNAVAILABLE, [(axum::http::header::RETRY_AFTER, "5")], msg)
                    .into_response();
            }
        }
    }
    next.run(req).await
}

/// Liveness: the process answers.
async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Readiness: the database answers.
async fn readyz(State(s): State<AppState>) -> impl IntoResponse {
    match s.services.ready().await {
        Ok(()) => (StatusCode::OK, Json(serde_json::json!({ "status": "ok", "database": "ok" }))),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({ "status": "unavailable", "database": "unreachable" })),
            )
        }
    }
}
