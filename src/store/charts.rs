//! The dashboard's chart rows, kept up at each commit.
use crate::Result;
use crate::model::*;
use async_trait::async_trait;

/// Reads of this concern: on a read connection, a snapshot, or inside a write transaction.
#[async_trait]
pub trait ChartRead: Send {
    /// Seat days from `first_day` and activity hours from `first_hour` that have a row.
    async fn chart_rows(&mut self, first_day: i64, first_hour: i64) -> Result<(Vec<SeatDay>, Vec<ActivityHour>)>;
    /// The last seat day before `day`, to carry into the chart's window.
    async fn seat_day_before(&mut self, day: i64) -> Result<Option<SeatDay>>;
}
