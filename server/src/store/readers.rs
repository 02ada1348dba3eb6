//! SQLite's read connections, used on the caller's own thread.
//!
//! Through sqlx, every statement is a trip to the connection's worker thread and back, and every row is a value sent
//! across it: most of a lookup's time was those trips, not SQLite (bench/RESULTS.md). These connections are roster's
//! own, opened with rusqlite on the same file, and a read runs as plain calls on the task's thread, decoding each row
//! straight into its record.
//!
//! A read that runs long must not hold up the other requests on that thread: each statement gets [`ON_THREAD`] of the
//! thread's CPU time there (or 100 times that on the clock, for one that waits on the disk), and no wait for a lock.
//! One that needs longer goes on with the runtime told that this thread now blocks (`block_in_place`), so its other
//! tasks move to another thread: a row loop past the limit reads its remaining rows so, where it is; one long step
//! (a sort, a count) is stopped by SQLite's progress handler and run again from the start. If the whole run took
//! [`LONG_READ`], its text is remembered for [`REMEMBER_FOR`], so that meanwhile it goes there at once. A rerun reads
//! the same rows: in a snapshot they are the same moment; outside one, a statement sees what was committed before it
//! began, which its first run did not hand out.
//!
//! An in-memory database has no file to open a second connection on: its reads stay on sqlx's pool.
use super::connect::{ACQUIRE_TIMEOUT, PoolState};
use super::direct::{Direct, HARD_FACTOR, is_interrupt, off_worker, thread_cpu_nanos};
use roster::{Error, Result};
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a statement works on the caller's thread before it goes off it. A lookup takes tens of microseconds and a
/// page of 100 users about this; a count over a million rows or a filter that scans the table takes longer. A row loop
/// goes on where it is; a long single step wastes at most this much on each run until it is remembered
/// ([`LONG_READ`]).
const ON_THREAD: Duration = Duration::from_millis(1);
/// How much CPU time a whole run of a text must take before the text goes off the thread at once (or the clock's
/// backstop, for a run that waits on the disk). A run just past [`ON_THREAD`] is often a one-off: SQLite empties a
/// connection's page cache on its first read after any commit, and the pages come back one miss at a time. One such
/// lookup used to send every lookup off the thread for a minute, at 30 % less throughput (bench/RESULTS.md). The price:
/// a read of 1-5 ms goes through the thread first every time (a single long step of it twice), and a single step of up
/// to 5 ms (a bare `count(*)`, which the progress handler never sees) runs there in full.
const LONG_READ: Duration = Duration::from_millis(5);
/// How long a text that ran long goes off the thread at once. Then it is tried on the thread again: it may have been
/// long only on a cold cache.
const REMEMBER_FOR: Duration = Duration::from_secs(60);
/// Statement texts remembered at most. Texts vary with a filter's shape, which a client chooses; when the set is
/// full it starts again empty.
const REMEMBERED: usize = 4096;

/// The read connections of one SQLite database file.
pub struct Readers {
    path: PathBuf,
    cache_kib: &'static str,
    busy: Duration,
    /// Connections not leased now; more are opened as needed, up to the permits.
    idle: Mutex<Vec<Direct>>,
    permits: Arc<Semaphore>,
    open: AtomicUsize,
    /// The statement texts (hashed) whose whole run took [`LONG_READ`], and when.
    long: Mutex<HashMap<u64, Instant>>,
    hasher: RandomState,
}

impl std::fmt::Debug for Readers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readers").field("path", &self.path).finish_non_exhaustive()
    }
}

impl Readers {
    /// Up to `max` connections to the database file at `path`. One is opened now, so a file that cannot be read is an
    /// error at start, not at the first request.
    pub(super) fn open(path: PathBuf, max: usize, cache_kib: &'static str, busy: Duration) -> Result<Arc<Readers>> {
        let readers = Readers {
            path,
            cache_kib,
            busy,
            idle: Mutex::default(),
            permits: Arc::new(Semaphore::new(max)),
            open: AtomicUsize::default(),
            long: Mutex::default(),
            hasher: RandomState::new(),
        };
        let first = readers.connect()?;
        readers.idle.lock().unwrap_or_else(|p| p.into_inner()).push(first);
        Ok(Arc::new(readers))
    }

    fn connect(&self) -> Result<Direct> {
        let direct = Direct::open_reader(&self.path, self.cache_kib, self.busy)?;
        self.open.fetch_add(1, Ordering::Relaxed);
        Ok(direct)
    }

    /// Connections open, and of them idle, for the metrics.
    pub(super) fn state(&self) -> PoolState {
        let size = self.open.load(Ordering::Relaxed) as u32;
        PoolState { size, idle: self.idle.lock().unwrap_or_else(|p| p.into_inner()).len() }
    }

    /// A connection of the caller's own until the lease is dropped. Waits at most [`ACQUIRE_TIMEOUT`], as the pools
    /// do, and then is a 503.
    pub(super) async fn lease(self: &Arc<Self>) -> Result<Lease> {
        let Ok(Ok(permit)) = tokio::time::timeout(ACQUIRE_TIMEOUT, self.permits.clone().acquire_owned()).await else {
            metrics::counter!("roster_slow_database_calls_total").increment(1);
            tracing::warn!(seconds = ACQUIRE_TIMEOUT.as_secs(), "every SQLite read connection stayed in use");
            return Err(Error::Unavailable("every read connection is in use; retry shortly".into()));
        };
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let direct = match idle {
            Some(d) => d,
            None => self.connect()?,
        };
        Ok(Lease { direct: Some(direct), readers: self.clone(), _permit: permit })
    }

    /// Whether the text hashed `text` went long within [`REMEMBER_FOR`].
    fn is_long(&self, text: u64) -> bool {
        let mut long = self.long.lock().unwrap_or_else(|p| p.into_inner());
        match long.get(&text) {
            Some(at) if at.elapsed() < REMEMBER_FOR => true,
            Some(_) => {
                long.remove(&text);
                false
            }
            None => false,
        }
    }

    fn remember(&self, text: u64, sql: &str) {
        let statement = sql.split_whitespace().collect::<Vec<_>>().join(" ");
        tracing::debug!(%statement, "a read ran long; it runs off the request's thread for a while");
        let mut long = self.long.lock().unwrap_or_else(|p| p.into_inner());
        if long.len() >= REMEMBERED {
            long.clear();
        }
        long.insert(text, Instant::now());
    }
}

/// One read connection, back to its [`Readers`] when dropped: a snapshot still open is rolled back first, and a
/// connection that cannot end it is closed instead.
pub struct Lease {
    direct: Option<Direct>,
    readers: Arc<Readers>,
    _permit: OwnedSemaphorePermit,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Lease")
    }
}

/// The limit on the caller's thread, lifted when dropped, even by a panic.
struct OnThread<'d>(&'d Direct);

impl<'d> OnThread<'d> {
    fn start(d: &'d Direct, within: Duration) -> OnThread<'d> {
        d.limit(Some(within));
        OnThread(d)
    }
}

/// When a run started, on this thread's CPU clock and on the wall clock.
struct Run {
    cpu: Option<u64>,
    clock: Instant,
}

impl Run {
    fn start() -> Run {
        Run { cpu: thread_cpu_nanos(), clock: Instant::now() }
    }

    /// The run so far took more than `cpu` of this thread's CPU time (always, without a CPU clock), or `waited` on the
    /// clock.
    fn past(&self, cpu: Duration, waited: Duration) -> bool {
        let worked = match (self.cpu, thread_cpu_nanos()) {
            (Some(then), Some(now)) => now.saturating_sub(then) > cpu.as_nanos() as u64,
            _ => true,
        };
        worked || self.clock.elapsed() >= waited
    }
}

impl Drop for OnThread<'_> {
    fn drop(&mut self) {
        self.0.limit(None);
    }
}

impl Lease {
    /// The connection, which the lease holds from its start until it is dropped.
    fn direct(&self) -> Result<&Direct> {
        self.direct.as_ref().ok_or_else(|| Error::internal("a read lease without its connection"))
    }

    /// Runs `read`, one statement of text `sql`: on this thread for up to [`ON_THREAD`], then on off the runtime's
    /// worker (a row loop where it is, a long step again from the start); a text whose whole run took [`LONG_READ`]
    /// lately goes there at once.
    pub(super) fn read<T>(&self, sql: &str, read: impl Fn(&Direct) -> Result<T>) -> Result<T> {
        self.read_within(sql, read, ON_THREAD, LONG_READ)
    }

    fn read_within<T>(
        &self,
        sql: &str,
        read: impl Fn(&Direct) -> Result<T>,
        on_thread: Duration,
        long: Duration,
    ) -> Result<T> {
        let d = self.direct()?;
        let text = self.readers.hasher.hash_one(sql);
        if self.readers.is_long(text) {
            return off_worker(sql, || read(d));
        }
        let in_snapshot = !d.is_autocommit();
        // Long is `long` of CPU, or the clock's backstop on the thread (a read waiting on the disk uses little CPU).
        let waited = (on_thread * HARD_FACTOR).max(long);
        let started = Run::start();
        let (first, overran) = {
            let _limit = OnThread::start(d, on_thread);
            let first = read(d);
            (first, d.take_went_off() || d.overran())
        };
        match first {
            Err(e) if is_interrupt(&e) => {
                // SQLite ends only a write's transaction when it stops a statement; a snapshot goes on.
                if in_snapshot && d.is_autocommit() {
                    return Err(Error::internal("a read snapshot ended when its statement was stopped"));
                }
                let stopped_waiting = started.clock.elapsed() >= waited;
                off_worker(sql, || {
                    let rerun = Run::start();
                    let out = read(d);
                    if stopped_waiting || rerun.past(long, waited) {
                        self.readers.remember(text, sql);
                    }
                    out
                })
            }
            // A lock held elsewhere (or the disk failing): waited for, with the busy timeout, off the thread.
            Err(Error::Unavailable(_)) => off_worker(sql, || read(d)),
            other => {
                // Rows read on off the worker once past the limit, or one step that ran long (a bare `count(*)`, which
                // never met the progress handler): judged by the whole run.
                if overran && started.past(long, waited) {
                    self.readers.remember(text, sql);
                }
                other
            }
        }
    }

    /// Starts a snapshot: every statement after it reads the same moment, until the lease is dropped.
    pub(super) fn begin(&self) -> Result<()> {
        self.direct()?.execute("begin", &[]).map(|_| ())
    }

    /// Ends a snapshot, if one is open.
    pub(super) fn end(&self) -> Result<()> {
        let d = self.direct()?;
        if d.is_autocommit() { Ok(()) } else { d.execute("commit", &[]).map(|_| ()) }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Some(direct) = self.direct.take() else { return };
        if !direct.is_autocommit() && direct.execute("rollback", &[]).is_err() {
            self.readers.open.fetch_sub(1, Ordering::Relaxed);
            return;
        }
        self.readers.idle.lock().unwrap_or_else(|p| p.into_inner()).push(direct);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// A million rows made up as they are counted: one step of SQLite's that runs far past [`ON_THREAD`].
    const LONG_STEP: &str = "with recursive c(x) as (select 1 union all select x + 1 from c where x < 1000000) \
                             select count(*), (select count(*) from t) from c";
    const COUNT: &str = "select count(*) from t";
    /// 200,000 quick rows: no step is long, the whole read is.
    const MANY_ROWS: &str =
        "with recursive c(x) as (select 1 union all select x + 1 from c where x < 200000) select x from c";

    /// A database file with a table `t` of three rows, removed when dropped.
    struct File(PathBuf);

    impl File {
        fn new(name: &str) -> File {
            let path = std::env::temp_dir().join(format!("roster-readers-{}-{name}.db", std::process::id()));
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.execute_batch("pragma journal_mode = wal; create table t (x); insert into t values (1), (2), (3)")
                .unwrap();
            File(path)
        }

        fn insert(&self) {
            rusqlite::Connection::open(&self.0).unwrap().execute("insert into t values (4)", []).unwrap();
        }
    }

    impl Drop for File {
        fn drop(&mut self) {
            for end in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{end}", self.0.display()));
            }
        }
    }

    /// Runs `sql` through the lease and counts its runs.
    fn counted<R: super::super::direct::DirectRow>(lease: &Lease, sql: &str) -> (Vec<R>, usize) {
        let runs = Cell::new(0);
        let out = lease
            .read(sql, |d| {
                runs.set(runs.get() + 1);
                d.fetch_all(sql, &[])
            })
            .unwrap();
        (out, runs.get())
    }

    #[test]
    fn the_limit_stops_a_long_step_and_a_row_loop_goes_on_without_it() {
        let file = File::new("limit");
        let d = Direct::open_reader(&file.0, "-2000", Duration::from_secs(1)).unwrap();
        d.limit(Some(Duration::ZERO));
        assert!(super::super::direct::is_interrupt(&d.fetch_one::<(i64, i64)>(LONG_STEP, &[]).unwrap_err()));
        assert!(!d.take_went_off());
        // Past the limit after its first row, the loop lifts it and reads the rest (here, with no runtime, in place).
        assert_eq!(d.fetch_all::<(i64,)>(MANY_ROWS, &[]).unwrap().len(), 200_000);
        assert!(d.take_went_off() && !d.take_went_off());
        assert!(!d.overran());
        assert_eq!(d.fetch_one::<(i64, i64)>(LONG_STEP, &[]).unwrap(), (1_000_000, 3));
        // Read-only all the same: reads never compete with the writer.
        assert!(d.execute("insert into t values (5)", &[]).is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_long_read_is_run_again_off_the_worker_and_a_snapshot_holds_across_it() {
        let file = File::new("worker");
        let readers = Readers::open(file.0.clone(), 2, "-2000", Duration::from_secs(1)).unwrap();
        let lease = readers.lease().await.unwrap();
        assert_eq!(counted::<(i64,)>(&lease, COUNT), (vec![(3,)], 1));
        assert_eq!(counted::<(i64,)>(&lease, MANY_ROWS).0.len(), 200_000);

        lease.begin().unwrap();
        assert_eq!(counted::<(i64,)>(&lease, COUNT).0, vec![(3,)]);
        file.insert();
        // Stopped on the worker and run again: the same snapshot, which does not see the row committed since.
        assert_eq!(counted::<(i64, i64)>(&lease, LONG_STEP), (vec![(1_000_000, 3)], 2));
        // Remembered: the next run goes off the worker at once.
        assert_eq!(counted::<(i64, i64)>(&lease, LONG_STEP), (vec![(1_000_000, 3)], 1));
        lease.end().unwrap();
        assert_eq!(counted::<(i64,)>(&lease, COUNT).0, vec![(4,)]);

        // A lease dropped inside a snapshot gives its connection back with the snapshot ended.
        lease.begin().unwrap();
        drop(lease);
        let again = readers.lease().await.unwrap();
        assert!(again.direct().unwrap().is_autocommit());
        let PoolState { size, idle } = readers.state();
        assert_eq!((size, idle), (1, 0));
    }

    #[cfg(unix)] // The thread's CPU clock; without one every run counts as long.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_long_only_on_the_thread_is_not_remembered() {
        let file = File::new("transient");
        let readers = Readers::open(file.0.clone(), 1, "-2000", Duration::from_secs(1)).unwrap();
        let lease = readers.lease().await.unwrap();
        let remembered = |sql: &str| readers.is_long(readers.hasher.hash_one(sql));
        // No time at all on the thread: a long step is stopped there and runs in full off it, well within a minute, so
        // it is not remembered and goes through the thread again.
        let runs = |sql: &str| {
            let runs = Cell::new(0);
            let read = |d: &Direct| {
                runs.set(runs.get() + 1);
                d.fetch_all::<(i64, i64)>(sql, &[])
            };
            lease.read_within(sql, read, Duration::ZERO, Duration::from_secs(60)).unwrap();
            runs.get()
        };
        assert_eq!((runs(LONG_STEP), runs(LONG_STEP)), (2, 2));
        assert!(!remembered(LONG_STEP));
        // A row loop goes on off the thread where it was: one run, every row, and not remembered either.
        let rows = |long: Duration| {
            let runs = Cell::new(0);
            let read = |d: &Direct| {
                runs.set(runs.get() + 1);
                d.fetch_all::<(i64,)>(MANY_ROWS, &[])
            };
            let rows = lease.read_within(MANY_ROWS, read, Duration::ZERO, long).unwrap();
            (runs.get(), rows.len(), remembered(MANY_ROWS))
        };
        assert_eq!(rows(Duration::from_secs(60)), (1, 200_000, false));
        // A single step the progress handler never sees (`fetch_one` of a read stops after its row) overruns instead,
        // and is judged by its run in the same way.
        let count = |long: Duration| {
            let read = |d: &Direct| d.fetch_one::<(i64,)>(COUNT, &[]);
            lease.read_within(COUNT, read, Duration::ZERO, long).unwrap();
            readers.is_long(readers.hasher.hash_one(COUNT))
        };
        assert!(!count(Duration::from_secs(60)));
        assert!(count(Duration::ZERO));
        // Past the whole-run bar, a row loop that went on is remembered too.
        assert_eq!(rows(Duration::ZERO), (1, 200_000, true));
    }

    #[tokio::test]
    async fn on_a_current_thread_runtime_a_long_read_runs_again_where_it_is() {
        let file = File::new("current");
        let readers = Readers::open(file.0.clone(), 1, "-2000", Duration::from_secs(1)).unwrap();
        let lease = readers.lease().await.unwrap();
        assert_eq!(counted::<(i64, i64)>(&lease, LONG_STEP), (vec![(1_000_000, 3)], 2));
        // The one connection is leased: the next caller waits, and gets it once the lease is dropped.
        let waiting = tokio::spawn({
            let readers = readers.clone();
            async move { readers.lease().await.map(|_| ()) }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        drop(lease);
        waiting.await.unwrap().unwrap();
    }
}
