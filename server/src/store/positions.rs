//! Deep pages of the default user listing without OFFSET. SCIM pages by position (`startIndex`, RFC 7644 §3.4.2.4),
//! and OFFSET reads every row it skips: the last page of 100,000 users read 100,000 index entries, and its total a
//! count of as many. This keeps, per instance, where every [`STRIDE`]th live user stands in creation order and how
//! many there are. A page then seeks to the nearest mark before it and skips fewer than [`STRIDE`] entries.
//!
//! The marks hold while `setting.user_version` is unchanged: every write that adds a live user, or tombstones or
//! restores one, bumps it in the same transaction (see `tx.rs`), on any instance. A listing reads the version first;
//! when it moved, the marks are read again, once, by whichever listing gets there first.
use roster::model::{UserQuery, UserSort};
use std::sync::Arc;
use tokio::sync::Mutex;

/// Live users between two marks.
pub const STRIDE: i64 = 1000;

/// The marks as of one `user_version`.
#[derive(Debug, Clone)]
pub struct Marks {
    pub version: i64,
    /// Live users.
    pub total: i64,
    /// `(created_at, user_id)` of the live users at positions 0, STRIDE, 2·STRIDE, …
    pub keys: Vec<(i64, String)>,
}

impl Marks {
    /// The mark at or before `offset`, and how many users lie between it and `offset`.
    pub fn seek(&self, offset: i64) -> Option<(&(i64, String), i64)> {
        let k = usize::try_from(offset / STRIDE).ok()?;
        self.keys.get(k).map(|key| (key, offset - offset / STRIDE * STRIDE))
    }
}

/// The statement that reads the marks: every STRIDE-th live user by creation order, numbered by a window function,
/// from the index of live users alone (migration 0006).
pub fn marks_sql() -> String {
    format!(
        "select created_at, user_id from (select created_at, user_id, \
         row_number() over (order by created_at, user_id) - 1 as position from app_user where deleted_at is null) \
         as live where position % {STRIDE} = 0 order by position"
    )
}

/// One instance's marks, shared by its read connections.
#[derive(Debug, Default)]
pub struct Positions {
    marks: Mutex<Option<Arc<Marks>>>,
}

impl Positions {
    /// The marks for `version`, read with `load` if those held are older. Concurrent listings wait for one read.
    pub async fn get<F, Fut>(&self, version: i64, load: F) -> roster::Result<Arc<Marks>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = roster::Result<Marks>>,
    {
        let mut held = self.marks.lock().await;
        match &*held {
            Some(m) if m.version == version => Ok(m.clone()),
            _ => {
                let m = Arc::new(load().await?);
                *held = Some(m.clone());
                Ok(m)
            }
        }
    }
}

/// Whether a listing is the default one the marks serve: every live user, in creation order, no filter.
pub fn serves(q: &UserQuery) -> bool {
    q.filter.is_none()
        && q.search.as_deref().is_none_or(|s| s.trim().is_empty())
        && q.status.is_none()
        && q.managed_by_idp.is_none()
        && q.sort == UserSort::Created
        && !q.descending
        && !q.include_deleted
}
