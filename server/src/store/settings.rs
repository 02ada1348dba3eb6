//! The settings row (SCIM on or off, the licence, the running count of seats used, the setup link), and which
//! IdP manages what.
use super::job::{Pending, SqlTx};
use super::sql::{Script, args};
use async_trait::async_trait;
use roster::model::*;
use roster::store::{SettingsRead, SettingsWrite};
use roster::{Error, Result};

#[async_trait]
impl SettingsRead for SqlTx {
    async fn settings(&mut self) -> Result<Settings> {
        let row = self.settings_row().await?;
        Ok(Settings { scim_enabled: row.scim_enabled, seats: SeatLimit(row.seat_limit) })
    }

    async fn seat_usage(&mut self) -> Result<SeatUsage> {
        // The running count (migration 0002), moved by the services in the same transaction as each user write, so a
        // seat check is O(1) at any directory size.
        let row = self.settings_row().await?;
        Ok(SeatUsage { used: row.seats_used, limit: row.seat_limit })
    }

    async fn counts(&mut self) -> Result<Counts> {
        let (users, groups): (i64, i64) = self
            .fetch_one(
                "select (select count(*) from app_user where deleted_at is null), (select count(*) from app_group)",
                &[],
            )
            .await?;
        Ok(Counts { users, groups })
    }

    async fn setup_token(&mut self) -> Result<Option<(String, Millis)>> {
        let (token, at): (Option<String>, Option<i64>) =
            self.fetch_one("select setup_token, setup_token_issued_at from setting where setting_id = 1", &[]).await?;
        Ok(token.map(|t| (t, at.unwrap_or(0))))
    }

    async fn idp_counts(&mut self) -> Result<Vec<IdpObjects>> {
        let mut by_idp: std::collections::BTreeMap<String, IdpObjects> = Default::default();
        for (i, table) in ["app_user", "app_group"].into_iter().enumerate() {
            let sql = format!("select managed_by, count(*) from {table} where managed_by_idp = $1 group by managed_by");
            let rows: Vec<(String, i64)> = self.fetch_all(&sql, &args![true]).await?;
            for (idp, n) in rows {
                let e = by_idp.entry(idp.clone()).or_insert(IdpObjects { idp, users: 0, groups: 0 });
                if i == 0 { e.users = n } else { e.groups = n }
            }
        }
        Ok(by_idp.into_values().collect())
    }
}

#[async_trait]
impl SettingsWrite for SqlTx {
    async fn set_scim_enabled(&mut self, on: bool) -> Result<()> {
        // Read before the write: the row is cached as the transaction found it, never with this job's change in it.
        self.settings_row().await?;
        self.write("update setting set scim_enabled = $1 where setting_id = 1", &args![on]).await?;
        self.change_settings(|s| s.scim_enabled = on).await
    }

    async fn set_seat_limit(&mut self, seats: SeatLimit) -> Result<()> {
        self.settings_row().await?;
        self.write("update setting set seat_limit = $1 where setting_id = 1", &args![seats.0]).await?;
        self.pending().seat_day = true;
        self.change_settings(|s| s.seat_limit = seats.0).await
    }

    async fn set_setup_token(&mut self, token: Option<(&str, Millis)>) -> Result<()> {
        let (token, at) = (token.map(|(t, _)| t), token.map(|(_, at)| at));
        let sql = "update setting set setup_token = $1, setup_token_issued_at = $2 where setting_id = 1";
        self.write(sql, &args![token, at]).await.map(|_| ())
    }

    async fn adjust_seats_used(&mut self, by: i64) -> Result<()> {
        if by == 0 {
            return Ok(());
        }
        if !self.writable() {
            return Err(Error::internal("seats can only move in a write transaction"));
        }
        // Kept in memory and written once, at commit: the transaction's lock keeps the row ours until then.
        self.change_settings(|s| s.seats_used += by).await?;
        let pending = self.pending();
        pending.seats_delta += by;
        pending.seat_day = true;
        Ok(())
    }

    async fn release_idp(&mut self, label: &str) -> Result<(i64, i64)> {
        let local = ManagedBy::Local;
        let mut counts = [0i64; 2];
        for (n, table) in counts.iter_mut().zip(["app_user", "app_group"]) {
            let sql = format!(
                "update {table} set managed_by = $1, managed_by_idp = $2 where managed_by_idp = $3 and managed_by = $4"
            );
            *n = self.write(&sql, &args![local.label(), false, true, label]).await? as i64;
        }
        Ok((counts[0], counts[1]))
    }
}

/// At commit: the count of seats used, the totals of users and of live users, the listing's version when live users
/// came or went, and today's point of the seats chart (after the count moved: the update runs first).
pub(super) fn flush(script: &mut Script, pending: &Pending) {
    let Pending { seats_delta, users_moved, users_added, live_delta, seat_day, .. } = *pending;
    if seats_delta != 0 || users_moved || users_added != 0 {
        let s = script.statement();
        s.push("update setting set active_users = active_users + ").bind(seats_delta);
        s.push(", users_total = users_total + ").bind(users_added);
        s.push(", users_live = users_live + ").bind(live_delta);
        s.push(", user_version = user_version + ").bind(i64::from(users_moved)).push(" where setting_id = 1");
    }
    if seat_day {
        let day = roster::service::now().div_euclid(86_400_000);
        script
            .statement()
            .push("insert into seat_day (day, used, peak, seat_limit) select ")
            .bind(day)
            .push(", active_users, active_users, seat_limit from setting where setting_id = 1 ")
            .push("on conflict (day) do update set used = excluded.used, seat_limit = excluded.seat_limit, ")
            .push("peak = case when seat_day.peak > excluded.used then seat_day.peak else excluded.used end");
    }
}
