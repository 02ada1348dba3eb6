//! Connecting: the two databases, their pools and migrations, and how a write transaction takes the write lock.
use super::conn::{Conn, db, watched};
use super::job::SqlTx;
use super::readers::Readers;
use roster::Result;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, Pool, Postgres, Sqlite, SqliteConnection, SqlitePool};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// Connections in a pool.
#[derive(Debug, Clone, Copy)]
pub struct PoolState {
    pub size: u32,
    pub idle: usize,
}

/// A connected database, chosen by the URL scheme: a pool for reads and a connection of its own for the writer.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(Pools<Sqlite>),
    Postgres(Pools<Postgres>),
}

/// The two pools of a database. Reads never wait behind the writer for a connection, and the writer never waits for a
/// read's: each pool bounds its waits with [`ACQUIRE_TIMEOUT`].
#[derive(Debug)]
pub struct Pools<D: sqlx::Database> {
    /// Reads through sqlx: PostgreSQL's, and SQLite's when there are no `readers`. On SQLite every connection is
    /// `query_only`, so a write anywhere but the writer is an error at once rather than a second writer competing for
    /// the write lock.
    pub read: Pool<D>,
    /// The writer's one connection ([`super::writer`]; SQLite's writer thread holds it while there is work); migrations
    /// run on it before the writer starts.
    pub write: Pool<D>,
    /// SQLite's read connections of roster's own, run on the caller's thread ([`super::readers`]); reads use them
    /// instead of `read` when they exist. None on PostgreSQL, and for an in-memory SQLite database, which has no file
    /// to open them on.
    pub readers: Option<Arc<Readers>>,
}

impl Pools<Postgres> {
    /// The writer's transaction, which takes the write lock up front: it locks the settings row (READ COMMITTED would
    /// let two activations both pass a seat count). SQLite's writer begins its own (`BEGIN IMMEDIATE`, [`super::writer`]).
    pub(super) async fn begin_write(&self) -> Result<SqlTx> {
        let mut tx = watched("BEGIN", self.write.begin()).await.map_err(db)?;
        // The write lock. The log chain's row is read after it, in a statement of its own: a statement that waited for
        // a row lock sees the locked row as committed since, but every other row as it was when the statement began
        // (READ COMMITTED), so the chain must not ride along.
        let lock = "select 1 from setting where setting_id = 1 for update";
        watched(lock, sqlx::query(lock).execute(&mut *tx)).await.map_err(db)?;
        Ok(SqlTx::writer(Conn::Postgres(tx)))
    }
}

impl<D: sqlx::Database> Clone for Pools<D> {
    fn clone(&self) -> Self {
        Pools { read: self.read.clone(), write: self.write.clone(), readers: self.readers.clone() }
    }
}

/// The longest anything waits for a pooled connection: long enough for a burst to queue, short enough that an
/// exhausted pool or a lost database is a prompt 503, not a hang until the request timeout.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// Read connections per instance.
const READ_CONNECTIONS: u32 = 8;
const POSTGRES_READ_CONNECTIONS: u32 = 16;
/// SQLite page cache of the writer's connection and of each read connection, negated KiB (`PRAGMA cache_size`). A
/// read connection drops its whole cache on its first read after any commit (SQLite's WAL mode), so under writes it
/// holds what one read touches, and only a long stretch without writes fills it: 16 MiB each was most of the process's
/// own memory after a bench run, for no speed measured. About SQLite's default.
const WRITER_CACHE_KIB: &str = "-65536";
const READER_CACHE_KIB: &str = "-2048";
/// How long a connection waits for a lock another process holds (the CLI writing while the server runs).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

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
                // Only another process writes besides this one's writer (the CLI while the server runs): wait for it.
                .busy_timeout(BUSY_TIMEOUT);
            let sqlite = |max: u32| {
                SqlitePoolOptions::new()
                    .max_connections(max)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    // A local file does not go stale: no ping (a hop to the connection's worker thread) before each use.
                    .test_before_acquire(false)
            };
            let cannot = |e: sqlx::Error| anyhow::anyhow!("cannot open SQLite database '{url}': {e}");
            // The writer's connection first: it creates the file and sets WAL, which the read connections then share.
            // Page caches (`cache_size`, in KiB when negative). The writer's cache holds the pages every insert
            // touches, and it keeps them across its own commits; the readers' last only until the next commit.
            let write =
                sqlite(1).connect_with(opts.clone().pragma("cache_size", WRITER_CACHE_KIB)).await.map_err(cannot)?;
            // The file as SQLite resolved it; empty for an in-memory database.
            let file: String = sqlx::query_scalar("select file from pragma_database_list where name = 'main'")
                .fetch_one(&write)
                .await
                .map_err(cannot)?;
            let readers = match file.as_str() {
                "" => None,
                path => Some(
                    Readers::open(path.into(), READ_CONNECTIONS as usize, READER_CACHE_KIB, BUSY_TIMEOUT)
                        .map_err(|e| anyhow::anyhow!("cannot open SQLite database '{url}' for reading: {e:#}"))?,
                ),
            };
            // With readers of its own, sqlx's read pool serves only the odd command's query.
            let read = sqlite(if readers.is_some() { 1 } else { READ_CONNECTIONS })
                .connect_with(opts.pragma("query_only", "true").pragma("cache_size", READER_CACHE_KIB))
                .await
                .map_err(cannot)?;
            Ok(Db::Sqlite(Pools { read, write, readers }))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let opts = PgConnectOptions::from_str(url).map_err(|e| anyhow::anyhow!("bad PostgreSQL URL: {e}"))?;
            let postgres = |max: u32| PgPoolOptions::new().max_connections(max).acquire_timeout(ACQUIRE_TIMEOUT);
            let cannot = |e: sqlx::Error| anyhow::anyhow!("cannot connect to PostgreSQL: {e}");
            let write = postgres(1).connect_with(opts.clone()).await.map_err(cannot)?;
            let read = postgres(POSTGRES_READ_CONNECTIONS).connect_with(opts).await.map_err(cannot)?;
            Ok(Db::Postgres(Pools { read, write, readers: None }))
        } else {
            anyhow::bail!("unsupported database URL '{url}': use sqlite://path/to/roster.db or postgres://user@host/db")
        }
    }

    /// Applies pending migrations; a failure stops the caller with the reason.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            Db::Sqlite(p) => SQLITE_MIGRATIONS.run(&p.write).await,
            Db::Postgres(p) => POSTGRES_MIGRATIONS.run(&p.write).await,
        }
        .map_err(|e| anyhow::anyhow!("database migration failed: {e}"))
    }

    /// The read pool's connections, open and idle, for the metrics.
    pub fn pool_state(&self) -> PoolState {
        match self {
            Db::Sqlite(Pools { readers: Some(r), .. }) => r.state(),
            Db::Sqlite(p) => PoolState { size: p.read.size(), idle: p.read.num_idle() },
            Db::Postgres(p) => PoolState { size: p.read.size(), idle: p.read.num_idle() },
        }
    }

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

    /// Writes a consistent copy of a SQLite database to `path` while the server goes on writing: `VACUUM INTO` reads
    /// one snapshot (WAL lets the writer continue meanwhile) and writes a compact file that needs no `-wal` beside it.
    /// Every write acknowledged before the backup began is in it. PostgreSQL has its own tools for this.
    pub async fn backup(&self, path: &std::path::Path) -> anyhow::Result<()> {
        let Db::Sqlite(Pools { write: pool, .. }) = self else {
            anyhow::bail!(
                "roster backup copies SQLite databases; back up PostgreSQL with pg_dump (docs/operations.md, \"Backups and restore\")"
            );
        };
        if path.exists() {
            anyhow::bail!(
                "{} already exists; roster backup never overwrites a file, so choose a new name",
                path.display()
            );
        }
        let Some(target) = path.to_str() else { anyhow::bail!("the backup path must be valid UTF-8") };
        // On a connection of its own: read connections are `query_only`, which refuses even a write to another file,
        // and the writer's may be busy for as long as writes keep coming.
        let cannot = |e: sqlx::Error| anyhow::anyhow!("could not write the backup to {}: {e}", path.display());
        let mut conn = SqliteConnection::connect_with(&pool.connect_options()).await.map_err(cannot)?;
        sqlx::query("vacuum into $1").bind(target).execute(&mut conn).await.map_err(cannot)?;
        conn.close().await.map_err(cannot)?;
        Ok(())
    }

    pub fn is_sqlite(&self) -> bool {
        matches!(self, Db::Sqlite(_))
    }

    /// A write transaction outside the writer, every statement through sqlx: SQLite begins `IMMEDIATE`, PostgreSQL
    /// locks the settings row. The store's contract tests hold one open to check each method; the server's writes go
    /// through the writer ([`super::writer`]), whose SQLite transactions run on its own thread ([`super::direct`]).
    pub async fn begin_write(&self) -> Result<SqlTx> {
        match self {
            Db::Sqlite(p) => {
                let tx = watched("BEGIN IMMEDIATE", p.write.begin_with("BEGIN IMMEDIATE")).await.map_err(db)?;
                Ok(SqlTx::writer(Conn::Sqlite(tx)))
            }
            Db::Postgres(p) => p.begin_write().await,
        }
    }

    /// Reads without a transaction: a pooled connection runs its statements as they come, each on its own snapshot.
    pub async fn begin_read(&self) -> Result<SqlTx> {
        Ok(match self {
            Db::Sqlite(Pools { readers: Some(r), .. }) => SqlTx::reader(Conn::SqliteReader(r.lease().await?)),
            Db::Sqlite(p) => SqlTx::reader(Conn::SqliteRead(watched("acquire", p.read.acquire()).await.map_err(db)?)),
            Db::Postgres(p) => {
                SqlTx::reader(Conn::PostgresRead(watched("acquire", p.read.acquire()).await.map_err(db)?))
            }
        })
    }

    /// Reads in one read-only transaction, so every statement sees the same moment: SQLite's deferred `BEGIN` takes
    /// its snapshot at the first read; PostgreSQL's `REPEATABLE READ` at the first statement.
    pub async fn begin_snapshot(&self) -> Result<SqlTx> {
        Ok(match self {
            Db::Sqlite(Pools { readers: Some(r), .. }) => {
                let lease = r.lease().await?;
                lease.begin()?;
                SqlTx::reader(Conn::SqliteReader(lease))
            }
            Db::Sqlite(p) => SqlTx::reader(Conn::Sqlite(watched("BEGIN", p.read.begin()).await.map_err(db)?)),
            Db::Postgres(p) => {
                let tx = watched("BEGIN", p.read.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"))
                    .await
                    .map_err(db)?;
                SqlTx::reader(Conn::Postgres(tx))
            }
        })
    }
}
