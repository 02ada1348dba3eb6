//! The writer: one per instance runs every write job, several per transaction (group commit). Under load, the jobs
//! that queue while one transaction commits go into the next one, so N writes cost one `COMMIT` and one fsync instead
//! of N, and writers never compete for the database's write lock (SQLite's `BEGIN IMMEDIATE`, PostgreSQL's settings
//! row), so none sleeps in a busy handler.
//!
//! Each job runs inside a savepoint of its own, taken just before its first write: a job that fails undoes only what it
//! did, and the others in the transaction commit. A job is answered only after its transaction commits, so an
//! acknowledged write is a durable one; if the commit fails, every job of that transaction gets the error and none of
//! it happened.
//!
//! On SQLite the writer is a thread of its own that holds its connection's handle while there is work (it gives it back
//! after a second idle) and runs every statement, `BEGIN` and `COMMIT` included, as a plain call ([`Direct`]): no trip
//! to sqlx's thread for the connection, prepared statements kept from one batch to the next, and the commit's fsync on
//! a thread no request waits on. On
//! PostgreSQL each statement is a round trip to the server anyway: the writer is a task, through sqlx.
use super::conn::Conn;
use super::connect::{Db, Pools};
use super::direct::Direct;
use super::job::{Committed, SqlTx};
use futures_util::FutureExt;
use roster::store::WriteJob;
use roster::{Error, Result};
use sqlx::{Postgres, Sqlite};
use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};

/// The most jobs one transaction takes. PostgreSQL keeps up to 64 subtransactions of a transaction in shared memory;
/// more would slow every other backend's snapshots.
pub const MAX_BATCH: usize = 64;
/// Jobs waiting for the writer. A request that finds the queue full waits for room.
const QUEUE: usize = 4096;

/// Where committed log entries go besides the database: `--audit-log`.
type AuditSink = Option<crate::audit_log::AuditStream>;

struct Queued {
    job: WriteJob,
    done: oneshot::Sender<Result<Box<dyn Any + Send>>>,
}

/// The handle the store hands jobs to.
#[derive(Clone, Debug)]
pub struct Writer {
    jobs: mpsc::Sender<Queued>,
}

/// Told when a transaction that wrote directory events commits.
type EventSignal = tokio::sync::watch::Sender<u64>;

impl std::fmt::Debug for Queued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Queued")
    }
}

impl Writer {
    /// Starts the writer on `db`: SQLite's thread, or PostgreSQL's task.
    pub fn spawn(db: &Db, events: EventSignal, audit: AuditSink) -> Writer {
        let (jobs, queue) = mpsc::channel(QUEUE);
        let after = AfterCommit { events, audit, requests: tokio::runtime::Handle::current() };
        match db {
            Db::Sqlite(pools) => spawn_sqlite(pools.clone(), queue, after),
            Db::Postgres(pools) => {
                tokio::spawn(run_postgres(pools.clone(), queue, after));
            }
        }
        Writer { jobs }
    }

    /// Runs `job` in the next transaction and answers once that transaction has committed.
    pub async fn run(&self, job: WriteJob) -> Result<Box<dyn Any + Send>> {
        let (done, answer) = oneshot::channel();
        // Room first, then count and send with nothing to cancel in between: a request dropped while it waits for
        // room (a timeout, a client gone) never counted.
        let room = self
            .jobs
            .reserve()
            .await
            .map_err(|_| Error::Unavailable("roster is shutting down; retry shortly".into()))?;
        metrics::gauge!("roster_write_queue_depth").increment(1.0);
        room.send(Queued { job, done });
        super::conn::watched("a write job waiting for the writer", answer)
            .await
            .map_err(|_| Error::internal("the writer stopped before answering"))?
    }
}

/// What follows a commit: telling the event feed, the audit stream, and answering the jobs.
struct AfterCommit {
    events: EventSignal,
    audit: AuditSink,
    /// The server's runtime, where answers that wait for the audit stream are sent from.
    requests: tokio::runtime::Handle,
}

impl AfterCommit {
    async fn committed(&self, committed: Committed, answers: Answers) {
        if committed.events {
            self.events.send_modify(|n| *n = n.wrapping_add(1));
        }
        match self.audit.as_ref().filter(|_| !committed.log.is_empty()) {
            // Queued before the next transaction, so the stream is in commit order; answered once written, so a
            // command that exits or a server that drains has written the records of every write it answered.
            Some(audit) => {
                let written = audit.committed(committed.log).await;
                self.requests.spawn(async move {
                    let _ = written.await;
                    answer(answers);
                });
            }
            None => answer(answers),
        }
    }
}

/// The next jobs, at most [`MAX_BATCH`]; empty once the queue is closed and drained.
async fn next_batch(queue: &mut mpsc::Receiver<Queued>) -> Vec<Queued> {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    if queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        metrics::gauge!("roster_write_queue_depth").decrement(batch.len() as f64);
        metrics::histogram!("roster_write_batch_jobs").record(batch.len() as f64);
    }
    batch
}

/// A committed transaction's jobs, and what each came to.
type Answers = Vec<(oneshot::Sender<Result<Box<dyn Any + Send>>>, Result<Box<dyn Any + Send>>)>;

/// A failed transaction's error and every job's answer channel (with what it came to, which is not sent).
type Failed = (Error, Answers);

fn answer(answers: Answers) {
    for (done, outcome) in answers {
        count_write(&outcome);
        let _ = done.send(outcome);
    }
}

/// Answers a failed transaction's jobs, or hands a committed one's on.
async fn conclude(outcome: Result<(Committed, Answers), Failed>, after: &AfterCommit, started: Instant, jobs: usize) {
    match outcome {
        Ok((committed, answers)) => {
            tracing::debug!(jobs, micros = started.elapsed().as_micros() as u64, "write transaction committed");
            after.committed(committed, answers).await;
        }
        Err((e, answers)) => fail_all(answers.into_iter().map(|(d, _)| d), &e),
    }
}

async fn run_postgres(pools: Pools<Postgres>, mut queue: mpsc::Receiver<Queued>, after: AfterCommit) {
    loop {
        let batch = next_batch(&mut queue).await;
        if batch.is_empty() {
            return;
        }
        let (started, jobs) = (Instant::now(), batch.len());
        let outcome = match pools.begin_write().await {
            // Other instances write too: each transaction reads the log chain under the write lock.
            Ok(mut tx) => match run_jobs(&mut tx, batch).await {
                Ok((committed, answers)) => match tx.commit_sealed().await {
                    Ok(()) => Ok((committed, answers)),
                    Err(e) => Err((e, answers)),
                },
                Err(failed) => Err(failed),
            },
            Err(e) => Err((e, unanswered(batch))),
        };
        conclude(outcome, &after, started, jobs).await;
    }
}

/// How long SQLite's writer keeps its connection with nothing to write, so that another store on the same database
/// (the tests make several) can have it.
const IDLE: std::time::Duration = std::time::Duration::from_secs(1);

/// SQLite's writer thread, with a runtime of its own for the jobs (which are futures, though on [`Direct`] nothing
/// they wait for is ever pending).
fn spawn_sqlite(pools: Pools<Sqlite>, mut queue: mpsc::Receiver<Queued>, after: AfterCommit) {
    let thread = std::thread::Builder::new().name("roster-writer".into()).spawn(move || {
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(runtime) => runtime,
            Err(e) => return tracing::error!(error = %e, "the writer's runtime did not start; writes are refused"),
        };
        runtime.block_on(async move {
            // The log chain's row as the last commit left it, so a transaction need not read it. Only a command in
            // another process writes besides this writer; the commit finds that out ([`SqlTx::seal`]).
            let mut kept = None;
            loop {
                let batch = next_batch(&mut queue).await;
                if batch.is_empty() {
                    return;
                }
                if let Err((e, batch)) = run_sqlite(&pools, &mut queue, &after, batch, &mut kept).await {
                    // Answer what waits, so no request hangs on a writer that cannot have its connection.
                    tracing::error!(error = %e, "the writer cannot use its database connection");
                    let e = Error::Unavailable("the database cannot be written to now; retry shortly".into());
                    fail_all(batch.into_iter().map(|q| q.done), &e);
                }
            }
        });
    });
    if let Err(e) = thread {
        tracing::error!(error = %e, "the writer's thread did not start; writes are refused");
    }
}

/// Takes the writer's connection and its handle, runs `batch` and every batch after it until the queue has been empty
/// for [`IDLE`] or closes, then gives the connection back. An error means the connection could not be had: `batch`
/// comes back unanswered. A failed batch is answered and the next one runs.
async fn run_sqlite(
    pools: &Pools<Sqlite>,
    queue: &mut mpsc::Receiver<Queued>,
    after: &AfterCommit,
    mut batch: Vec<Queued>,
    kept: &mut Option<super::log::ChainRow>,
) -> std::result::Result<(), (Error, Vec<Queued>)> {
    let mut conn = match pools.write.acquire().await {
        Ok(conn) => conn,
        Err(e) => return Err((super::conn::db(e), batch)),
    };
    let mut locked = match conn.lock_handle().await {
        Ok(locked) => locked,
        Err(e) => return Err((super::conn::db(e), batch)),
    };
    // SAFETY: `direct` is dropped before `locked` (explicitly below, and on any early return because it is declared
    // after it), and never leaves this function.
    let mut direct = match unsafe { Direct::new(&mut locked) } {
        Ok(direct) => Some(direct),
        Err(e) => return Err((e, batch)),
    };
    loop {
        let (started, jobs) = (Instant::now(), batch.len());
        let Some(handle) = direct.take() else { break };
        let (outcome, handle) = run_direct(handle, batch, kept.take()).await;
        direct = handle;
        let outcome = outcome.map(|(mut committed, answers)| {
            *kept = committed.chain.take();
            (committed, answers)
        });
        if started.elapsed() > super::conn::SLOW_CALL {
            metrics::counter!("roster_slow_database_calls_total").increment(1);
            tracing::warn!(jobs, seconds = started.elapsed().as_secs(), "a write transaction was slow");
        }
        conclude(outcome, after, started, jobs).await;
        if direct.is_none() {
            break;
        }
        batch = match tokio::time::timeout(IDLE, next_batch(queue)).await {
            Ok(batch) if !batch.is_empty() => batch,
            // Closed, or idle: the connection goes back to the pool.
            _ => return Ok(()),
        };
    }
    // A transaction that would not roll back: the connection is closed, which ends it, instead of going back to the
    // pool holding the write lock. The next batch opens another.
    drop(direct);
    drop(locked);
    conn.close_on_drop();
    Ok(())
}

/// One SQLite transaction on the writer's handle: `BEGIN IMMEDIATE`, the jobs, what they left pending, `COMMIT`. Hands
/// the handle back with no transaction open, or none if one stayed open.
async fn run_direct(
    direct: Direct,
    batch: Vec<Queued>,
    kept: Option<super::log::ChainRow>,
) -> (Result<(Committed, Answers), Failed>, Option<Direct>) {
    if let Err(e) = direct.execute("begin immediate", &[]) {
        return (Err((e, unanswered(batch))), Some(direct));
    }
    let mut tx = SqlTx::writer(Conn::SqliteDirect(direct)).with_chain_kept(kept);
    let outcome = run_jobs(&mut tx, batch).await;
    let Conn::SqliteDirect(direct) = tx.into_conn() else {
        // Not reached: a transaction keeps the connection it was given. The writer takes its connection again.
        let e = Error::internal("the write transaction lost its connection");
        let answers = match outcome {
            Ok((_, answers)) | Err((_, answers)) => answers,
        };
        return (Err((e, answers)), None);
    };
    let outcome = match outcome {
        Ok((committed, answers)) => match direct.execute("commit", &[]) {
            Ok(_) => Ok((committed, answers)),
            Err(e) => Err((e, answers)),
        },
        Err(failed) => Err(failed),
    };
    // A failed batch, or a commit that failed and left the transaction open (SQLITE_BUSY): none of it happened.
    if !direct.is_autocommit()
        && let Err(e) = direct.execute("rollback", &[])
    {
        tracing::error!(error = %e, "a failed write transaction did not roll back; its connection is closed");
        return (outcome, None);
    }
    (outcome, Some(direct))
}

/// Runs each job in its own savepoint, then writes what they left pending. On an error the transaction cannot be
/// trusted: nothing of it may be committed, and every job gets the error.
async fn run_jobs(tx: &mut SqlTx, batch: Vec<Queued>) -> Result<(Committed, Answers), Failed> {
    let mut answers = Vec::with_capacity(batch.len());
    let mut queued = batch.into_iter();
    while let Some(Queued { job, done }) = queued.next() {
        tx.start_job();
        let outcome = AssertUnwindSafe(job(&mut *tx)).catch_unwind().await.unwrap_or_else(|_| {
            tracing::error!("a write job panicked; it was rolled back");
            Err(Error::internal("a write job panicked"))
        });
        let ended = tx.end_job(outcome.as_ref().map(|_| ())).await;
        answers.push((done, outcome));
        if let Err(e) = ended {
            answers.extend(unanswered(queued.collect()));
            return Err((e, answers));
        }
    }
    match tx.seal().await {
        Ok(committed) => Ok((committed, answers)),
        Err(e) => Err((e, answers)),
    }
}

/// Jobs that never ran, as answers to send an error to.
fn unanswered(batch: Vec<Queued>) -> Answers {
    batch.into_iter().map(|q| (q.done, Err(Error::internal("not run")))).collect()
}

/// The outcome of a committed job, for `roster_writes_total`.
fn count_write<T>(outcome: &Result<T>) {
    let outcome = match outcome {
        Ok(_) => "ok",
        Err(Error::NoFreeSeats { .. }) => "no_seats",
        Err(Error::Internal(_) | Error::Unavailable(_)) => "failed",
        Err(_) => "refused",
    };
    metrics::counter!("roster_writes_total", "outcome" => outcome).increment(1);
}

/// Answers every job with an error like `e` (errors are not `Clone`).
fn fail_all(dones: impl Iterator<Item = oneshot::Sender<Result<Box<dyn Any + Send>>>>, e: &Error) {
    tracing::warn!(error = %e, "a write transaction failed; none of its writes happened");
    for done in dones {
        metrics::counter!("roster_writes_total", "outcome" => "failed").increment(1);
        let again = match e {
            Error::Unavailable(m) => Error::Unavailable(m.clone()),
            other => Error::internal(other.to_string()),
        };
        let _ = done.send(Err(again));
    }
}
