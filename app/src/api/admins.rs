//! Admins: the list, adding one, and changing your own password.
use crate::error::UiError;
use leptos::prelude::*;
use roster::model::Admin;
#[cfg(feature = "ssr")]
use {
    super::ctx::{AdminSession, admin, done, panel_ctx},
    roster::model::Actor,
    roster::model::Role,
};

#[server(prefix = "/api", endpoint = "admins")]
pub async fn list_admins() -> Result<Vec<Admin>, UiError> {
    let (panel, _) = admin().await?;
    Ok(panel.services.admins.list().await?)
}

#[server(prefix = "/api", endpoint = "admin_add")]
pub async fn add_admin(
    email: String,
    password: String,
    role: Option<String>,
    break_glass: Option<String>,
) -> Result<(), UiError> {
    // Without a role, an owner: the CLI's default too.
    let role = role.as_deref().map(parse_role).transpose()?.unwrap_or(Role::Owner);
    let (panel, actor) = admin().await?;
    let ctx = panel_ctx(actor, "add admin");
    let a = panel.services.admins.create(&ctx, &email, &password, role, break_glass.is_some()).await?;
    done("/admins", format!("{} can now sign in. Role: {}.", a.email, a.role)).await
}

/// Gives an admin another role (owners only; the last owner stays one).
#[server(prefix = "/api", endpoint = "admin_role")]
pub async fn set_admin_role(email: String, role: String) -> Result<(), UiError> {
    let role = parse_role(&role)?;
    let (panel, actor) = admin().await?;
    let a = panel.services.admins.set_role(&panel_ctx(actor, "change role"), &email, role).await?;
    done("/admins", format!("{} is now {}.", a.email, a.role)).await
}

#[cfg(feature = "ssr")]
fn parse_role(role: &str) -> Result<Role, UiError> {
    Role::parse(role).ok_or_else(|| UiError::Message("Choose a role: owner, admin, helpdesk or auditor.".into()))
}

#[server(prefix = "/api", endpoint = "password")]
pub async fn change_password(current: String, new: String, repeat: String) -> Result<(), UiError> {
    if new != repeat {
        return Err(UiError::Message("The two new passwords differ.".into()));
    }
    let (panel, actor) = admin().await?;
    let Actor::Admin { id, .. } = actor.clone() else { return Err(UiError::Unauthenticated) };
    let from = panel.services.admins.change_password(&panel_ctx(actor, "change password"), id, &current, &new).await?;
    // Every other session of this admin has ended; this one stays signed in, with its sign-in time unchanged.
    AdminSession::get().await?.proven(id, from).await?;
    done("/admins", "Your password has been changed, and your other sessions have ended.").await
}

/// Removes an admin (never the last one). Needs the confirmation box ticked.
#[server(prefix = "/api", endpoint = "admin_remove")]
pub async fn remove_admin(email: String, confirm: Option<String>) -> Result<(), UiError> {
    if confirm.is_none() {
        return Err(UiError::Message("Tick the box to confirm the removal.".into()));
    }
    let (panel, actor) = admin().await?;
    let a = panel.services.admins.remove(&panel_ctx(actor, "remove admin"), &email).await?;
    done("/admins", format!("{} can no longer sign in.", a.email)).await
}
