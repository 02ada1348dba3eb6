//! The SQLite and PostgreSQL stores, implementing `roster::store` once for both:
//! - [`connect`]: pools, migrations, backups, and how a transaction starts;
//! - this file: the store itself, reads on pooled connections and writes through the writer;
//! - [`writer`]: the one task that runs every write job, several per transaction (group commit);
//! - [`tx`]: one transaction type and the SQL of every `Tx` method, written once with `$n` placeholders;
//! - [`rows`]: what the SELECTs return and its conversion to the model;
//! - [`sql`]: bound values and the SQL builder; [`query`]: the listing clauses; [`filter`]: SCIM filters to SQL;
//! - [`positions`]: deep pages of the default user listing without OFFSET.
//!
//! The contract suite in `tests.rs` runs on both databases. Sessions live in the same database ([`session`]).
pub mod connect;
mod directory;
pub mod filter;
pub mod positions;
pub mod query;
pub mod rows;
pub mod session;
pub mod sql;
#[cfg(test)]
mod tests;
pub mod tx;
pub mod writer;

pub use connect::{Db, Pools};

use async_trait::async_trait;
use positions::Positions;
use roster::Result;
use roster::store::{Store, Tx, WriteJob};
use std::any::Any;
use std::sync::Arc;
use writer::Writer;

impl Db {
    /// The store over this database, with its writer task.
    pub fn store(&self) -> Arc<dyn Store> {
        let (events, _) = tokio::sync::watch::channel(0);
        let writer = Writer::spawn(self, events.clone());
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
    async fn begin_read(&self) -> Result<Box<dyn Tx>> {
        Ok(Box::new(self.db.begin(false).await?.with_positions(self.positions.clone())))
    }

    async fn run_write(&self, job: WriteJob) -> Result<Box<dyn Any + Send>> {
        self.writer.run(job).await
    }

    fn event_signal(&self) -> tokio::sync::watch::Receiver<u64> {
        self.events.subscribe()
    }

    async fn ping(&self) -> Result<()> {
        match &self.db {
            Db::Sqlite(p) => sqlx::query("select 1").execute(&p.read).await.map(|_| ()),
            Db::Postgres(p) => sqlx::query("select 1").execute(&p.read).await.map(|_| ()),
        }
        .map_err(tx::db)
    }
}
