//! SQLite connections used through rusqlite, with no trip to sqlx's thread: the writer's, through its handle on the
//! writer's own thread, and the read connections of [`super::readers`], which roster opens itself.
//!
//! sqlx runs each SQLite connection on a worker thread of its own, and every statement is a trip there and back: a
//! channel send, the worker's wake-up, the answer's send and the caller's wake-up. A write job made several calls, so
//! most of a job's time was those trips, not SQLite (bench/RESULTS.md). The writer's thread instead takes the handle
//! of the connection sqlx opened (`lock_handle`, after which sqlx's worker waits and makes no call on it) and keeps it
//! while there is work: every statement, `BEGIN` and `COMMIT` included, is a plain call through rusqlite, with its
//! prepared statements kept from one transaction to the next.
//!
//! The SQL is the same text the PostgreSQL path runs: `$n` placeholders are bound by their number, as sqlx binds them.
use super::conn::SLOW_CALL;
use super::sql::Arg;
use roster::{Error, Result};
use rusqlite::types::{FromSql, ToSqlOutput, Value};
use sqlx::sqlite::LockedSqliteHandle;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Statements kept prepared. The jobs run a few dozen distinct ones; the commit's multi-row inserts differ with the
/// number of rows, and the least recently used make way for them.
const CACHED_STATEMENTS: usize = 128;
/// SQLite virtual machine steps between two looks at a reader's [`Limit`]: a few tens of microseconds.
const PROGRESS_STEPS: std::ffi::c_int = 1000;

/// A connection run through rusqlite: the writer's (a handle sqlx opened), or a reader's own.
pub(super) struct Direct {
    conn: rusqlite::Connection,
    /// A reader's: how long a statement may still run on the caller's thread. The writer's has none.
    limit: Option<Limit>,
    /// A row loop went past the limit and read the rest of its rows off the runtime's worker ([`Direct::fetch_all`]).
    went_off: std::cell::Cell<bool>,
}

/// A reader's limit on the statement it runs on the caller's thread, shared with SQLite's progress handler (which
/// looks during a long step) and the row loops (which look between rows).
struct Limit {
    epoch: Instant,
    at: Arc<Deadlines>,
    /// The busy timeout outside the limit. Under it there is none: a lock to wait for is waited for off the thread.
    busy: Duration,
}

/// Nanoseconds: `wall` and `hard` after the limit's epoch (`wall` 0: no limit), `cpu` of the thread's CPU time.
#[derive(Default)]
struct Deadlines {
    wall: AtomicU64,
    hard: AtomicU64,
    cpu: AtomicU64,
}

/// How far past the limit the clock may run before the statement stops whatever the thread's CPU time says: far
/// enough that a statement preempted on a busy machine (32 connections on 2 cores wait tens of milliseconds for a core
/// now and then) is not taken for one waiting on the disk.
pub(super) const HARD_FACTOR: u32 = 100;

impl Deadlines {
    /// Past the limit: the clock is past `wall`, and the thread has worked past `cpu` (a statement the OS preempted on
    /// a busy machine has not held its thread that long), or the clock is past `hard` (a statement waiting on the
    /// disk holds its thread all the same).
    fn past(&self, epoch: Instant) -> bool {
        let wall = self.wall.load(Ordering::Relaxed);
        let now = epoch.elapsed().as_nanos() as u64;
        if wall == 0 || now <= wall {
            return false;
        }
        now > self.hard.load(Ordering::Relaxed)
            || thread_cpu_nanos().is_none_or(|cpu| cpu > self.cpu.load(Ordering::Relaxed))
    }
}

/// The CPU time this thread has used, where the platform tells it.
pub(super) fn thread_cpu_nanos() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: clock_gettime writes only the timespec it is given, which lives on this stack frame.
        if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) } == 0 {
            return Some(t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64);
        }
    }
    None
}

impl std::fmt::Debug for Direct {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Direct")
    }
}

/// A row read through [`Direct`]: the same columns, by name, as its `sqlx::FromRow`.
pub trait DirectRow: Sized {
    /// Where the row's fields are among the statement's columns. Found once per statement run: a lookup by name is
    /// a walk over the column names, which per field and per row was over a tenth of a 100-user page's time.
    type Columns;
    fn columns(stmt: &rusqlite::Statement<'_>) -> rusqlite::Result<Self::Columns>;
    fn from_direct(row: &rusqlite::Row<'_>, columns: &Self::Columns) -> rusqlite::Result<Self>;
}

/// Declares a row struct both paths decode: sqlx's `FromRow` and [`DirectRow`], from one list of fields.
macro_rules! record {
    ($(#[$m:meta])* $vis:vis struct $name:ident { $($field:ident : $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(sqlx::FromRow)]
        $vis struct $name { $($field: $ty),* }

        impl $crate::store::direct::DirectRow for $name {
            type Columns = Vec<usize>;

            fn columns(stmt: &rusqlite::Statement<'_>) -> rusqlite::Result<Vec<usize>> {
                Ok(vec![$(stmt.column_index(stringify!($field))?),*])
            }

            fn from_direct(row: &rusqlite::Row<'_>, columns: &Self::Columns) -> rusqlite::Result<Self> {
                // `columns` has one index per field, in order; a short one would be an invalid column, not a panic.
                let mut at = columns.iter().copied();
                Ok($name { $($field: row.get(at.next().unwrap_or(usize::MAX))?),* })
            }
        }
    };
}
pub(crate) use record;

macro_rules! tuple_row {
    ($($t:ident $i:tt),+) => {
        impl<$($t: FromSql),+> DirectRow for ($($t,)+) {
            type Columns = ();

            fn columns(_: &rusqlite::Statement<'_>) -> rusqlite::Result<()> {
                Ok(())
            }

            fn from_direct(row: &rusqlite::Row<'_>, (): &()) -> rusqlite::Result<Self> {
                Ok(($(row.get::<_, $t>($i)?,)+))
            }
        }
    };
}
tuple_row!(A 0);
tuple_row!(A 0, B 1);
tuple_row!(A 0, B 1, C 2);
tuple_row!(A 0, B 1, C 2, D 3);
tuple_row!(A 0, B 1, C 2, D 3, E 4);
tuple_row!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);

impl Direct {
    /// Wraps the handle `locked` holds.
    ///
    /// # Safety
    /// The `Direct` must be dropped before `locked` is. While `locked` lives, sqlx's worker thread makes no call on
    /// the handle or its statements (`LockedSqliteHandle::as_raw_handle`), so this one is the only user; once the
    /// `Direct` is dropped, its prepared statements are finalized and nothing of it refers to the handle any more.
    /// rusqlite does not own the handle (`from_handle`): dropping it never closes the connection sqlx holds.
    pub(super) unsafe fn new(locked: &mut LockedSqliteHandle<'_>) -> Result<Direct> {
        // SAFETY: the handle is a live connection (sqlx opened it and holds it); the caller keeps it locked for as
        // long as the `Direct` lives (above).
        let conn = unsafe { rusqlite::Connection::from_handle(locked.as_raw_handle().as_ptr()) }.map_err(direct)?;
        conn.set_prepared_statement_cache_capacity(CACHED_STATEMENTS);
        Ok(Direct { conn, limit: None, went_off: Default::default() })
    }

    /// Opens a read connection of its own to the database file at `path`, which the writer has created and set to WAL:
    /// `query_only`, so a write through it is an error rather than a second writer, with its own page cache.
    pub(super) fn open_reader(path: &std::path::Path, cache_kib: &str, busy: Duration) -> Result<Direct> {
        use rusqlite::OpenFlags;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = rusqlite::Connection::open_with_flags(path, flags).map_err(direct)?;
        conn.busy_timeout(busy).map_err(direct)?;
        conn.execute_batch(&format!(
            "pragma query_only = true; pragma cache_size = {cache_kib}; pragma temp_store = memory"
        ))
        .map_err(direct)?;
        conn.set_prepared_statement_cache_capacity(CACHED_STATEMENTS);
        let limit = Limit { epoch: Instant::now(), at: Arc::default(), busy };
        let (epoch, at) = (limit.epoch, limit.at.clone());
        // Returning true stops the statement with SQLITE_INTERRUPT; a read's snapshot stays open.
        conn.progress_handler(PROGRESS_STEPS, Some(move || at.past(epoch)));
        Ok(Direct { conn, limit: Some(limit), went_off: Default::default() })
    }

    /// Statements stop once they have worked for `within` from now on this thread ([`is_interrupt`]), and a lock held
    /// elsewhere is `Unavailable` at once instead of waited for; `None` lifts the limit.
    pub(super) fn limit(&self, within: Option<Duration>) {
        let Some(l) = &self.limit else { return };
        let Some(w) = within else {
            l.at.wall.store(0, Ordering::Relaxed);
            let _ = self.conn.busy_timeout(l.busy);
            return;
        };
        let _ = self.conn.busy_timeout(Duration::ZERO);
        let now = l.epoch.elapsed();
        l.at.cpu.store(thread_cpu_nanos().unwrap_or(0) + w.as_nanos() as u64, Ordering::Relaxed);
        l.at.hard.store((now + w * HARD_FACTOR).as_nanos() as u64, Ordering::Relaxed);
        l.at.wall.store((now + w).as_nanos().max(1) as u64, Ordering::Relaxed);
    }

    /// Whether the statement just run went past the limit: one SQLite ran in a single step that the progress handler
    /// does not see (a bare `count(*)` walks its whole table so), or whose last stretch came after the last look.
    pub(super) fn overran(&self) -> bool {
        self.limit.as_ref().is_some_and(|l| l.at.past(l.epoch))
    }

    /// The row loops' look at the limit: a statement that returns many quick rows never runs long in one step.
    fn check_limit(&self) -> Result<()> {
        if self.overran() {
            return Err(direct(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_INTERRUPT),
                None,
            )));
        }
        Ok(())
    }

    /// A statement with `args` bound: one statement, `$n` placeholders.
    fn prepare(&self, sql: &str, args: &[Arg<'_>]) -> Result<rusqlite::CachedStatement<'_>> {
        // SQLite prepares the first statement of a text and rusqlite drops the rest unseen: text joined for sqlx's
        // one-call scripts (`a; b`) must never get here, or `b` would be lost without an error.
        if has_second_statement(sql) {
            return Err(Error::internal(format!("more than one statement in one call: {sql}")));
        }
        let mut stmt = self.conn.prepare_cached(sql).map_err(direct)?;
        for i in 1..=stmt.parameter_count() {
            // `$3` is the third value wherever it stands; SQLite numbers parameters by first appearance.
            let n = match stmt.parameter_name(i) {
                Some(name) => name[1..].parse::<usize>().map_err(|_| Error::internal(format!("placeholder {name}")))?,
                None => i,
            };
            let value = n
                .checked_sub(1)
                .and_then(|i| args.get(i))
                .ok_or_else(|| Error::internal(format!("no value for ${n} in {sql}")))?;
            stmt.raw_bind_parameter(i, value).map_err(direct)?;
        }
        Ok(stmt)
    }

    /// Runs a statement and counts the rows it changed; rows it returns are read and dropped, as sqlx does.
    pub(super) fn execute(&self, sql: &str, args: &[Arg<'_>]) -> Result<u64> {
        let mut stmt = self.prepare(sql, args)?;
        if stmt.column_count() == 0 {
            return stmt.raw_execute().map(|n| n as u64).map_err(direct);
        }
        let mut rows = stmt.raw_query();
        while rows.next().map_err(direct)?.is_some() {}
        Ok(self.conn.changes())
    }

    /// No transaction is open.
    pub(super) fn is_autocommit(&self) -> bool {
        self.conn.is_autocommit()
    }

    /// Every row. One that comes past the limit does not stop the statement: its rows come one quick step at a time,
    /// so rather than run it again from the start, the limit is lifted and the rest are read where they are, off the
    /// runtime's worker ([`off_worker`]). A single long step is still stopped, by the progress handler.
    pub(super) fn fetch_all<R: DirectRow>(&self, sql: &str, args: &[Arg<'_>]) -> Result<Vec<R>> {
        let mut stmt = self.prepare(sql, args)?;
        let columns = R::columns(&stmt).map_err(direct)?;
        let mut rows = stmt.raw_query();
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(direct)? {
            out.push(R::from_direct(row, &columns).map_err(direct)?);
            if self.overran() {
                self.limit(None);
                self.went_off.set(true);
                return off_worker(sql, || {
                    while let Some(row) = rows.next().map_err(direct)? {
                        out.push(R::from_direct(row, &columns).map_err(direct)?);
                    }
                    Ok(out)
                });
            }
        }
        Ok(out)
    }

    /// Whether the last row loop went off the worker ([`Direct::fetch_all`]), which this clears.
    pub(super) fn take_went_off(&self) -> bool {
        self.went_off.replace(false)
    }

    /// The first row. A statement that writes is run to its end (a `… returning` writes every row it returns); a
    /// read stops there.
    pub(super) fn fetch_optional<R: DirectRow>(&self, sql: &str, args: &[Arg<'_>]) -> Result<Option<R>> {
        let mut stmt = self.prepare(sql, args)?;
        let reads_only = stmt.readonly();
        let columns = R::columns(&stmt).map_err(direct)?;
        let mut rows = stmt.raw_query();
        let mut first = None;
        while let Some(row) = rows.next().map_err(direct)? {
            if first.is_none() {
                first = Some(R::from_direct(row, &columns).map_err(direct)?);
                if reads_only {
                    break;
                }
            }
            self.check_limit()?;
        }
        Ok(first)
    }

    pub(super) fn fetch_one<R: DirectRow>(&self, sql: &str, args: &[Arg<'_>]) -> Result<R> {
        self.fetch_optional(sql, args)?.ok_or_else(|| Error::internal(format!("no row returned by {sql}")))
    }
}

/// Runs the statement `sql` in `f`, which may block for a while: on a multi-threaded runtime's worker the runtime
/// first moves this thread's other tasks elsewhere (`block_in_place`). A current-thread runtime (tests, a command's)
/// has no elsewhere, and runs it as it is. A run past [`SLOW_CALL`] is logged with its statement, as sqlx's calls are.
pub(super) fn off_worker<T>(sql: &str, f: impl FnOnce() -> T) -> T {
    metrics::counter!("roster_long_reads_total").increment(1);
    let started = Instant::now();
    let out = match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    };
    if started.elapsed() > SLOW_CALL {
        let statement = sql.split_whitespace().collect::<Vec<_>>().join(" ");
        metrics::counter!("roster_slow_database_calls_total").increment(1);
        tracing::warn!(%statement, seconds = started.elapsed().as_secs(), "a database call was slow");
    }
    out
}

/// Whether `sql` goes on after a `;` that ends a statement: outside quotes and comments, with more than blanks after.
fn has_second_statement(sql: &str) -> bool {
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' | '`' => {
                // A quote ends at its twin; a doubled twin inside is one escaped character, read as end and restart.
                for d in chars.by_ref() {
                    if d == c {
                        break;
                    }
                }
            }
            '[' => {
                for d in chars.by_ref() {
                    if d == ']' {
                        break;
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                for d in chars.by_ref() {
                    if d == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut star = false;
                for d in chars.by_ref() {
                    if star && d == '/' {
                        break;
                    }
                    star = d == '*';
                }
            }
            ';' => return chars.any(|d| !d.is_whitespace() && d != ';'),
            _ => {}
        }
    }
    false
}

impl rusqlite::ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Arg::Text(s) | Arg::OptText(Some(s)) => ToSqlOutput::from(s.as_ref()),
            Arg::OptText(None) | Arg::OptInt(None) => ToSqlOutput::Owned(Value::Null),
            Arg::Int(i) | Arg::OptInt(Some(i)) => ToSqlOutput::from(*i),
            Arg::Bool(b) => ToSqlOutput::from(*b),
        })
    }
}

/// A rusqlite error as the domain sees it. A database that cannot be used now (locked by another process past the
/// busy timeout, or at once under a reader's limit; a full disk, an I/O error) is `Unavailable`, so the client
/// retries; anything else is internal, with the error kept for [`is_unique_violation`].
fn direct(e: rusqlite::Error) -> Error {
    use rusqlite::ErrorCode::*;
    match e.sqlite_error_code() {
        Some(DatabaseBusy | DatabaseLocked | DiskFull | SystemIoFailure) => {
            tracing::warn!(error = %e, "the database cannot be used now");
            Error::Unavailable("the database is busy or cannot be used now; retry shortly".into())
        }
        _ => Error::internal(e),
    }
}

/// A statement was stopped by its connection's limit ([`Direct::limit`]).
pub(super) fn is_interrupt(e: &Error) -> bool {
    matches!(e, Error::Internal(source) if source.downcast_ref::<rusqlite::Error>().is_some_and(|e| {
        e.sqlite_error_code() == Some(rusqlite::ErrorCode::OperationInterrupted)
    }))
}

/// A statement hit a unique index or primary key.
pub(super) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if matches!(
        f.extended_code,
        rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Connection;

    #[test]
    fn a_second_statement_is_seen_outside_quotes_and_comments_only() {
        for one in [
            "select 1",
            "select 1;",
            "select 1; ; \n",
            "select ';' as x",
            "select 'it''s; fine'",
            "select \"a;b\" from t",
            "select [a;b] from t",
            "select 1 -- ; not a statement",
            "select /* ; */ 1",
        ] {
            assert!(!has_second_statement(one), "{one}");
        }
        for two in ["savepoint job; insert into t values (1)", "select ';'; select 2", "select 1 /* x */; select 2"] {
            assert!(has_second_statement(two), "{two}");
        }
    }

    /// The writer's path against a real SQLite connection that sqlx opened: `$n` bound by number wherever it stands,
    /// rows by column name, unique violations recognised, joined text refused, and prepared statements surviving a
    /// transaction's end.
    #[tokio::test]
    async fn statements_run_through_the_handle_sqlx_holds() {
        let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:").await.unwrap();
        let mut locked = conn.lock_handle().await.unwrap();
        // SAFETY: `direct` is dropped at the end of this test, before `locked`, which is declared before it.
        let direct = unsafe { Direct::new(&mut locked) }.unwrap();
        direct.execute("create table t (id integer primary key, name text not null unique, note text)", &[]).unwrap();
        direct.execute("begin immediate", &[]).unwrap();
        let args = [Arg::from("b"), Arg::Int(7), Arg::OptText(None)];
        assert_eq!(direct.execute("insert into t (note, id, name) values ($3, $2, $1)", &args).unwrap(), 1);
        let row: (i64, String, Option<String>, bool) =
            direct.fetch_one("select id, name, note, $1 = name from t where id = $2", &args).unwrap();
        assert_eq!(row, (7, "b".to_owned(), None, true));
        let again = direct.execute("insert into t (note, id, name) values ($3, $2, $1)", &args).unwrap_err();
        let Error::Internal(source) = &again else { panic!("{again:?}") };
        assert!(source.downcast_ref::<rusqlite::Error>().is_some_and(is_unique_violation), "{again:?}");
        assert!(
            direct
                .execute("insert into t (id, name) values (8, 'c'); insert into t (id, name) values (9, 'd')", &[])
                .is_err()
        );
        direct.execute("commit", &[]).unwrap();
        assert!(direct.is_autocommit());
        let names: Vec<(String,)> = direct.fetch_all("select name from t order by id", &[]).unwrap();
        assert_eq!(names, vec![("b".to_owned(),)]);
        drop(direct);
    }
}
