//! Bearer tokens, stored only as SHA-256 hashes.
use super::direct::record;
use super::job::SqlTx;
use super::sql::args;
use async_trait::async_trait;
use roster::Result;
use roster::model::*;
use roster::store::{LiveToken, TokenRead, TokenWrite};

record! {
    pub struct TokenRecord {
        token_id: i64,
        name: String,
        created_at: i64,
        last_used_at: Option<i64>,
        revoked_at: Option<i64>,
        scope: String,
    }
}

impl From<TokenRecord> for Token {
    fn from(r: TokenRecord) -> Token {
        Token {
            id: TokenId(r.token_id),
            name: r.name,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
            scope: ApiScope::parse(&r.scope).unwrap_or_default(),
        }
    }
}

#[async_trait]
impl TokenRead for SqlTx {
    async fn list_tokens(&mut self, kind: TokenKind) -> Result<Vec<Token>> {
        let rows: Vec<TokenRecord> = self
            .fetch_all(
                "select token_id, name, created_at, last_used_at, revoked_at, scope from scim_token where kind = $1 \
                 order by revoked_at is not null, created_at desc",
                &args![kind.as_str()],
            )
            .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn live_tokens(&mut self) -> Result<(Vec<LiveToken>, bool)> {
        let rows: Vec<(String, String, i64, String, i64, Option<i64>, String)> = self
            .fetch_all(
                "select kind, token_hash, token_id, name, created_at, last_used_at, scope from scim_token \
                 where revoked_at is null",
                &[],
            )
            .await?;
        let enabled = self.settings_row().await?.scim_enabled;
        let tokens = rows
            .into_iter()
            .filter_map(|(kind, hash, id, name, created_at, last_used_at, scope)| {
                // A scope this version does not know authenticates nowhere.
                let Some(scope) = ApiScope::parse(&scope) else {
                    tracing::warn!(token = %name, scope = %scope, "an API token has an unknown scope; it is refused");
                    return None;
                };
                Some(LiveToken {
                    kind: if kind == "api" { TokenKind::Api } else { TokenKind::Scim },
                    hash,
                    token: Token { id: TokenId(id), name, created_at, last_used_at, revoked_at: None, scope },
                })
            })
            .collect();
        Ok((tokens, enabled))
    }
}

#[async_trait]
impl TokenWrite for SqlTx {
    async fn insert_token(
        &mut self,
        kind: TokenKind,
        scope: ApiScope,
        name: &str,
        token_hash: &str,
        now: Millis,
    ) -> Result<Token> {
        self.unique_write(
            "insert into scim_token (name, name_folded, token_hash, created_at, kind, scope) \
             values ($1, $2, $3, $4, $5, $6)",
            &args![name, fold(name), token_hash, now, kind.as_str(), scope.as_str()],
            "token name",
            name,
        )
        .await?;
        let row: TokenRecord = self
            .fetch_one(
                "select token_id, name, created_at, last_used_at, revoked_at, scope from scim_token \
                 where token_hash = $1",
                &args![token_hash],
            )
            .await?;
        Ok(row.into())
    }

    async fn revoke_token(&mut self, kind: TokenKind, name_folded: &str, now: Millis) -> Result<bool> {
        let sql = "update scim_token set revoked_at = $1 where name_folded = $2 and kind = $3 and revoked_at is null";
        Ok(self.write(sql, &args![now, name_folded, kind.as_str()]).await? > 0)
    }

    async fn touch_token(&mut self, id: TokenId, now: Millis) -> Result<()> {
        self.write("update scim_token set last_used_at = $1 where token_id = $2", &args![now, id.0]).await.map(|_| ())
    }
}
