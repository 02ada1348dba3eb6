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
    let client = super::ctx::client_addr();
    let admin = panel()?.services.admins.login(&email, &password, &client).await.map_err(|e| match e {
        roster::Error::Unauthenticated => UiError::refused(401, "That email and password do not match an admin."),
        other => other.into(),
    })?;
    AdminSession::get().await?.sign_in(&admin).await?;
    leptos_axum::redirect("/");
    Ok(())
}

#[server(prefix = "/api", endpoint = "logout")]
pub async fn logout() -> Result<(), UiError> {
    AdminSession::get().await?.sign_out().await?;
    leptos_axum::redirect("/login");
    Ok(())
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
