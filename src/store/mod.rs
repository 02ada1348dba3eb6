//! Storage traits, one file per concern, each with a trait of reads and a trait of writes. `server` implements them
//! once for SQLite and PostgreSQL, and one contract suite tests both.
//!
//! Every write is a [`WriteJob`]: a function the store runs inside one write transaction ([`Tx`], which reads and
//! writes), committing when it returns `Ok` and rolling back everything it did when it returns `Err`, so a refused
//! request changes nothing. Services write only through [`Store::write`]; how the store schedules jobs (one at a time,
//! or several per commit) is its own business. Reads go through [`Read`], which has no writes:
//! [`Store::begin_read`] runs each statement on its own snapshot (cheapest), [`Store::begin_snapshot`] runs them all
//! on one, for an answer whose parts must agree.
mod admins;
mod charts;
mod drift;
mod groups;
mod log;
mod outbox;
mod sessions;
mod settings;
mod sso;
mod tokens;
mod users;
mod webhooks;

pub use admins::{AdminRead, AdminWrite, NewAdmin};
pub use charts::ChartRead;
pub use drift::{DriftRead, DriftWrite};
pub use groups::{GroupRead, GroupWrite};
pub use log::{LogChain, LogRead, LogWrite, NewLogEntry};
pub use outbox::{OutboxRead, OutboxWrite};
pub use sessions::{SessionRead, SessionWrite};
pub use settings::{SettingsRead, SettingsWrite};
pub use sso::{SsoRead, SsoWrite, StoredSso};
pub use tokens::{LiveToken, TokenRead, TokenWrite};
pub use users::{UserRead, UserWrite};
pub use webhooks::{EndpointState, WebhookRead, WebhookWrite};

use crate::{Error, Result};
use async_trait::async_trait;
use std::any::Any;
use std::future::Future;
use std::pin::Pin;

/// The future a transaction job returns, borrowing the transaction.
pub type TxFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// A unit of work for one write transaction. `'static`, so the store may run it on a task of its own.
pub type WriteJob = Box<dyn for<'a> FnOnce(&'a mut dyn Tx) -> TxFuture<'a, Box<dyn Any + Send>> + Send>;

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Reads, each statement on its own snapshot: a statement sees everything committed before it began, so two
    /// statements may see different moments.
    async fn begin_read(&self) -> Result<Box<dyn Read>>;
    /// Reads on one snapshot: every statement sees the same moment, for answers whose parts must agree (a page of
    /// groups, their members and the total). Costs a transaction's begin and end.
    async fn begin_snapshot(&self) -> Result<Box<dyn Read>>;
    /// Runs `job` in a write transaction that holds the write lock from its first statement (SQLite
    /// `BEGIN IMMEDIATE`; PostgreSQL locks the settings row), so a seat count read inside it stays true until commit.
    /// Commits when the job returns `Ok`; an `Err` undoes all it did.
    async fn run_write(&self, job: WriteJob) -> Result<Box<dyn Any + Send>>;
    /// For `/readyz`.
    async fn ping(&self) -> Result<()>;
    /// Moves each time a transaction that wrote directory events commits on this instance, so the feed's long polls
    /// and the webhook sender wake at once (other instances' events are found by polling).
    fn event_signal(&self) -> tokio::sync::watch::Receiver<u64>;
}

impl dyn Store {
    /// Runs `f` in one write transaction (see [`Store::run_write`]) and returns what it returned. Call it as
    /// `store.write(move |tx| Box::pin(async move { … }))`.
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'a> FnOnce(&'a mut dyn Tx) -> TxFuture<'a, T> + Send + 'static,
    {
        let job: WriteJob = Box::new(move |tx| {
            let work = f(tx);
            Box::pin(async move { work.await.map(|t| Box::new(t) as Box<dyn Any + Send>) })
        });
        let out = self.run_write(job).await?;
        out.downcast::<T>().map(|t| *t).map_err(|_| Error::internal("a write job's result had another type"))
    }
}

/// Every read of every concern.
pub trait Read:
    SettingsRead
    + AdminRead
    + TokenRead
    + UserRead
    + GroupRead
    + LogRead
    + OutboxRead
    + WebhookRead
    + DriftRead
    + ChartRead
    + SessionRead
    + SsoRead
    + Send
{
}

impl<T> Read for T where
    T: SettingsRead
        + AdminRead
        + TokenRead
        + UserRead
        + GroupRead
        + LogRead
        + OutboxRead
        + WebhookRead
        + DriftRead
        + ChartRead
        + SessionRead
        + SsoRead
        + Send
{
}

/// One write transaction: every read, and every write.
#[async_trait]
pub trait Tx:
    Read
    + SettingsWrite
    + AdminWrite
    + TokenWrite
    + UserWrite
    + GroupWrite
    + LogWrite
    + OutboxWrite
    + WebhookWrite
    + DriftWrite
    + SessionWrite
    + SsoWrite
{
    async fn commit(self: Box<Self>) -> Result<()>;
}
