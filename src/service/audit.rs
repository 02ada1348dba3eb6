//! The audit trail: every log entry as an OCSF record ([`crate::audit::ocsf`]), read in commit order by a SIEM through
//! `GET /v1/audit`, exported for auditors, and proven untouched by walking its hash chain ([`crate::audit::chain`]).
use super::now;
use crate::audit::chain::{Break, Verifier};
use crate::model::{LogEntry, LogQuery};
use crate::store::Store;
use crate::{Error, Result};
use std::sync::Arc;

/// The most records one page of `/v1/audit` carries.
pub const MAX_AUDIT_LIMIT: i64 = 1_000;
/// Entries read per round trip when walking the whole log.
const WALK: i64 = 2_000;

#[derive(Clone)]
pub struct AuditService {
    pub(super) store: Arc<dyn Store>,
}

/// A page of the audit trail: entries after the cursor, oldest first, and the cursor to ask with next.
#[derive(Debug, Clone)]
pub struct AuditPage {
    pub entries: Vec<LogEntry>,
    /// The last entry's number, or the cursor asked with when the page is empty (caught up).
    pub next: i64,
}

/// What `roster log verify` found.
#[derive(Debug, Clone)]
pub struct Verification {
    pub checked: u64,
    /// The newest entry the chain recorded when the walk began.
    pub head: i64,
    /// The entry the oldest kept one chains to: where retention cut the chain.
    pub cut: i64,
    pub broken: Option<Break>,
}

impl AuditService {
    /// `GET /v1/audit`: up to `limit` entries after `after` (absent: from the oldest kept), in commit order. A cursor
    /// from before what retention kept is 410: the entries it would have led to are gone, and skipping them silently
    /// would leave a hole in the SIEM's copy.
    pub async fn page(&self, after: Option<i64>, limit: Option<i64>) -> Result<AuditPage> {
        let limit = limit.unwrap_or(100).clamp(1, MAX_AUDIT_LIMIT);
        let mut tx = self.store.begin_snapshot().await?;
        let chain = tx.log_chain().await?;
        let after = match after {
            None => chain.cut.id,
            Some(a) if a < chain.cut.id => {
                return Err(Error::Gone(format!(
                    "log entries up to {} were removed by the retention policy, so the cursor {a} has missed some; \
                     start again without `after` (from entry {}) and record the gap",
                    chain.cut.id,
                    chain.cut.id + 1
                )));
            }
            Some(a) if a > chain.head => return Err(Error::CursorAhead { cursor: a, newest: chain.head }),
            Some(a) => a,
        };
        let entries = tx.log_entries_after(&LogQuery::default(), after, limit).await?;
        let next = entries.last().map_or(after, |e| e.id.0);
        Ok(AuditPage { entries, next })
    }

    /// Every entry matching `q` (its paging ignored), oldest first, handed to `each` a batch at a time: the CSV
    /// download and `roster log export`. Entries committed during the walk are included up to where it reaches.
    pub async fn export(&self, q: &LogQuery, mut each: impl FnMut(&[LogEntry]) -> Result<()>) -> Result<u64> {
        let (mut after, mut total) = (0, 0);
        loop {
            let batch = self.export_batch(q, after).await?;
            let Some(last) = batch.last() else { return Ok(total) };
            after = last.id.0;
            total += batch.len() as u64;
            each(&batch)?;
        }
    }

    /// One batch of an export: the entries matching `q` after entry `after`, oldest first; empty at the end.
    pub async fn export_batch(&self, q: &LogQuery, after: i64) -> Result<Vec<LogEntry>> {
        self.store.begin_read().await?.log_entries_after(q, after, WALK).await
    }

    /// Walks the chain from where retention cut it to its head, in one snapshot, and names the first entry that was
    /// changed, removed or inserted.
    pub async fn verify(&self) -> Result<Verification> {
        let mut tx = self.store.begin_snapshot().await?;
        let chain = tx.log_chain().await?;
        if chain.sealed_through < chain.head {
            return Err(Error::Unavailable(
                "entries from before the chain are still being hashed; start roster once, then verify again".into(),
            ));
        }
        let mut v = Verifier::new(chain.cut.clone(), chain.numbered_from);
        let mut after = i64::MIN;
        let mut broken = None;
        'walk: loop {
            let batch = tx.log_rows_after(after, WALK).await?;
            let Some(last) = batch.last() else { break };
            after = last.id;
            for e in &batch {
                if let Err(b) = v.check(e) {
                    broken = Some(b);
                    break 'walk;
                }
            }
        }
        if broken.is_none() {
            broken = v.finish(chain.head).err();
        }
        Ok(Verification { checked: v.checked, head: chain.head, cut: chain.cut.id, broken })
    }

    /// Hashes the entries from before the chain began (migration 0013), a short write at a time, so an upgrade's first
    /// start never holds the write lock for long. Returns how many.
    pub async fn seal_backlog(&self) -> Result<u64> {
        const BATCH: i64 = 5_000;
        let started = now();
        let mut total = 0;
        loop {
            let n = self.store.write(move |tx| Box::pin(async move { tx.seal_log_backlog(BATCH).await })).await?;
            total += n;
            if n < BATCH as u64 {
                if total > 0 {
                    tracing::info!(
                        entries = total,
                        ms = now() - started,
                        "hashed the log entries from before the chain"
                    );
                }
                return Ok(total);
            }
        }
    }
}
