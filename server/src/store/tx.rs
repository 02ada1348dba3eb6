//! Transactions: one [`SqlTx`] over either database, and the [`Tx`] methods written once for both. The SQL uses `$n`
//! placeholders and syntax both databases accept; the only per-database code is in the four execution functions,
//! which bind the same [`Arg`]s onto a SQLite or a PostgreSQL query.
//!
//! A write transaction serves the writer's jobs ([`super::writer`]): it reads the settings row once (the transaction
//! holds the write lock, so nothing else changes it), keeps the count of seats used and the log entries of successful
//! writes in memory until it commits, and gives each job a savepoint just before its first write. A read needs no
//! transaction: it runs each statement on a pooled connection as it comes.
use super::positions::{self, Marks, Positions};
use super::query::{group_order, group_where, log_where, user_order, user_where};
use super::rows::*;
use super::sql::{Arg, Dialect, Script, Sql, args, limit};
use async_trait::async_trait;
use roster::model::*;
use roster::store::{LiveToken, NewLogEntry, Tx};
use roster::{Error, Result};
use sqlx::pool::PoolConnection;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{FromRow, Postgres, Sqlite, Transaction};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

/// Log entries per multi-row insert (12 values each).
const ROWS_PER_INSERT: usize = 200;
/// A log entry's columns, in the order of [`log_entry_args`].
const LOG_COLUMNS: &str =
    "at, actor, method, path, status, outcome, target_kind, target_id, target_name, diff, detail, request_id";

enum Conn {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
    /// Reads: statements run one by one, each on its own snapshot.
    SqliteRead(PoolConnection<Sqlite>),
    PostgresRead(PoolConnection<Postgres>),
}

/// The settings row as a write transaction knows it.
#[derive(Debug, Clone, Copy)]
struct SettingsRow {
    scim_enabled: bool,
    seat_limit: i64,
    seats_used: i64,
}

/// What a write transaction keeps in memory until it commits.
#[derive(Debug, Default)]
struct Pending {
    settings: Option<SettingsRow>,
    /// How far the stored count of seats used is behind `settings.seats_used`.
    seats_delta: i64,
    events: Vec<NewLogEntry>,
    /// SQLite: the users whose search text changed, re-indexed in one statement at commit (migration 0005).
    search: Vec<String>,
    /// A live user was added, tombstoned or restored: `setting.user_version` moves at commit.
    users_moved: bool,
    /// Directory events (the outbox), written in the same commit as their changes.
    directory: Vec<NewDirectoryEvent>,
    /// Seats used or the licence moved: today's row of the seats chart is written at commit.
    seat_day: bool,
    /// Log entries written at once (failures), to add to the activity chart with the rest at commit.
    counted: Vec<NewLogEntry>,
}

/// Where `Pending` stood when a job began: a failed job's rollback truncates back to it.
#[derive(Debug, Clone, Copy)]
struct Mark {
    settings: Option<SettingsRow>,
    seats_delta: i64,
    events: usize,
    search: usize,
    users_moved: bool,
    directory: usize,
    counted: usize,
}

impl Pending {
    fn mark(&self) -> Mark {
        Mark {
            settings: self.settings,
            seats_delta: self.seats_delta,
            events: self.events.len(),
            search: self.search.len(),
            users_moved: self.users_moved,
            directory: self.directory.len(),
            counted: self.counted.len(),
        }
    }

    fn reset(&mut self, m: Mark) {
        self.settings = m.settings;
        self.seats_delta = m.seats_delta;
        self.events.truncate(m.events);
        self.search.truncate(m.search);
        self.users_moved = m.users_moved;
        self.directory.truncate(m.directory);
        self.counted.truncate(m.counted);
    }
}

/// One transaction on either database, or a connection for reads.
pub struct SqlTx {
    conn: Conn,
    pending: Pending,
    /// While the writer runs a job: where `pending` stood when it began, and whether it has taken its savepoint yet.
    job: Option<(Mark, bool)>,
    /// Reads: the instance's positions of the default user listing.
    positions: Option<Arc<Positions>>,
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

/// Neither database stores a NUL in text (PostgreSQL refuses it), so one never reaches a query: the request that
/// carried it gets `invalidValue` on both.
fn check_args(args: &[Arg<'_>]) -> Result<()> {
    let nul = args.iter().any(|a| match a {
        Arg::Text(s) | Arg::OptText(Some(s)) => s.contains('\0'),
        _ => false,
    });
    if nul { Err(Error::InvalidValue("text with a NUL character cannot be stored".into())) } else { Ok(()) }
}

/// Log text as stored: control characters other than line breaks shown escaped, and at most `max` characters, so any
/// request, however hostile, can be logged.
fn log_text(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max));
    for (i, c) in s.chars().enumerate() {
        if i == max {
            out.push('…');
            break;
        }
        if c.is_control() && c != '\n' {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// Maps a unique-constraint violation to the domain conflict the caller names; anything else is internal.
fn unique(what: &'static str, value: &str) -> impl FnOnce(Error) -> Error {
    move |e| match &e {
        Error::Internal(source)
            if source
                .downcast_ref::<sqlx::Error>()
                .and_then(|s| s.as_database_error())
                .is_some_and(|d| d.is_unique_violation()) =>
        {
            Error::Conflict { what, value: value.to_owned() }
        }
        _ => e,
    }
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

/// Runs `$body` with `$c` bound to the connection of either database; the body is the same SQL for both.
macro_rules! on_conn {
    ($self:ident, |$c:ident| $body:expr) => {
        match &mut $self.conn {
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
pub trait AnyRow: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}
impl<T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin> AnyRow for T {}

impl SqlTx {
    fn new(conn: Conn) -> SqlTx {
        SqlTx { conn, pending: Pending::default(), job: None, positions: None }
    }

    /// Lets this read connection serve deep pages of the default user listing from `positions`.
    pub fn with_positions(mut self, positions: Arc<Positions>) -> SqlTx {
        self.positions = Some(positions);
        self
    }

    pub fn sqlite(tx: Transaction<'static, Sqlite>) -> SqlTx {
        SqlTx::new(Conn::Sqlite(tx))
    }

    pub fn postgres(tx: Transaction<'static, Postgres>) -> SqlTx {
        SqlTx::new(Conn::Postgres(tx))
    }

    pub fn sqlite_read(conn: PoolConnection<Sqlite>) -> SqlTx {
        SqlTx::new(Conn::SqliteRead(conn))
    }

    pub fn postgres_read(conn: PoolConnection<Postgres>) -> SqlTx {
        SqlTx::new(Conn::PostgresRead(conn))
    }

    fn is_sqlite(&self) -> bool {
        matches!(self.conn, Conn::Sqlite(_) | Conn::SqliteRead(_))
    }

    pub fn dialect(&self) -> Dialect {
        if self.is_sqlite() { Dialect::Sqlite } else { Dialect::Postgres }
    }

    pub(super) fn in_transaction(&self) -> bool {
        matches!(self.conn, Conn::Sqlite(_) | Conn::Postgres(_))
    }

    /// Writes what is pending and commits; returns whether directory events were committed. A read connection just
    /// goes back to the pool.
    pub async fn finish(mut self) -> Result<bool> {
        let events = !self.pending.directory.is_empty();
        self.flush().await?;
        match self.conn {
            Conn::Sqlite(tx) => tx.commit().await.map_err(db)?,
            Conn::Postgres(tx) => tx.commit().await.map_err(db)?,
            Conn::SqliteRead(_) | Conn::PostgresRead(_) => {}
        }
        Ok(events)
    }

    /// Keeps a directory event for the commit ([`roster::store::DirectoryTx::emit`]).
    pub(super) fn pending_directory_event(&mut self, event: NewDirectoryEvent) {
        self.pending.directory.push(event);
    }

    /// The writer starts a job: a failure from here on is undone back to this point.
    pub fn start_job(&mut self) {
        self.job = Some((self.pending.mark(), false));
    }

    /// The writer ends a job: a failed one is rolled back to its savepoint, with what it left pending.
    pub async fn end_job(&mut self, ok: bool) -> Result<()> {
        let Some((before, savepoint)) = self.job.take() else { return Ok(()) };
        if !ok {
            self.pending.reset(before);
        }
        if savepoint {
            if !ok {
                self.execute("rollback to savepoint job", &[]).await?;
            }
            // SQLite keeps a successful job's savepoint until the commit releases them all; PostgreSQL is told at
            // once, so its subtransactions stay few.
            if !ok || !self.is_sqlite() {
                self.execute("release savepoint job", &[]).await?;
            }
        }
        Ok(())
    }

    /// `sql`, a statement that changes something, behind the job's savepoint if the job has not taken it yet: taken
    /// lazily, so a job that fails before it writes costs no savepoint. On SQLite the savepoint rides in front of the
    /// statement (`savepoint job; …`), one call instead of two; PostgreSQL takes it at once.
    async fn with_savepoint<'s>(&mut self, sql: &'s str) -> Result<Cow<'s, str>> {
        let sqlite = self.is_sqlite();
        match &mut self.job {
            Some((_, taken @ false)) => *taken = true,
            _ => return Ok(Cow::Borrowed(sql)),
        }
        if sqlite {
            return Ok(Cow::Owned(format!("savepoint job; {sql}")));
        }
        self.execute("savepoint job", &[]).await?;
        Ok(Cow::Borrowed(sql))
    }

    /// The job's savepoint, now: before a write that takes several calls, or whose count of changed rows matters.
    pub(super) async fn savepoint(&mut self) -> Result<()> {
        let sql = self.with_savepoint("").await?.into_owned();
        if !sql.is_empty() {
            self.execute(&sql, &[]).await?;
        }
        Ok(())
    }

    /// The settings row: read once per write transaction, whose lock keeps it true; read afresh on a read connection.
    async fn settings_row(&mut self) -> Result<SettingsRow> {
        if let Some(s) = self.pending.settings {
            return Ok(s);
        }
        let (scim_enabled, seat_limit, seats_used): (bool, i64, i64) = self
            .fetch_one(
                "select scim_enabled, cast(seat_limit as bigint), cast(active_users as bigint) from setting \
                 where setting_id = 1",
                &[],
            )
            .await?;
        let row = SettingsRow { scim_enabled, seat_limit, seats_used };
        if self.in_transaction() {
            self.pending.settings = Some(row);
        }
        Ok(row)
    }

    /// Writes what is pending: the count of seats, the log entries and, on SQLite, the search index; in one call on
    /// SQLite.
    async fn flush(&mut self) -> Result<()> {
        let mut script = Script::new(self.dialect());
        let delta = std::mem::take(&mut self.pending.seats_delta);
        let moved = std::mem::take(&mut self.pending.users_moved);
        if delta != 0 || moved {
            let s = script.statement();
            s.push("update setting set active_users = active_users + ").bind(delta);
            s.push(", user_version = user_version + ").bind(i64::from(moved)).push(" where setting_id = 1");
        }
        if std::mem::take(&mut self.pending.seat_day) {
            // Today's point of the seats chart, after this transaction's moves (the update above runs first).
            let day = roster::service::now().div_euclid(86_400_000);
            script
                .statement()
                .push("insert into seat_day (day, used, peak, seat_limit) select ")
                .bind(day)
                .push(", active_users, active_users, seat_limit from setting where setting_id = 1 ")
                .push("on conflict (day) do update set used = excluded.used, seat_limit = excluded.seat_limit, ")
                .push("peak = case when seat_day.peak > excluded.used then seat_day.peak else excluded.used end");
        }
        let events = std::mem::take(&mut self.pending.events);
        let counted = std::mem::take(&mut self.pending.counted);
        count_activity(&mut script, events.iter().chain(&counted));
        let directory = std::mem::take(&mut self.pending.directory);
        for chunk in directory.chunks(ROWS_PER_INSERT) {
            let s = script.statement();
            s.push("insert into directory_event (event_id, event_type, at, data) values ");
            for (i, e) in chunk.iter().enumerate() {
                s.push(if i == 0 { "(" } else { ", (" });
                s.bind(format!("evt_{}", uuid::Uuid::now_v7().simple())).push(", ");
                s.bind(e.kind.as_str()).push(", ").bind(e.at).push(", ").bind(e.data.to_string()).push(")");
            }
        }
        for chunk in events.chunks(ROWS_PER_INSERT) {
            let s = script.statement();
            s.push("insert into log_entry (").push(LOG_COLUMNS).push(") values ");
            for (i, e) in chunk.iter().enumerate() {
                s.push(if i == 0 { "(" } else { ", (" });
                for (j, a) in log_entry_args(e).into_iter().enumerate() {
                    if j > 0 {
                        s.push(", ");
                    }
                    s.bind(own(a));
                }
                s.push(")");
            }
        }
        let search = std::mem::take(&mut self.pending.search);
        if !search.is_empty() {
            // The ids as one JSON array, so the statement's text is the same for any number of users.
            let ids = serde_json::to_string(&search).map_err(Error::internal)?;
            let changed = "select rowid from app_user where user_id in (select value from json_each(";
            script
                .statement()
                .push("delete from user_search where rowid in (")
                .push(changed)
                .bind(ids.clone())
                .push(")))");
            script
                .statement()
                .push("insert into user_search (rowid, search_folded) select rowid, search_folded from app_user ")
                .push("where user_id in (select value from json_each(")
                .bind(ids)
                .push("))");
        }
        for s in script.statements {
            self.execute(&s.text, &s.args).await?;
        }
        Ok(())
    }

    pub(super) async fn execute(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<u64> {
        check_args(args)?;
        on_conn!(self, |c| bind!(sqlx::query(sql), args).execute(c).await.map(|r| r.rows_affected())).map_err(db)
    }

    /// The plan the database chooses for `sql`, one line per step: for the contract tests and the bench.
    pub async fn explain(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<String> {
        let lines: Vec<String> = if self.is_sqlite() {
            let rows: Vec<(i64, i64, i64, String)> = self.fetch_all(&format!("explain query plan {sql}"), args).await?;
            rows.into_iter().map(|r| r.3).collect()
        } else {
            let rows: Vec<(String,)> = self.fetch_all(&format!("explain {sql}"), args).await?;
            rows.into_iter().map(|r| r.0).collect()
        };
        Ok(lines.join("\n"))
    }

    pub(super) async fn fetch_all<R: AnyRow>(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Vec<R>> {
        check_args(args)?;
        on_conn!(self, |c| bind!(sqlx::query_as::<_, R>(sql), args).fetch_all(c).await).map_err(db)
    }

    pub(super) async fn fetch_optional<R: AnyRow>(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Option<R>> {
        check_args(args)?;
        on_conn!(self, |c| bind!(sqlx::query_as::<_, R>(sql), args).fetch_optional(c).await).map_err(db)
    }

    pub(super) async fn fetch_one<R: AnyRow>(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<R> {
        check_args(args)?;
        on_conn!(self, |c| bind!(sqlx::query_as::<_, R>(sql), args).fetch_one(c).await).map_err(db)
    }

    pub(super) async fn scalar(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<i64> {
        self.fetch_one::<(i64,)>(sql, args).await.map(|(n,)| n)
    }

    /// A statement that may hit a unique index; see [`Self::unique_script`].
    pub(super) async fn unique_write(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
        what: &'static str,
        value: &str,
    ) -> Result<()> {
        let mut script = Script::new(self.dialect());
        let s = script.statement();
        s.push(sql);
        s.args.extend(args.iter().cloned().map(own));
        self.unique_script(script, what, value).await
    }

    /// Runs statements that may hit a unique index so that a conflict leaves the transaction usable: inside a
    /// savepoint on PostgreSQL, which otherwise aborts the transaction; as they are on SQLite, which undoes only the
    /// failed statement (a script stops at it).
    async fn unique_script(&mut self, script: Script, what: &'static str, value: &str) -> Result<()> {
        if self.is_sqlite() {
            for (i, s) in script.statements.iter().enumerate() {
                let sql = if i == 0 { self.with_savepoint(&s.text).await? } else { Cow::Borrowed(s.text.as_str()) };
                self.execute(&sql, &s.args).await.map_err(unique(what, value))?;
            }
            return Ok(());
        }
        self.savepoint().await?;
        self.execute("savepoint roster_unique", &[]).await?;
        let mut r = Ok(0);
        for s in &script.statements {
            r = self.execute(&s.text, &s.args).await.map_err(unique(what, value));
            if r.is_err() {
                break;
            }
        }
        if r.is_err() {
            self.execute("rollback to savepoint roster_unique", &[]).await?;
        }
        self.execute("release savepoint roster_unique", &[]).await?;
        r.map(|_| ())
    }

    /// A statement that changes something, and how many rows it changed. (Not behind the savepoint in one call:
    /// SQLite would count the savepoint as changing as many rows as the statement before it did.)
    pub(super) async fn write(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<u64> {
        self.savepoint().await?;
        self.execute(sql, args).await
    }

    /// A query that changes something and returns rows (`… returning`).
    pub(super) async fn write_returning<R: AnyRow>(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Vec<R>> {
        let sql = self.with_savepoint(sql).await?;
        self.fetch_all(&sql, args).await
    }

    /// A query over a set of ids: `sql` gets the row source of the ids (see [`Sql::bind_rows`]), bound after `lead`.
    pub(super) async fn by_ids<R: AnyRow>(
        &mut self,
        ids: &[UserId],
        sql: impl Fn(&str) -> String,
        lead: &[Arg<'_>],
    ) -> Result<Vec<R>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut s = Sql { args: lead.iter().map(|a| own(a.clone())).collect(), ..Sql::default() };
        s.bind_rows(self.dialect(), ids.iter().map(|id| id.0.as_str()));
        self.fetch_all::<R>(&sql(&s.text), &s.args).await
    }

    /// A page of the default user listing, by seeking to the nearest mark (see [`positions`]).
    async fn seek_users(&mut self, positions: &Positions, start: i64, count: i64) -> Result<Page<UserRecord>> {
        let version = self.scalar("select user_version from setting where setting_id = 1", &[]).await?;
        let marks = positions
            .get(version, || async {
                let keys: Vec<(i64, String)> = self.fetch_all(&positions::marks_sql(), &[]).await?;
                let total = self.scalar("select count(*) from app_user where deleted_at is null", &[]).await?;
                Ok(Marks { version, total, keys })
            })
            .await?;
        let (limit, offset) = limit(start, count);
        let start_index = start.max(1);
        let Some(((created_at, user_id), skip)) = marks.seek(offset).filter(|_| limit > 0) else {
            return Ok(Page { items: Vec::new(), total: marks.total, start_index });
        };
        let sql = format!(
            "select {USER_COLUMNS} from app_user where deleted_at is null and (created_at, user_id) >= ($1, $2) \
             order by created_at, user_id limit $3 offset $4"
        );
        let items = self.fetch_all(&sql, &args![*created_at, user_id.as_str(), limit, skip]).await?;
        Ok(Page { items, total: marks.total, start_index })
    }

    async fn page<R: AnyRow>(
        &mut self,
        select: &str,
        from: &str,
        w: Sql,
        order: &str,
        start: i64,
        count: i64,
    ) -> Result<Page<R>> {
        let (limit, offset) = limit(start, count);
        let count_sql = format!("select count(*) from {from}{}", w.text);
        if limit == 0 {
            let total = self.scalar(&count_sql, &w.args).await?;
            return Ok(Page { items: Vec::new(), total, start_index: start.max(1) });
        }
        let mut q = Sql { text: w.text.clone(), args: w.args.clone() };
        q.push(order).page(start, count);
        let items = self.fetch_all::<R>(&format!("select {select} from {from}{}", q.text), &q.args).await?;
        // A page that is not full ends the matches, so it tells the total without counting them (an Okta lookup is one
        // statement); a full or empty page needs the count.
        let total = match items.len() as i64 {
            n if n < limit && (n > 0 || offset == 0) => offset + n,
            _ => self.scalar(&count_sql, &w.args).await?,
        };
        Ok(Page { items, total, start_index: start.max(1) })
    }
}

/// The user's emails as rows, in one statement, next in `script`.
fn index_emails(script: &mut Script, u: &User) {
    let emails = u.emails();
    if emails.is_empty() {
        return;
    }
    let s = script.statement();
    s.push("insert into user_email (user_id, position, value_folded, value, type, is_primary) values ");
    for (i, e) in emails.into_iter().enumerate() {
        s.push(if i == 0 { "(" } else { ", (" });
        s.bind(u.id.0.clone()).push(", ").bind(i as i64).push(", ").bind(fold(&e.value)).push(", ");
        s.bind(e.value).push(", ").bind(e.kind).push(", ").bind(e.primary).push(")");
    }
}

/// The values of a log entry, in the column order of `log_entry`, as the log stores them.
/// Adds log entries to the activity chart's hours, one upsert per hour touched.
fn count_activity<'e>(script: &mut Script, events: impl Iterator<Item = &'e NewLogEntry>) {
    let mut hours: std::collections::BTreeMap<i64, [i64; 3]> = Default::default();
    for e in events {
        let h = hours.entry(e.at.div_euclid(3_600_000)).or_default();
        h[match e.outcome {
            Outcome::Ok => 0,
            Outcome::NoSeats => 1,
            Outcome::Failed => 2,
        }] += 1;
    }
    for (hour, [writes, no_seats, failed]) in hours {
        script
            .statement()
            .push("insert into activity_hour (hour, writes, no_seats, failed) values (")
            .bind(hour)
            .push(", ")
            .bind(writes)
            .push(", ")
            .bind(no_seats)
            .push(", ")
            .bind(failed)
            .push(") on conflict (hour) do update set writes = activity_hour.writes + excluded.writes, ")
            .push("no_seats = activity_hour.no_seats + excluded.no_seats, failed = activity_hour.failed + excluded.failed");
    }
}

fn log_entry_args(e: &NewLogEntry) -> Vec<Arg<'_>> {
    Vec::from(args![
        e.at,
        log_text(&e.actor, 256),
        log_text(&e.method, 16),
        log_text(&e.path, 2048),
        i64::from(e.status),
        e.outcome.as_str(),
        e.target.as_ref().map(|t| kind_str(t.kind)),
        e.target.as_ref().map(|t| log_text(&t.id, roster::scim::MAX_INDEXED_CHARS)),
        e.target.as_ref().map(|t| log_text(&t.name, 512)),
        log_text(&e.diff, 4096),
        log_text(&e.detail, 4096),
        e.request_id.as_deref().map(|id| log_text(id, 64)),
    ])
}

/// An owned copy of an argument, for a builder that outlives the borrowed one.
fn own(a: Arg<'_>) -> Arg<'static> {
    match a {
        Arg::Text(s) => Arg::Text(s.into_owned().into()),
        Arg::OptText(s) => Arg::OptText(s.map(|s| s.into_owned().into())),
        Arg::Int(i) => Arg::Int(i),
        Arg::OptInt(i) => Arg::OptInt(i),
        Arg::Bool(b) => Arg::Bool(b),
    }
}

/// The columns of `app_user`, in the order of [`user_args`].
const USER_FIELDS: &str = "user_id, user_name, user_name_folded, external_id, display_name, given_name, family_name, \
    email, search_folded, active, inactive_reason, managed_by, managed_by_idp, deleted_at, attributes, version, \
    created_at, updated_at";

fn user_args(u: &User) -> Vec<Arg<'_>> {
    let reason = u.inactive_reason.as_ref().map(|r| serde_json::to_string(r).unwrap_or_default());
    Vec::from(args![
        &u.id.0,
        &u.user_name,
        fold(&u.user_name),
        &u.external_id,
        &u.display_name,
        &u.given_name,
        &u.family_name,
        &u.email,
        search_text(u),
        u.active,
        reason,
        u.managed_by.label(),
        u.managed_by.is_scim(),
        u.deleted_at,
        serde_json::Value::Object(u.attributes.clone()).to_string(),
        u.version,
        u.created_at,
        u.updated_at,
    ])
}

fn group_args(g: &Group) -> Vec<Arg<'_>> {
    Vec::from(args![
        &g.id.0,
        &g.display_name,
        fold(&g.display_name),
        &g.external_id,
        g.managed_by.label(),
        g.managed_by.is_scim(),
        serde_json::Value::Object(g.extra.clone()).to_string(),
        g.member_count,
        g.version,
        g.created_at,
        g.updated_at,
    ])
}

#[async_trait]
impl Tx for SqlTx {
    async fn commit(self: Box<Self>) -> Result<()> {
        self.finish().await.map(|_| ())
    }

    async fn settings(&mut self) -> Result<Settings> {
        let row = self.settings_row().await?;
        Ok(Settings { scim_enabled: row.scim_enabled, seats: SeatLimit(row.seat_limit) })
    }

    async fn set_scim_enabled(&mut self, on: bool) -> Result<()> {
        self.settings_row().await?;
        self.write("update setting set scim_enabled = $1 where setting_id = 1", &args![on]).await?;
        if let Some(s) = &mut self.pending.settings {
            s.scim_enabled = on;
        }
        Ok(())
    }

    async fn set_seat_limit(&mut self, seats: SeatLimit) -> Result<()> {
        self.settings_row().await?;
        self.write("update setting set seat_limit = $1 where setting_id = 1", &args![seats.0]).await?;
        self.pending.seat_day = true;
        if let Some(s) = &mut self.pending.settings {
            s.seat_limit = seats.0;
        }
        Ok(())
    }

    async fn setup_token(&mut self) -> Result<Option<(String, Millis)>> {
        let (token, at): (Option<String>, Option<i64>) =
            self.fetch_one("select setup_token, setup_token_issued_at from setting where setting_id = 1", &[]).await?;
        Ok(token.map(|t| (t, at.unwrap_or(0))))
    }

    async fn set_setup_token(&mut self, token: Option<(&str, Millis)>) -> Result<()> {
        let (token, at) = (token.map(|(t, _)| t), token.map(|(_, at)| at));
        let sql = "update setting set setup_token = $1, setup_token_issued_at = $2 where setting_id = 1";
        self.write(sql, &args![token, at]).await.map(|_| ())
    }

    async fn seat_usage(&mut self) -> Result<SeatUsage> {
        // The running count (migration 0002), moved by the services in the same transaction as each user write, so a
        // seat check is O(1) at any directory size.
        let row = self.settings_row().await?;
        Ok(SeatUsage { used: row.seats_used, limit: row.seat_limit })
    }

    async fn adjust_seats_used(&mut self, by: i64) -> Result<()> {
        if by == 0 {
            return Ok(());
        }
        if !self.in_transaction() {
            return Err(Error::internal("seats can only move in a write transaction"));
        }
        // Kept in memory and written once, at commit: the transaction's lock keeps the row ours until then.
        self.settings_row().await?;
        if let Some(s) = &mut self.pending.settings {
            s.seats_used += by;
        }
        self.pending.seats_delta += by;
        self.pending.seat_day = true;
        Ok(())
    }

    async fn counts(&mut self) -> Result<Counts> {
        let (users, groups): (i64, i64) = self
            .fetch_one(
                "select (select count(*) from app_user where deleted_at is null), (select count(*) from app_group)",
                &[],
            )
            .await?;
        Ok(Counts { users, groups })
    }

    async fn count_admins(&mut self) -> Result<i64> {
        self.scalar("select count(*) from admin", &[]).await
    }

    async fn insert_admin(&mut self, email: &str, password_hash: &str, now: Millis) -> Result<Admin> {
        self.unique_write(
            "insert into admin (email, email_folded, password_hash, created_at, updated_at) values ($1, $2, $3, $4, $4)",
            &args![email, fold(email), password_hash, now],
            "admin email",
            email,
        )
        .await?;
        let sql = format!("select {ADMIN_COLUMNS} from admin where email_folded = $1");
        let row: AdminRecord = self.fetch_one(&sql, &args![fold(email)]).await?;
        Ok(row.into())
    }

    async fn admin_credentials(&mut self, email_folded: &str) -> Result<Option<(Admin, String)>> {
        let row: Option<AdminRecord> = self
            .fetch_optional(&format!("select {ADMIN_COLUMNS} from admin where email_folded = $1"), &args![email_folded])
            .await?;
        let Some(row) = row else { return Ok(None) };
        let admin = Admin::from(row);
        Ok(self.admin_password_hash(admin.id).await?.map(|hash| (admin, hash)))
    }

    async fn admin_password_hash(&mut self, id: AdminId) -> Result<Option<String>> {
        let row: Option<(String,)> =
            self.fetch_optional("select password_hash from admin where admin_id = $1", &args![id.0]).await?;
        Ok(row.map(|(h,)| h))
    }

    async fn admin(&mut self, id: AdminId) -> Result<Option<Admin>> {
        let sql = format!("select {ADMIN_COLUMNS} from admin where admin_id = $1");
        let row: Option<AdminRecord> = self.fetch_optional(&sql, &args![id.0]).await?;
        Ok(row.map(Into::into))
    }

    async fn list_admins(&mut self) -> Result<Vec<Admin>> {
        let rows: Vec<AdminRecord> =
            self.fetch_all(&format!("select {ADMIN_COLUMNS} from admin order by email_folded"), &[]).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn set_admin_password(&mut self, id: AdminId, password_hash: &str, now: Millis) -> Result<()> {
        self.write(
            "update admin set password_hash = $1, updated_at = $2, sessions_valid_from = $2 where admin_id = $3",
            &args![password_hash, now, id.0],
        )
        .await
        .map(|_| ())
    }

    async fn delete_admin(&mut self, id: AdminId) -> Result<()> {
        self.write("delete from admin where admin_id = $1", &args![id.0]).await.map(|_| ())
    }

    async fn count_sign_in_attempt(&mut self, key: &str, now: Millis, window_floor: Millis) -> Result<(i64, Millis)> {
        // One statement, so the count and the check cannot be split by another attempt.
        self.savepoint().await?;
        self.fetch_one(
            "insert into sign_in_attempt (attempt_key, window_start, attempts) values ($1, $2, 1) \
             on conflict (attempt_key) do update set \
             attempts = case when sign_in_attempt.window_start < $3 then 1 else sign_in_attempt.attempts + 1 end, \
             window_start = case when sign_in_attempt.window_start < $3 then $2 else sign_in_attempt.window_start end \
             returning attempts, window_start",
            &args![key, now, window_floor],
        )
        .await
    }

    async fn clear_sign_in_attempts(&mut self, keys: &[String]) -> Result<()> {
        for key in keys {
            self.write("delete from sign_in_attempt where attempt_key = $1", &args![key]).await?;
        }
        Ok(())
    }

    async fn insert_token(&mut self, kind: TokenKind, name: &str, token_hash: &str, now: Millis) -> Result<Token> {
        self.unique_write(
            "insert into scim_token (name, name_folded, token_hash, created_at, kind) values ($1, $2, $3, $4, $5)",
            &args![name, fold(name), token_hash, now, kind.as_str()],
            "token name",
            name,
        )
        .await?;
        let row: TokenRecord = self
            .fetch_one(
                "select token_id, name, created_at, last_used_at, revoked_at from scim_token where token_hash = $1",
                &args![token_hash],
            )
            .await?;
        Ok(row.into())
    }

    async fn list_tokens(&mut self, kind: TokenKind) -> Result<Vec<Token>> {
        let rows: Vec<TokenRecord> = self
            .fetch_all(
                "select token_id, name, created_at, last_used_at, revoked_at from scim_token where kind = $1 \
                 order by revoked_at is not null, created_at desc",
                &args![kind.as_str()],
            )
            .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn revoke_token(&mut self, kind: TokenKind, name_folded: &str, now: Millis) -> Result<bool> {
        let sql = "update scim_token set revoked_at = $1 where name_folded = $2 and kind = $3 and revoked_at is null";
        Ok(self.write(sql, &args![now, name_folded, kind.as_str()]).await? > 0)
    }

    async fn live_tokens(&mut self) -> Result<(Vec<LiveToken>, bool)> {
        let rows: Vec<(String, String, i64, String, i64, Option<i64>)> = self
            .fetch_all(
                "select kind, token_hash, token_id, name, created_at, last_used_at from scim_token \
                 where revoked_at is null",
                &[],
            )
            .await?;
        let enabled = self.settings_row().await?.scim_enabled;
        let tokens = rows
            .into_iter()
            .map(|(kind, hash, id, name, created_at, last_used_at)| LiveToken {
                kind: if kind == "api" { TokenKind::Api } else { TokenKind::Scim },
                hash,
                token: Token { id: TokenId(id), name, created_at, last_used_at, revoked_at: None },
            })
            .collect();
        Ok((tokens, enabled))
    }

    async fn touch_token(&mut self, id: TokenId, now: Millis) -> Result<()> {
        self.write("update scim_token set last_used_at = $1 where token_id = $2", &args![now, id.0]).await.map(|_| ())
    }

    async fn user(&mut self, id: &UserId) -> Result<Option<User>> {
        let sql = format!("select {USER_COLUMNS} from app_user where user_id = $1");
        self.fetch_optional::<UserRecord>(&sql, &args![&id.0]).await?.map(User::try_from).transpose()
    }

    async fn user_by_name(&mut self, user_name_folded: &str) -> Result<Option<User>> {
        let sql = format!("select {USER_COLUMNS} from app_user where user_name_folded = $1");
        self.fetch_optional::<UserRecord>(&sql, &args![user_name_folded]).await?.map(User::try_from).transpose()
    }

    async fn insert_user(&mut self, u: &User) -> Result<()> {
        let mut script = Script::new(self.dialect());
        let insert = script.statement();
        insert.push(&format!("insert into app_user ({USER_FIELDS}) values ("));
        insert.bind_list(user_args(u).into_iter().map(own)).push(")");
        index_emails(&mut script, u);
        self.unique_script(script, "userName", &u.user_name).await?;
        if self.is_sqlite() {
            self.pending.search.push(u.id.0.clone());
        }
        self.pending.users_moved |= u.deleted_at.is_none();
        Ok(())
    }

    async fn update_user(&mut self, before: &User, after: &User) -> Result<()> {
        let mut script = Script::new(self.dialect());
        let update = script.statement();
        update.push("update app_user set ");
        // Every field but the id, which is the first.
        for (i, (field, arg)) in USER_FIELDS.split(", ").zip(user_args(after)).enumerate().skip(1) {
            update.push(if i == 1 { "" } else { ", " }).push(field).push(" = ").bind(own(arg));
        }
        update.push(" where user_id = ").bind(after.id.0.clone());
        if before.emails() != after.emails() {
            script.statement().push("delete from user_email where user_id = ").bind(after.id.0.clone());
            index_emails(&mut script, after);
        }
        self.unique_script(script, "userName", &after.user_name).await?;
        if self.is_sqlite() && search_text(before) != search_text(after) {
            self.pending.search.push(after.id.0.clone());
        }
        self.pending.users_moved |= before.deleted_at.is_some() != after.deleted_at.is_some();
        Ok(())
    }

    async fn list_users(&mut self, q: &UserQuery) -> Result<Page<User>> {
        let page: Page<UserRecord> = match self.positions.clone().filter(|_| positions::serves(q)) {
            Some(positions) => self.seek_users(&positions, q.start_index, q.count).await?,
            None => {
                let w = user_where(q, self.dialect())?;
                self.page(USER_COLUMNS, "app_user", w, &user_order(q), q.start_index, q.count).await?
            }
        };
        let items = page.items.into_iter().map(User::try_from).collect::<Result<_>>()?;
        Ok(Page { items, total: page.total, start_index: page.start_index })
    }

    async fn groups_of_user(&mut self, id: &UserId) -> Result<Vec<GroupRef>> {
        let rows: Vec<(String, String)> = self
            .fetch_all(
                "select g.group_id, g.display_name from group_member m join app_group g on g.group_id = m.group_id \
                 where m.user_id = $1 order by g.display_name_folded",
                &args![&id.0],
            )
            .await?;
        Ok(rows.into_iter().map(|(id, name)| GroupRef { id: GroupId(id), display_name: name }).collect())
    }

    async fn users_by_ids(&mut self, ids: &[UserId]) -> Result<Vec<User>> {
        let rows: Vec<UserRecord> = self
            .by_ids(
                ids,
                |rows| format!("select {USER_COLUMNS} from app_user where user_id in (select value from {rows})"),
                &[],
            )
            .await?;
        rows.into_iter().map(User::try_from).collect()
    }

    async fn live_users(&mut self, ids: &[UserId]) -> Result<Vec<(UserId, bool)>> {
        let sql = |rows: &str| {
            format!(
                "select user_id, active from app_user where deleted_at is null and user_id in (select value from {rows})"
            )
        };
        let rows: Vec<(String, bool)> = self.by_ids(ids, sql, &[]).await?;
        Ok(rows.into_iter().map(|(id, active)| (UserId(id), active)).collect())
    }

    async fn group_counts(&mut self, ids: &[UserId]) -> Result<Vec<(UserId, i64)>> {
        let sql = |rows: &str| {
            format!(
                "select user_id, count(*) from group_member where user_id in (select value from {rows}) group by user_id"
            )
        };
        let rows: Vec<(String, i64)> = self.by_ids(ids, sql, &[]).await?;
        Ok(rows.into_iter().map(|(id, n)| (UserId(id), n)).collect())
    }

    async fn group(&mut self, id: &GroupId) -> Result<Option<Group>> {
        let sql = format!("select {GROUP_COLUMNS} from app_group where group_id = $1");
        self.fetch_optional::<GroupRecord>(&sql, &args![&id.0]).await?.map(Group::try_from).transpose()
    }

    async fn group_by_name(&mut self, folded: &str) -> Result<Option<Group>> {
        let sql = format!("select {GROUP_COLUMNS} from app_group where display_name_folded = $1");
        self.fetch_optional::<GroupRecord>(&sql, &args![folded]).await?.map(Group::try_from).transpose()
    }

    async fn insert_group(&mut self, g: &Group) -> Result<()> {
        self.unique_write(
            "insert into app_group (group_id, display_name, display_name_folded, external_id, managed_by, \
             managed_by_idp, extra, member_count, version, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &group_args(g),
            "group name",
            &g.display_name,
        )
        .await
    }

    async fn update_group(&mut self, g: &Group) -> Result<()> {
        self.unique_write(
            "update app_group set display_name = $2, display_name_folded = $3, external_id = $4, managed_by = $5, \
             managed_by_idp = $6, extra = $7, member_count = $8, version = $9, created_at = $10, updated_at = $11 \
             where group_id = $1",
            &group_args(g),
            "group name",
            &g.display_name,
        )
        .await
    }

    async fn delete_group(&mut self, id: &GroupId) -> Result<()> {
        self.write("delete from app_group where group_id = $1", &args![&id.0]).await.map(|_| ())
    }

    async fn list_groups(&mut self, q: &GroupQuery) -> Result<Page<Group>> {
        let page: Page<GroupRecord> =
            self.page(GROUP_COLUMNS, "app_group", group_where(q)?, &group_order(q), q.start_index, q.count).await?;
        let items = page.items.into_iter().map(Group::try_from).collect::<Result<_>>()?;
        Ok(Page { items, total: page.total, start_index: page.start_index })
    }

    async fn members(&mut self, id: &GroupId, start_index: i64, count: i64) -> Result<Page<MemberRef>> {
        let from = "group_member m join app_user u on u.user_id = m.user_id";
        let mut w = Sql::default();
        w.push(" where m.group_id = ").bind(id.0.clone()).push(" and u.deleted_at is null");
        // count 0 means every member.
        let (start, count) = if count <= 0 { (1, i64::MAX) } else { (start_index, count) };
        let page: Page<(String, String, bool)> = self
            .page("u.user_id, u.user_name, u.active", from, w, " order by u.user_name_folded", start, count)
            .await?;
        let items =
            page.items.into_iter().map(|(id, user_name, active)| MemberRef { id: UserId(id), user_name, active });
        Ok(Page { items: items.collect(), total: page.total, start_index: start_index.max(1) })
    }

    async fn members_of(&mut self, ids: &[GroupId]) -> Result<Vec<Vec<MemberRef>>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut s = Sql::default();
        s.push(
            "select m.group_id, u.user_id, u.user_name, u.active from group_member m \
             join app_user u on u.user_id = m.user_id where u.deleted_at is null and m.group_id in (select value from ",
        );
        s.bind_rows(self.dialect(), ids.iter().map(|g| g.0.as_str())).push(") order by u.user_name_folded");
        let rows: Vec<(String, String, String, bool)> = self.fetch_all(&s.text, &s.args).await?;
        let mut by_group: HashMap<String, Vec<MemberRef>> = HashMap::new();
        for (group, id, user_name, active) in rows {
            by_group.entry(group).or_default().push(MemberRef { id: UserId(id), user_name, active });
        }
        Ok(ids.iter().map(|g| by_group.remove(&g.0).unwrap_or_default()).collect())
    }

    async fn add_members(&mut self, id: &GroupId, users: &[UserId], now: Millis) -> Result<Vec<UserId>> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let mut s = Sql::default();
        s.push("insert into group_member (group_id, user_id, added_at) select ").bind(id.0.clone());
        s.push(", value, ").bind(now).push(" from ");
        // `where true` tells SQLite's parser the `on conflict` is the upsert's, not a join's.
        s.bind_rows(self.dialect(), users.iter().map(|u| u.0.as_str()));
        s.push(" where true on conflict do nothing returning user_id");
        let rows: Vec<(String,)> = self.write_returning(&s.text, &s.args).await?;
        Ok(rows.into_iter().map(|(u,)| UserId(u)).collect())
    }

    async fn remove_members(&mut self, id: &GroupId, users: &[UserId]) -> Result<Vec<UserId>> {
        let sql = |rows: &str| {
            format!(
                "delete from group_member where group_id = $1 and user_id in (select value from {rows}) returning user_id"
            )
        };
        self.savepoint().await?;
        let rows: Vec<(String,)> = self.by_ids(users, sql, &args![&id.0]).await?;
        Ok(rows.into_iter().map(|(u,)| UserId(u)).collect())
    }

    async fn clear_members(&mut self, id: &GroupId) -> Result<Vec<UserId>> {
        let rows: Vec<(String,)> = self
            .write_returning("delete from group_member where group_id = $1 returning user_id", &args![&id.0])
            .await?;
        Ok(rows.into_iter().map(|(u,)| UserId(u)).collect())
    }

    async fn member_ids(&mut self, id: &GroupId) -> Result<Vec<UserId>> {
        let rows: Vec<(String,)> =
            self.fetch_all("select user_id from group_member where group_id = $1", &args![&id.0]).await?;
        Ok(rows.into_iter().map(|(u,)| UserId(u)).collect())
    }

    async fn idp_counts(&mut self) -> Result<Vec<IdpObjects>> {
        let mut by_idp: std::collections::BTreeMap<String, IdpObjects> = Default::default();
        for (i, table) in ["app_user", "app_group"].into_iter().enumerate() {
            let sql = format!("select managed_by, count(*) from {table} where managed_by_idp = $1 group by managed_by");
            let rows: Vec<(String, i64)> = self.fetch_all(&sql, &args![true]).await?;
            for (idp, n) in rows {
                let e = by_idp.entry(idp.clone()).or_insert(IdpObjects { idp, users: 0, groups: 0 });
                if i == 0 { e.users = n } else { e.groups = n }
            }
        }
        Ok(by_idp.into_values().collect())
    }

    async fn release_idp(&mut self, label: &str) -> Result<(i64, i64)> {
        let local = ManagedBy::Local;
        let mut counts = [0i64; 2];
        for (n, table) in counts.iter_mut().zip(["app_user", "app_group"]) {
            let sql = format!(
                "update {table} set managed_by = $1, managed_by_idp = $2 where managed_by_idp = $3 and managed_by = $4"
            );
            *n = self.write(&sql, &args![local.label(), false, true, label]).await? as i64;
        }
        Ok((counts[0], counts[1]))
    }

    async fn insert_log_entry(&mut self, e: &NewLogEntry) -> Result<LogEntryId> {
        self.savepoint().await?;
        if self.in_transaction() {
            // Counted in the activity chart at commit, with the transaction's other entries.
            self.pending.counted.push(e.clone());
        }
        let (id,): (i64,) = self
            .fetch_one(
                &format!(
                    "insert into log_entry ({LOG_COLUMNS}) \
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) returning event_id"
                ),
                &log_entry_args(e),
            )
            .await?;
        Ok(LogEntryId(id))
    }

    async fn add_log_entry(&mut self, e: &NewLogEntry) -> Result<()> {
        if self.in_transaction() {
            // Written with the others of this transaction in one statement, just before it commits.
            self.pending.events.push(e.clone());
            return Ok(());
        }
        self.insert_log_entry(e).await.map(|_| ())
    }

    async fn log_entries(&mut self, q: &LogQuery) -> Result<Page<LogEntry>> {
        let select = format!("event_id, {LOG_COLUMNS}");
        let page: Page<LogEntryRecord> =
            self.page(&select, "log_entry", log_where(q), " order by event_id desc", q.start_index, q.count).await?;
        Ok(Page {
            items: page.items.into_iter().map(Into::into).collect(),
            total: page.total,
            start_index: page.start_index,
        })
    }

    async fn prune_sign_in_attempts(&mut self, before: Millis) -> Result<u64> {
        self.write("delete from sign_in_attempt where window_start < $1", &args![before]).await
    }

    async fn prune_log_entries(&mut self, before: Millis, limit: i64) -> Result<u64> {
        // The oldest entries first, a bounded batch at a time, so each prune holds the write lock only briefly.
        self.write(
            "delete from log_entry where event_id in \
             (select event_id from log_entry where at < $1 order by event_id limit $2)",
            &args![before, limit],
        )
        .await
    }

    async fn log_entry(&mut self, id: LogEntryId) -> Result<Option<LogEntry>> {
        let row: Option<LogEntryRecord> = self
            .fetch_optional(&format!("select event_id, {LOG_COLUMNS} from log_entry where event_id = $1"), &args![id.0])
            .await?;
        Ok(row.map(Into::into))
    }
}
