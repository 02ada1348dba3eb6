//! Storage traits. `server` implements them once for SQLite and PostgreSQL, and one contract suite tests both.
//!
//! Every write is a [`WriteJob`]: a function the store runs inside one write transaction, committing when it returns
//! `Ok` and rolling back everything it did when it returns `Err`, so a refused request changes nothing. Services
//! write only through [`Store::write`]; how the store schedules jobs (one at a time, or several per commit) is its
//! own business. Reads use a snapshot from [`Store::begin_read`].
use crate::model::*;
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
    /// A read-only snapshot. Dropping it rolls back.
    async fn begin_read(&self) -> Result<Box<dyn Tx>>;
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

/// A log entry to write.
#[derive(Debug, Clone)]
pub struct NewLogEntry {
    pub at: Millis,
    pub actor: String,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub outcome: Outcome,
    pub target: Option<Target>,
    pub diff: String,
    pub detail: String,
    pub request_id: Option<String>,
}

/// An unrevoked token as authentication knows it.
#[derive(Debug, Clone)]
pub struct LiveToken {
    pub kind: TokenKind,
    /// SHA-256 of the bearer token, hex.
    pub hash: String,
    pub token: Token,
}

/// What changes a webhook attempt makes to its endpoint, decided by the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointState {
    pub delivered_through: i64,
    pub attempt: i64,
    pub failing_since: Option<Millis>,
    pub next_attempt_at: Millis,
    pub last_error: Option<String>,
}

/// The outbox, the directory API's reads, webhooks, drift and the dashboard's charts: a transaction's second half.
#[async_trait]
pub trait DirectoryTx: Send {
    /// Records a directory event of this transaction: written when it commits, or never if it does not.
    async fn emit(&mut self, event: NewDirectoryEvent) -> Result<()>;
    /// Up to `limit` events after `after`, in commit order.
    async fn directory_events(&mut self, after: i64, limit: i64) -> Result<Vec<DirectoryEvent>>;
    /// The newest event's seq (0 when none) and the highest seq retention pruned.
    async fn event_bounds(&mut self) -> Result<(i64, i64)>;
    /// Deletes up to `limit` of the oldest events from before `before`; returns how many went.
    async fn prune_directory_events(&mut self, before: Millis, limit: i64) -> Result<u64>;

    /// Live and tombstoned users by id order after `q.after`, filtered by group and active.
    async fn directory_users(&mut self, q: &DirectoryUserQuery) -> Result<Vec<User>>;
    /// Groups by id order after `after`.
    async fn directory_groups(&mut self, after: Option<&GroupId>, limit: i64) -> Result<Vec<Group>>;
    /// Groups of several users at once, for a page of the directory API.
    async fn groups_of_users(&mut self, ids: &[UserId]) -> Result<Vec<(UserId, GroupRef)>>;

    /// Adds an endpoint that hears of events committed from now on.
    async fn insert_webhook(
        &mut self,
        url: &str,
        patterns: &[String],
        secret: &str,
        now: Millis,
    ) -> Result<WebhookEndpoint>;
    async fn list_webhooks(&mut self) -> Result<Vec<WebhookEndpoint>>;
    async fn webhook(&mut self, id: &str) -> Result<Option<EndpointWithSecrets>>;
    async fn delete_webhook(&mut self, id: &str) -> Result<bool>;
    /// Stores the secrets as they are (resealed under another key), changing nothing else.
    async fn set_webhook_secrets(&mut self, id: &str, secret: &str, previous: Option<&str>) -> Result<()>;
    /// Replaces the secret; the old one keeps signing until `previous_until`.
    async fn rotate_webhook(&mut self, id: &str, secret: &str, previous_until: Millis) -> Result<bool>;
    /// Endpoints with an attempt due and no live lease that have an event to send.
    async fn due_webhooks(&mut self, now: Millis) -> Result<Vec<String>>;
    /// Takes the endpoint's lease until `until` for `owner` if it is due and no other instance holds it.
    async fn claim_webhook(
        &mut self,
        id: &str,
        owner: &str,
        now: Millis,
        until: Millis,
    ) -> Result<Option<EndpointWithSecrets>>;
    /// Records attempts and moves the endpoint on, keeping the lease until `lease_until` (0 lets it go), if `owner`
    /// still holds it; false when another instance took it meanwhile.
    async fn finish_attempt(
        &mut self,
        id: &str,
        owner: &str,
        deliveries: &[WebhookDelivery],
        state: &EndpointState,
        lease_until: Millis,
    ) -> Result<bool>;
    /// Records a manual "send again", which does not move the endpoint.
    async fn record_delivery(&mut self, delivery: &WebhookDelivery) -> Result<()>;
    async fn webhook_deliveries(&mut self, id: &str, limit: i64) -> Result<Vec<WebhookDelivery>>;
    /// Deletes delivery records from before `before`.
    async fn prune_webhook_deliveries(&mut self, before: Millis) -> Result<u64>;
    /// Makes a failing endpoint's next attempt due now.
    async fn retry_webhook_now(&mut self, id: &str, now: Millis) -> Result<bool>;

    /// Nets the admin's membership changes to an IdP group against earlier ones (an add after a remove cancels).
    async fn record_drift(
        &mut self,
        group: &GroupId,
        users: &[UserId],
        added: bool,
        by: &str,
        at: Millis,
    ) -> Result<()>;
    async fn drift_of_group(&mut self, group: &GroupId) -> Result<Vec<DriftMember>>;
    /// Forgets the drift of these users in the group.
    async fn clear_drift(&mut self, group: &GroupId, users: &[UserId]) -> Result<()>;
    /// Drift per group, for the SCIM page.
    async fn drift(&mut self) -> Result<Vec<GroupDrift>>;

    /// Seat days from `first_day` and activity hours from `first_hour` that have a row.
    async fn chart_rows(&mut self, first_day: i64, first_hour: i64) -> Result<(Vec<SeatDay>, Vec<ActivityHour>)>;
    /// The last seat day before `day`, to carry into the chart's window.
    async fn seat_day_before(&mut self, day: i64) -> Result<Option<SeatDay>>;
}

/// Panel sessions: records the session layer keeps, opaque here, stored under a hash of their id so the table holds no
/// live cookie. Written through the writer like every other write, so on SQLite nothing else takes the write lock.
#[async_trait]
pub trait SessionTx: Send {
    /// The data and expiry of a session that has not expired by `now`.
    async fn session(&mut self, id_hash: &str, now: Millis) -> Result<Option<(String, Millis)>>;
    /// Stores a new session; false when the id is taken (the caller draws another).
    async fn insert_session(&mut self, id_hash: &str, data: &str, expires_at: Millis) -> Result<bool>;
    /// Replaces a stored session's data and expiry; false when it is gone. Never creates one: a request still in
    /// flight when its session was signed out cannot bring the session back.
    async fn update_session(&mut self, id_hash: &str, data: &str, expires_at: Millis) -> Result<bool>;
    async fn delete_session(&mut self, id_hash: &str) -> Result<()>;
    /// Deletes sessions that expired before `now`; returns how many.
    async fn delete_expired_sessions(&mut self, now: Millis) -> Result<u64>;
}

/// One database transaction. Methods are plain reads and writes; the rules that decide them are in the services.
#[async_trait]
pub trait Tx: DirectoryTx + SessionTx + Send {
    async fn commit(self: Box<Self>) -> Result<()>;

    // Settings.
    async fn settings(&mut self) -> Result<Settings>;
    async fn set_scim_enabled(&mut self, on: bool) -> Result<()>;
    async fn set_seat_limit(&mut self, seats: SeatLimit) -> Result<()>;
    /// The first-run setup token and when it was issued, while no admin exists.
    async fn setup_token(&mut self) -> Result<Option<(String, Millis)>>;
    async fn set_setup_token(&mut self, token: Option<(&str, Millis)>) -> Result<()>;
    /// Seats used (the running count on the settings row) and the licence.
    async fn seat_usage(&mut self) -> Result<SeatUsage>;
    /// Moves the running count of seats used; the services pass [`crate::rules::seats::delta`] of each user write.
    async fn adjust_seats_used(&mut self, by: i64) -> Result<()>;
    async fn counts(&mut self) -> Result<Counts>;

    // Admins.
    async fn count_admins(&mut self) -> Result<i64>;
    /// `Error::Conflict` when the folded email is taken.
    async fn insert_admin(&mut self, email: &str, password_hash: &str, now: Millis) -> Result<Admin>;
    /// The admin and their password hash, by folded email.
    async fn admin_credentials(&mut self, email_folded: &str) -> Result<Option<(Admin, String)>>;
    async fn admin_password_hash(&mut self, id: AdminId) -> Result<Option<String>>;
    async fn admin(&mut self, id: AdminId) -> Result<Option<Admin>>;
    async fn list_admins(&mut self) -> Result<Vec<Admin>>;
    /// Sets the password and ends the admin's sessions signed in before `now`.
    async fn set_admin_password(&mut self, id: AdminId, password_hash: &str, now: Millis) -> Result<()>;
    async fn delete_admin(&mut self, id: AdminId) -> Result<()>;
    /// Counts one sign-in attempt for `key` and returns the attempts in its window and when the window began. A
    /// window that began before `window_floor` starts over.
    async fn count_sign_in_attempt(&mut self, key: &str, now: Millis, window_floor: Millis) -> Result<(i64, Millis)>;
    async fn clear_sign_in_attempts(&mut self, keys: &[String]) -> Result<()>;

    // SCIM tokens.
    /// `Error::Conflict` when an unrevoked token has this name (folded).
    async fn insert_token(&mut self, kind: TokenKind, name: &str, token_hash: &str, now: Millis) -> Result<Token>;
    async fn list_tokens(&mut self, kind: TokenKind) -> Result<Vec<Token>>;
    /// Revokes the unrevoked token with this folded name; false when there is none.
    async fn revoke_token(&mut self, kind: TokenKind, name_folded: &str, now: Millis) -> Result<bool>;
    /// Every unrevoked token, of both kinds, with its hash, and whether SCIM is enabled: what authentication checks
    /// bearer tokens against, read at most once a second per instance.
    async fn live_tokens(&mut self) -> Result<(Vec<LiveToken>, bool)>;
    async fn touch_token(&mut self, id: TokenId, now: Millis) -> Result<()>;

    // Users.
    async fn user(&mut self, id: &UserId) -> Result<Option<User>>;
    async fn user_by_name(&mut self, user_name_folded: &str) -> Result<Option<User>>;
    /// `Error::Conflict` when the folded userName is taken.
    async fn insert_user(&mut self, user: &User) -> Result<()>;
    /// Writes every field of `after`; `before` is the stored user it replaces, so only what changed is re-indexed.
    /// `Error::Conflict` on a userName clash.
    async fn update_user(&mut self, before: &User, after: &User) -> Result<()>;
    async fn list_users(&mut self, q: &UserQuery) -> Result<Page<User>>;
    async fn groups_of_user(&mut self, id: &UserId) -> Result<Vec<GroupRef>>;
    /// The users among `ids` that exist (tombstones included), in no particular order.
    async fn users_by_ids(&mut self, ids: &[UserId]) -> Result<Vec<User>>;
    /// The users among `ids` that exist and are not tombstones, each with whether it is active.
    async fn live_users(&mut self, ids: &[UserId]) -> Result<Vec<(UserId, bool)>>;
    /// How many groups each of `ids` is in now; users in none are left out.
    async fn group_counts(&mut self, ids: &[UserId]) -> Result<Vec<(UserId, i64)>>;

    // Groups.
    async fn group(&mut self, id: &GroupId) -> Result<Option<Group>>;
    async fn group_by_name(&mut self, display_name_folded: &str) -> Result<Option<Group>>;
    /// Writes every field, `member_count` included. `Error::Conflict` when the folded displayName is taken.
    async fn insert_group(&mut self, group: &Group) -> Result<()>;
    /// Writes every field, `member_count` included. `Error::Conflict` when the folded displayName is taken.
    async fn update_group(&mut self, group: &Group) -> Result<()>;
    async fn delete_group(&mut self, id: &GroupId) -> Result<()>;
    async fn list_groups(&mut self, q: &GroupQuery) -> Result<Page<Group>>;
    /// Members of one group, tombstones excluded, ordered by userName. `count` 0 means all.
    async fn members(&mut self, id: &GroupId, start_index: i64, count: i64) -> Result<Page<MemberRef>>;
    /// Members of several groups (tombstones excluded), in the order of `ids`.
    async fn members_of(&mut self, ids: &[GroupId]) -> Result<Vec<Vec<MemberRef>>>;
    /// Adds the given users; returns those that were not members before. O(changed), not O(group size).
    async fn add_members(&mut self, id: &GroupId, users: &[UserId], now: Millis) -> Result<Vec<UserId>>;
    /// Removes the given users; returns those that were members.
    async fn remove_members(&mut self, id: &GroupId, users: &[UserId]) -> Result<Vec<UserId>>;
    /// Removes everyone; returns who was a member.
    async fn clear_members(&mut self, id: &GroupId) -> Result<Vec<UserId>>;
    async fn member_ids(&mut self, id: &GroupId) -> Result<Vec<UserId>>;

    /// Each IdP that manages at least one user or group: its label, and how many users and groups it manages.
    async fn idp_counts(&mut self) -> Result<Vec<IdpObjects>>;
    /// Makes every user and group managed by the IdP labelled `label` local; returns how many users and groups.
    async fn release_idp(&mut self, label: &str) -> Result<(i64, i64)>;

    // The provisioning log.
    /// Writes a log entry now and returns its id (for a failure's detail, which quotes it).
    async fn insert_log_entry(&mut self, event: &NewLogEntry) -> Result<LogEntryId>;
    /// Records a log entry of this transaction: written when it commits, or never if it does not.
    async fn add_log_entry(&mut self, event: &NewLogEntry) -> Result<()>;
    async fn log_entries(&mut self, q: &LogQuery) -> Result<Page<LogEntry>>;
    async fn log_entry(&mut self, id: LogEntryId) -> Result<Option<LogEntry>>;
    /// Deletes up to `limit` of the oldest log entries from before `before`; returns how many went.
    async fn prune_log_entries(&mut self, before: Millis, limit: i64) -> Result<u64>;
    /// Deletes sign-in attempt windows that began before `before`.
    async fn prune_sign_in_attempts(&mut self, before: Millis) -> Result<u64>;
}
