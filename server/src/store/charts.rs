//! The dashboard's chart rows: seats per day and activity per hour, kept up at each commit.
use super::job::SqlTx;
use super::sql::{Script, args};
use async_trait::async_trait;
use roster::Result;
use roster::model::*;
use roster::store::ChartRead;

/// Adds log entries to the activity chart's hours, one upsert per hour touched.
pub(super) fn count_activity(script: &mut Script, entries: impl Iterator<Item = (Millis, Outcome)>) {
    let mut hours: std::collections::BTreeMap<i64, [i64; 3]> = Default::default();
    for (at, outcome) in entries {
        let h = hours.entry(at.div_euclid(3_600_000)).or_default();
        h[match outcome {
            Outcome::Ok => 0,
            Outcome::NoSeats => 1,
            Outcome::Failed => 2,
        }] += 1;
    }
    for (hour, [writes, no_seats, failed]) in hours {
        script
            .statement()
            .push("insert into activity_hour (hour, writes, no_seats, failed) values (")
            .bind(hour)
            .push(", ")
            .bind(writes)
            .push(", ")
            .bind(no_seats)
            .push(", ")
            .bind(failed)
            .push(") on conflict (hour) do update set writes = activity_hour.writes + excluded.writes, ")
            .push("no_seats = activity_hour.no_seats + excluded.no_seats, failed = activity_hour.failed + excluded.failed");
    }
}

#[async_trait]
impl ChartRead for SqlTx {
    async fn chart_rows(&mut self, first_day: i64, first_hour: i64) -> Result<(Vec<SeatDay>, Vec<ActivityHour>)> {
        let days: Vec<(i64, i64, i64, i64)> = self
            .fetch_all(
                "select cast(day as bigint), cast(used as bigint), cast(peak as bigint), cast(seat_limit as bigint) \
                 from seat_day where day >= $1 order by day",
                &args![first_day],
            )
            .await?;
        let hours: Vec<(i64, i64, i64, i64)> = self
            .fetch_all(
                "select cast(hour as bigint), cast(writes as bigint), cast(no_seats as bigint), \
                 cast(failed as bigint) from activity_hour where hour >= $1 order by hour",
                &args![first_hour],
            )
            .await?;
        Ok((
            days.into_iter().map(|(day, used, peak, limit)| SeatDay { day, used, peak, limit }).collect(),
            hours
                .into_iter()
                .map(|(hour, writes, no_seats, failed)| ActivityHour { hour, writes, no_seats, failed })
                .collect(),
        ))
    }

    async fn seat_day_before(&mut self, day: i64) -> Result<Option<SeatDay>> {
        let row: Option<(i64, i64, i64, i64)> = self
            .fetch_optional(
                "select cast(day as bigint), cast(used as bigint), cast(peak as bigint), cast(seat_limit as bigint) \
                 from seat_day where day < $1 order by day desc limit 1",
                &args![day],
            )
            .await?;
        Ok(row.map(|(day, used, peak, limit)| SeatDay { day, used, peak, limit }))
    }
}
