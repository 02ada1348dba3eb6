//! The per-job scope: [`SqlTx`], one transaction or read connection, through which every concern's SQL runs.
//!
//! The writer ([`super::writer`]) runs several jobs in one transaction. Each job gets a scope of its own: a savepoint,
//! taken just before its first write, and its own pending state. A job that succeeds hands its pending state to the
//! transaction; one that fails rolls back to its savepoint and its pending state is dropped, so nothing it did, in the
//! database or in memory, survives it. At commit the transaction writes what its jobs left pending (the seat count,
//! log entries, directory events, the search index).
//!
//! Reads go through [`SqlTx::fetch_all`] and its siblings; every write goes through [`SqlTx::write`] and its
//! siblings, which take the job's savepoint themselves and refuse to run outside a write transaction.
use super::conn::{AnyRow, Conn, check_args};
use super::positions::Positions;
use super::sql::{Arg, Dialect, Script, Sql, limit};
use super::{log, outbox, settings, users};
use roster::model::*;
use roster::store::NewLogEntry;
use roster::{Error, Result};
use std::borrow::Cow;
use std::sync::Arc;

/// The settings row as a write transaction knows it.
#[derive(Debug, Clone, Copy)]
pub(super) struct SettingsRow {
    pub scim_enabled: bool,
    pub seat_limit: i64,
    pub seats_used: i64,
}

/// What a job, and then its transaction, keeps in memory until the commit writes it.
#[derive(Debug, Default)]
pub(super) struct Pending {
    /// How far the stored count of seats used is behind.
    pub seats_delta: i64,
    /// Log entries, numbered as they come and written, hashed into the chain, at commit.
    pub log: Vec<(LogEntryId, NewLogEntry)>,
    /// SQLite: the users whose search text changed, re-indexed in one statement at commit (migration 0005).
    pub search: Vec<String>,
    /// A user was tombstoned or restored, which moves the listing's positions after them: `setting.user_version` moves
    /// at commit (see `positions.rs`).
    pub users_moved: bool,
    /// How far the stored totals of users and of live users are behind (migration 0014).
    pub users_added: i64,
    pub live_delta: i64,
    /// Directory events (the outbox), written in the same commit as their changes.
    pub directory: Vec<NewDirectoryEvent>,
    /// Seats used or the licence moved: today's row of the seats chart is written at commit.
    pub seat_day: bool,
}

impl Pending {
    /// Takes on what a successful job left.
    fn absorb(&mut self, job: Pending) {
        self.seats_delta += job.seats_delta;
        self.log.extend(job.log);
        self.search.extend(job.search);
        self.users_moved |= job.users_moved;
        self.users_added += job.users_added;
        self.live_delta += job.live_delta;
        self.directory.extend(job.directory);
        self.seat_day |= job.seat_day;
    }
}

/// What a transaction's commit wrote that others are told of.
#[derive(Debug, Default)]
pub struct Committed {
    /// Directory events were written.
    pub events: bool,
    /// The log entries written, as stored, in order.
    pub log: Vec<LogEntry>,
    /// The log chain's row as the commit left it, for the writer to keep (SQLite).
    pub chain: Option<log::ChainRow>,
}

/// The job the writer is running.
#[derive(Debug, Default)]
struct Job {
    pending: Pending,
    /// The settings row as this job changed it.
    settings: Option<SettingsRow>,
    /// Log entries this job numbered.
    logged: Option<i64>,
    savepoint: bool,
}

/// One transaction on either database, or a connection for reads.
pub struct SqlTx {
    conn: Conn,
    /// Only the writer's transaction writes.
    writable: bool,
    /// The settings row as the transaction's finished jobs left it: read once, then kept (the transaction holds the
    /// write lock, so nothing else changes it).
    settings: Option<SettingsRow>,
    /// The log chain's row: read at the transaction's first log entry, or (SQLite) kept by the writer from the
    /// transaction before, and whether it was read in this transaction, under its write lock.
    pub(super) chain: Option<log::ChainRow>,
    pub(super) chain_fresh: bool,
    /// Log entries the transaction's finished jobs numbered.
    logged: i64,
    pending: Pending,
    job: Option<Job>,
    /// Reads: the instance's positions of the default user listing.
    pub(super) positions: Option<Arc<Positions>>,
}

impl SqlTx {
    fn new(conn: Conn, writable: bool) -> SqlTx {
        SqlTx {
            conn,
            writable,
            settings: None,
            chain: None,
            chain_fresh: false,
            logged: 0,
            pending: Pending::default(),
            job: None,
            positions: None,
        }
    }

    /// The writer's transaction.
    pub(super) fn writer(conn: Conn) -> SqlTx {
        SqlTx::new(conn, true)
    }

    /// Reads: a connection, or a snapshot transaction.
    pub(super) fn reader(conn: Conn) -> SqlTx {
        SqlTx::new(conn, false)
    }

    /// Lets this read connection serve deep pages of the default user listing from `positions`.
    pub fn with_positions(mut self, positions: Arc<Positions>) -> SqlTx {
        self.positions = Some(positions);
        self
    }

    pub(super) fn is_sqlite(&self) -> bool {
        self.conn.is_sqlite()
    }

    pub fn dialect(&self) -> Dialect {
        if self.is_sqlite() { Dialect::Sqlite } else { Dialect::Postgres }
    }

    /// An empty script for this connection.
    pub(super) fn script(&self) -> Script {
        Script::new(self.conn.joins_statements())
    }

    pub(super) fn writable(&self) -> bool {
        self.writable
    }

    /// What the running job (or, outside a job, the transaction) keeps for the commit.
    pub(super) fn pending(&mut self) -> &mut Pending {
        match &mut self.job {
            Some(job) => &mut job.pending,
            None => &mut self.pending,
        }
    }

    /// The writer starts a job: a failure from here on is undone back to this point.
    pub fn start_job(&mut self) {
        self.job = Some(Job::default());
    }

    /// The writer ends a job: a successful one hands its pending state to the transaction; a failed one is rolled
    /// back to its savepoint, and its pending state dropped. An error here means the transaction cannot be trusted.
    pub async fn end_job(&mut self, outcome: Result<(), &Error>) -> Result<()> {
        let Some(job) = self.job.take() else { return Ok(()) };
        let ok = outcome.is_ok();
        // A PostgreSQL statement that failed aborts the whole transaction unless a savepoint was there to roll back
        // to: a job that failed in the database before its first write leaves nothing the batch can commit.
        if let Err(Error::Internal(_) | Error::Unavailable(_)) = outcome
            && !job.savepoint
            && !self.is_sqlite()
        {
            return Err(Error::internal("a database error aborted the write transaction"));
        }
        if ok {
            self.pending.absorb(job.pending);
            if job.settings.is_some() {
                self.settings = job.settings;
            }
            if let Some(logged) = job.logged {
                self.logged = logged;
            }
        }
        // An error SQLite answers by rolling back the whole transaction (a full disk, an I/O error) leaves the rest of
        // the batch running outside one, each statement committed alone: stop it here.
        if self.conn.transaction_lost() {
            return Err(Error::Unavailable("the write transaction was rolled back; retry shortly".into()));
        }
        if job.savepoint {
            if !ok {
                self.conn.execute("rollback to savepoint job", &[]).await?;
            }
            // SQLite keeps a successful job's savepoint until the commit releases them all; PostgreSQL is told at
            // once, so its subtransactions stay few.
            if !ok || !self.is_sqlite() {
                self.conn.execute("release savepoint job", &[]).await?;
            }
        }
        Ok(())
    }

    /// The writer's transaction on SQLite, with the log chain's row as the writer's previous transaction left it: no
    /// read for it. If another process wrote log entries since, the commit finds their numbers taken and reads it.
    pub(super) fn with_chain_kept(mut self, chain: Option<log::ChainRow>) -> SqlTx {
        self.chain = chain;
        self.chain_fresh = false;
        self
    }

    /// Writes what is pending and commits. A read connection just goes back to the pool; a snapshot ends.
    pub async fn finish(mut self) -> Result<Committed> {
        let committed = self.seal().await?;
        self.conn.commit().await?;
        Ok(committed)
    }

    /// The connection, once the transaction is over.
    pub(super) fn into_conn(self) -> Conn {
        self.conn
    }

    /// Commits what [`Self::seal`] wrote.
    pub(super) async fn commit_sealed(self) -> Result<()> {
        self.conn.commit().await
    }

    /// Writes what is pending, for a commit that follows: [`Self::finish`], or the writer's own on a direct
    /// connection.
    pub(super) async fn seal(&mut self) -> Result<Committed> {
        let events = !self.pending.directory.is_empty();
        let log = if self.writable { self.flush().await? } else { Vec::new() };
        Ok(Committed { events, log, chain: self.chain.take() })
    }

    /// Writes what is pending: each concern adds its statements, the log entries first (in one call on a sqlx SQLite
    /// connection). Returns the log entries written, as stored.
    async fn flush(&mut self) -> Result<Vec<LogEntry>> {
        let mut pending = std::mem::take(&mut self.pending);
        let mut log = log::stored(std::mem::take(&mut pending.log));
        loop {
            log::seal(self, &mut log).await?;
            let mut script = self.script();
            log::flush(&mut script, &log, self.chain.as_ref());
            settings::flush(&mut script, &pending);
            outbox::flush(&mut script, &pending.directory);
            users::flush_search(&mut script, &pending.search)?;
            let mut ran = Ok(());
            let mut failed_at = 0;
            for (i, s) in script.statements.iter().enumerate() {
                ran = self.conn.execute(&s.text, &s.args).await.map(|_| ());
                if ran.is_err() {
                    failed_at = i;
                    break;
                }
            }
            match ran {
                // The kept chain was behind: another process (a command) wrote log entries since, so their numbers are
                // taken. The insert of ours is the script's first statement (`log::flush`), and SQLite undid just it,
                // before anything else ran: read the chain, number and hash ours after theirs, and write again. Only
                // entries added without a number reach here (one that returned its number read the chain afresh).
                Err(e) if failed_at == 0 && !self.chain_fresh && !log.is_empty() && is_unique_violation(&e) => {
                    self.chain = Some(log::chain_row(self).await?);
                    self.chain_fresh = true;
                }
                other => return other.map(|()| log),
            }
        }
    }

    /// The next log entry's number: after the chain's head and the entries this transaction numbered before it.
    /// `returned`: the number leaves the transaction (a SCIM error quotes it), so the chain is read afresh, under the
    /// write lock, if it was only kept.
    pub(super) async fn next_log_id(&mut self, returned: bool) -> Result<LogEntryId> {
        if self.chain.is_none() || returned && !self.chain_fresh {
            self.chain = Some(log::chain_row(self).await?);
            self.chain_fresh = true;
        }
        let head = self.chain.as_ref().map_or(0, log::ChainRow::next_after);
        let logged = self.job.as_ref().and_then(|j| j.logged).unwrap_or(self.logged) + 1;
        match &mut self.job {
            Some(job) => job.logged = Some(logged),
            None => self.logged = logged,
        }
        Ok(LogEntryId(head + logged))
    }

    // ---- The settings row, read once per write transaction.

    /// The settings row: the job's view, else the transaction's, else read (and kept, in a write transaction).
    pub(super) async fn settings_row(&mut self) -> Result<SettingsRow> {
        if let Some(s) = self.job.as_ref().and_then(|j| j.settings).or(self.settings) {
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
        if self.writable {
            self.settings = Some(row);
        }
        Ok(row)
    }

    /// Changes the settings row as this job sees it (and, once it succeeds, the transaction).
    pub(super) async fn change_settings(&mut self, change: impl FnOnce(&mut SettingsRow)) -> Result<()> {
        let mut row = self.settings_row().await?;
        change(&mut row);
        match &mut self.job {
            Some(job) => job.settings = Some(row),
            None => self.settings = Some(row),
        }
        Ok(())
    }

    // ---- Reads.

    pub(super) async fn fetch_all<R: AnyRow>(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Vec<R>> {
        self.conn.fetch_all(sql, args).await
    }

    pub(super) async fn fetch_optional<R: AnyRow>(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Option<R>> {
        self.conn.fetch_optional(sql, args).await
    }

    pub(super) async fn fetch_one<R: AnyRow>(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<R> {
        self.conn.fetch_one(sql, args).await
    }

    pub(super) async fn scalar(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<i64> {
        self.fetch_one::<(i64,)>(sql, args).await.map(|(n,)| n)
    }

    /// A read over a set of user ids: `sql` gets the row source of the ids, bound after `lead` (see [`over_ids`]).
    pub(super) async fn by_ids<R: AnyRow>(
        &mut self,
        ids: &[UserId],
        sql: impl Fn(&str) -> String,
        lead: &[Arg<'_>],
    ) -> Result<Vec<R>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let q = over_ids(self.dialect(), ids, sql, lead);
        self.fetch_all(&q.text, &q.args).await
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

    /// A page of `select … from … where … order by …`, with the total of matches. A page that is not full ends the
    /// matches, so it tells the total without counting them (an Okta lookup is one statement); a full or empty page
    /// needs the count.
    pub(super) async fn page<R: AnyRow>(
        &mut self,
        select: &str,
        from: &str,
        w: Sql,
        order: &str,
        start: i64,
        count: i64,
    ) -> Result<Page<R>> {
        self.page_with(select, from, w, order, start, count, None).await
    }

    /// [`page`](Self::page), with `total` the statement that reads a kept total of the matches, if there is one (it
    /// takes none of `w`'s arguments); else they are counted.
    #[allow(clippy::too_many_arguments)] // `page`'s, and the one way its total may be found.
    pub(super) async fn page_with<R: AnyRow>(
        &mut self,
        select: &str,
        from: &str,
        w: Sql,
        order: &str,
        start: i64,
        count: i64,
        total: Option<String>,
    ) -> Result<Page<R>> {
        let (limit, offset) = limit(start, count);
        let count_args: &[Arg<'_>] = if total.is_some() { &[] } else { &w.args };
        let count_sql = total.unwrap_or_else(|| format!("select count(*) from {from}{}", w.text));
        if limit == 0 {
            let total = self.scalar(&count_sql, count_args).await?;
            return Ok(Page::new(Vec::new(), total, start.max(1)));
        }
        let mut q = Sql { text: w.text.clone(), args: w.args.clone() };
        q.push(order).page(start, count);
        let items = self.fetch_all::<R>(&format!("select {select} from {from}{}", q.text), &q.args).await?;
        let total = match items.len() as i64 {
            n if n < limit && (n > 0 || offset == 0) => offset + n,
            _ => self.scalar(&count_sql, count_args).await?,
        };
        Ok(Page::new(items, total, start.max(1)))
    }

    // ---- Writes: each takes the job's savepoint before it changes anything.

    /// `sql` with the job's savepoint in front if the job has not taken it yet: taken lazily, so a job that fails
    /// before it writes costs no savepoint. On a sqlx SQLite connection the savepoint rides in front of the statement
    /// (`savepoint job; …`), one call instead of two; the writer's direct connection and PostgreSQL take it at once.
    async fn with_savepoint<'s>(&mut self, sql: &'s str) -> Result<Cow<'s, str>> {
        if !self.writable {
            return Err(Error::internal("a write was attempted outside a write transaction"));
        }
        if !matches!(self.job, Some(Job { savepoint: false, .. })) {
            return Ok(Cow::Borrowed(sql));
        }
        // Marked taken only once it exists (or rides with the statement, whose failure SQLite undoes alone): a rollback
        // to a savepoint this job never took would find the job's before it, kept until the commit.
        let sql = if self.is_sqlite() && self.conn.joins_statements() {
            Cow::Owned(format!("savepoint job; {sql}"))
        } else {
            self.conn.execute("savepoint job", &[]).await?;
            Cow::Borrowed(sql)
        };
        if let Some(job) = &mut self.job {
            job.savepoint = true;
        }
        Ok(sql)
    }

    /// The job's savepoint, now: before a write whose count of changed rows matters (SQLite would count the savepoint
    /// in front of it as changing as many rows as the statement before it did).
    async fn savepoint(&mut self) -> Result<()> {
        let sql = self.with_savepoint("").await?.into_owned();
        if !sql.is_empty() {
            self.conn.execute(&sql, &[]).await?;
        }
        Ok(())
    }

    /// A statement that changes something, and how many rows it changed.
    pub(super) async fn write(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<u64> {
        // Refused values first: a savepoint marked taken must exist, or a rollback would find an earlier job's.
        check_args(args)?;
        self.savepoint().await?;
        self.conn.execute(sql, args).await
    }

    /// A statement that changes something and returns rows (`… returning`).
    pub(super) async fn write_returning<R: AnyRow>(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Vec<R>> {
        check_args(args)?;
        let sql = self.with_savepoint(sql).await?;
        self.conn.fetch_all(&sql, args).await
    }

    /// A statement that changes something and returns one row.
    pub(super) async fn write_returning_one<R: AnyRow>(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<R> {
        check_args(args)?;
        let sql = self.with_savepoint(sql).await?;
        self.conn.fetch_one(&sql, args).await
    }

    /// A statement that may hit a unique index; see [`Self::unique_script`].
    pub(super) async fn unique_write(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
        what: &'static str,
        value: &str,
    ) -> Result<()> {
        let mut script = self.script();
        let s = script.statement();
        s.push(sql);
        s.args.extend(args.iter().cloned().map(Arg::into_owned));
        self.unique_script(script, what, value).await
    }

    /// Runs statements that may hit a unique index so that a conflict leaves the transaction usable: inside a
    /// savepoint on PostgreSQL, which otherwise aborts the transaction; as they are on SQLite, which undoes only the
    /// failed statement (a script stops at it). The conflict is the domain's `Conflict` on `what`.
    pub(super) async fn unique_script(&mut self, script: Script, what: &'static str, value: &str) -> Result<()> {
        for s in &script.statements {
            check_args(&s.args)?;
        }
        if self.is_sqlite() {
            for (i, s) in script.statements.iter().enumerate() {
                let sql = if i == 0 { self.with_savepoint(&s.text).await? } else { Cow::Borrowed(s.text.as_str()) };
                self.conn.execute(&sql, &s.args).await.map_err(unique(what, value))?;
            }
            return Ok(());
        }
        self.savepoint().await?;
        self.conn.execute("savepoint roster_unique", &[]).await?;
        let mut r = Ok(0);
        for s in &script.statements {
            r = self.conn.execute(&s.text, &s.args).await.map_err(unique(what, value));
            if r.is_err() {
                break;
            }
        }
        if r.is_err() {
            self.conn.execute("rollback to savepoint roster_unique", &[]).await?;
        }
        self.conn.execute("release savepoint roster_unique", &[]).await?;
        r.map(|_| ())
    }
}

#[async_trait::async_trait]
impl roster::store::Tx for SqlTx {
    async fn commit(self: Box<Self>) -> Result<()> {
        self.finish().await.map(|_| ())
    }
}

/// A statement hit a unique index or primary key, through sqlx or a direct connection.
fn is_unique_violation(e: &Error) -> bool {
    let Error::Internal(source) = e else { return false };
    source.downcast_ref::<sqlx::Error>().and_then(|s| s.as_database_error()).is_some_and(|d| d.is_unique_violation())
        || source.downcast_ref::<rusqlite::Error>().is_some_and(super::direct::is_unique_violation)
}

/// Maps a unique-constraint violation to the domain conflict the caller names; anything else is internal.
fn unique(what: &'static str, value: &str) -> impl FnOnce(Error) -> Error {
    move |e| if is_unique_violation(&e) { Error::Conflict { what, value: value.to_owned() } } else { e }
}

/// SQL over a set of user ids: `sql` gets the row source of the ids (see [`Sql::bind_rows`]), bound after `lead`.
pub(super) fn over_ids(dialect: Dialect, ids: &[UserId], sql: impl Fn(&str) -> String, lead: &[Arg<'_>]) -> Sql {
    let mut s = Sql { args: lead.iter().cloned().map(Arg::into_owned).collect(), ..Sql::default() };
    s.bind_rows(dialect, ids.iter().map(|id| id.0.as_str()));
    Sql { text: sql(&s.text), args: s.args }
}
