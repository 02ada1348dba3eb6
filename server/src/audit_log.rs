//! `--audit-log stdout|PATH`: every log entry as an OCSF record, one JSON line each, written as its transaction
//! commits, for Vector, Fluent Bit or Filebeat to ship. The diagnostic log stays on stderr.
//!
//! A file is opened for appending (`O_APPEND`), so logrotate's `copytruncate` is safe: each line lands at the file's
//! end, wherever that is after a truncation. SIGHUP reopens the file by its path, so logrotate's default `create`
//! rotation with a `postrotate` that sends SIGHUP works too.
//!
//! Records are written in commit order by one thread. No record is dropped: if the reader of stdout stops for long
//! enough to fill [`BUFFER`] entries, writes wait for it (as Vault's audit devices do), and a failed file write is
//! retried once after reopening, then logged on stderr. `GET /v1/audit` is the lossless way to read the trail
//! whatever happens to a stream.
use roster::model::LogEntry;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::mpsc;

/// Transactions' entries waiting for the stream's thread.
const BUFFER: usize = 4_096;

/// Where the records go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditTarget {
    Stdout,
    File(PathBuf),
}

impl AuditTarget {
    pub fn parse(s: &str) -> AuditTarget {
        match s.trim() {
            "stdout" | "-" => AuditTarget::Stdout,
            path => AuditTarget::File(PathBuf::from(path)),
        }
    }
}

/// The handle the writer hands each commit's entries to.
#[derive(Clone, Debug)]
pub struct AuditStream {
    entries: mpsc::Sender<Vec<LogEntry>>,
    reopen: Arc<AtomicBool>,
}

impl AuditStream {
    /// Opens the target (a file that cannot be opened fails here, at start) and starts the thread that writes.
    pub fn start(target: AuditTarget) -> anyhow::Result<AuditStream> {
        let mut out = Output::open(&target)?;
        let (entries, mut queue) = mpsc::channel::<Vec<LogEntry>>(BUFFER);
        let reopen = Arc::new(AtomicBool::new(false));
        let flag = reopen.clone();
        let version = env!("CARGO_PKG_VERSION");
        std::thread::Builder::new().name("roster-audit-log".into()).spawn(move || {
            while let Some(batch) = queue.blocking_recv() {
                if flag.swap(false, Ordering::AcqRel) {
                    out.reopen(&target);
                }
                let mut lines = Vec::with_capacity(batch.len() * 1024);
                for e in &batch {
                    if serde_json::to_writer(&mut lines, &roster::audit::ocsf::record(e, version)).is_ok() {
                        lines.push(b'\n');
                    }
                }
                out.write(&target, &lines);
            }
        })?;
        Ok(AuditStream { entries, reopen })
    }

    /// Queues a committed transaction's entries, in commit order.
    pub async fn committed(&self, entries: Vec<LogEntry>) {
        if self.entries.send(entries).await.is_err() {
            tracing::error!("the audit log's writer stopped; records are still in the database (GET /v1/audit)");
        }
    }

    /// Reopens a file target before the next write: on SIGHUP, after logrotate moved the file.
    pub fn reopen(&self) {
        self.reopen.store(true, Ordering::Release);
    }
}

enum Output {
    Stdout,
    File(std::fs::File),
}

impl Output {
    fn open(target: &AuditTarget) -> anyhow::Result<Output> {
        Ok(match target {
            AuditTarget::Stdout => Output::Stdout,
            AuditTarget::File(path) => Output::File(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| anyhow::anyhow!("--audit-log {}: {e}", path.display()))?,
            ),
        })
    }

    fn reopen(&mut self, target: &AuditTarget) {
        match Output::open(target) {
            Ok(o) => *self = o,
            Err(e) => tracing::error!(error = %e, "could not reopen the audit log; still writing to the old file"),
        }
    }

    fn write(&mut self, target: &AuditTarget, lines: &[u8]) {
        let written = match self {
            Output::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(lines).and_then(|_| out.flush())
            }
            // One write per transaction: with O_APPEND, a concurrent writer (the CLI) never splits a line.
            Output::File(f) => f.write_all(lines),
        };
        if let Err(e) = written {
            if let Output::File(_) = self {
                self.reopen(target);
                if let Output::File(f) = self
                    && f.write_all(lines).is_ok()
                {
                    return;
                }
            }
            tracing::error!(error = %e, "could not write to the audit log; the records are in GET /v1/audit");
        }
    }
}
