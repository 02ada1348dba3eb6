//! The provisioning log: a log entry per write or refusal.
use super::job::SqlTx;
use super::query::log_where;
use super::sql::{Arg, Script, args};
use async_trait::async_trait;
use roster::Kind;
use roster::model::*;
use roster::store::{LogRead, LogWrite, NewLogEntry};
use roster::{Error, Result};
use sqlx::FromRow;

/// A log entry's columns, in the order of [`log_entry_args`].
const LOG_COLUMNS: &str =
    "at, actor, method, path, status, outcome, target_kind, target_id, target_name, diff, detail, request_id";

#[derive(FromRow)]
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
}

pub fn kind_str(k: Kind) -> &'static str {
    match k {
        Kind::User => "user",
        Kind::Group => "group",
        Kind::Token => "token",
        Kind::Admin => "admin",
        Kind::LogEntry => "event",
        Kind::ApiToken => "api_token",
        Kind::Webhook => "webhook",
    }
}

fn parse_kind(s: &str) -> Option<Kind> {
    Some(match s {
        "user" => Kind::User,
        "group" => Kind::Group,
        "token" => Kind::Token,
        "admin" => Kind::Admin,
        "event" => Kind::LogEntry,
        "api_token" => Kind::ApiToken,
        "webhook" => Kind::Webhook,
        _ => return None,
    })
}

impl From<LogEntryRecord> for LogEntry {
    fn from(r: LogEntryRecord) -> LogEntry {
        let target = match (r.target_kind.as_deref().and_then(parse_kind), r.target_id) {
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

/// The values of a log entry, in the column order of [`LOG_COLUMNS`], as the log stores them.
fn log_entry_args(e: &NewLogEntry) -> Vec<Arg<'_>> {
    Vec::from(args![
        e.at,
        log_text(&e.actor, 256),
        log_text(&e.method, 16),
        log_text(&e.path, 2048),
        i64::from(e.status),
        e.outcome.as_str(),
        e.target.as_ref().map(|t| kind_str(t.kind)),
        e.target.as_ref().map(|t| log_text(&t.id, roster::scim::MAX_INDEXED_CHARS)),
        e.target.as_ref().map(|t| log_text(&t.name, 512)),
        log_text(&e.diff, 4096),
        log_text(&e.detail, 4096),
        e.request_id.as_deref().map(|id| log_text(id, 64)),
    ])
}

#[async_trait]
impl LogRead for SqlTx {
    async fn log_entries(&mut self, q: &LogQuery) -> Result<Page<LogEntry>> {
        let select = format!("entry_id, {LOG_COLUMNS}");
        let page: Page<LogEntryRecord> =
            self.page(&select, "log_entry", log_where(q), " order by entry_id desc", q.start_index, q.count).await?;
        Ok(page.map(Into::into))
    }

    async fn log_entry(&mut self, id: LogEntryId) -> Result<Option<LogEntry>> {
        let row: Option<LogEntryRecord> = self
            .fetch_optional(&format!("select entry_id, {LOG_COLUMNS} from log_entry where entry_id = $1"), &args![id.0])
            .await?;
        Ok(row.map(Into::into))
    }
}

#[async_trait]
impl LogWrite for SqlTx {
    async fn insert_log_entry(&mut self, e: &NewLogEntry) -> Result<LogEntryId> {
        let sql = format!(
            "insert into log_entry ({LOG_COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             returning entry_id"
        );
        let (id,): (i64,) = self.write_returning_one(&sql, &log_entry_args(e)).await?;
        // Counted in the activity chart at commit, with the transaction's other entries.
        self.pending().counted.push(e.clone());
        Ok(LogEntryId(id))
    }

    async fn add_log_entry(&mut self, e: &NewLogEntry) -> Result<()> {
        if !self.writable() {
            return Err(Error::internal("log entries are written only in a write transaction"));
        }
        // Written with the others of this transaction in one statement, just before it commits.
        self.pending().log.push(e.clone());
        Ok(())
    }

    async fn prune_log_entries(&mut self, before: Millis, limit: i64) -> Result<u64> {
        // The oldest entries first, a bounded batch at a time, so each prune holds the write lock only briefly.
        self.write(
            "delete from log_entry where entry_id in \
             (select entry_id from log_entry where at < $1 order by entry_id limit $2)",
            &args![before, limit],
        )
        .await
    }
}

/// At commit: the transaction's log entries in multi-row inserts, and every entry it wrote (these and the ones written
/// at once) counted in the activity chart.
pub(super) fn flush(script: &mut Script, entries: &[NewLogEntry], counted: &[NewLogEntry]) {
    super::charts::count_activity(script, entries.iter().chain(counted));
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
}

/// Rows per multi-row insert (12 values each).
const ROWS_PER_INSERT: usize = 200;
