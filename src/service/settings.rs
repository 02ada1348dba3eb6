//! SCIM on/off, the licence, and the dashboard's figures.
use super::{Activity, Ctx, now};
use crate::Kind;
use crate::model::{
    Dashboard, IdpObjects, LogEntry, LogEntryId, LogQuery, Outcome, Page, SeatLimit, SeatUsage, Settings, fold,
};
use crate::rules;
use crate::rules::roles::Action;
use crate::store::Store;
use crate::{Error, Result};
use std::sync::Arc;
use std::sync::atomic::Ordering;

#[derive(Clone)]
pub struct SettingsService {
    pub(super) store: Arc<dyn Store>,
    pub(super) activity: Arc<Activity>,
    /// Remembered authentications, which carry the SCIM switch: forgotten when it turns.
    pub(super) auth: super::tokens::AuthCache,
}

impl SettingsService {
    pub async fn get(&self) -> Result<Settings> {
        self.store.begin_read().await?.settings().await
    }

    /// Seats used and the licence, from the one running count every page and command shows.
    pub async fn seats(&self) -> Result<SeatUsage> {
        self.store.begin_read().await?.seat_usage().await
    }

    /// Turning SCIM on or off changes no user or group; it only changes who may edit IdP-managed ones.
    pub async fn set_scim_enabled(&self, ctx: &Ctx, on: bool) -> Result<Settings> {
        ctx.require(Action::Integrations)?;
        let ctx = ctx.clone();
        let settings = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    let before = tx.settings().await?;
                    if before.scim_enabled != on {
                        tx.set_scim_enabled(on).await?;
                        let what = if on { "SCIM provisioning enabled" } else { "SCIM provisioning disabled" };
                        super::outbox::scim_switched(tx, on, &ctx.actor.name()).await?;
                        tx.add_log_entry(&ctx.entry(200, None, what.into())).await?;
                    }
                    Ok(Settings { scim_enabled: on, ..before })
                })
            })
            .await?;
        self.auth.clear();
        Ok(settings)
    }

    /// Sets the licence, which cannot go below the seats in use ([`rules::seats::check_licence`]).
    pub async fn set_seats(&self, ctx: &Ctx, seats: i64) -> Result<SeatUsage> {
        ctx.require(Action::Integrations)?;
        let ctx = ctx.clone();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let before = tx.seat_usage().await?;
                    rules::seats::check_licence(seats, before)?;
                    let used = before.used;
                    if before.limit != seats {
                        tx.set_seat_limit(SeatLimit(seats)).await?;
                        tx.add_log_entry(&ctx.entry(200, None, format!("seats: {} → {seats}", before.limit))).await?;
                    }
                    Ok(SeatUsage { used, limit: seats })
                })
            })
            .await
    }

    /// The IdPs that manage objects, and how many each manages.
    pub async fn idps(&self) -> Result<Vec<IdpObjects>> {
        self.store.begin_read().await?.idp_counts().await
    }

    /// Releases every user and group one IdP manages to local (`roster scim release NAME`, the SCIM page): they become
    /// editable here, and any IdP's next push may adopt them. Ownership follows the token name, compared without regard
    /// to case. Nothing an IdP sees over SCIM changes, so versions and seats stay as they are; one log entry records it.
    pub async fn release_idp(&self, ctx: &Ctx, name: &str) -> Result<IdpObjects> {
        ctx.require(Action::Integrations)?;
        let (ctx, name) = (ctx.clone(), name.trim().to_owned());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let wanted = fold(&name);
                    let mut released = IdpObjects { idp: name.clone(), users: 0, groups: 0 };
                    for idp in tx.idp_counts().await?.into_iter().filter(|i| fold(&i.idp) == wanted) {
                        let (users, groups) = tx.release_idp(&idp.idp).await?;
                        released.users += users;
                        released.groups += groups;
                    }
                    if released.users + released.groups == 0 {
                        return Err(Error::not_found(Kind::Token, format!("'{name}' managing any user or group")));
                    }
                    let what = format!(
                        "released {} users and {} groups from {name}: they are local now, and an IdP's next push may adopt them",
                        released.users, released.groups
                    );
                    tx.add_log_entry(&ctx.entry(200, None, what)).await?;
                    Ok(released)
                })
            })
            .await
    }

    pub async fn dashboard(&self) -> Result<Dashboard> {
        let since = now() - 24 * 3600 * 1000;
        let mut tx = self.store.begin_read().await?;
        let settings = tx.settings().await?;
        let seats = tx.seat_usage().await?;
        let counts = tx.counts().await?;
        let page = |q: LogQuery| LogQuery { start_index: 1, ..q };
        let refused =
            tx.log_entries(&page(LogQuery { outcome: Some(Outcome::NoSeats), count: 5, ..Default::default() })).await?;
        let errors = tx
            .log_entries(&page(LogQuery { failed_only: true, since: Some(since), count: 0, ..Default::default() }))
            .await?;
        let recent = tx.log_entries(&page(LogQuery { count: 8, ..Default::default() })).await?;
        // Any instance's last request: each touches its token at most once a minute (tokens.rs), so this instance's
        // own clock is the freshest for its requests and the tokens are for the others'.
        let touched = tx
            .list_tokens(crate::model::TokenKind::Scim)
            .await?
            .into_iter()
            .filter_map(|t| t.last_used_at)
            .max()
            .unwrap_or(0);
        let last = self.activity.last_request_at.load(Ordering::Relaxed).max(touched);
        let charts = super::directory::charts(tx.as_mut(), now()).await?;
        Ok(Dashboard {
            settings,
            seats,
            counts,
            refused_total: refused.total,
            refused: refused.items,
            errors_24h: errors.total,
            last_request_at: (last > 0).then_some(last),
            reads: self.activity.reads.load(Ordering::Relaxed),
            recent: recent.items,
            charts,
        })
    }

    /// Deletes log entries older than `retention`, a batch at a time, each batch its own short write, so pruning a
    /// large log never holds the write lock for long. Returns how many went.
    pub async fn prune_log(&self, retention: crate::model::Millis) -> Result<u64> {
        const BATCH: i64 = 2_000;
        let (before, windows) = (now() - retention, now() - super::SIGN_IN_WINDOW_MS);
        self.store.write(move |tx| Box::pin(async move { tx.prune_sign_in_attempts(windows).await })).await?;
        let mut total = 0;
        loop {
            let n =
                self.store.write(move |tx| Box::pin(async move { tx.prune_log_entries(before, BATCH).await })).await?;
            total += n;
            if n < BATCH as u64 {
                return Ok(total);
            }
            tokio::task::yield_now().await;
        }
    }

    pub async fn log(&self, q: &LogQuery) -> Result<Page<LogEntry>> {
        self.store.begin_read().await?.log_entries(q).await
    }

    pub async fn log_entry(&self, id: LogEntryId) -> Result<LogEntry> {
        self.store
            .begin_read()
            .await?
            .log_entry(id)
            .await?
            .ok_or_else(|| Error::not_found(Kind::LogEntry, format!("#{id}")))
    }
}
