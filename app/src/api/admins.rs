//! Admins: the list, adding one, and changing your own password.
use crate::error::UiError;
use leptos::prelude::*;
use roster::model::Admin;
#[cfg(feature = "ssr")]
use {
    super::ctx::{admin, done},
    roster::model::Actor,
    roster::service::Ctx,
};

#[server(prefix = "/api", endpoint = "admins")]
pub async fn list_admins() -> Result<Vec<Admin>, UiError> {
    let (panel, _) = admin().await?;
    Ok(panel.services.admins.list().await?)
}

#[server(prefix = "/api", endpoint = "admin_add")]
pub async fn add_admin(email: String, password: String) -> Result<(), UiError> {
    let (panel, actor) = admin().await?;
    let a = panel.services.admins.create(&Ctx::panel(actor, "add admin"), &email, &password).await?;
    done("/admins", format!("{} can now sign in.", a.email), None).await
}

#[server(prefix = "/api", endpoint = "password")]
pub async fn change_password(current: String, new: String, repeat: String) -> Result<(), UiError> {
    if new != repeat {
        return Err(UiError::Message("The two new passwords differ.".into()));
    }
    let (panel, actor) = admin().await?;
    let Actor::Admin { id, .. } = actor else { return Err(UiError::Unauthenticated) };
    panel.services.admins.change_password(id, &current, &new).await?;
    done("/admins", "Your password has been changed.", None).await
}
