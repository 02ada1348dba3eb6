//! The log as CSV for auditors: the panel's download and `roster log export --format csv`.
//!
//! Safe to open in a spreadsheet: a cell whose first character, or first after leading spaces (which spreadsheets may
//! trim on import), is `=`, `+`, `-` or `@` (or their fullwidth forms), or that starts with a tab or a line break,
//! would be read as a formula (CSV injection, as OWASP describes it), so it gets a leading `'`, which spreadsheets
//! show as text and do not evaluate.
use crate::model::{LogEntry, rfc3339};
use crate::{Error, Result};

pub const HEADER: [&str; 16] = [
    "entry",
    "time",
    "actor",
    "method",
    "path",
    "status",
    "outcome",
    "target_kind",
    "target_id",
    "target_name",
    "change",
    "detail",
    "request_id",
    "client_address",
    "user_agent",
    "hash",
];

/// A cell as a spreadsheet will read it: never a formula.
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    let formula = |c: char| matches!(c, '=' | '+' | '-' | '@' | '＝' | '＋' | '－' | '＠');
    let risky = match cell.chars().next() {
        Some('\t' | '\r' | '\n') => true,
        Some(_) => cell.trim_start().chars().next().is_some_and(formula),
        None => false,
    };
    if risky { format!("'{cell}").into() } else { cell.into() }
}

/// Writes CSV rows to `out`, the header first when asked.
pub struct CsvWriter<W: std::io::Write> {
    inner: csv::Writer<W>,
}

impl<W: std::io::Write> CsvWriter<W> {
    pub fn new(out: W, header: bool) -> Result<Self> {
        let mut inner = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(out);
        if header {
            inner.write_record(HEADER).map_err(Error::internal)?;
        }
        Ok(CsvWriter { inner })
    }

    pub fn write(&mut self, e: &LogEntry) -> Result<()> {
        let t = e.target.as_ref();
        let c = e.client.as_ref();
        let cells = [
            e.id.0.to_string(),
            rfc3339(e.at),
            e.actor.clone(),
            e.method.clone(),
            e.path.clone(),
            e.status.to_string(),
            e.outcome.as_str().to_owned(),
            t.map(|t| t.kind.as_str().to_owned()).unwrap_or_default(),
            t.map(|t| t.id.clone()).unwrap_or_default(),
            t.map(|t| t.name.clone()).unwrap_or_default(),
            e.diff.clone(),
            e.detail.clone(),
            e.request_id.clone().unwrap_or_default(),
            c.map(|c| c.address.clone()).unwrap_or_default(),
            c.map(|c| c.user_agent.clone()).unwrap_or_default(),
            e.hash.clone().unwrap_or_default(),
        ];
        self.inner.write_record(cells.iter().map(|c| neutralise(c).into_owned())).map_err(Error::internal)
    }

    pub fn finish(mut self) -> Result<W> {
        self.inner.flush().map_err(Error::internal)?;
        self.inner.into_inner().map_err(|e| Error::internal(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised() {
        for bad in [
            "=HYPERLINK(\"http://x\")",
            "+1",
            "-2+3",
            "@SUM(A1)",
            "\t=1",
            "\r=1",
            "\n=1",
            "  =1",
            "\u{a0}=1",
            "＝1",
            "＠A1",
        ] {
            assert!(neutralise(bad).starts_with('\''), "{bad}");
        }
        for fine in ["ada@example.com", "1-2", "created", ""] {
            assert_eq!(neutralise(fine), fine);
        }
    }
}
