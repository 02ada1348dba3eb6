//! SCIM settings: the switch, the base URL, and tokens.
#[cfg(feature = "ssr")]
use super::ctx::{NEW_TOKEN_COOKIE, admin, done, panel_ctx};
use crate::error::UiError;
use leptos::prelude::*;
use roster::model::{ScimSettings, SeatUsage};

#[server(prefix = "/api", endpoint = "scim_settings")]
pub async fn get_scim_settings() -> Result<ScimSettings, UiError> {
    let (panel, _) = admin().await?;
    // A token created by the request that led here arrives in a short-lived cookie, is shown this once, and is cleared.
    let new_token = super::ctx::cookie(NEW_TOKEN_COOKIE).filter(|t| !t.is_empty());
    if new_token.is_some() {
        super::ctx::set_cookie(NEW_TOKEN_COOKIE, "", 0);
    }
    Ok(ScimSettings {
        enabled: panel.services.settings.get().await?.scim_enabled,
        base_url: format!("{}/scim/v2", panel.public_url),
        tokens: panel.services.tokens.list(roster::model::TokenKind::Scim).await?,
        idps: panel.services.settings.idps().await?,
        new_token,
        drift: panel.services.directory.drift().await?,
    })
}

#[server(prefix = "/api", endpoint = "scim_switch")]
pub async fn set_scim(enabled: bool, confirm: Option<String>) -> Result<(), UiError> {
    if confirm.is_none() {
        return Err(UiError::Message("Tick the box to confirm that you understand what changes.".into()));
    }
    let (panel, actor) = admin().await?;
    let what = if enabled { "enable SCIM" } else { "disable SCIM" };
    panel.services.settings.set_scim_enabled(&panel_ctx(actor, what), enabled).await?;
    let msg = if enabled { "SCIM provisioning is on." } else { "SCIM provisioning is off." };
    done("/scim", msg).await
}

/// Creates a token; the page shows it once, from the flash.
#[server(prefix = "/api", endpoint = "token_create")]
pub async fn create_token(name: String) -> Result<(), UiError> {
    let (panel, actor) = admin().await?;
    let (t, secret) =
        panel.services.tokens.create(&panel_ctx(actor, "create token"), roster::model::TokenKind::Scim, &name).await?;
    // The token goes to the browser, never into the session store: the next page shows it once and clears it.
    super::ctx::set_cookie(NEW_TOKEN_COOKIE, &secret, 300);
    done("/scim", format!("Token '{}' created. Copy it now: it is shown only once.", t.name)).await
}

#[server(prefix = "/api", endpoint = "token_revoke")]
pub async fn revoke_token(name: String) -> Result<(), UiError> {
    let (panel, actor) = admin().await?;
    panel.services.tokens.revoke(&panel_ctx(actor, "revoke token"), roster::model::TokenKind::Scim, &name).await?;
    done("/scim", format!("Token '{name}' revoked. Requests with it now get 401.")).await
}

/// Releases every user and group an IdP manages to local. Needs the confirmation box ticked.
#[server(prefix = "/api", endpoint = "idp_release")]
pub async fn release_idp(name: String, confirm: Option<String>) -> Result<(), UiError> {
    if confirm.is_none() {
        return Err(UiError::Message("Tick the box to confirm the release.".into()));
    }
    let (panel, actor) = admin().await?;
    let r = panel.services.settings.release_idp(&panel_ctx(actor, "release IdP"), &name).await?;
    let msg = format!("Released {} users and {} groups from {}: they are local now.", r.users, r.groups, r.idp);
    done("/scim", msg).await
}

#[server(prefix = "/api", endpoint = "seats")]
pub async fn seats() -> Result<SeatUsage, UiError> {
    let (panel, _) = admin().await?;
    Ok(panel.services.settings.seats().await?)
}

#[server(prefix = "/api", endpoint = "seats_set")]
pub async fn set_seats(seats: i64) -> Result<(), UiError> {
    let (panel, actor) = admin().await?;
    let s = panel.services.settings.set_seats(&panel_ctx(actor, "set seats"), seats).await?;
    done("/licence", format!("The licence now has {} seats; {} free.", s.limit, s.free())).await
}
