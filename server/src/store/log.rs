//! The provisioning log: a log entry per write or refusal.
use super::direct::record;
use super::job::SqlTx;
use super::query::log_where;
use super::sql::{Arg, Dialect, Script, args};
use async_trait::async_trait;
use roster::Kind;
use roster::audit::chain::{Link, Row};
use roster::model::*;
use roster::store::{LogChain, LogRead, LogWrite, NewLogEntry};
use roster::{Error, Result};

/// A log entry's columns, in the order of [`log_entry_args`].
const LOG_COLUMNS: &str = "entry_id, at, actor, method, path, status, outcome, target_kind, target_id, target_name, \
     diff, detail, request_id, client_addr, user_agent, hash";

record! {
    pub struct LogEntryRecord {
        entry_id: i64,
        at: i64,
        actor: String,
        method: String,
        path: String,
        status: i64,
        outcome: String,
        target_kind: Option<String>,
        target_id: Option<String>,
        target_name: Option<String>,
        diff: String,
        detail: String,
        request_id: Option<String>,
        client_addr: Option<String>,
        user_agent: Option<String>,
        hash: Option<String>,
    }
}

impl From<LogEntryRecord> for Row {
    fn from(r: LogEntryRecord) -> Row {
        Row {
            id: r.entry_id,
            at: r.at,
            actor: r.actor,
            method: r.method,
            path: r.path,
            status: r.status,
            outcome: r.outcome,
            target_kind: r.target_kind,
            target_id: r.target_id,
            target_name: r.target_name,
            diff: r.diff,
            detail: r.detail,
            request_id: r.request_id,
            client_addr: r.client_addr,
            user_agent: r.user_agent,
            hash: r.hash,
        }
    }
}

impl From<LogEntryRecord> for LogEntry {
    fn from(r: LogEntryRecord) -> LogEntry {
        let target = match (r.target_kind.as_deref().and_then(Kind::parse), r.target_id) {
            (Some(kind), Some(id)) => Some(Target { kind, id, name: r.target_name.unwrap_or_default() }),
            _ => None,
        };
        LogEntry {
            id: LogEntryId(r.entry_id),
            at: r.at,
            actor: r.actor,
            method: r.method,
            path: r.path,
            status: u16::try_from(r.status).unwrap_or(0),
            outcome: Outcome::parse(&r.outcome),
            target,
            diff: r.diff,
            detail: r.detail,
            request_id: r.request_id,
            client: match (r.client_addr, r.user_agent) {
                (None, None) => None,
                (address, user_agent) => {
                    Some(Client { address: address.unwrap_or_default(), user_agent: user_agent.unwrap_or_default() })
                }
            },
            hash: r.hash,
        }
    }
}

/// Log text as stored: control characters other than line breaks shown escaped, and at most `max` characters, so any
/// request, however hostile, can be logged.
fn log_text(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max));
    for (i, c) in s.chars().enumerate() {
        if i == max {
            out.push('…');
            break;
        }
        if c.is_control() && c != '\n' {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// New entries as the log stores them, in order, not yet hashed: numbered when sealed.
pub(super) fn stored(entries: Vec<(LogEntryId, NewLogEntry)>) -> Vec<LogEntry> {
    entries.into_iter().map(|(id, e)| stored_one(id, e)).collect()
}

/// A new entry as the log stores it: its texts bounded and escaped, not yet hashed.
fn stored_one(id: LogEntryId, e: NewLogEntry) -> LogEntry {
    LogEntry {
        id,
        at: e.at,
        actor: log_text(&e.actor, 256),
        method: log_text(&e.method, 16),
        path: log_text(&e.path, 2048),
        status: e.status,
        outcome: e.outcome,
        target: e.target.map(|t| Target {
            kind: t.kind,
            id: log_text(&t.id, roster::scim::MAX_INDEXED_CHARS),
            name: log_text(&t.name, 512),
        }),
        diff: log_text(&e.diff, 4096),
        detail: log_text(&e.detail, 4096),
        request_id: e.request_id.as_deref().map(|id| log_text(id, 64)),
        client: e
            .client
            .map(|c| Client { address: log_text(&c.address, 64), user_agent: log_text(&c.user_agent, 512) }),
        hash: None,
    }
}

/// The values of a stored log entry, in the column order of [`LOG_COLUMNS`].
fn log_entry_args(e: &LogEntry) -> Vec<Arg<'_>> {
    let t = e.target.as_ref();
    let c = e.client.as_ref();
    Vec::from(args![
        e.id.0,
        e.at,
        e.actor.as_str(),
        e.method.as_str(),
        e.path.as_str(),
        i64::from(e.status),
        e.outcome.as_str(),
        t.map(|t| t.kind.as_str()),
        t.map(|t| t.id.as_str()),
        t.map(|t| t.name.as_str()),
        e.diff.as_str(),
        e.detail.as_str(),
        e.request_id.as_deref(),
        c.map(|c| c.address.as_str()),
        c.map(|c| c.user_agent.as_str()),
        e.hash.as_deref(),
    ])
}

/// The chain's row (migration 0013), and the highest entry number there is.
#[derive(Debug, Clone)]
pub struct ChainRow {
    /// The newest entry, which the next one chains to.
    pub head: Link,
    pub sealed_through: i64,
    pub cut: Link,
    pub numbered_from: i64,
    /// The highest entry number in the table: above the head only if something inserted an entry roster did not
    /// write, which `roster log verify` then names. New entries are numbered after it, so such a row never blocks a
    /// write.
    pub max_id: i64,
}

impl ChainRow {
    /// The number the next entry comes after.
    pub fn next_after(&self) -> i64 {
        self.head.id.max(self.max_id)
    }
}

impl From<ChainRow> for LogChain {
    fn from(c: ChainRow) -> LogChain {
        LogChain { head: c.head.id, cut: c.cut, numbered_from: c.numbered_from, sealed_through: c.sealed_through }
    }
}

/// The chain row's columns and the highest entry number: one statement, read by a write transaction after it holds
/// the write lock.
const CHAIN_COLUMNS: &str = "c.head_id, c.head_hash, c.sealed_through, c.cut_id, c.cut_hash, c.numbered_from, \
     coalesce((select max(entry_id) from log_entry), 0)";

/// The columns of [`CHAIN_COLUMNS`], read.
type ChainColumns = (i64, String, i64, i64, String, i64, i64);

fn chain_of((head_id, head_hash, sealed_through, cut_id, cut_hash, numbered_from, max_id): ChainColumns) -> ChainRow {
    ChainRow {
        head: Link { id: head_id, hash: head_hash },
        sealed_through,
        cut: Link { id: cut_id, hash: cut_hash },
        numbered_from,
        max_id,
    }
}

pub(super) async fn chain_row(tx: &mut SqlTx) -> Result<ChainRow> {
    let sql = format!("select {CHAIN_COLUMNS} from log_chain c where c.chain_id = 1");
    Ok(chain_of(tx.fetch_one::<ChainColumns>(&sql, &[]).await?))
}

/// Entries from before the chain (migration 0013) get their hashes, oldest first, up to `limit` of them, in one
/// statement; `chain` moves on with them (the caller writes it). Returns how many.
async fn seal_backlog(tx: &mut SqlTx, chain: &mut ChainRow, limit: i64) -> Result<u64> {
    let rows: Vec<LogEntryRecord> = tx
        .fetch_all(
            &format!(
                "select {LOG_COLUMNS} from log_entry where entry_id > $1 and entry_id <= $2 order by entry_id limit $3"
            ),
            &args![chain.sealed_through, chain.head.id, limit],
        )
        .await?;
    let Some(last) = rows.last().map(|r| r.entry_id) else { return Ok(0) };
    let mut prev = if chain.sealed_through == chain.cut.id {
        chain.cut.clone()
    } else {
        let (hash,): (Option<String>,) =
            tx.fetch_one("select hash from log_entry where entry_id = $1", &args![chain.sealed_through]).await?;
        Link { id: chain.sealed_through, hash: hash.unwrap_or_default() }
    };
    let sealed = rows.len() as u64;
    let mut pairs = Vec::with_capacity(rows.len());
    for r in rows {
        let row = Row::from(r);
        let hash = roster::audit::chain::hash(&prev, &row);
        pairs.push(serde_json::json!([row.id, hash]));
        prev = Link { id: row.id, hash };
    }
    // One statement for the batch: the ids and hashes as one JSON array.
    let sql = match tx.dialect() {
        Dialect::Sqlite => {
            "update log_entry set hash = j.h from (select json_extract(value, '$[0]') as id, \
             json_extract(value, '$[1]') as h from json_each($1)) as j where log_entry.entry_id = j.id"
        }
        Dialect::Postgres => {
            "update log_entry set hash = j.value->>1 from json_array_elements($1::json) as j \
             where log_entry.entry_id = (j.value->>0)::bigint"
        }
    };
    tx.write(sql, &args![serde_json::Value::from(pairs).to_string()]).await?;
    chain.sealed_through = last;
    if last == chain.head.id {
        chain.head = prev;
    }
    Ok(sealed)
}

/// At commit: the transaction's new entries numbered one after another after the chain's head (the numbers they were
/// given, unless the chain was only kept and is behind) and hashed into the chain in order, after whatever is left of
/// the backlog from before the chain (only when a write came before the start that hashes it).
pub(super) async fn seal(tx: &mut SqlTx, entries: &mut [LogEntry]) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut chain = match tx.chain.take() {
        Some(c) => c,
        None => {
            tx.chain_fresh = true;
            chain_row(tx).await?
        }
    };
    while chain.sealed_through < chain.head.id {
        seal_backlog(tx, &mut chain, BACKLOG_BATCH).await?;
    }
    let first = chain.next_after() + 1;
    for (e, id) in entries.iter_mut().zip(first..) {
        e.id = LogEntryId(id);
        e.hash = None;
        let hash = roster::audit::chain::hash(&chain.head, &Row::from(&*e));
        chain.head = Link { id, hash: hash.clone() };
        e.hash = Some(hash);
    }
    chain.sealed_through = chain.head.id;
    chain.max_id = chain.head.id;
    tx.chain = Some(chain);
    Ok(())
}

/// Entries hashed per statement when sealing the backlog.
pub const BACKLOG_BATCH: i64 = 5_000;

#[async_trait]
impl LogRead for SqlTx {
    async fn log_entries(&mut self, q: &LogQuery) -> Result<Page<LogEntry>> {
        let page: Page<LogEntryRecord> = self
            .page(LOG_COLUMNS, "log_entry", log_where(q), " order by entry_id desc", q.start_index, q.count)
            .await?;
        Ok(page.map(Into::into))
    }

    async fn log_entry(&mut self, id: LogEntryId) -> Result<Option<LogEntry>> {
        let row: Option<LogEntryRecord> = self
            .fetch_optional(&format!("select {LOG_COLUMNS} from log_entry where entry_id = $1"), &args![id.0])
            .await?;
        Ok(row.map(Into::into))
    }

    async fn log_entries_after(&mut self, q: &LogQuery, after: i64, limit: i64) -> Result<Vec<LogEntry>> {
        let mut w = log_where(q);
        w.push(" and entry_id > ").bind(after).push(" order by entry_id limit ").bind(limit);
        let rows: Vec<LogEntryRecord> =
            self.fetch_all(&format!("select {LOG_COLUMNS} from log_entry{}", w.text), &w.args).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn log_chain(&mut self) -> Result<LogChain> {
        Ok(chain_row(self).await?.into())
    }

    async fn log_rows_after(&mut self, after: i64, limit: i64) -> Result<Vec<Row>> {
        let rows: Vec<LogEntryRecord> = self
            .fetch_all(
                &format!("select {LOG_COLUMNS} from log_entry where entry_id > $1 order by entry_id limit $2"),
                &args![after, limit],
            )
            .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
}

#[async_trait]
impl LogWrite for SqlTx {
    async fn insert_log_entry(&mut self, e: &NewLogEntry) -> Result<LogEntryId> {
        if !self.writable() {
            return Err(Error::internal("log entries are written only in a write transaction"));
        }
        let id = self.next_log_id(true).await?;
        // Written with the others of this transaction, hashed into the chain, just before it commits.
        self.pending().log.push((id, e.clone()));
        Ok(id)
    }

    async fn add_log_entry(&mut self, e: &NewLogEntry) -> Result<()> {
        if !self.writable() {
            return Err(Error::internal("log entries are written only in a write transaction"));
        }
        let id = self.next_log_id(false).await?;
        self.pending().log.push((id, e.clone()));
        Ok(())
    }

    async fn prune_log_entries(&mut self, before: Millis, limit: i64) -> Result<u64> {
        // The oldest entries, a bounded batch at a time, so each prune holds the write lock only briefly; only the
        // unbroken run of them from before `before` (an entry stamped early by a clock behind never takes newer ones
        // with it) and only sealed ones. The last one removed is where the chain is cut: the oldest kept entry chains
        // to it.
        let oldest: Vec<(i64, i64, Option<String>)> = self
            .fetch_all(
                "select entry_id, at, hash from log_entry \
                 where entry_id <= (select sealed_through from log_chain where chain_id = 1) \
                 order by entry_id limit $1",
                &args![limit],
            )
            .await?;
        let Some((cut_id, _, cut_hash)) = oldest.into_iter().take_while(|(_, at, _)| *at < before).last() else {
            return Ok(0);
        };
        let removed = self.write("delete from log_entry where entry_id <= $1", &args![cut_id]).await?;
        self.write(
            "update log_chain set cut_id = $1, cut_hash = $2 where chain_id = 1",
            &args![cut_id, cut_hash.unwrap_or_default()],
        )
        .await?;
        Ok(removed)
    }

    async fn seal_log_backlog(&mut self, limit: i64) -> Result<u64> {
        let mut chain = chain_row(self).await?;
        // The transaction's own view of the chain moves with this: read it again when next needed.
        self.chain = None;
        self.chain_fresh = false;
        let sealed = seal_backlog(self, &mut chain, limit).await?;
        if sealed > 0 {
            // The head's hash is known once the backlog reaches it.
            self.write(
                "update log_chain set sealed_through = $1, head_hash = $2 where chain_id = 1",
                &args![chain.sealed_through, chain.head.hash.as_str()],
            )
            .await?;
        }
        Ok(sealed)
    }
}

/// At commit: the transaction's log entries in multi-row inserts, the chain's new head, and the entries counted in
/// the activity chart.
pub(super) fn flush(script: &mut Script, entries: &[LogEntry], chain: Option<&ChainRow>) {
    // The inserts come first: the commit retries from the first statement when a kept chain was behind
    // (`SqlTx::flush`), so nothing may run before it.
    for chunk in entries.chunks(ROWS_PER_INSERT) {
        let s = script.statement();
        s.push("insert into log_entry (").push(LOG_COLUMNS).push(") values ");
        for (i, e) in chunk.iter().enumerate() {
            s.push(if i == 0 { "(" } else { ", (" });
            for (j, a) in log_entry_args(e).into_iter().enumerate() {
                if j > 0 {
                    s.push(", ");
                }
                s.bind(a.into_owned());
            }
            s.push(")");
        }
    }
    if let (Some(c), false) = (chain, entries.is_empty()) {
        script
            .statement()
            .push("update log_chain set head_id = ")
            .bind(c.head.id)
            .push(", head_hash = ")
            .bind(c.head.hash.clone())
            .push(", sealed_through = ")
            .bind(c.sealed_through)
            .push(" where chain_id = 1");
    }
    super::charts::count_activity(script, entries.iter().map(|e| (e.at, e.outcome)));
}

/// Rows per multi-row insert (16 values each).
const ROWS_PER_INSERT: usize = 150;
