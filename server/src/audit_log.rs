//! `--audit-log stdout|PATH`: every log entry as an OCSF record, one JSON line each, written as its transaction
//! commits, for Vector, Fluent Bit or Filebeat to ship. The diagnostic log stays on stderr.
//!
//! A file is opened for appending (`O_APPEND`), so logrotate's `copytruncate` is safe: each line lands at the file's
//! end, wherever that is after a truncation. SIGHUP reopens the file by its path, so logrotate's default `create`
//! rotation with a `postrotate` that sends SIGHUP works too.
//!
//! Records are written in commit order by one thread, and a write is answered only once its records are written, so
//! a command that exits, or a server that drains, has written every record of what it answered. No record is dropped:
//! if the reader of stdout stops for long enough to fill [`BUFFER`] transactions, writes wait for it (as Vault's audit
//! devices do), and a failed file write is retried once, from where it stopped, after reopening; then it is logged on
//! stderr. `GET /v1/audit` is the lossless way to read the trail whatever happens to a stream.
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

/// A committed transaction's entries, and who to tell once they are written.
type Batch = (Vec<LogEntry>, tokio::sync::oneshot::Sender<()>);

/// The handle the writer hands each commit's entries to.
#[derive(Clone, Debug)]
pub struct AuditStream {
    entries: mpsc::Sender<Batch>,
    reopen: Arc<AtomicBool>,
    file: bool,
}

impl AuditStream {
    /// Opens the target (a file that cannot be opened fails here, at start) and starts the thread that writes.
    pub fn start(target: AuditTarget) -> anyhow::Result<AuditStream> {
        let mut out = Output::open(&target)?;
        let file = matches!(target, AuditTarget::File(_));
        let (entries, mut queue) = mpsc::channel::<Batch>(BUFFER);
        let reopen = Arc::new(AtomicBool::new(false));
        let flag = reopen.clone();
        let version = env!("CARGO_PKG_VERSION");
        std::thread::Builder::new().name("roster-audit-log".into()).spawn(move || {
            while let Some((batch, written)) = queue.blocking_recv() {
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
                let _ = written.send(());
            }
        })?;
        Ok(AuditStream { entries, reopen, file })
    }

    /// Queues a committed transaction's entries, in commit order (waiting for room), and returns what resolves once
    /// they are written.
    pub async fn committed(&self, entries: Vec<LogEntry>) -> tokio::sync::oneshot::Receiver<()> {
        let (written, done) = tokio::sync::oneshot::channel();
        if self.entries.send((entries, written)).await.is_err() {
            tracing::error!("the audit log's writer stopped; records are still in the database (GET /v1/audit)");
        }
        done
    }

    /// Whether it writes to a file (which SIGHUP reopens).
    pub fn is_file(&self) -> bool {
        self.file
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
        let mut done = 0;
        let mut result = self.write_from(lines, &mut done);
        if result.is_err() && matches!(self, Output::File(_)) {
            // Once more, after reopening, from where the failed write stopped: no line twice.
            self.reopen(target);
            result = self.write_from(lines, &mut done);
        }
        if let Err(e) = result {
            tracing::error!(error = %e, "could not write to the audit log; the records are in GET /v1/audit");
        }
    }

    /// Writes `lines[*done..]`, moving `done` on as bytes are written. One transaction's lines go in as few writes as
    /// the system allows: with O_APPEND, a command appending to the same file does not land inside a line.
    fn write_from(&mut self, lines: &[u8], done: &mut usize) -> std::io::Result<()> {
        let mut stdout;
        let out: &mut dyn Write = match self {
            Output::Stdout => {
                stdout = std::io::stdout().lock();
                &mut stdout
            }
            Output::File(f) => f,
        };
        while *done < lines.len() {
            match out.write(&lines[*done..]) {
                Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
                Ok(n) => *done += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        out.flush()
    }
}
