//! SCIM on/off, the licence, and the dashboard's figures.
use super::{Activity, Ctx, now, read_tx, write_tx};
use crate::model::{Dashboard, Event, Outcome, SeatLimit, SeatUsage, Settings};
use crate::store::{EventQuery, Store};
use crate::{Error, Result};
use std::sync::Arc;
use std::sync::atomic::Ordering;

#[derive(Clone)]
pub struct SettingsService {
    pub(super) store: Arc<dyn Store>,
    pub(super) activity: Arc<Activity>,
}

impl SettingsService {
    pub async fn get(&self) -> Result<Settings> {
        read_tx!(self.store, |tx| tx.settings().await).await
    }

    pub async fn seats(&self) -> Result<SeatUsage> {
        read_tx!(self.store, |tx| {
            let s = tx.settings().await?;
            Ok(SeatUsage { used: tx.count_active_users().await?, limit: s.seats.0 })
        })
        .await
    }

    /// Turning SCIM on or off changes no user or group; it only changes who may edit IdP-managed ones.
    pub async fn set_scim_enabled(&self, ctx: &Ctx, on: bool) -> Result<Settings> {
        write_tx!(self.store, |tx| {
            let before = tx.settings().await?;
            if before.scim_enabled != on {
                tx.set_scim_enabled(on).await?;
                let what = if on { "SCIM provisioning enabled" } else { "SCIM provisioning disabled" };
                tx.insert_event(&ctx.event(200, None, what.into())).await?;
            }
            tx.settings().await
        })
        .await
    }

    /// Sets the licence. Lowering it below the seats in use is refused: deactivate users first.
    pub async fn set_seats(&self, ctx: &Ctx, seats: i64) -> Result<SeatUsage> {
        if !(0..=10_000_000).contains(&seats) {
            return Err(Error::InvalidValue("seats must be a whole number from 0 to 10,000,000".into()));
        }
        write_tx!(self.store, |tx| {
            let before = tx.settings().await?;
            let used = tx.count_active_users().await?;
            if seats < used {
                return Err(Error::InvalidValue(format!(
                    "{used} users are active, so the licence cannot go below {used} seats; deactivate users first"
                )));
            }
            if before.seats.0 != seats {
                tx.set_seat_limit(SeatLimit(seats)).await?;
                tx.insert_event(&ctx.event(200, None, format!("seats: {} → {seats}", before.seats.0))).await?;
            }
            Ok(SeatUsage { used, limit: seats })
        })
        .await
    }

    pub async fn dashboard(&self) -> Result<Dashboard> {
        let since = now() - 24 * 3600 * 1000;
        let (settings, seats, counts, refused, errors, recent) = read_tx!(self.store, |tx| {
            let settings = tx.settings().await?;
            let counts = tx.counts().await?;
            let seats = SeatUsage { used: counts.active_users, limit: settings.seats.0 };
            let refused = tx
                .list_events(&EventQuery {
                    outcome: Some(Outcome::NoSeats),
                    start_index: 1,
                    count: 5,
                    ..Default::default()
                })
                .await?;
            let errors = tx
                .list_events(&EventQuery {
                    failed_only: true,
                    since: Some(since),
                    start_index: 1,
                    count: 0,
                    ..Default::default()
                })
                .await?;
            let recent = tx.list_events(&EventQuery { start_index: 1, count: 8, ..Default::default() }).await?;
            Ok((settings, seats, counts, refused, errors, recent))
        })
        .await?;
        let last = self.activity.last_request_at.load(Ordering::Relaxed);
        Ok(Dashboard {
            settings,
            seats,
            counts,
            refused_total: refused.total,
            refused: refused.items,
            errors_24h: errors.total,
            last_request_at: (last > 0).then_some(last),
            reads: self.activity.reads.load(Ordering::Relaxed),
            recent: recent.items,
        })
    }

    pub async fn events(&self, q: &EventQuery) -> Result<crate::model::Page<Event>> {
        read_tx!(self.store, |tx| tx.list_events(q).await).await
    }

    pub async fn event(&self, id: crate::model::EventId) -> Result<Event> {
        read_tx!(self.store, |tx| tx.event(id).await)
            .await?
            .ok_or_else(|| Error::not_found(crate::error::Kind::Event, format!("#{id}")))
    }
}
