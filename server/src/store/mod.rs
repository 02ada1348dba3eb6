//! The SQLite and PostgreSQL stores, implementing `roster::store` once for both, in three layers:
//! - the connection layer: [`connect`] (pools, migrations, backups, how a transaction starts), [`conn`] (the one
//!   place SQL runs, on either database), [`direct`] (SQLite through rusqlite, with no trip to sqlx's thread) and
//!   [`readers`] (SQLite's read connections, run on the caller's thread);
//! - the per-job scope: [`job`] ([`SqlTx`]: a job's savepoint and pending state, the read and write helpers every
//!   concern uses, what a commit writes) and [`writer`] (the one writer that runs every write job, several per
//!   transaction);
//! - one file per concern, each with its row types beside its SQL: [`settings`], [`admins`], [`tokens`], [`users`]
//!   (with their emails and search index), [`groups`] (with their members), [`log`], [`outbox`], [`webhooks`],
//!   [`drift`], [`charts`] and [`sessions`].
//!
//! The SQL builder is [`sql`]; [`query`] holds the listing clauses, [`filter`] SCIM filters to SQL, and [`positions`]
//! deep pages of the default user listing without OFFSET. The contract suite in `tests.rs` runs on both databases.
mod admins;
mod charts;
pub mod conn;
pub mod connect;
mod direct;
mod drift;
pub mod filter;
mod groups;
pub mod job;
mod log;
mod outbox;
pub mod positions;
pub mod query;
mod readers;
pub mod sessions;
mod settings;
pub mod sql;
mod sso;

mod tokens;
mod users;
mod webhooks;
pub mod writer;

pub use connect::{Db, Pools};
pub use job::SqlTx;

use async_trait::async_trait;
use positions::Positions;
use roster::Result;
use roster::store::{Read, Store, WriteJob};
use std::any::Any;
use std::sync::Arc;
use writer::Writer;

impl Db {
    /// The store over this database, with its writer.
    pub fn store(&self) -> Arc<dyn Store> {
        self.store_with_audit(None)
    }

    /// The same, with every committed log entry also written to `audit` (`--audit-log`).
    pub fn store_with_audit(&self, audit: Option<crate::audit_log::AuditStream>) -> Arc<dyn Store> {
        let (events, _) = tokio::sync::watch::channel(0);
        let writer = Writer::spawn(self, events.clone(), audit);
        Arc::new(SqlStore { db: self.clone(), writer, positions: Arc::default(), events })
    }
}

/// The store: reads on pooled connections, writes through the writer.
struct SqlStore {
    db: Db,
    writer: Writer,
    positions: Arc<Positions>,
    /// Moves when a transaction with directory events commits here.
    events: tokio::sync::watch::Sender<u64>,
}

#[async_trait]
impl Store for SqlStore {
    async fn begin_read(&self) -> Result<Box<dyn Read>> {
        Ok(Box::new(self.db.begin_read().await?.with_positions(self.positions.clone())))
    }

    async fn begin_snapshot(&self) -> Result<Box<dyn Read>> {
        Ok(Box::new(self.db.begin_snapshot().await?))
    }

    async fn run_write(&self, job: WriteJob) -> Result<Box<dyn Any + Send>> {
        self.writer.run(job).await
    }

    fn event_signal(&self) -> tokio::sync::watch::Receiver<u64> {
        self.events.subscribe()
    }

    async fn ping(&self) -> Result<()> {
        match &self.db {
            // On a connection reads use.
            Db::Sqlite(connect::Pools { readers: Some(r), .. }) => {
                return r.lease().await?.read("select 1", |d| d.execute("select 1", &[]).map(|_| ()));
            }
            Db::Sqlite(p) => sqlx::query("select 1").execute(&p.read).await.map(|_| ()),
            Db::Postgres(p) => sqlx::query("select 1").execute(&p.read).await.map(|_| ()),
        }
        .map_err(conn::db)
    }
}
