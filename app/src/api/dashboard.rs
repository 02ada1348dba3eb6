//! The dashboard's figures.
use crate::error::UiError;
use leptos::prelude::*;
use roster::model::Dashboard;

#[server(prefix = "/api", endpoint = "dashboard")]
pub async fn get_dashboard() -> Result<Dashboard, UiError> {
    let (panel, _) = super::ctx::admin().await?;
    Ok(panel.services.settings.dashboard().await?)
}
