//! Panel sessions: their SQL ([`roster::store::SessionRead`], [`roster::store::SessionWrite`]) and the session layer's store over it ([`Sessions`]).
//!
//! Sessions live in the same database as everything else, so they survive restarts and work across instances behind a
//! load balancer. Every change to one is a job of the writer's, like any other write: on SQLite nothing but the writer
//! ever takes the write lock. The session layer saves a session only when it changed (the panel renews the idle expiry
//! when it has drifted, `app::api::ctx`), and a save never creates a session, so signing out ends it for good even
//! while a request of that session is still in flight.
use super::job::SqlTx;
use super::sql::args;
use async_trait::async_trait;
use roster::model::Millis;
use roster::service::sha256_hex;
use roster::store::{SessionRead, SessionWrite, Store};
use std::sync::Arc;
use tower_sessions::cookie::time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};

#[async_trait]
impl SessionRead for SqlTx {
    async fn session(&mut self, id_hash: &str, now: Millis) -> roster::Result<Option<(String, Millis)>> {
        let sql = "select data, expires_at from panel_session where session_hash = $1 and expires_at > $2";
        self.fetch_optional(sql, &args![id_hash, now]).await
    }
}

#[async_trait]
impl SessionWrite for SqlTx {
    async fn insert_session(&mut self, id_hash: &str, data: &str, expires_at: Millis) -> roster::Result<bool> {
        let sql = "insert into panel_session (session_hash, data, expires_at) values ($1, $2, $3) \
                   on conflict (session_hash) do nothing";
        Ok(self.write(sql, &args![id_hash, data, expires_at]).await? > 0)
    }

    async fn update_session(&mut self, id_hash: &str, data: &str, expires_at: Millis) -> roster::Result<bool> {
        let sql = "update panel_session set data = $2, expires_at = $3 where session_hash = $1";
        Ok(self.write(sql, &args![id_hash, data, expires_at]).await? > 0)
    }

    async fn delete_session(&mut self, id_hash: &str) -> roster::Result<()> {
        self.write("delete from panel_session where session_hash = $1", &args![id_hash]).await.map(|_| ())
    }

    async fn delete_expired_sessions(&mut self, now: Millis) -> roster::Result<u64> {
        self.write("delete from panel_session where expires_at <= $1", &args![now]).await
    }
}

/// The session layer's store: reads on the read pool, every change through the writer.
#[derive(Clone)]
pub struct Sessions {
    store: Arc<dyn Store>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sessions")
    }
}

impl Sessions {
    pub fn new(store: Arc<dyn Store>) -> Sessions {
        Sessions { store }
    }
}

/// The key a session is stored under.
fn key(id: &Id) -> String {
    sha256_hex(&id.to_string())
}

fn millis(t: OffsetDateTime) -> Millis {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn backend(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

fn encode(record: &Record) -> session_store::Result<String> {
    serde_json::to_string(&record.data).map_err(|e| session_store::Error::Encode(e.to_string()))
}

#[async_trait]
impl SessionStore for Sessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let (data, expires) = (encode(record)?, millis(record.expiry_date));
        // A fresh random id is taken; on the rare clash with a stored one, draw again.
        loop {
            let (hash, data) = (key(&record.id), data.clone());
            let stored = self
                .store
                .write(move |tx| Box::pin(async move { tx.insert_session(&hash, &data, expires).await }))
                .await
                .map_err(backend)?;
            if stored {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let (hash, data, expires) = (key(&record.id), encode(record)?, millis(record.expiry_date));
        // A session that is gone (signed out, expired, revoked) stays gone: nothing to save.
        self.store
            .write(move |tx| Box::pin(async move { tx.update_session(&hash, &data, expires).await }))
            .await
            .map(|_| ())
            .map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let mut tx = self.store.begin_read().await.map_err(backend)?;
        let Some((data, expires)) = tx.session(&key(id), roster::service::now()).await.map_err(backend)? else {
            return Ok(None);
        };
        let data = serde_json::from_str(&data).map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let expiry_date = OffsetDateTime::from_unix_timestamp_nanos(i128::from(expires) * 1_000_000)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Some(Record { id: *id, data, expiry_date }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        let hash = key(id);
        self.store.write(move |tx| Box::pin(async move { tx.delete_session(&hash).await })).await.map_err(backend)
    }
}

#[async_trait]
impl ExpiredDeletion for Sessions {
    async fn delete_expired(&self) -> session_store::Result<()> {
        let now = roster::service::now();
        self.store
            .write(move |tx| Box::pin(async move { tx.delete_expired_sessions(now).await }))
            .await
            .map(|_| ())
            .map_err(backend)
    }
}
