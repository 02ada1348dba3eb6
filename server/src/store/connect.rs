//! Connecting: the two databases, their pools and migrations, and how a write transaction takes the write lock.
use super::tx::SqlTx;
use async_trait::async_trait;
use roster::Result;
use roster::store::{Store, Tx, WriteJob};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};
use std::any::Any;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// A connected database, chosen by the URL scheme.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Db {
    /// Connects. SQLite: creates the file, WAL, foreign keys on, a busy timeout. Errors name the URL's problem.
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)
                .map_err(|e| anyhow::anyhow!("bad SQLite URL '{url}': {e}"))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(opts)
                .await
                .map_err(|e| anyhow::anyhow!("cannot open SQLite database '{url}': {e}"))?;
            Ok(Db::Sqlite(pool))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let opts = PgConnectOptions::from_str(url).map_err(|e| anyhow::anyhow!("bad PostgreSQL URL: {e}"))?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                // Long enough for a burst to queue, short enough that a lost database is a prompt 503, not a hang.
                .acquire_timeout(Duration::from_secs(5))
                .connect_with(opts)
                .await
                .map_err(|e| anyhow::anyhow!("cannot connect to PostgreSQL: {e}"))?;
            Ok(Db::Postgres(pool))
        } else {
            anyhow::bail!("unsupported database URL '{url}': use sqlite://path/to/roster.db or postgres://user@host/db")
        }
    }

    /// Applies pending migrations; a failure stops the caller with the reason.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            Db::Sqlite(p) => SQLITE_MIGRATIONS.run(p).await,
            Db::Postgres(p) => POSTGRES_MIGRATIONS.run(p).await,
        }
        .map_err(|e| anyhow::anyhow!("database migration failed: {e}"))
    }

    pub fn store(&self) -> Arc<dyn Store> {
        Arc::new(self.clone())
    }

    /// Opens a transaction. A write takes the write lock up front: SQLite `BEGIN IMMEDIATE` (a deferred BEGIN that
    /// reads then writes can fail with SQLITE_BUSY); PostgreSQL locks the settings row (READ COMMITTED would let two
    /// activations both pass a seat count).
    pub async fn begin(&self, write: bool) -> Result<SqlTx> {
        let internal = super::tx::db;
        Ok(match self {
            Db::Sqlite(p) if write => SqlTx::sqlite(p.begin_with("BEGIN IMMEDIATE").await.map_err(internal)?),
            Db::Sqlite(p) => SqlTx::sqlite(p.begin().await.map_err(internal)?),
            Db::Postgres(p) => {
                let mut tx = SqlTx::postgres(p.begin().await.map_err(internal)?);
                if write {
                    tx.execute("select 1 from setting where setting_id = 1 for update", &[]).await?;
                }
                tx
            }
        })
    }
}

#[async_trait]
impl Store for Db {
    async fn begin_read(&self) -> Result<Box<dyn Tx>> {
        Ok(Box::new(self.begin(false).await?))
    }

    async fn run_write(&self, job: WriteJob) -> Result<Box<dyn Any + Send>> {
        let mut tx = self.begin(true).await?;
        // An error drops the transaction, which rolls back everything the job did.
        let out = job(&mut tx).await?;
        tx.finish().await?;
        Ok(out)
    }

    async fn ping(&self) -> Result<()> {
        match self {
            Db::Sqlite(p) => sqlx::query("select 1").execute(p).await.map(|_| ()),
            Db::Postgres(p) => sqlx::query("select 1").execute(p).await.map(|_| ()),
        }
        .map_err(super::tx::db)
    }
}
