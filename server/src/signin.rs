//! Signing admins in through the company's OpenID provider: `GET /auth/oidc/login` sends the browser there, and
//! `GET /auth/oidc/callback` takes it back. The flow (state, nonce, PKCE verifier) waits in the browser's session and is
//! taken out of it on the way back, so a replayed callback finds none. Who gets in is the domain's
//! ([`roster::service::SsoService`]); a refusal goes back to the sign-in page, which says why.
use crate::web::AppState;
use app::api::ctx::{AdminSession, ClientAddr, SSO_REFUSAL};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use roster::service::sso::{Client, Flow};
use serde::Deserialize;
use tower_sessions::Session;

/// The session key of a sign-in under way.
const FLOW: &str = "oidc_flow";

fn redirect_uri(s: &AppState) -> String {
    format!("{}/auth/oidc/callback", s.public_url)
}

/// Back to the sign-in page, which shows `why` to a browser that has a session (one that started a sign-in here);
/// a request without one (a crafted link, a bot) gets no session made for it.
async fn refuse(session: &Session, why: String) -> Response {
    if session.id().is_none() {
        return Redirect::to("/login").into_response();
    }
    if let Err(e) = session.insert(SSO_REFUSAL, why).await {
        tracing::warn!(error = %e, "could not keep the sign-in refusal for the page");
    }
    Redirect::to("/login").into_response()
}

pub async fn login(State(s): State<AppState>, session: Session) -> Response {
    match s.services.sso.begin(&redirect_uri(&s)).await {
        Ok(a) => match session.insert(FLOW, &a.flow).await {
            Ok(()) => Redirect::to(&a.url).into_response(),
            Err(e) => {
                tracing::error!(error = %e, "could not keep the sign-in flow");
                refuse(&session, "roster could not start the sign-in; try again".into()).await
            }
        },
        Err(e) => refuse(&session, e.to_string()).await,
    }
}

#[derive(Debug, Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

pub async fn callback(
    State(s): State<AppState>,
    session: Session,
    headers: HeaderMap,
    addr: Option<axum::Extension<ClientAddr>>,
    Query(q): Query<Callback>,
) -> Response {
    // Taken out first: whatever happens next, this flow cannot be used again.
    let flow: Option<Flow> = session.remove(FLOW).await.unwrap_or_default();
    if let Some(error) = q.error {
        // The provider's words are shown only for the sign-in this browser started (its state): a crafted link cannot
        // put text on roster's sign-in page.
        let started_here = flow.as_ref().is_some_and(|f| q.state.as_deref() == Some(f.state.as_str()));
        if !started_here {
            return refuse(&session, "this sign-in was not started here; start again".into()).await;
        }
        let said = q.error_description.unwrap_or(error).chars().take(300).collect::<String>();
        return refuse(&session, format!("the identity provider did not sign you in: {said}")).await;
    }
    let client = Client {
        address: addr.map(|a| a.0.0).unwrap_or_else(|| "unknown".into()),
        user_agent: headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
    };
    let (code, state) = (q.code.unwrap_or_default(), q.state.unwrap_or_default());
    match s.services.sso.finish(flow, &code, &state, &redirect_uri(&s), &client).await {
        Ok((admin, id_token)) => match AdminSession(session.clone()).sign_in_through_idp(&admin, id_token).await {
            Ok(()) => Redirect::to("/").into_response(),
            Err(e) => refuse(&session, e.to_string()).await,
        },
        Err(e) => refuse(&session, e.to_string()).await,
    }
}
