//! Deep pages of the default user listing without OFFSET. SCIM pages by position (`startIndex`, RFC 7644 §3.4.2.4),
//! and OFFSET reads every row it skips: the last page of 100,000 users read 100,000 index entries, and its total a
//! count of as many. This keeps, per instance, where every [`STRIDE`]th live user stands in creation order. A page then
//! seeks to the nearest mark before it and skips fewer than [`STRIDE`] entries. The total of live users is kept on the
//! settings row (migration 0014), so a page never counts them.
//!
//! A tombstone or a restore moves the positions after it: `setting.user_version` moves in the same transaction
//! (`settings::flush`), on any instance, and the marks are read again, once, by whichever listing gets there first.
//! A new user moves the total but not the version: users come in creation order, so they are added after the last
//! mark, and the marks from the last one on are read again, from there: an IdP's first push, a million creates with
//! its import paging alongside, would otherwise read every mark again after each create. A user added before the last
//! mark (a clock behind another instance's) shows as a tail that grew by less than the total, and then every mark is
//! read again.
use roster::model::{UserQuery, UserSort};
use std::sync::Arc;
use tokio::sync::Mutex;

/// Live users between two marks.
pub const STRIDE: i64 = 1000;

/// The marks as of one `user_version` and total of live users.
#[derive(Debug, Clone)]
pub struct Marks {
    pub version: i64,
    pub live: i64,
    /// `(created_at, user_id)` of the live users at positions 0, STRIDE, 2·STRIDE, …
    pub keys: Vec<(i64, String)>,
}

impl Marks {
    /// The mark at or before `offset`, and how many users lie between it and `offset`.
    pub fn seek(&self, offset: i64) -> Option<(&(i64, String), i64)> {
        let k = usize::try_from(offset / STRIDE).ok()?;
        self.keys.get(k).map(|key| (key, offset - offset / STRIDE * STRIDE))
    }

    /// The last mark, where [`Marks::extend`] reads on from.
    pub fn last(&self) -> Option<&(i64, String)> {
        self.keys.last()
    }

    /// These marks with the ones from the last on read again (`tail`, read from [`Marks::last`] on, which holds
    /// `in_tail` live users now), if only users at or after the last mark came since: the tail grew by as much as the
    /// total of live users did.
    pub fn extend(&self, live: i64, in_tail: i64, tail: Vec<(i64, String)>) -> Option<Marks> {
        let last = self.last()?;
        let before = STRIDE * (self.keys.len() as i64 - 1);
        if tail.first() != Some(last) || before + in_tail != live || live < self.live {
            return None;
        }
        let mut keys = self.keys[..self.keys.len() - 1].to_vec();
        keys.extend(tail);
        Some(Marks { version: self.version, live, keys })
    }
}

/// The statement that reads the marks, in order: the first live user by creation order (`from`: from the key
/// `($1, $2)` on), then, from each mark, the live user [`STRIDE`] places after it, found in the index of live users
/// (migration 0006) by skipping its entries, until there is none. A window function numbering every live user read
/// the same marks 8 times slower on SQLite, where it copies every row into a temporary table first (1.06 s against
/// 0.13 s at a million users, bench/RESULTS.md).
pub fn marks_sql(from: bool) -> String {
    let from = if from { " and (created_at, user_id) >= ($1, $2)" } else { "" };
    format!(
        "with recursive mark (created_at, user_id) as (\
         select created_at, user_id from (select created_at, user_id from app_user where deleted_at is null{from} \
         order by created_at, user_id limit 1) as head \
         union all \
         select a.created_at, a.user_id from mark join app_user a on a.user_id = (select u.user_id from app_user u \
         where u.deleted_at is null and (u.created_at, u.user_id) > (mark.created_at, mark.user_id) \
         order by u.created_at, u.user_id limit 1 offset {skip})) \
         select created_at, user_id from mark order by created_at, user_id",
        skip = STRIDE - 1
    )
}

/// One instance's marks, shared by its read connections.
#[derive(Debug, Default)]
pub struct Positions {
    marks: Mutex<Option<Arc<Marks>>>,
}

impl Positions {
    /// The marks for `version` and `live`: those held if they are still right, else what `load` makes of the held
    /// ones of the same version (see the module's notes). Concurrent listings wait for one load.
    pub async fn get<F, Fut>(&self, version: i64, live: i64, load: F) -> roster::Result<Arc<Marks>>
    where
        F: FnOnce(Option<Arc<Marks>>) -> Fut,
        Fut: Future<Output = roster::Result<Marks>>,
    {
        let mut held = self.marks.lock().await;
        match &*held {
            // Marks with more users come from a later read than this listing's: its page, read next, sees them too.
            Some(m) if m.version == version && m.live >= live => Ok(m.clone()),
            _ => {
                let m = Arc::new(load(held.clone().filter(|m| m.version == version)).await?);
                *held = Some(m.clone());
                Ok(m)
            }
        }
    }
}

/// Whether a listing is the default one the marks serve: every live user, in creation order, no filter.
pub fn serves(q: &UserQuery) -> bool {
    super::query::kept_total(q).is_some() && !q.include_deleted && q.sort == UserSort::Created && !q.descending
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: i64) -> (i64, String) {
        (i, format!("u{i}"))
    }

    /// Marks of `live` users keyed by their position.
    fn marks(live: i64) -> Marks {
        Marks { version: 7, live, keys: (0..live).step_by(STRIDE as usize).map(key).collect() }
    }

    #[test]
    fn users_added_after_the_last_mark_extend_the_marks() {
        let held = marks(2500);
        // 1,000 came: the tail from the last mark (2,000) now holds 1,500 users.
        let grown = held.extend(3500, 1500, vec![key(2000), key(3000)]).unwrap();
        assert_eq!((grown.version, grown.live, grown.keys), (7, 3500, marks(3500).keys));
        // None came after the last mark, but the total grew: one came before it, and every mark moved.
        assert!(held.extend(2501, 500, vec![key(2000)]).is_none());
        // Fewer than came: likewise.
        assert!(held.extend(3500, 1400, vec![key(2000), key(3000)]).is_none());
        // The last mark is gone from the tail (tombstoned since the version was read): read every mark again.
        assert!(held.extend(3500, 1500, vec![key(2001), key(3001)]).is_none());
        // No marks held: nothing to extend.
        assert!(marks(0).extend(10, 10, vec![key(0)]).is_none());
    }

    #[test]
    fn a_mark_is_found_for_every_position_and_none_past_the_last() {
        let m = marks(2500);
        assert_eq!(m.seek(0), Some((&key(0), 0)));
        assert_eq!(m.seek(1999), Some((&key(1000), 999)));
        assert_eq!(m.seek(2499), Some((&key(2000), 499)));
        assert_eq!(m.seek(3000), None);
    }
}
