//! The outbox: directory events, written at commit with the changes they describe, numbered in commit order.
use super::direct::record;
use super::job::SqlTx;
use super::sql::{Script, args};
use async_trait::async_trait;
use roster::model::*;
use roster::store::{OutboxRead, OutboxWrite};
use roster::{Error, Result};

record! {
    struct EventRow {
        seq: i64,
        event_id: String,
        event_type: String,
        at: i64,
        data: String,
    }
}

impl TryFrom<EventRow> for DirectoryEvent {
    type Error = Error;
    fn try_from(r: EventRow) -> Result<DirectoryEvent> {
        let data = serde_json::from_str(&r.data).map_err(Error::internal)?;
        Ok(DirectoryEvent { seq: r.seq, id: r.event_id, kind: r.event_type, at: r.at, data })
    }
}

#[async_trait]
impl OutboxRead for SqlTx {
    async fn directory_events(&mut self, after: i64, limit: i64) -> Result<Vec<DirectoryEvent>> {
        let rows: Vec<EventRow> = self
            .fetch_all(
                "select seq, event_id, event_type, at, data from directory_event where seq > $1 order by seq limit $2",
                &args![after, limit],
            )
            .await?;
        rows.into_iter().map(DirectoryEvent::try_from).collect()
    }

    async fn event_bounds(&mut self) -> Result<(i64, i64)> {
        let (newest, pruned): (i64, i64) = self
            .fetch_one(
                "select cast(coalesce((select max(seq) from directory_event), 0) as bigint), \
                 cast(events_pruned_through as bigint) from setting where setting_id = 1",
                &[],
            )
            .await?;
        Ok((newest.max(pruned), pruned))
    }
}

#[async_trait]
impl OutboxWrite for SqlTx {
    async fn emit(&mut self, event: NewDirectoryEvent) -> Result<()> {
        if !self.writable() {
            return Err(Error::internal("directory events are written only in a write transaction"));
        }
        self.pending().directory.push(event);
        Ok(())
    }

    async fn prune_directory_events(&mut self, before: Millis, limit: i64) -> Result<u64> {
        let (through,): (Option<i64>,) = self
            .fetch_one(
                "select cast(max(seq) as bigint) from \
                 (select seq from directory_event where at < $1 order by seq limit $2) as oldest",
                &args![before, limit],
            )
            .await?;
        let Some(through) = through else { return Ok(0) };
        let n = self.write("delete from directory_event where seq <= $1", &args![through]).await?;
        self.write(
            "update setting set events_pruned_through = $1 where setting_id = 1 and events_pruned_through < $1",
            &args![through],
        )
        .await?;
        Ok(n)
    }
}

/// At commit: the transaction's directory events, numbered in commit order by the table's sequence (the transaction
/// holds the write lock while it numbers them, so a reader that has seen seq N never later finds a smaller one).
pub(super) fn flush(script: &mut Script, events: &[NewDirectoryEvent]) {
    for chunk in events.chunks(200) {
        let s = script.statement();
        s.push("insert into directory_event (event_id, event_type, at, data) values ");
        for (i, e) in chunk.iter().enumerate() {
            s.push(if i == 0 { "(" } else { ", (" });
            s.bind(format!("evt_{}", uuid::Uuid::now_v7().simple())).push(", ");
            s.bind(e.kind.as_str()).push(", ").bind(e.at).push(", ").bind(e.data.to_string()).push(")");
        }
    }
}
