//! The directory API's tokens and the webhooks.
use crate::error::UiError;
use leptos::prelude::*;
use roster::model::Integrations;
#[cfg(feature = "ssr")]
use {
    super::ctx::{NEW_TOKEN_COOKIE, admin, done, panel_ctx},
    roster::model::TokenKind,
};

#[cfg(feature = "ssr")]
const PAGE: &str = "/integrations";

#[server(prefix = "/api", endpoint = "integrations")]
pub async fn get_integrations() -> Result<Integrations, UiError> {
    let (panel, _) = admin().await?;
    let new_secret = super::ctx::cookie(NEW_TOKEN_COOKIE).filter(|t| !t.is_empty());
    if new_secret.is_some() {
        super::ctx::set_cookie(NEW_TOKEN_COOKIE, "", 0);
    }
    let mut webhooks = Vec::new();
    for e in panel.services.webhooks.list().await? {
        webhooks.push(panel.services.webhooks.detail(&e.id).await?);
    }
    Ok(Integrations {
        api_base: format!("{}/v1", panel.public_url),
        api_tokens: panel.services.tokens.list(TokenKind::Api).await?,
        webhooks,
        new_secret,
    })
}

#[server(prefix = "/api", endpoint = "api_token_create")]
pub async fn create_api_token(name: String, scope: Option<String>) -> Result<(), UiError> {
    let (panel, actor) = admin().await?;
    let scope = roster::model::ApiScope::parse(scope.as_deref().unwrap_or("directory"))
        .ok_or_else(|| UiError::Message("Choose the directory or the audit trail.".into()))?;
    let (t, secret) = panel
        .services
        .tokens
        .create_scoped(&panel_ctx(actor, "create API token"), TokenKind::Api, &name, scope)
        .await?;
    super::ctx::set_cookie(NEW_TOKEN_COOKIE, &secret, 300);
    done(PAGE, format!("Directory API token '{}' created. Copy it now: it is shown only once.", t.name)).await
}

#[server(prefix = "/api", endpoint = "api_token_revoke")]
pub async fn revoke_api_token(name: String) -> Result<(), UiError> {
    let (panel, actor) = admin().await?;
    panel.services.tokens.revoke(&panel_ctx(actor, "revoke API token"), TokenKind::Api, &name).await?;
    done(PAGE, format!("Directory API token '{name}' revoked. Requests with it now get 401.")).await
}

#[server(prefix = "/api", endpoint = "webhook_add")]
pub async fn add_webhook(url: String, events: String) -> Result<(), UiError> {
    let (panel, actor) = admin().await?;
    let (e, secret) = panel.services.webhooks.add(&panel_ctx(actor, "add webhook"), &url, &events).await?;
    super::ctx::set_cookie(NEW_TOKEN_COOKIE, &secret, 300);
    done(PAGE, format!("Webhook added for {}. Copy its signing secret now: it is shown only once.", e.url)).await
}

#[server(prefix = "/api", endpoint = "webhook_remove")]
pub async fn remove_webhook(id: String, confirm: Option<String>) -> Result<(), UiError> {
    if confirm.is_none() {
        return Err(UiError::Message("Tick the box to confirm the removal.".into()));
    }
    let (panel, actor) = admin().await?;
    panel.services.webhooks.remove(&panel_ctx(actor, "remove webhook"), &id).await?;
    done(PAGE, "Webhook removed; nothing more is sent to it.").await
}

#[server(prefix = "/api", endpoint = "webhook_rotate")]
pub async fn rotate_webhook(id: String) -> Result<(), UiError> {
    let (panel, actor) = admin().await?;
    let secret = panel.services.webhooks.rotate(&panel_ctx(actor, "rotate webhook secret"), &id).await?;
    super::ctx::set_cookie(NEW_TOKEN_COOKIE, &secret, 300);
    done(PAGE, "New signing secret created. The old one also signs for 24 hours, so the receiver can switch over.")
        .await
}

#[server(prefix = "/api", endpoint = "webhook_retry")]
pub async fn retry_webhook(id: String) -> Result<(), UiError> {
    let (panel, actor) = admin().await?;
    panel.services.webhooks.retry_now(&panel_ctx(actor, "retry webhook"), &id).await?;
    done(PAGE, "Retrying now.").await
}

#[server(prefix = "/api", endpoint = "webhook_send_again")]
pub async fn send_again(id: String, event_seq: i64) -> Result<(), UiError> {
    let (panel, actor) = admin().await?;
    let d = panel.services.webhooks.send_again(&panel_ctx(actor, "send webhook again"), &id, event_seq).await?;
    let how = match d.status {
        Some(s) if (200..300).contains(&s) => format!("the receiver answered {s}"),
        Some(s) => format!("the receiver answered {s}: {}", d.error),
        None => format!("it failed: {}", d.error),
    };
    done(PAGE, format!("Sent {} ({}) again; {how}.", d.event_type, d.event_id)).await
}
