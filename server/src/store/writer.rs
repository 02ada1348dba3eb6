//! The writer: one task per instance runs every write job, several per transaction (group commit). Under load, the
//! jobs that queue while one transaction commits go into the next one, so N writes cost one `COMMIT` and one fsync
//! instead of N, and writers never compete for the database's write lock (SQLite's `BEGIN IMMEDIATE`, PostgreSQL's
//! settings row), so none sleeps in a busy handler.
//!
//! Each job runs inside a savepoint of its own, taken just before its first write: a job that fails undoes only what it
//! did, and the others in the transaction commit. A job is answered only after its transaction commits, so an
//! acknowledged write is a durable one; if the commit fails, every job of that transaction gets the error and none of
//! it happened.
use super::connect::Db;
use super::job::Committed;
use futures_util::FutureExt;
use roster::store::WriteJob;
use roster::{Error, Result};
use std::any::Any;
use std::panic::AssertUnwindSafe;
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
    /// Starts the writer task on `db`. (A thread and runtime of its own, so that it never queues behind requests,
    /// measured no faster: bench/RESULTS.md.)
    pub fn spawn(db: &Db, events: EventSignal, audit: AuditSink) -> Writer {
        let (jobs, queue) = mpsc::channel(QUEUE);
        tokio::spawn(run(db.clone(), queue, events, audit));
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

async fn run(db: Db, mut queue: mpsc::Receiver<Queued>, events: EventSignal, audit: AuditSink) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    // SQLite: the log chain's row as the last commit left it, so a transaction need not read it (one call fewer). On
    // PostgreSQL other instances write too: each transaction reads it under the write lock.
    let mut kept = None;
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        metrics::gauge!("roster_write_queue_depth").decrement(batch.len() as f64);
        metrics::histogram!("roster_write_batch_jobs").record(batch.len() as f64);
        let (mut committed, answers) = run_batch(&db, std::mem::take(&mut batch), kept.take()).await;
        if db.is_sqlite() {
            kept = committed.chain.take();
        }
        if committed.events {
            events.send_modify(|n| *n = n.wrapping_add(1));
        }
        match audit.as_ref().filter(|_| !committed.log.is_empty()) {
            // Queued before the next transaction, so the stream is in commit order; answered once written, so a
            // command that exits or a server that drains has written the records of every write it answered.
            Some(audit) => {
                let written = audit.committed(committed.log).await;
                tokio::spawn(async move {
                    let _ = written.await;
                    answer(answers);
                });
            }
            None => answer(answers),
        }
    }
}

/// A committed transaction's jobs, and what each came to.
type Answers = Vec<(oneshot::Sender<Result<Box<dyn Any + Send>>>, Result<Box<dyn Any + Send>>)>;

fn answer(answers: Answers) {
    for (done, outcome) in answers {
        count_write(&outcome);
        let _ = done.send(outcome);
    }
}

/// One transaction: every job in its own savepoint, then one commit. Returns what it committed that others hear of,
/// and the answers of its jobs (a failed transaction has answered them all already).
async fn run_batch(db: &Db, batch: Vec<Queued>, kept: Option<super::log::ChainRow>) -> (Committed, Answers) {
    let started = std::time::Instant::now();
    let jobs = batch.len();
    let mut tx = match db.begin_write().await {
        Ok(tx) if db.is_sqlite() => tx.with_chain_kept(kept),
        Ok(tx) => tx,
        Err(e) => {
            fail_all(batch.into_iter().map(|q| q.done), &e);
            return Default::default();
        }
    };
    let mut answers = Vec::with_capacity(batch.len());
    for Queued { job, done } in batch {
        tx.start_job();
        let outcome = AssertUnwindSafe(job(&mut tx)).catch_unwind().await.unwrap_or_else(|_| {
            tracing::error!("a write job panicked; it was rolled back");
            Err(Error::internal("a write job panicked"))
        });
        if let Err(e) = tx.end_job(outcome.as_ref().map(|_| ())).await {
            // The transaction cannot be trusted any more: nothing of it is committed.
            answers.push((done, outcome));
            fail_all(answers.into_iter().map(|(d, _)| d), &e);
            return Default::default();
        }
        answers.push((done, outcome));
    }
    match tx.finish().await {
        Ok(committed) => {
            tracing::debug!(jobs, micros = started.elapsed().as_micros() as u64, "write transaction committed");
            (committed, answers)
        }
        Err(e) => {
            fail_all(answers.into_iter().map(|(d, _)| d), &e);
            Default::default()
        }
    }
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
