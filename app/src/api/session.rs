//! Sign-in, sign-out and first-run setup.
#[cfg(feature = "ssr")]
use super::ctx::{AdminSession, panel};
use crate::error::UiError;
use leptos::prelude::*;

/// Who is signed in, and with what role, for the header and for hiding what the role cannot use.
#[server(prefix = "/api", endpoint = "whoami")]
pub async fn whoami() -> Result<Option<super::Me>, UiError> {
    match super::ctx::admin().await {
        Ok((_, roster::model::Actor::Admin { email, role, .. })) => Ok(Some(super::Me { email, role })),
        Ok(_) | Err(UiError::Unauthenticated) => Ok(None),
        Err(e) => Err(e),
    }
}

#[server(prefix = "/api", endpoint = "login")]
pub async fn login(email: String, password: String) -> Result<(), UiError> {
    let client = super::ctx::client();
    let admin = panel()?.services.admins.sign_in(&email, &password, &client).await.map_err(|e| match e {
        roster::Error::Unauthenticated => UiError::refused(401, "That email and password do not match an admin."),
        other => other.into(),
    })?;
    AdminSession::get().await?.sign_in(&admin).await?;
    leptos_axum::redirect("/");
    Ok(())
}

/// Signs out: the session ends on the server. A session that came from the company's IdP ends there too, when the IdP
/// offers it (RP-initiated logout), which then sends the browser back to the sign-in page.
#[server(prefix = "/api", endpoint = "logout")]
pub async fn logout() -> Result<(), UiError> {
    let panel = panel()?;
    let session = AdminSession::get().await?;
    let id_token = session.id_token().await;
    let who = super::ctx::current_admin(&session.0, &panel.services).await.ok().flatten();
    session.sign_out().await?;
    if let Some(admin) = who {
        panel.services.admins.record_sign_out(&admin, &super::ctx::client(), id_token.is_some()).await;
    }
    let back = format!("{}/login", panel.public_url);
    let to = match id_token {
        Some(token) => panel.services.sso.end_session_url(&token, &back).await,
        None => None,
    };
    leptos_axum::redirect(to.as_deref().unwrap_or("/login"));
    Ok(())
}

/// What the sign-in page offers: the IdP's button, whether a password is for break-glass admins only, and why the
/// last sign-in through the IdP was refused.
#[server(prefix = "/api", endpoint = "sign_in_options")]
pub async fn sign_in_options() -> Result<super::SignInOptions, UiError> {
    let settings = panel()?.services.sso.settings().await?;
    let refusal = AdminSession::get().await?.take_sso_refusal().await;
    Ok(super::SignInOptions {
        sso_label: settings.as_ref().map(|s| s.label.clone()),
        password_for_break_glass_only: settings.is_some_and(|s| s.required),
        refusal,
    })
}

/// Whether a setup link is live, so the page can explain a used one instead of showing a form that will fail.
#[server(prefix = "/api", endpoint = "setup_status")]
pub async fn setup_status(token: String) -> Result<bool, UiError> {
    Ok(panel()?.services.admins.setup_token_valid(&token).await?)
}

#[server(prefix = "/api", endpoint = "setup")]
pub async fn complete_setup(token: String, email: String, password: String) -> Result<(), UiError> {
    let admin = panel()?.services.admins.complete_setup(&token, &email, &password).await?;
    AdminSession::get().await?.sign_in(&admin).await?;
    leptos_axum::redirect("/");
    Ok(())
}

/// The one-time message left by the last action, if any.
#[server(prefix = "/api", endpoint = "flash")]
pub async fn take_flash() -> Result<Option<super::Flash>, UiError> {
    super::ctx::take_flash().await
}
