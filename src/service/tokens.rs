//! Named SCIM bearer tokens, stored only as SHA-256 hashes.
use super::secret::{random_token, sha256_hex};
use super::{Ctx, now, target};
use crate::Kind;
use crate::model::{Actor, ApiScope, Millis, Token, TokenId, TokenKind, fold};
use crate::rules::roles::Action;
use crate::store::Store;
use crate::{Error, Result};
use std::collections::HashMap;
use std::sync::Arc;

/// Last-used times are written at most once a minute per token, so SCIM traffic does not become write traffic.
const TOUCH_EVERY_MS: i64 = 60_000;
/// How long authentication trusts what it read: a request costs no database read, and revoking a token or turning
/// SCIM off takes effect within this on every instance (at once on the instance that did it). A token created on
/// another instance works here within this too.
pub const AUTH_CACHE_MS: i64 = 1_000;

#[derive(Clone)]
pub struct TokenService {
    pub(super) store: Arc<dyn Store>,
    pub(super) cache: AuthCache,
}

/// Every live token by hash, read at most once per [`AUTH_CACHE_MS`]: a bearer token is looked up here, so a flood
/// of made-up tokens costs no database read each, only the one refresh a second that any traffic costs.
#[derive(Clone, Default)]
pub struct AuthCache(Arc<AuthState>);

#[derive(Default)]
pub struct AuthState {
    index: std::sync::Mutex<Option<Arc<TokenIndex>>>,
    /// One refresh at a time: requests that find the index stale wait for it rather than each reading the table.
    refresh: tokio::sync::Mutex<()>,
    /// When this instance last recorded each token's use, so one write per token is in flight at a time.
    touched: std::sync::Mutex<HashMap<TokenId, Millis>>,
    /// Moves at every [`AuthCache::clear`]: a read that began before it may predate the change, and is not kept.
    generation: std::sync::atomic::AtomicU64,
}

struct TokenIndex {
    read_at: Millis,
    scim_enabled: bool,
    by_hash: HashMap<String, (TokenKind, Token)>,
}

impl AuthCache {
    fn current(&self, at: Millis) -> Option<Arc<TokenIndex>> {
        let index = self.0.index.lock().unwrap_or_else(|p| p.into_inner());
        index.as_ref().filter(|i| at - i.read_at < AUTH_CACHE_MS && at >= i.read_at).cloned()
    }

    /// The index, read afresh when it is older than [`AUTH_CACHE_MS`].
    async fn index(&self, store: &Arc<dyn Store>) -> Result<Arc<TokenIndex>> {
        if let Some(index) = self.current(now()) {
            return Ok(index);
        }
        let _one = self.0.refresh.lock().await;
        // Another request may have refreshed it while this one waited.
        if let Some(index) = self.current(now()) {
            return Ok(index);
        }
        use std::sync::atomic::Ordering::SeqCst;
        // A revocation or the SCIM switch on this instance may commit while the table is being read: then the read is
        // made again, so this instance never serves what was true before its own change.
        for _ in 0..3 {
            let generation = self.0.generation.load(SeqCst);
            let read_at = now();
            let (tokens, scim_enabled) = store.begin_read().await?.live_tokens().await?;
            let by_hash = tokens.into_iter().map(|t| (t.hash, (t.kind, t.token))).collect();
            let index = Arc::new(TokenIndex { read_at, scim_enabled, by_hash });
            let mut kept = self.0.index.lock().unwrap_or_else(|p| p.into_inner());
            if self.0.generation.load(SeqCst) == generation {
                *kept = Some(index.clone());
                return Ok(index);
            }
        }
        Err(Error::Unavailable("roster's tokens are changing; retry shortly".into()))
    }

    /// Whether this request should record the token's use: when neither the stored time nor this instance's last
    /// write is within [`TOUCH_EVERY_MS`]. Claims the write, so concurrent requests do not each make it.
    fn claim_touch(&self, token: &Token, at: Millis) -> bool {
        let mut touched = self.0.touched.lock().unwrap_or_else(|p| p.into_inner());
        let last = token.last_used_at.into_iter().chain(touched.get(&token.id).copied()).max();
        if last.is_some_and(|t| at - t < TOUCH_EVERY_MS) {
            return false;
        }
        if touched.len() >= 10_000 {
            touched.clear();
        }
        touched.insert(token.id, at);
        true
    }

    /// Forgets what it read: after a token is created or revoked, or SCIM switched, on this instance.
    pub fn clear(&self) {
        let mut kept = self.0.index.lock().unwrap_or_else(|p| p.into_inner());
        self.0.generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        *kept = None;
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
    /// Creates a token (an API token with the directory scope) and returns it in clear, the only time it is visible.
    pub async fn create(&self, ctx: &Ctx, kind: TokenKind, name: &str) -> Result<(Token, String)> {
        self.create_scoped(ctx, kind, name, ApiScope::Directory).await
    }

    /// The same with `scope`, what an API token may read; a SCIM token's is always `Directory`.
    pub async fn create_scoped(
        &self,
        ctx: &Ctx,
        kind: TokenKind,
        name: &str,
        scope: ApiScope,
    ) -> Result<(Token, String)> {
        ctx.require(Action::Integrations)?;
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
                    let scope = if kind == TokenKind::Api { scope } else { ApiScope::Directory };
                    let token = tx.insert_token(kind, scope, &name, &hash, now()).await?;
                    let t = target(Kind::Token, &token.id.to_string(), &name);
                    let what = match kind {
                        TokenKind::Api => format!("{} '{name}' created, scope {}", noun(kind), scope.as_str()),
                        TokenKind::Scim => format!("{} '{name}' created", noun(kind)),
                    };
                    tx.add_log_entry(&ctx.entry(201, t, what)).await?;
                    Ok(token)
                })
            })
            .await?;
        // Usable at once on this instance.
        self.cache.clear();
        Ok((token, secret))
    }

    pub async fn list(&self, kind: TokenKind) -> Result<Vec<Token>> {
        self.store.begin_read().await?.list_tokens(kind).await
    }

    pub async fn revoke(&self, ctx: &Ctx, kind: TokenKind, name: &str) -> Result<()> {
        ctx.require(Action::Integrations)?;
        let (ctx, name) = (ctx.clone(), name.trim().to_owned());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    if !tx.revoke_token(kind, &fold(&name), now()).await? {
                        let k = if kind == TokenKind::Api { Kind::ApiToken } else { Kind::Token };
                        return Err(Error::not_found(k, format!("'{name}'")));
                    }
                    let t = target(Kind::Token, &name, &name);
                    tx.add_log_entry(&ctx.entry(200, t, format!("{} '{name}' revoked", noun(kind)))).await?;
                    Ok(())
                })
            })
            .await?;
        self.cache.clear();
        Ok(())
    }

    /// Checks an API bearer token: 401 for a missing, wrong or revoked one, and for a SCIM token; 403 for a token
    /// whose scope is not `scope` (RFC 6750 §3.1 `insufficient_scope`).
    pub async fn authenticate_api(&self, bearer: Option<&str>, scope: ApiScope) -> Result<Token> {
        let (token, _) = self.find(bearer, TokenKind::Api).await?;
        if token.scope != scope {
            return Err(Error::Forbidden(format!(
                "this API token's scope is '{}'; this endpoint needs a token with scope '{}'",
                token.scope.as_str(),
                scope.as_str()
            )));
        }
        Ok(token)
    }

    /// Checks a SCIM bearer token: 401 for a missing, wrong or revoked one (and for an API token), then 403 while
    /// SCIM is disabled.
    pub async fn authenticate(&self, bearer: Option<&str>) -> Result<Actor> {
        let (token, enabled) = self.find(bearer, TokenKind::Scim).await?;
        if !enabled {
            return Err(Error::ScimDisabled);
        }
        Ok(Actor::Scim { token: token.id, name: token.name })
    }

    /// The live token of this kind behind `bearer`, and whether SCIM is on; records its use now and then.
    async fn find(&self, bearer: Option<&str>, kind: TokenKind) -> Result<(Token, bool)> {
        let Some(bearer) = bearer.map(str::trim).filter(|b| !b.is_empty()) else {
            return Err(Error::Unauthenticated);
        };
        let index = self.cache.index(&self.store).await?;
        let Some((found_kind, token)) = index.by_hash.get(&sha256_hex(bearer)) else {
            return Err(Error::Unauthenticated);
        };
        if *found_kind != kind {
            return Err(Error::Unauthenticated);
        }
        let at = now();
        if self.cache.claim_touch(token, at) {
            let (store, id) = (self.store.clone(), token.id);
            // Off the request path: a request never waits for this write.
            tokio::spawn(async move {
                let touched = store.write(move |tx| Box::pin(async move { tx.touch_token(id, now()).await })).await;
                if let Err(e) = touched {
                    tracing::warn!(error = %e, "could not record token use");
                }
            });
        }
        Ok((token.clone(), index.scim_enabled))
    }
}

fn noun(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::Scim => "SCIM token",
        TokenKind::Api => "directory API token",
    }
}
