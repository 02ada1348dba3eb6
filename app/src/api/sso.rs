//! Single sign-on settings (owners): the provider, the group-to-role map, and the require switch.
use crate::error::UiError;
use leptos::prelude::*;
use roster::model::SsoSettings;
#[cfg(feature = "ssr")]
use {
    super::ctx::{admin, done, panel_ctx},
    roster::model::Role,
};

/// What the SSO page shows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SsoPage {
    pub settings: Option<SsoSettings>,
    /// `<public URL>/auth/oidc/callback`, to register with the provider.
    pub redirect_uri: String,
    /// `<public URL>/login`: where the provider sends the browser after signing out.
    pub post_logout_uri: String,
    pub login_uri: String,
}

#[cfg(feature = "ssr")]
const PAGE: &str = "/sso";

#[server(prefix = "/api", endpoint = "sso")]
pub async fn get_sso() -> Result<SsoPage, UiError> {
    let (panel, actor) = admin().await?;
    let settings = panel.services.sso.settings_for(&panel_ctx(actor, "read single sign-on")).await?;
    Ok(SsoPage {
        settings,
        redirect_uri: format!("{}/auth/oidc/callback", panel.public_url),
        post_logout_uri: format!("{}/login", panel.public_url),
        login_uri: format!("{}/auth/oidc/login", panel.public_url),
    })
}

#[server(prefix = "/api", endpoint = "sso_set")]
pub async fn set_sso(
    issuer: String,
    client_id: String,
    client_secret: String,
    label: String,
    groups_claim: String,
    scopes: String,
) -> Result<(), UiError> {
    let (panel, actor) = admin().await?;
    let ctx = panel_ctx(actor, "set single sign-on");
    let label = Some(label.as_str()).filter(|l| !l.trim().is_empty());
    panel.services.sso.set(&ctx, &issuer, &client_id, &client_secret, label, &groups_claim, &scopes).await?;
    done(PAGE, "Single sign-on is set up.").await
}

#[server(prefix = "/api", endpoint = "sso_map")]
pub async fn map_group(group: String, role: String) -> Result<(), UiError> {
    let role = Role::parse(&role).ok_or_else(|| UiError::Message("Choose a role.".into()))?;
    let (panel, actor) = admin().await?;
    panel.services.sso.map(&panel_ctx(actor, "map group"), &group, role).await?;
    done(PAGE, format!("Members of '{}' sign in as {role}.", group.trim())).await
}

#[server(prefix = "/api", endpoint = "sso_unmap")]
pub async fn unmap_group(group: String) -> Result<(), UiError> {
    let (panel, actor) = admin().await?;
    panel.services.sso.unmap(&panel_ctx(actor, "unmap group"), &group).await?;
    done(PAGE, format!("'{group}' no longer gives a role.")).await
}

#[server(prefix = "/api", endpoint = "sso_require")]
pub async fn require_sso(on: bool, confirm: Option<String>) -> Result<(), UiError> {
    if confirm.is_none() {
        return Err(UiError::Message("Tick the box to confirm.".into()));
    }
    let (panel, actor) = admin().await?;
    panel.services.sso.set_required(&panel_ctx(actor, "require single sign-on"), on).await?;
    let said = if on {
        "Only break-glass admins may sign in with a password now."
    } else {
        "Admins may sign in with a password again."
    };
    done(PAGE, said).await
}
