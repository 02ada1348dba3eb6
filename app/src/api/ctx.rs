//! The signed-in admin, from the session. `AdminSession` is the typed wrapper over tower-sessions.
use crate::Panel;
use crate::error::UiError;
use leptos::prelude::*;
use roster::model::{Actor, Admin, AdminId, Millis};
use roster::service::Services;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

/// The session key holding who signed in, and when.
const SIGNED_IN: &str = "signed_in";
/// The session key of the ID token a sign-in through the IdP brought, the hint of the IdP's sign-out.
const ID_TOKEN: &str = "oidc_id_token";
/// The session key of why a sign-in through the IdP was refused, for the sign-in page to say once.
pub const SSO_REFUSAL: &str = "sso_refusal";

/// How far the idle expiry may drift before a request renews it. A session is saved only when it changes, so renewing
/// on every request would make every page load a write; this way an active session costs one write a minute, and
/// its idle timeout is exact to within a minute.
const RENEW_AFTER_MS: Millis = 60_000;

/// What a signed-in session holds. The admin's sessions end when their password changes or they are removed, and
/// every session ends [the absolute lifetime](roster::service::AdminService::session) after sign-in.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct SignedIn {
    admin: i64,
    /// When the admin signed in: the absolute lifetime counts from here, whatever happens after.
    at: Millis,
    /// When this session last proved the admin's credentials: at sign-in, and again when they changed their password
    /// here (which ends every session that proved them before).
    proven: Millis,
    /// When the idle expiry was last moved on.
    renewed: Millis,
}

/// The client's address as the server determined it (the peer, or the trusted proxy's header), for the sign-in
/// throttle. The server puts it in every request's extensions.
#[derive(Debug, Clone)]
pub struct ClientAddr(pub String);

/// The name of the cookie that carries a new SCIM token to the page that shows it once. It never reaches the database.
pub const NEW_TOKEN_COOKIE: &str = "roster_new_token";

pub struct AdminSession(pub Session);

impl AdminSession {
    pub async fn get() -> Result<Self, UiError> {
        let s: Session = leptos_axum::extract().await.map_err(|e| UiError::Transport(e.to_string()))?;
        Ok(AdminSession(s))
    }

    /// Signs in: a new session id (so a fixated id is worthless), then who and when.
    pub async fn sign_in(&self, admin: &Admin) -> Result<(), UiError> {
        self.0.cycle_id().await.map_err(internal)?;
        let at = roster::service::now();
        self.put(SignedIn { admin: admin.id.0, at, proven: at, renewed: at }).await
    }

    /// Signs in an admin the company's IdP vouched for, keeping its ID token for the IdP's sign-out.
    pub async fn sign_in_through_idp(&self, admin: &Admin, id_token: String) -> Result<(), UiError> {
        self.sign_in(admin).await?;
        self.0.insert(ID_TOKEN, id_token).await.map_err(internal)
    }

    /// The ID token of a sign-in through the IdP, if this session came from one.
    pub async fn id_token(&self) -> Option<String> {
        self.0.get::<String>(ID_TOKEN).await.ok().flatten()
    }

    /// Why the last sign-in through the IdP was refused, once.
    pub async fn take_sso_refusal(&self) -> Option<String> {
        // Read first: removing marks the session changed, and a sign-in page without a refusal is not a write.
        self.0.get::<String>(SSO_REFUSAL).await.ok().flatten()?;
        self.0.remove::<String>(SSO_REFUSAL).await.ok().flatten()
    }

    /// Records that this session proved the admin's credentials again at `at` (a password change here, which ends the
    /// sessions that proved them before). The sign-in time, and so the absolute lifetime, stays as it was.
    pub async fn proven(&self, admin: AdminId, at: Millis) -> Result<(), UiError> {
        let signed_in = self.0.get::<SignedIn>(SIGNED_IN).await.map_err(internal)?;
        let signed_in = signed_in.filter(|s| s.admin == admin.0).ok_or(UiError::Unauthenticated)?;
        self.put(SignedIn { proven: at, renewed: at, ..signed_in }).await
    }

    async fn put(&self, signed_in: SignedIn) -> Result<(), UiError> {
        self.0.insert(SIGNED_IN, signed_in).await.map_err(internal)
    }

    /// Ends the session on the server (its record is deleted; a request still in flight cannot save it back) and
    /// clears the cookie.
    pub async fn sign_out(&self) -> Result<(), UiError> {
        self.0.flush().await.map_err(internal)
    }
}

/// The admin of `session` while the session is valid; an expired or revoked session is ended here. An error reaching
/// the database is passed on, and ends nothing.
pub async fn current_admin(session: &Session, services: &Services) -> roster::Result<Option<Admin>> {
    let signed_in = session.get::<SignedIn>(SIGNED_IN).await.map_err(roster::Error::internal)?;
    let Some(signed_in) = signed_in else { return Ok(None) };
    match services.admins.session(AdminId(signed_in.admin), signed_in.at, signed_in.proven).await {
        Ok(admin) => {
            let now = roster::service::now();
            if now - signed_in.renewed >= RENEW_AFTER_MS {
                // A change to the session: the layer saves it, with the idle expiry moved on from now.
                session
                    .insert(SIGNED_IN, SignedIn { renewed: now, ..signed_in })
                    .await
                    .map_err(roster::Error::internal)?;
            }
            Ok(Some(admin))
        }
        Err(roster::Error::Unauthenticated) => {
            let _ = session.flush().await;
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

fn internal(e: impl std::fmt::Display) -> UiError {
    tracing::error!(error = %e, "session store");
    UiError::Internal
}

pub fn panel() -> Result<Panel, UiError> {
    use_context::<Panel>().ok_or(UiError::Internal)
}

/// The services and the signed-in admin as an [`Actor`], or `Unauthenticated`.
pub async fn admin() -> Result<(Panel, Actor), UiError> {
    let panel = panel()?;
    let session = AdminSession::get().await?;
    let admin = current_admin(&session.0, &panel.services).await?.ok_or(UiError::Unauthenticated)?;
    Ok((panel, Actor::Admin { id: admin.id, email: admin.email, role: admin.role }))
}

/// An action in the panel by `actor`, with where the request came from for the log.
pub fn panel_ctx(actor: Actor, what: &str) -> roster::service::Ctx {
    roster::service::Ctx::panel(actor, what).from_client(client())
}

/// Who is asking, for the sign-in log: the client's address and user agent.
pub fn client() -> roster::service::sso::Client {
    let user_agent = use_context::<http::request::Parts>()
        .and_then(|p| p.headers.get(http::header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned))
        .unwrap_or_default();
    roster::service::sso::Client { address: client_addr(), user_agent }
}

/// The client address the server attached to this request.
pub fn client_addr() -> String {
    use_context::<http::request::Parts>()
        .and_then(|p| p.extensions.get::<ClientAddr>().cloned())
        .map(|c| c.0)
        .unwrap_or_else(|| "unknown".into())
}

const FLASH: &str = "flash";

/// Leaves a message for the next page and sends the browser there. Works with and without JavaScript: a plain form
/// post gets a 302, a hydrated one navigates.
pub async fn done(to: &str, message: impl Into<String>) -> Result<(), UiError> {
    let s = AdminSession::get().await?;
    s.0.insert(FLASH, crate::api::Flash { message: message.into() }).await.map_err(internal)?;
    leptos_axum::redirect(to);
    Ok(())
}

/// Takes (and clears) the flash. Every page asks, so the session changes (and is saved) only when there was one.
pub async fn take_flash() -> Result<Option<crate::api::Flash>, UiError> {
    let s = AdminSession::get().await?;
    if s.0.get::<crate::api::Flash>(FLASH).await.map_err(internal)?.is_none() {
        return Ok(None);
    }
    s.0.remove::<crate::api::Flash>(FLASH).await.map_err(internal)
}

/// Sets a cookie on the response: HttpOnly, SameSite=Strict, `Secure` when the public URL is https.
pub fn set_cookie(name: &str, value: &str, max_age_secs: i64) {
    let secure = panel().is_ok_and(|p| p.public_url.starts_with("https://"));
    let cookie = format!(
        "{name}={value}; Path=/; Max-Age={max_age_secs}; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    );
    if let (Some(res), Ok(v)) = (use_context::<leptos_axum::ResponseOptions>(), http::HeaderValue::from_str(&cookie)) {
        res.append_header(http::header::SET_COOKIE, v);
    }
}

/// A cookie of this request.
pub fn cookie(name: &str) -> Option<String> {
    let parts = use_context::<http::request::Parts>()?;
    parts.headers.get_all(http::header::COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|header| {
        header.split(';').find_map(|c| c.trim().strip_prefix(name)?.strip_prefix('=').map(str::to_owned))
    })
}
