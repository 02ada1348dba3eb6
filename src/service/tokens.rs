//! Named SCIM bearer tokens, stored only as SHA-256 hashes.
use super::secret::{random_token, sha256_hex};
use super::{Ctx, now, target};
use crate::Kind;
use crate::model::{Actor, ScimToken, TokenKind, fold};
use crate::store::Store;
use crate::{Error, Result};
use std::sync::Arc;

/// Last-used times are written at most once a minute per token, so SCIM traffic does not become write traffic.
const TOUCH_EVERY_MS: i64 = 60_000;
/// How long an authentication is remembered: a SCIM request costs no database read, and revoking a token or turning
/// SCIM off takes effect within this on every instance (at once on the instance that did it).
pub const AUTH_CACHE_MS: i64 = 1_000;
/// Entries the cache holds before it starts over, so random tokens cannot grow it without bound.
const AUTH_CACHE_ENTRIES: usize = 10_000;

#[derive(Clone)]
pub struct TokenService {
    pub(super) store: Arc<dyn Store>,
    pub(super) cache: AuthCache,
}

/// What an authentication found: the token and whether SCIM is on, or nothing.
type Found = Option<(ScimToken, bool)>;

/// Recent authentications by token hash: when looked up, and what was found.
#[derive(Clone, Default)]
pub struct AuthCache(Arc<std::sync::Mutex<std::collections::HashMap<String, (i64, Found)>>>);

impl AuthCache {
    fn get(&self, hash: &str, now: i64) -> Option<Found> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(hash).filter(|(at, _)| now - at < AUTH_CACHE_MS).map(|(_, found)| found.clone())
    }

    fn put(&self, hash: String, now: i64, found: Found) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= AUTH_CACHE_ENTRIES {
            map.clear();
        }
        map.insert(hash, (now, found));
    }

    /// Records a use of the token about to be written, so the requests that follow within the cache's second do not
    /// each write it again.
    fn used(&self, hash: &str, at: i64) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, Some((token, _)))) = map.get_mut(hash) {
            token.last_used_at = Some(at);
        }
    }

    /// Forgets everything: after a revocation or the SCIM switch on this instance.
    pub fn clear(&self) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// A token name: what the admin will recognise in the log and the "Managed by" badge ("Okta", "Entra ID").
pub fn parse_token_name(name: &str) -> Result<String> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 64 {
        return Err(Error::InvalidValue("a token name must be 1 to 64 characters".into()));
    }
    crate::scim::check_str("the token name", n, true)?;
    Ok(n.to_owned())
}

impl TokenService {
    /// Creates a token and returns it in clear, the only time it is ever visible.
    pub async fn create(&self, ctx: &Ctx, kind: TokenKind, name: &str) -> Result<(ScimToken, String)> {
        let name = parse_token_name(name)?;
        let secret = random_token(match kind {
            TokenKind::Scim => "roster_scim_",
            TokenKind::Api => "roster_api_",
        });
        let hash = sha256_hex(&secret);
        let ctx = ctx.clone();
        let token = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    let token = tx.insert_token(kind, &name, &hash, now()).await?;
                    let t = target(Kind::Token, &token.id.to_string(), &name);
                    tx.log_event(&ctx.event(201, t, format!("{} '{name}' created", noun(kind)))).await?;
                    Ok(token)
                })
            })
            .await?;
        Ok((token, secret))
    }

    pub async fn list(&self, kind: TokenKind) -> Result<Vec<ScimToken>> {
        self.store.begin_read().await?.list_tokens(kind).await
    }

    pub async fn revoke(&self, ctx: &Ctx, kind: TokenKind, name: &str) -> Result<()> {
        let (ctx, name) = (ctx.clone(), name.trim().to_owned());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    if !tx.revoke_token(kind, &fold(&name), now()).await? {
                        let k = if kind == TokenKind::Api { Kind::ApiToken } else { Kind::Token };
                        return Err(Error::not_found(k, format!("'{name}'")));
                    }
                    let t = target(Kind::Token, &name, &name);
                    tx.log_event(&ctx.event(200, t, format!("{} '{name}' revoked", noun(kind)))).await?;
                    Ok(())
                })
            })
            .await?;
        self.cache.clear();
        Ok(())
    }

    /// Checks a directory API bearer token: 401 for a missing, wrong or revoked one, and for a SCIM token. Looked up each
    /// time (an indexed read), so a revocation takes effect at once everywhere.
    pub async fn authenticate_api(&self, bearer: Option<&str>) -> Result<ScimToken> {
        let Some(bearer) = bearer.map(str::trim).filter(|b| !b.is_empty()) else {
            return Err(Error::Unauthenticated);
        };
        let found = self.store.begin_read().await?.authenticate_api_token(&sha256_hex(bearer)).await?;
        let token = found.ok_or(Error::Unauthenticated)?;
        if token.last_used_at.is_none_or(|t| now() - t >= TOUCH_EVERY_MS) {
            let (store, id) = (self.store.clone(), token.id);
            tokio::spawn(async move {
                let touched = store.write(move |tx| Box::pin(async move { tx.touch_token(id, now()).await })).await;
                if let Err(e) = touched {
                    tracing::warn!(error = %e, "could not record token use");
                }
            });
        }
        Ok(token)
    }

    /// Checks a bearer token: 401 for a missing, wrong or revoked one, then 403 while SCIM is disabled.
    pub async fn authenticate(&self, bearer: Option<&str>) -> Result<Actor> {
        let Some(bearer) = bearer.map(str::trim).filter(|b| !b.is_empty()) else {
            return Err(Error::Unauthenticated);
        };
        let hash = sha256_hex(bearer);
        let at = now();
        let found = match self.cache.get(&hash, at) {
            Some(found) => found,
            None => {
                let found = self.store.begin_read().await?.authenticate_token(&hash).await?;
                self.cache.put(hash.clone(), at, found.clone());
                found
            }
        };
        let Some((token, enabled)) = found else {
            return Err(Error::Unauthenticated);
        };
        if token.last_used_at.is_none_or(|t| at - t >= TOUCH_EVERY_MS) {
            self.cache.used(&hash, at);
            let store = self.store.clone();
            let id = token.id;
            // Off the request path: a lookup never waits for this write.
            tokio::spawn(async move {
                let touched = store.write(move |tx| Box::pin(async move { tx.touch_token(id, now()).await })).await;
                if let Err(e) = touched {
                    tracing::warn!(error = %e, "could not record token use");
                }
            });
        }
        if !enabled {
            return Err(Error::ScimDisabled);
        }
        Ok(Actor::Scim { token: token.id, name: token.name })
    }
}

fn noun(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::Scim => "SCIM token",
        TokenKind::Api => "directory API token",
    }
}
