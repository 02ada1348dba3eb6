//! The directory API (read-only, for the product's own services) and the event feed. Reads only: every change and its
//! events are written by the other services.
use super::now;
use crate::Kind;
use crate::model::*;
use crate::store::{Store, Tx};
use crate::{Error, Result};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// The most items one page of the directory API or the feed returns.
pub const MAX_LIMIT: i64 = 1_000;
/// The longest a feed request may wait for an event.
pub const MAX_WAIT_SECS: u64 = 30;
/// How often a waiting feed request looks for events another instance committed.
const POLL: Duration = Duration::from_millis(250);

#[derive(Clone)]
pub struct DirectoryService {
    pub(super) store: Arc<dyn Store>,
}

/// A page of the event feed.
#[derive(Debug, Clone, PartialEq)]
pub struct EventFeed {
    pub events: Vec<DirectoryEvent>,
    /// The cursor to pass as `after` next time: the last event's seq, or the one given when there was none.
    pub next: i64,
}

/// Clamps a requested page size: absent or below 1 is 100.
pub fn limit(requested: Option<i64>) -> i64 {
    match requested {
        Some(n) if n >= 1 => n.min(MAX_LIMIT),
        _ => 100,
    }
}

impl DirectoryService {
    /// `GET /v1/users/{id or userName}`. A tombstone answers with `deleted: true`, so a caller can tell "gone" from
    /// "never existed".
    pub async fn user(&self, key: &str) -> Result<DirectoryUser> {
        let mut tx = self.store.begin_read().await?;
        let user = match tx.user(&UserId(key.to_owned())).await? {
            Some(u) => u,
            None => {
                tx.user_by_name(&fold(key)).await?.ok_or_else(|| Error::not_found(Kind::User, format!("'{key}'")))?
            }
        };
        let groups = tx.groups_of_user(&user.id).await?.into_iter().map(group_ref).collect();
        Ok(DirectoryUser::of(&user, Some(groups)))
    }

    /// `GET /v1/users` and `GET /v1/groups/{id}/members`: keyset pages by id, each O(page) at any size.
    pub async fn users(&self, q: &DirectoryUserQuery) -> Result<CursorPage<DirectoryUser>> {
        let mut tx = self.store.begin_read().await?;
        if let Some(g) = &q.group
            && tx.group(g).await?.is_none()
        {
            return Err(Error::not_found(Kind::Group, g));
        }
        let q = DirectoryUserQuery { limit: q.limit.clamp(1, MAX_LIMIT), ..q.clone() };
        let mut users = tx.directory_users(&DirectoryUserQuery { limit: q.limit + 1, ..q.clone() }).await?;
        let more = users.len() as i64 > q.limit;
        users.truncate(q.limit as usize);
        let ids: Vec<UserId> = users.iter().map(|u| u.id.clone()).collect();
        let mut groups: HashMap<UserId, Vec<DirectoryGroupRef>> = HashMap::new();
        for (u, g) in tx.groups_of_users(&ids).await? {
            groups.entry(u).or_default().push(group_ref(g));
        }
        let next = more.then(|| users.last().map(|u| u.id.to_string())).flatten();
        let items =
            users.iter().map(|u| DirectoryUser::of(u, Some(groups.remove(&u.id).unwrap_or_default()))).collect();
        Ok(CursorPage { items, next })
    }

    /// `GET /v1/groups`.
    pub async fn groups(&self, after: Option<&GroupId>, limit: i64) -> Result<CursorPage<DirectoryGroup>> {
        let mut tx = self.store.begin_read().await?;
        let limit = limit.clamp(1, MAX_LIMIT);
        let mut groups = tx.directory_groups(after, limit + 1).await?;
        let more = groups.len() as i64 > limit;
        groups.truncate(limit as usize);
        let next = more.then(|| groups.last().map(|g| g.id.to_string())).flatten();
        Ok(CursorPage { items: groups.iter().map(DirectoryGroup::of).collect(), next })
    }

    /// `GET /v1/groups/{id}`.
    pub async fn group(&self, id: &GroupId) -> Result<DirectoryGroup> {
        let mut tx = self.store.begin_read().await?;
        tx.group(id).await?.map(|g| DirectoryGroup::of(&g)).ok_or_else(|| Error::not_found(Kind::Group, id))
    }

    /// `GET /v1/events`: events after the cursor in commit order. With `wait`, an empty answer waits up to that long
    /// for the next commit: at once for this instance's commits, within [`POLL`] for another instance's.
    pub async fn events(&self, after: i64, limit: i64, wait: Duration) -> Result<EventFeed> {
        let limit = limit.clamp(1, MAX_LIMIT);
        let deadline = tokio::time::Instant::now() + wait.min(Duration::from_secs(MAX_WAIT_SECS));
        let mut signal = self.store.event_signal();
        loop {
            signal.borrow_and_update();
            let mut tx = self.store.begin_read().await?;
            let (newest, pruned) = tx.event_bounds().await?;
            if after < pruned {
                return Err(Error::Gone(format!(
                    "events up to {pruned} were removed by the retention policy, so the cursor {after} has missed some; \
                     read the current state from /v1/users and /v1/groups, then follow the feed from cursor {newest}"
                )));
            }
            let events = if newest > after { tx.directory_events(after, limit).await? } else { Vec::new() };
            drop(tx);
            let now = tokio::time::Instant::now();
            if !events.is_empty() || now >= deadline {
                let next = events.last().map(|e| e.seq).unwrap_or(after);
                return Ok(EventFeed { events, next });
            }
            let _ = tokio::time::timeout(POLL.min(deadline - now), signal.changed()).await;
        }
    }

    /// The cursors of the newest event (`after=now`) and of just before the oldest kept (no `after`).
    pub async fn cursor_bounds(&self) -> Result<(i64, i64)> {
        self.store.begin_read().await?.event_bounds().await
    }

    /// Deletes events older than `retention`, a batch per short write.
    pub async fn prune_events(&self, retention: Millis) -> Result<u64> {
        const BATCH: i64 = 2_000;
        let before = now() - retention;
        self.store.write(move |tx| Box::pin(async move { tx.prune_webhook_deliveries(before).await })).await?;
        let mut total = 0;
        loop {
            let n = self
                .store
                .write(move |tx| Box::pin(async move { tx.prune_directory_events(before, BATCH).await }))
                .await?;
            total += n;
            if n < BATCH as u64 {
                return Ok(total);
            }
            tokio::task::yield_now().await;
        }
    }

    /// Drift per group: the SCIM page and the confirmation before SCIM goes back on.
    pub async fn drift(&self) -> Result<Vec<GroupDrift>> {
        self.store.begin_read().await?.drift().await
    }

    /// The dashboard's charts: seats per day over 30 days, activity per hour over 7 days.
    pub async fn charts(&self) -> Result<Charts> {
        let mut tx = self.store.begin_read().await?;
        charts(tx.as_mut(), now()).await
    }
}

fn group_ref(g: GroupRef) -> DirectoryGroupRef {
    DirectoryGroupRef { id: g.id, display_name: g.display_name }
}

pub(super) async fn charts(tx: &mut dyn Tx, at: Millis) -> Result<Charts> {
    const DAY: i64 = 86_400_000;
    const HOUR: i64 = 3_600_000;
    let (today, this_hour) = (at.div_euclid(DAY), at.div_euclid(HOUR));
    let (first_day, first_hour) = (today - 29, this_hour - 167);
    let (days, hours) = tx.chart_rows(first_day, first_hour).await?;
    let usage = tx.seat_usage().await?;
    // Each day carries the last value known by then; today is the count now.
    let mut last = tx.seat_day_before(first_day).await?;
    let mut by_day: HashMap<i64, SeatDay> = days.into_iter().map(|d| (d.day, d)).collect();
    let mut seats = Vec::with_capacity(30);
    for day in first_day..=today {
        let point = match by_day.remove(&day) {
            Some(d) => Some(d),
            None => last.map(|l| SeatDay { day, used: l.used, peak: l.used, limit: l.limit }),
        };
        let point = if day == today {
            let p = point.unwrap_or(SeatDay { day, used: usage.used, peak: usage.used, limit: usage.limit });
            Some(SeatDay { used: usage.used, peak: p.peak.max(usage.used), limit: usage.limit, ..p })
        } else {
            point
        };
        if let Some(p) = point {
            seats.push(p);
            last = Some(p);
        }
    }
    let by_hour: HashMap<i64, ActivityHour> = hours.into_iter().map(|h| (h.hour, h)).collect();
    let activity = (first_hour..=this_hour)
        .map(|hour| by_hour.get(&hour).copied().unwrap_or(ActivityHour { hour, ..Default::default() }))
        .collect();
    Ok(Charts { seats, activity })
}
