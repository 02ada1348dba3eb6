//! Connecting: the two databases, their pools and migrations, and how a write transaction takes the write lock.
use super::tx::SqlTx;
use roster::Result;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};
use std::str::FromStr;
use std::time::Duration;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// Connections in a pool.
#[derive(Debug, Clone, Copy)]
pub struct PoolState {
    pub size: u32,
    pub idle: usize,
}

/// A connected database, chosen by the URL scheme.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Db {
    /// Connects. SQLite: creates the file, WAL, foreign keys on, a busy timeout. Errors name the URL's problem.
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        Db::open(url, true).await
    }

    /// [`Db::connect`] to a database that must exist already: a mistyped SQLite path is an error, not a new file.
    pub async fn connect_existing(url: &str) -> anyhow::Result<Db> {
        Db::open(url, false).await
    }

    async fn open(url: &str, create: bool) -> anyhow::Result<Db> {
        if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)
                .map_err(|e| anyhow::anyhow!("bad SQLite URL '{url}': {e}"))?
                .create_if_missing(create)
                .journal_mode(SqliteJournalMode::Wal)
                // An acknowledged write survives a power loss too: every commit is synced. The writer commits many
                // writes at once, so this costs one fsync per batch, not per write.
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                // A job's savepoint journals the pages it changes; in memory, not in a temp file.
                .pragma("temp_store", "memory")
                // Rows cross from SQLite's worker thread to the request a channel-full at a time, each crossing a
                // thread hop: 50 rows at a time, a 50,000-member list took a thousand.
                .row_buffer_size(4096)
                .busy_timeout(Duration::from_secs(10));
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                // A local file does not go stale: no ping (a hop to the connection's worker thread) before each use.
                .test_before_acquire(false)
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

    /// The read pool's connections, open and idle, for the metrics.
    pub fn pool_state(&self) -> PoolState {
        match self {
            Db::Sqlite(p) => PoolState { size: p.size(), idle: p.num_idle() },
            Db::Postgres(p) => PoolState { size: p.size(), idle: p.num_idle() },
        }
    }

    /// Writes a consistent copy of a SQLite database to `path` while the server goes on writing: `VACUUM INTO` reads
    /// one snapshot (WAL lets the writer continue meanwhile) and writes a compact file that needs no `-wal` beside it.
    /// Every write acknowledged before the backup began is in it. PostgreSQL has its own tools for this.
    /// Opens an existing SQLite database file read-only, to check a backup: nothing is created or changed (no journal
    /// mode is set), and the path is taken as it is, not parsed as a URL.
    pub async fn open_sqlite_read_only(path: &std::path::Path) -> anyhow::Result<SqlitePool> {
        let opts = SqliteConnectOptions::new().filename(path).create_if_missing(false).read_only(true);
        SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts)
            .await
            .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))
    }

    pub async fn backup(&self, path: &std::path::Path) -> anyhow::Result<()> {
        let Db::Sqlite(pool) = self else {
            anyhow::bail!(
                "roster backup copies SQLite databases; back up PostgreSQL with pg_dump (README, \"Backups and restore\")"
            );
        };
        if path.exists() {
            anyhow::bail!(
                "{} already exists; roster backup never overwrites a file, so choose a new name",
                path.display()
            );
        }
        let Some(target) = path.to_str() else { anyhow::bail!("the backup path must be valid UTF-8") };
        sqlx::query("vacuum into $1")
            .bind(target)
            .execute(pool)
            .await
            .map_err(|e| anyhow::anyhow!("could not write the backup to {}: {e}", path.display()))?;
        Ok(())
    }

    /// Opens a transaction. A write takes the write lock up front: SQLite `BEGIN IMMEDIATE` (a deferred BEGIN that
    /// reads then writes can fail with SQLITE_BUSY); PostgreSQL locks the settings row (READ COMMITTED would let two
    /// activations both pass a seat count).
    /// A read needs no transaction: a pooled connection runs its statements as they come.
    pub async fn begin(&self, write: bool) -> Result<SqlTx> {
        let internal = super::tx::db;
        Ok(match self {
            Db::Sqlite(p) if write => SqlTx::sqlite(p.begin_with("BEGIN IMMEDIATE").await.map_err(internal)?),
            Db::Sqlite(p) => SqlTx::sqlite_read(p.acquire().await.map_err(internal)?),
            Db::Postgres(p) if write => {
                let mut tx = SqlTx::postgres(p.begin().await.map_err(internal)?);
                tx.execute("select 1 from setting where setting_id = 1 for update", &[]).await?;
                tx
            }
            Db::Postgres(p) => SqlTx::postgres_read(p.acquire().await.map_err(internal)?),
        })
    }
}
