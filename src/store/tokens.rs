//! Bearer tokens, SCIM and directory API, stored only as SHA-256 hashes.
use crate::Result;
use crate::model::*;
use async_trait::async_trait;

/// An unrevoked token as authentication knows it.
#[derive(Debug, Clone)]
pub struct LiveToken {
    pub kind: TokenKind,
    /// SHA-256 of the bearer token, hex.
    pub hash: String,
    pub token: Token,
}

/// Reads of this concern: on a read connection, a snapshot, or inside a write transaction.
#[async_trait]
pub trait TokenRead: Send {
    async fn list_tokens(&mut self, kind: TokenKind) -> Result<Vec<Token>>;
    /// Every unrevoked token, of both kinds, with its hash, and whether SCIM is enabled: what authentication checks
    /// bearer tokens against, read at most once a second per instance.
    async fn live_tokens(&mut self) -> Result<(Vec<LiveToken>, bool)>;
}

/// Writes of this concern: only a write transaction has them.
#[async_trait]
pub trait TokenWrite: Send {
    /// `Error::Conflict` when an unrevoked token has this name (folded).
    async fn insert_token(
        &mut self,
        kind: TokenKind,
        scope: ApiScope,
        name: &str,
        token_hash: &str,
        now: Millis,
    ) -> Result<Token>;
    /// Revokes the unrevoked token with this folded name; false when there is none.
    async fn revoke_token(&mut self, kind: TokenKind, name_folded: &str, now: Millis) -> Result<bool>;
    async fn touch_token(&mut self, id: TokenId, now: Millis) -> Result<()>;
}
