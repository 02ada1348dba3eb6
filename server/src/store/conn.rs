//! The connection layer: one connection or transaction of either database, and the only code that runs SQL on it.
//! The SQL uses `$n` placeholders and syntax both databases accept; the per-database code is here alone, binding the
//! same [`Arg`]s onto a SQLite or a PostgreSQL query.
use super::direct::{Direct, DirectRow};
use super::readers::Lease;
use super::sql::Arg;
use roster::{Error, Result};
use sqlx::pool::PoolConnection;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{FromRow, Postgres, Sqlite, Transaction};
use std::future::Future;
use std::time::Duration;

pub(super) enum Conn {
    /// A transaction: the writer's, or a read snapshot.
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
    /// Reads outside a transaction: each statement runs on its own snapshot.
    SqliteRead(PoolConnection<Sqlite>),
    PostgresRead(PoolConnection<Postgres>),
    /// The writer's SQLite transaction, every statement a plain call on the writer's thread ([`Direct`]); the writer
    /// begins and commits it on the same connection.
    SqliteDirect(Direct),
    /// SQLite reads on a connection of roster's own, every statement a plain call on the caller's thread
    /// ([`super::readers`]): each on its own snapshot, or all on one after [`Lease::begin`].
    SqliteReader(Lease),
}

/// A database error as the domain sees it: `Unavailable` (503, retry) when the database cannot be reached or is
/// shutting down, `Internal` for everything else.
pub fn db(e: sqlx::Error) -> Error {
    let unreachable = match &e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        // PostgreSQL: connection exceptions (08…) and operator intervention (57P01 admin shutdown and the like).
        sqlx::Error::Database(d) => d.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
        _ => false,
    };
    if unreachable {
        tracing::warn!(error = %e, "the database is unreachable");
        Error::Unavailable(
            "the database is unreachable; roster will answer again once it is back, so retry shortly".into(),
        )
    } else {
        Error::internal(e)
    }
}

/// A database call still running after this long is logged with what it runs, and again each time this long passes
/// again: a statement stuck behind another process's lock, a pool that does not give its connections back, a database
/// that stopped answering. The call itself goes on; the request's timeout ends it.
pub(super) const SLOW_CALL: Duration = Duration::from_secs(5);

/// Runs a database call, logging it while it is slow ([`SLOW_CALL`]).
pub(super) async fn watched<T>(what: &str, call: impl Future<Output = T>) -> T {
    let mut call = std::pin::pin!(call);
    let started = std::time::Instant::now();
    loop {
        match tokio::time::timeout(SLOW_CALL, &mut call).await {
            Ok(out) => return out,
            Err(_) => {
                let statement = what.split_whitespace().collect::<Vec<_>>().join(" ");
                metrics::counter!("roster_slow_database_calls_total").increment(1);
                tracing::warn!(%statement, seconds = started.elapsed().as_secs(), "a database call is slow and still runs");
            }
        }
    }
}

/// Neither database stores a NUL in text (PostgreSQL refuses it), so one never reaches a query: the request that
/// carried it gets `invalidValue` on both.
pub(super) fn check_args(args: &[Arg<'_>]) -> Result<()> {
    let nul = args.iter().any(|a| match a {
        Arg::Text(s) | Arg::OptText(Some(s)) => s.contains('\0'),
        _ => false,
    });
    if nul { Err(Error::InvalidValue("text with a NUL character cannot be stored".into())) } else { Ok(()) }
}

/// Binds `args` onto any sqlx query builder of either database.
macro_rules! bind {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Arg::Text(s) => q.bind(s.as_ref()),
                Arg::OptText(s) => q.bind(s.as_deref()),
                Arg::Int(i) => q.bind(*i),
                Arg::OptInt(i) => q.bind(*i),
                Arg::Bool(b) => q.bind(*b),
            };
        }
        q
    }};
}

/// Runs `$body` with `$c` bound to the connection of either database; the body is the same SQL for both. A direct
/// connection never gets here: each method runs it first, at once, since there is nothing to wait for.
macro_rules! on_conn {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            Conn::SqliteDirect(_) | Conn::SqliteReader(_) => {
                Err(sqlx::Error::Protocol("a direct connection reached sqlx".into()))
            }
            Conn::Sqlite(tx) => {
                let $c = &mut **tx;
                $body
            }
            Conn::Postgres(tx) => {
                let $c = &mut **tx;
                $body
            }
            Conn::SqliteRead(conn) => {
                let $c = &mut **conn;
                $body
            }
            Conn::PostgresRead(conn) => {
                let $c = &mut **conn;
                $body
            }
        }
    };
}

/// A row type both databases can decode.
pub trait AnyRow: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + DirectRow + Send + Unpin {}
impl<T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + DirectRow + Send + Unpin> AnyRow for T {}

impl Conn {
    pub(super) fn is_sqlite(&self) -> bool {
        matches!(self, Conn::Sqlite(_) | Conn::SqliteRead(_) | Conn::SqliteDirect(_) | Conn::SqliteReader(_))
    }

    /// The writer's direct transaction is no longer open: SQLite rolled it back after an error.
    pub(super) fn transaction_lost(&self) -> bool {
        matches!(self, Conn::SqliteDirect(d) if d.is_autocommit())
    }

    /// Statements are worth joining into one call (`a; b`): each call is a trip to sqlx's SQLite thread. A direct
    /// connection has no trips, and takes one statement per call.
    pub(super) fn joins_statements(&self) -> bool {
        matches!(self, Conn::Sqlite(_) | Conn::SqliteRead(_))
    }

    /// Runs a statement and counts the rows it changed. The per-job scope ([`super::job`]) decides what may run here;
    /// the concerns' SQL reaches it only through the scope's read and write helpers.
    pub(super) async fn execute(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<u64> {
        check_args(args)?;
        match self {
            Conn::SqliteDirect(d) => return d.execute(sql, args),
            Conn::SqliteReader(r) => return r.read(sql, |d| d.execute(sql, args)),
            _ => {}
        }
        watched(sql, async {
            on_conn!(self, |c| bind!(sqlx::query(sql), args).execute(c).await.map(|r| r.rows_affected()))
        })
        .await
        .map_err(db)
    }

    pub(super) async fn fetch_all<R: AnyRow>(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Vec<R>> {
        check_args(args)?;
        match self {
            Conn::SqliteDirect(d) => return d.fetch_all(sql, args),
            Conn::SqliteReader(r) => return r.read(sql, |d| d.fetch_all(sql, args)),
            _ => {}
        }
        watched(sql, async { on_conn!(self, |c| bind!(sqlx::query_as::<_, R>(sql), args).fetch_all(c).await) })
            .await
            .map_err(db)
    }

    pub(super) async fn fetch_optional<R: AnyRow>(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Option<R>> {
        check_args(args)?;
        match self {
            Conn::SqliteDirect(d) => return d.fetch_optional(sql, args),
            Conn::SqliteReader(r) => return r.read(sql, |d| d.fetch_optional(sql, args)),
            _ => {}
        }
        watched(sql, async { on_conn!(self, |c| bind!(sqlx::query_as::<_, R>(sql), args).fetch_optional(c).await) })
            .await
            .map_err(db)
    }

    pub(super) async fn fetch_one<R: AnyRow>(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<R> {
        check_args(args)?;
        match self {
            Conn::SqliteDirect(d) => return d.fetch_one(sql, args),
            Conn::SqliteReader(r) => return r.read(sql, |d| d.fetch_one(sql, args)),
            _ => {}
        }
        watched(sql, async { on_conn!(self, |c| bind!(sqlx::query_as::<_, R>(sql), args).fetch_one(c).await) })
            .await
            .map_err(db)
    }

    /// Commits a transaction; a connection without one goes back to the pool.
    pub(super) async fn commit(self) -> Result<()> {
        match self {
            Conn::Sqlite(tx) => watched("COMMIT", tx.commit()).await.map_err(db),
            Conn::Postgres(tx) => watched("COMMIT", tx.commit()).await.map_err(db),
            Conn::SqliteRead(_) | Conn::PostgresRead(_) => Ok(()),
            Conn::SqliteReader(r) => r.end(),
            Conn::SqliteDirect(_) => Err(Error::internal("a direct batch is committed by the writer")),
        }
    }
}
