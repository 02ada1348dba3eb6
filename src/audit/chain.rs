//! The log's hash chain: each entry's hash covers its content and the entry before it, so changing, removing or
//! inserting an entry breaks the chain at that entry (as AWS CloudTrail's digest files chain each digest to the one
//! before). Entries are numbered in commit order under the database's write lock, so one chain holds across several
//! instances.
//!
//! The hash is SHA-256 over a length-prefixed encoding of every stored column, as stored (docs/audit.md gives it byte
//! by byte), so no two different rows encode alike and no edit hides behind how a value reads back.
use crate::model::LogEntry;
use sha2::{Digest, Sha256};

/// A log entry's columns exactly as stored: what the chain covers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Row {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub method: String,
    pub path: String,
    pub status: i64,
    pub outcome: String,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub target_name: Option<String>,
    pub diff: String,
    pub detail: String,
    pub request_id: Option<String>,
    pub client_addr: Option<String>,
    pub user_agent: Option<String>,
    /// The stored hash; None for an entry not yet sealed.
    pub hash: Option<String>,
}

impl From<&LogEntry> for Row {
    /// The row roster writes for `e` (its columns are written from these same values).
    fn from(e: &LogEntry) -> Row {
        let t = e.target.as_ref();
        let c = e.client.as_ref();
        Row {
            id: e.id.0,
            at: e.at,
            actor: e.actor.clone(),
            method: e.method.clone(),
            path: e.path.clone(),
            status: i64::from(e.status),
            outcome: e.outcome.as_str().to_owned(),
            target_kind: t.map(|t| t.kind.as_str().to_owned()),
            target_id: t.map(|t| t.id.clone()),
            target_name: t.map(|t| t.name.clone()),
            diff: e.diff.clone(),
            detail: e.detail.clone(),
            request_id: e.request_id.clone(),
            client_addr: c.map(|c| c.address.clone()),
            user_agent: c.map(|c| c.user_agent.clone()),
            hash: e.hash.clone(),
        }
    }
}

/// Where an entry's chain comes from: the entry before it, or, for the oldest, where retention cut the chain.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Link {
    pub id: i64,
    /// Lowercase hex; empty at the chain's very start.
    pub hash: String,
}

/// Tells the encoding apart from any other use of SHA-256 over these bytes, and versions it.
const DOMAIN: &[u8] = b"roster log entry v1\0";

/// The hash of the row `r`, chained to `prev`.
pub fn hash(prev: &Link, r: &Row) -> String {
    let mut h = Sha256::new();
    h.update(DOMAIN);
    h.update(prev.id.to_be_bytes());
    text(&mut h, Some(&prev.hash));
    h.update(r.id.to_be_bytes());
    h.update(r.at.to_be_bytes());
    for field in [Some(r.actor.as_str()), Some(&r.method), Some(&r.path)] {
        text(&mut h, field);
    }
    h.update(r.status.to_be_bytes());
    text(&mut h, Some(&r.outcome));
    for field in [&r.target_kind, &r.target_id, &r.target_name] {
        text(&mut h, field.as_deref());
    }
    text(&mut h, Some(&r.diff));
    text(&mut h, Some(&r.detail));
    for field in [&r.request_id, &r.client_addr, &r.user_agent] {
        text(&mut h, field.as_deref());
    }
    hex(&h.finalize())
}

/// An optional text field: absent is one zero byte; present is a one, its length (8 bytes, big-endian), its bytes.
fn text(h: &mut Sha256, s: Option<&str>) {
    match s {
        None => h.update([0u8]),
        Some(s) => {
            h.update([1u8]);
            h.update((s.len() as u64).to_be_bytes());
            h.update(s.as_bytes());
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What `roster log verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Break {
    /// The entry's stored hash does not match its content and the entry before it: it was changed, or inserted.
    Changed { id: i64 },
    /// Entries are missing before `id`: the first missing one is `missing`.
    Removed { missing: i64, before: i64 },
    /// The chain's newest entry, as the chain row records it, is gone: entries were removed from the end.
    RemovedAtEnd { head: i64, last: i64 },
    /// An entry without a hash where every entry has one.
    Unsealed { id: i64 },
}

impl std::fmt::Display for Break {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Break::Changed { id } => {
                write!(f, "log entry {id} does not match its hash: it was changed, or inserted, after it was written")
            }
            Break::Removed { missing, before } => {
                write!(f, "log entry {missing} was removed (the chain skips from before it to entry {before})")
            }
            Break::RemovedAtEnd { head, last } => write!(
                f,
                "log entry {head}, the newest the chain recorded, was removed: the log now ends at entry {last}"
            ),
            Break::Unsealed { id } => write!(f, "log entry {id} has no hash: it was inserted or its hash was cleared"),
        }
    }
}

/// Walks entries in id order: fed each entry in turn, names the first break.
#[derive(Debug, Clone)]
pub struct Verifier {
    prev: Link,
    /// Ids are given one after another from here on: a skipped id was removed. (Older entries were numbered by the
    /// database, which may have skipped ids.)
    contiguous_from: i64,
    pub checked: u64,
}

impl Verifier {
    /// Starts where retention cut the chain.
    pub fn new(cut: Link, contiguous_from: i64) -> Verifier {
        Verifier { prev: cut, contiguous_from, checked: 0 }
    }

    /// Checks the next row.
    pub fn check(&mut self, r: &Row) -> Result<(), Break> {
        let Some(stored) = r.hash.as_deref() else {
            return Err(Break::Unsealed { id: r.id });
        };
        if stored != hash(&self.prev, r) {
            let next = self.prev.id + 1;
            if r.id > next && next >= self.contiguous_from {
                return Err(Break::Removed { missing: next, before: r.id });
            }
            return Err(Break::Changed { id: r.id });
        }
        self.prev = Link { id: r.id, hash: stored.to_owned() };
        self.checked += 1;
        Ok(())
    }

    /// After the last entry: the chain must end where the chain row says it does.
    pub fn finish(&self, head: i64) -> Result<(), Break> {
        if head > self.prev.id {
            return Err(Break::RemovedAtEnd { head, last: self.prev.id });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Client, LogEntryId, Outcome, Target};

    fn entry(id: i64) -> LogEntry {
        LogEntry {
            id: LogEntryId(id),
            at: 1_700_000_000_000 + id,
            actor: "Okta".into(),
            method: "POST".into(),
            path: "/scim/v2/Users".into(),
            status: 201,
            outcome: Outcome::Ok,
            target: Some(Target { kind: crate::Kind::User, id: format!("u{id}"), name: "ada@example.com".into() }),
            diff: "created".into(),
            detail: String::new(),
            request_id: Some("r1".into()),
            client: Some(Client { address: "127.0.0.1".into(), user_agent: "Okta SCIM Client 1.0.0".into() }),
            hash: None,
        }
    }

    fn chain(n: i64) -> Vec<Row> {
        let mut prev = Link::default();
        (1..=n)
            .map(|i| {
                let mut r = Row::from(&entry(i));
                r.hash = Some(hash(&prev, &r));
                prev = Link { id: i, hash: r.hash.clone().unwrap_or_default() };
                r
            })
            .collect()
    }

    fn verify(entries: &[Row], head: i64) -> Result<u64, Break> {
        let mut v = Verifier::new(Link::default(), 1);
        for e in entries {
            v.check(e)?;
        }
        v.finish(head)?;
        Ok(v.checked)
    }

    #[test]
    fn an_untouched_chain_verifies() {
        assert_eq!(verify(&chain(5), 5), Ok(5));
    }

    #[test]
    fn every_field_is_covered() {
        let base = chain(1).remove(0);
        // Each column, including values that would read back the same ("garbage" reads as failed, a kind-less
        // target as none).
        let edits: [fn(&mut Row); 17] = [
            |r| r.at += 1,
            |r| r.actor.push('x'),
            |r| r.method = "PUT".into(),
            |r| r.path.push('/'),
            |r| r.status = 200,
            |r| r.status = 1 << 40,
            |r| r.outcome = "failed".into(),
            |r| r.outcome = "garbage".into(),
            |r| r.target_kind = None,
            |r| r.target_id = None,
            |r| r.target_name = Some(String::new()),
            |r| r.diff.clear(),
            |r| r.detail.push('x'),
            |r| r.request_id = None,
            |r| r.client_addr = Some(String::new()),
            |r| r.user_agent = None,
            |r| r.id = 2,
        ];
        for edit in edits {
            let mut r = base.clone();
            edit(&mut r);
            assert_ne!(hash(&Link::default(), &r), base.hash.clone().unwrap_or_default());
        }
    }

    #[test]
    fn fields_cannot_trade_bytes() {
        let mut a = Row::from(&entry(1));
        let mut b = a.clone();
        a.actor = "ab".into();
        a.method = "c".into();
        b.actor = "a".into();
        b.method = "bc".into();
        assert_ne!(hash(&Link::default(), &a), hash(&Link::default(), &b));
    }

    #[test]
    fn a_change_is_named() {
        let mut c = chain(5);
        c[2].diff = "nothing to see".into();
        assert_eq!(verify(&c, 5), Err(Break::Changed { id: 3 }));
    }

    #[test]
    fn a_removal_is_named() {
        let mut c = chain(5);
        c.remove(2);
        assert_eq!(verify(&c, 5), Err(Break::Removed { missing: 3, before: 4 }));
        let mut c = chain(5);
        c.pop();
        assert_eq!(verify(&c, 5), Err(Break::RemovedAtEnd { head: 5, last: 4 }));
    }

    #[test]
    fn an_insertion_is_named() {
        let mut c = chain(3);
        let mut forged = Row::from(&entry(4));
        forged.hash = Some("0".repeat(64));
        c.push(forged);
        assert_eq!(verify(&c, 3), Err(Break::Changed { id: 4 }));
        let mut c = chain(3);
        c[1].hash = None;
        assert_eq!(verify(&c, 3), Err(Break::Unsealed { id: 2 }));
    }

    #[test]
    fn a_pruned_chain_verifies_from_its_cut() {
        let c = chain(5);
        let cut = Link { id: 2, hash: c[1].hash.clone().unwrap_or_default() };
        let mut v = Verifier::new(cut, 1);
        for e in &c[2..] {
            assert_eq!(v.check(e), Ok(()));
        }
        assert_eq!(v.checked, 3);
    }
}
