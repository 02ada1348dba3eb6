//! The directory API (read-only, for the product's own services) and the event feed. Reads only: every change and its
//! events are written by the other services.
use super::now;
use crate::Kind;
use crate::model::*;
use crate::store::{Read, Store};
use crate::{Error, Result};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// The most items one page of the directory API or the feed returns.
pub const MAX_LIMIT: i64 = 1_000;
/// The longest a feed request may wait for an event.
pub const MAX_WAIT_SECS: u64 = 30;
/// How often the feed's watcher looks for events another instance committed, while anyone waits.
const POLL: Duration = Duration::from_millis(250);
/// Feed requests one API token may have in progress at once, waiting or not; one more is answered 429.
pub const MAX_WAITERS_PER_TOKEN: usize = 50;
/// Feed requests this instance holds at once, whatever their tokens.
pub const MAX_WAITERS: usize = 2_000;
/// Events read from the database at a time while a page is built, so a page's byte bound holds while reading, not
/// only after: a thousand membership events would otherwise be read whole (tens of megabytes) to keep a few.
const READ_CHUNK: i64 = 50;
/// The most event data one page of the feed carries (it always carries one event): a page of membership events,
/// each with up to a thousand ids, is bounded by its size as well as its count.
pub const MAX_PAGE_BYTES: usize = 1 << 20;

#[derive(Clone)]
pub struct DirectoryService {
    pub(super) store: Arc<dyn Store>,
    pub(super) feed: Arc<Feed>,
}

/// How long a woken waiter lets further commits gather before it reads its page.
const LINGER: Duration = Duration::from_millis(50);

/// The feed's waiting requests, and the one watcher per instance that tells them of new events: it reads the newest
/// event's number once per commit on this instance, and every [`POLL`] while anyone waits (for other instances'),
/// and a waiter reads the database only when there is something new for it.
#[derive(Default)]
pub struct Feed {
    /// The newest event's seq as the watcher last read it.
    newest: std::sync::OnceLock<tokio::sync::watch::Sender<i64>>,
    /// Told when a request starts waiting, so an idle watcher looks at once.
    arrived: tokio::sync::Notify,
    waiting: std::sync::Mutex<Waiting>,
    /// Held while a page is read and written, so requests for the same page find it done.
    pages: tokio::sync::Mutex<PageCache>,
}

#[derive(Default)]
struct Waiting {
    total: usize,
    by_token: HashMap<TokenId, usize>,
}

/// A waiting request's place; given back when it ends, however it ends.
struct WaitSlot {
    feed: Arc<Feed>,
    token: TokenId,
}

impl Drop for WaitSlot {
    fn drop(&mut self) {
        let mut w = self.feed.waiting.lock().unwrap_or_else(|p| p.into_inner());
        w.total = w.total.saturating_sub(1);
        if let Some(n) = w.by_token.get_mut(&self.token) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                w.by_token.remove(&self.token);
            }
        }
    }
}

impl Feed {
    fn wait_slot(self: &Arc<Self>, token: TokenId) -> Result<WaitSlot> {
        let mut w = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        let mine = w.by_token.get(&token).copied().unwrap_or(0);
        if mine >= MAX_WAITERS_PER_TOKEN {
            return Err(Error::TooBusy(format!(
                "this API token already has {MAX_WAITERS_PER_TOKEN} feed requests in progress; wait for one to answer"
            )));
        }
        if w.total >= MAX_WAITERS {
            return Err(Error::TooBusy(
                "the event feed has as many requests waiting as it takes; retry shortly".into(),
            ));
        }
        w.total += 1;
        *w.by_token.entry(token).or_default() += 1;
        Ok(WaitSlot { feed: self.clone(), token })
    }

    /// A receiver of the newest seq; starts the watcher on first use.
    fn subscribe(self: &Arc<Self>, store: &Arc<dyn Store>) -> tokio::sync::watch::Receiver<i64> {
        let newest = self.newest.get_or_init(|| {
            let (tx, _) = tokio::sync::watch::channel(-1);
            tokio::spawn(watch(self.clone(), store.clone(), tx.clone()));
            tx
        });
        let rx = newest.subscribe();
        self.arrived.notify_one();
        rx
    }
}

/// The watcher: publishes the newest seq while anyone waits, for as long as the process runs.
async fn watch(feed: Arc<Feed>, store: Arc<dyn Store>, newest: tokio::sync::watch::Sender<i64>) {
    let mut local = store.event_signal();
    loop {
        local.borrow_and_update();
        if newest.receiver_count() == 0 {
            // Nobody waits: no reads until a commit here or a new waiter.
            tokio::select! {
                _ = local.changed() => {}
                _ = feed.arrived.notified() => {}
            }
            continue;
        }
        match store.begin_read().await {
            Ok(mut tx) => match tx.event_bounds().await {
                Ok((seq, _)) => {
                    newest.send_if_modified(|n| std::mem::replace(n, seq) != seq);
                }
                Err(e) => tracing::warn!(error = %e, "the event feed could not read the newest event"),
            },
            Err(e) => tracing::warn!(error = %e, "the event feed could not read the newest event"),
        }
        if tokio::time::timeout(POLL, local.changed()).await.is_ok_and(|r| r.is_err()) {
            // No commits will be signalled any more (the store is shutting down): poll only.
            tokio::time::sleep(POLL).await;
        }
    }
}

/// A page of the event feed.
#[derive(Debug, Clone, PartialEq)]
pub struct EventFeed {
    pub events: Vec<DirectoryEvent>,
    /// The cursor to pass as `after` next time: the last event's seq, or the one given when there was none.
    pub next: i64,
}

impl EventFeed {
    /// The page as the feed answers it: `{"events": […], "next": "…"}`, each event in its Standard Webhooks shape.
    pub fn to_json(&self) -> String {
        let events: Vec<serde_json::Value> = self.events.iter().map(DirectoryEvent::payload).collect();
        serde_json::json!({ "events": events, "next": self.next.to_string() }).to_string()
    }
}

/// A page of the feed as served, shared by the requests that ask for it: its JSON is written once however many
/// requests it answers.
#[derive(Debug)]
pub struct FeedPage {
    pub feed: EventFeed,
    /// Asked for: events after `after`, at most `limit`.
    after: i64,
    limit: i64,
    /// Whether it holds as much as a page may (`limit` events, or [`MAX_PAGE_BYTES`]): then it never changes.
    full: bool,
    /// The newest seq known to exist when it was read.
    read_at: i64,
    json: std::sync::OnceLock<Arc<str>>,
}

impl FeedPage {
    fn new(after: i64, limit: i64, feed: EventFeed, full: bool, read_at: i64) -> FeedPage {
        FeedPage { after, limit, feed, full, read_at, json: Default::default() }
    }

    /// The page's JSON, written once and shared (a clone is a reference count, not a copy).
    pub fn json(&self) -> Arc<str> {
        self.json.get_or_init(|| self.feed.to_json().into()).clone()
    }
}

/// Pages recently served, newest last.
#[derive(Default)]
struct PageCache {
    pages: Vec<Arc<FeedPage>>,
}

const PAGE_CACHE: usize = 64;

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

    /// `GET /v1/events`: events after the cursor in commit order, at most `limit` and [`MAX_PAGE_BYTES`] of them.
    /// With `wait`, an empty answer waits up to that long for the next event: woken by the watcher at once for this
    /// instance's commits, within [`POLL`] for another instance's. `token` is the API token asking, whose waiting
    /// requests are capped.
    pub async fn events(&self, token: TokenId, after: i64, limit: i64, wait: Duration) -> Result<Arc<FeedPage>> {
        let limit = limit.clamp(1, MAX_LIMIT);
        let (newest, pruned) = self.store.begin_read().await?.event_bounds().await?;
        if after < pruned {
            return Err(Error::Gone(format!(
                "events up to {pruned} were removed by the retention policy, so the cursor {after} has missed some; \
                 read the current state from /v1/users and /v1/groups, then follow the feed from cursor {newest}"
            )));
        }
        if after > newest.max(pruned) {
            return Err(Error::CursorAhead { cursor: after, newest: newest.max(pruned) });
        }
        // Every feed request holds a place while it is served, waiting or not: one token cannot queue thousands.
        let _slot = self.feed.wait_slot(token)?;
        let wait = wait.min(Duration::from_secs(MAX_WAIT_SECS));
        if newest > after || wait.is_zero() {
            return self.page(after, limit, newest).await;
        }
        let mut watcher = self.feed.subscribe(&self.store);
        let woken = match tokio::time::timeout(wait, watcher.wait_for(|n| *n > after)).await {
            Ok(Ok(newest)) => *newest,
            _ => {
                let empty = EventFeed { events: Vec::new(), next: after };
                return Ok(Arc::new(FeedPage::new(after, limit, empty, false, after)));
            }
        };
        // Let the commits right behind this one join the page, so a busy feed answers fewer, fuller pages.
        tokio::time::sleep(LINGER).await;
        self.page(after, limit, woken).await
    }

    /// The page after `after`, for a reader who knows events up to `newest` exist. Pages are shared: a full page never
    /// changes (events are numbered in commit order), and any page read since `newest` is as new as a read now, so
    /// consumers at the same cursor (every waiter a commit woke, or consumers catching up in step) cost one read and
    /// one JSON text between them. Pages are built one at a time, so a crowd of consumers queues here instead of
    /// taking the processor from SCIM.
    async fn page(&self, after: i64, limit: i64, newest: i64) -> Result<Arc<FeedPage>> {
        let mut cache = self.feed.pages.lock().await;
        let usable = |p: &&Arc<FeedPage>| p.after == after && p.limit == limit && (p.full || p.read_at >= newest);
        if let Some(page) = cache.pages.iter().rev().find(usable) {
            return Ok(page.clone());
        }
        let mut tx = self.store.begin_read().await?;
        let mut page = Filling::default();
        while (page.events.len() as i64) < limit && !page.full {
            let from = page.events.last().map_or(after, |e| e.seq);
            let asked = READ_CHUNK.min(limit - page.events.len() as i64);
            let chunk = tx.directory_events(from, asked).await?;
            let newest_in = (chunk.len() as i64) < asked;
            page.take(chunk, MAX_PAGE_BYTES);
            if newest_in {
                break; // The newest event is in: the page ends here for now.
            }
        }
        drop(tx);
        let full = page.full || page.events.len() as i64 == limit;
        let events = page.events;
        let next = events.last().map(|e| e.seq).unwrap_or(after);
        let page = Arc::new(FeedPage::new(after, limit, EventFeed { events, next }, full, newest));
        page.json();
        if cache.pages.len() >= PAGE_CACHE {
            cache.pages.remove(0);
        }
        cache.pages.push(page.clone());
        Ok(page)
    }

    /// Feed requests waiting on this instance now.
    pub fn waiting(&self) -> usize {
        self.feed.waiting.lock().unwrap_or_else(|p| p.into_inner()).total
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

/// A page being filled, a chunk of events at a time, up to a number of bytes of event data.
#[derive(Default)]
struct Filling {
    events: Vec<DirectoryEvent>,
    bytes: usize,
    /// As full as the byte bound lets it be.
    full: bool,
}

impl Filling {
    /// Takes events from `chunk` while they fit in `max_bytes`; a page always takes its first event, however large.
    fn take(&mut self, chunk: Vec<DirectoryEvent>, max_bytes: usize) {
        for e in chunk {
            let size = e.data.to_string().len();
            if self.bytes + size > max_bytes && !self.events.is_empty() {
                self.full = true;
                return;
            }
            self.bytes += size;
            self.events.push(e);
        }
    }
}

fn group_ref(g: GroupRef) -> DirectoryGroupRef {
    DirectoryGroupRef { id: g.id, display_name: g.display_name }
}

pub(super) async fn charts(tx: &mut dyn Read, at: Millis) -> Result<Charts> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn event(seq: i64, ids: usize) -> DirectoryEvent {
        let ids: Vec<String> = (0..ids).map(|i| format!("{i:036}")).collect();
        let data = serde_json::json!({ "group": { "id": "g" }, "userIds": ids });
        DirectoryEvent { seq, id: format!("evt_{seq}"), kind: "group.members_added".into(), at: 0, data }
    }

    #[test]
    fn a_feed_page_is_bounded_in_bytes_and_always_moves_on() {
        // A thousand ids of 36 characters: about 39 KB each, taken in chunks as the page reads them.
        let mut page = Filling::default();
        for chunk in 0..4 {
            page.take((1..=50).map(|s| event(chunk * 50 + s, 1000)).collect(), MAX_PAGE_BYTES);
        }
        let n = page.events.len();
        assert!(n > 1 && n < 100 && page.full && page.bytes <= MAX_PAGE_BYTES, "{n} events, {} bytes", page.bytes);
        let mut alone = Filling::default();
        alone.take(vec![event(1, 1000), event(2, 1000)], 10);
        assert_eq!((alone.events.len(), alone.full), (1, true), "one event larger than the bound still goes alone");
        let mut small = Filling::default();
        small.take((1..=3).map(|s| event(s, 1000)).collect(), MAX_PAGE_BYTES);
        assert_eq!((small.events.len(), small.full), (3, false));
    }
}
