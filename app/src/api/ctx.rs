//! The signed-in admin, from the session. `AdminSession` is the typed wrapper over tower-sessions.
use crate::Panel;
use crate::error::UiError;
use leptos::prelude::*;
use roster::model::{Actor, Admin, AdminId};
use tower_sessions::Session;

/// The session key holding the signed-in admin's id.
pub const ADMIN_ID: &str = "admin_id";

pub struct AdminSession(pub Session);

impl AdminSession {
    pub async fn get() -> Result<Self, UiError> {
        let s: Session = leptos_axum::extract().await.map_err(|e| UiError::Transport(e.to_string()))?;
        Ok(AdminSession(s))
    }

    /// Signs in: a new session id (so a fixated id is worthless), then the admin's id.
    pub async fn sign_in(&self, admin: &Admin) -> Result<(), UiError> {
        self.0.cycle_id().await.map_err(internal)?;
        self.0.insert(ADMIN_ID, admin.id.0).await.map_err(internal)
    }

    pub async fn sign_out(&self) -> Result<(), UiError> {
        self.0.flush().await.map_err(internal)
    }

    async fn admin_id(&self) -> Result<Option<AdminId>, UiError> {
        Ok(self.0.get::<i64>(ADMIN_ID).await.map_err(internal)?.map(AdminId))
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
    let id = AdminSession::get().await?.admin_id().await?.ok_or(UiError::Unauthenticated)?;
    let admin = panel.services.admins.get(id).await?.ok_or(UiError::Unauthenticated)?;
    Ok((panel, Actor::Admin { id: admin.id, email: admin.email }))
}

const FLASH: &str = "flash";

/// Leaves a message for the next page and sends the browser there. Works with and without JavaScript: a plain form
/// post gets a 302, a hydrated one navigates.
pub async fn done(to: &str, message: impl Into<String>, secret: Option<String>) -> Result<(), UiError> {
    let s = AdminSession::get().await?;
    s.0.insert(FLASH, crate::api::Flash { message: message.into(), secret }).await.map_err(internal)?;
    leptos_axum::redirect(to);
    Ok(())
}

/// Takes (and clears) the flash.
pub async fn take_flash() -> Result<Option<crate::api::Flash>, UiError> {
    let s = AdminSession::get().await?;
    s.0.remove::<crate::api::Flash>(FLASH).await.map_err(internal)
}
