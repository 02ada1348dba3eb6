//! The second half of a transaction (`roster::store::DirectoryTx`): the outbox of directory events, the directory API's
//! keyset pages, webhook endpoints with their leases and deliveries, drift, and the dashboard's chart rows.
use super::rows::{GROUP_COLUMNS, GroupRecord, USER_COLUMNS, UserRecord};
use super::sql::{Sql, args};
use super::tx::SqlTx;
use async_trait::async_trait;
use roster::model::*;
use roster::store::{DirectoryTx, EndpointState};
use roster::{Error, Result};
use sqlx::FromRow;

const ENDPOINT_COLUMNS: &str = "endpoint_id, url, event_types, secret, previous_secret, previous_secret_until, \
    created_at, delivered_through, attempt, failing_since, next_attempt_at, last_error";
const DELIVERY_COLUMNS: &str = "delivery_id, endpoint_id, event_seq, event_id, event_type, attempt, at, instance, \
    status, outcome, error, duration_ms";

#[derive(FromRow)]
struct EventRow {
    seq: i64,
    event_id: String,
    event_type: String,
    at: i64,
    data: String,
}

impl TryFrom<EventRow> for DirectoryEvent {
    type Error = Error;
    fn try_from(r: EventRow) -> Result<DirectoryEvent> {
        let data = serde_json::from_str(&r.data).map_err(Error::internal)?;
        Ok(DirectoryEvent { seq: r.seq, id: r.event_id, kind: r.event_type, at: r.at, data })
    }
}

#[derive(FromRow)]
struct EndpointRow {
    endpoint_id: String,
    url: String,
    event_types: String,
    secret: String,
    previous_secret: Option<String>,
    previous_secret_until: Option<i64>,
    created_at: i64,
    delivered_through: i64,
    attempt: i64,
    failing_since: Option<i64>,
    next_attempt_at: i64,
    last_error: Option<String>,
}

impl TryFrom<EndpointRow> for EndpointWithSecrets {
    type Error = Error;
    fn try_from(r: EndpointRow) -> Result<EndpointWithSecrets> {
        Ok(EndpointWithSecrets {
            endpoint: WebhookEndpoint {
                id: r.endpoint_id,
                url: r.url,
                event_types: serde_json::from_str(&r.event_types).map_err(Error::internal)?,
                created_at: r.created_at,
                delivered_through: r.delivered_through,
                attempt: r.attempt,
                failing_since: r.failing_since,
                next_attempt_at: r.next_attempt_at,
                last_error: r.last_error,
                previous_secret_until: r.previous_secret_until,
            },
            secrets: WebhookSecrets { current: r.secret, previous: r.previous_secret },
        })
    }
}

#[derive(FromRow)]
struct DeliveryRow {
    delivery_id: i64,
    endpoint_id: String,
    event_seq: i64,
    event_id: String,
    event_type: String,
    attempt: i64,
    at: i64,
    instance: String,
    status: Option<i64>,
    outcome: String,
    error: String,
    duration_ms: i64,
}

impl TryFrom<DeliveryRow> for WebhookDelivery {
    type Error = Error;
    fn try_from(r: DeliveryRow) -> Result<WebhookDelivery> {
        let outcome = DeliveryOutcome::parse(&r.outcome)
            .ok_or_else(|| Error::internal(format!("unknown delivery outcome '{}'", r.outcome)))?;
        Ok(WebhookDelivery {
            id: r.delivery_id,
            endpoint_id: r.endpoint_id,
            event_seq: r.event_seq,
            event_id: r.event_id,
            event_type: r.event_type,
            attempt: r.attempt,
            at: r.at,
            instance: r.instance,
            status: r.status,
            outcome,
            error: r.error,
            duration_ms: r.duration_ms,
        })
    }
}

#[async_trait]
impl DirectoryTx for SqlTx {
    async fn emit(&mut self, event: NewDirectoryEvent) -> Result<()> {
        if !self.in_transaction() {
            return Err(Error::internal("directory events are written only in a write transaction"));
        }
        self.pending_directory_event(event);
        Ok(())
    }

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

    async fn directory_users(&mut self, q: &DirectoryUserQuery) -> Result<Vec<User>> {
        let mut s = Sql::default();
        s.push("select ").push(USER_COLUMNS).push(" from app_user");
        if let Some(g) = &q.group {
            // Driven by the membership's primary key (group_id, user_id): the page is a range scan in id order.
            s.push(" join group_member m on m.user_id = app_user.user_id and m.group_id = ").bind(g.0.clone());
        }
        s.push(" where true");
        if let Some(after) = &q.after {
            s.push(" and app_user.user_id > ").bind(after.0.clone());
        }
        match q.active {
            Some(true) => s.push(" and app_user.active and app_user.deleted_at is null"),
            Some(false) => s.push(" and (not app_user.active or app_user.deleted_at is not null)"),
            None => &mut s,
        };
        s.push(" order by app_user.user_id limit ").bind(q.limit);
        let rows: Vec<UserRecord> = self.fetch_all(&s.text, &s.args).await?;
        rows.into_iter().map(User::try_from).collect()
    }

    async fn directory_groups(&mut self, after: Option<&GroupId>, limit: i64) -> Result<Vec<Group>> {
        let mut s = Sql::default();
        s.push("select ").push(GROUP_COLUMNS).push(" from app_group where true");
        if let Some(after) = after {
            s.push(" and group_id > ").bind(after.0.clone());
        }
        s.push(" order by group_id limit ").bind(limit);
        let rows: Vec<GroupRecord> = self.fetch_all(&s.text, &s.args).await?;
        rows.into_iter().map(Group::try_from).collect()
    }

    async fn groups_of_users(&mut self, ids: &[UserId]) -> Result<Vec<(UserId, GroupRef)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut s = Sql::default();
        s.push(
            "select m.user_id, g.group_id, g.display_name from group_member m join app_group g \
             on g.group_id = m.group_id where m.user_id in (select value from ",
        );
        s.bind_rows(self.dialect(), ids.iter().map(|u| u.0.as_str())).push(") order by g.display_name_folded");
        let rows: Vec<(String, String, String)> = self.fetch_all(&s.text, &s.args).await?;
        Ok(rows.into_iter().map(|(u, g, name)| (UserId(u), GroupRef { id: GroupId(g), display_name: name })).collect())
    }

    async fn insert_webhook(
        &mut self,
        url: &str,
        patterns: &[String],
        secret: &str,
        now: Millis,
    ) -> Result<WebhookEndpoint> {
        let id = format!("ep_{}", uuid::Uuid::now_v7().simple());
        let types = serde_json::to_string(patterns).map_err(Error::internal)?;
        // From now on: the newest event so far counts as handled.
        let newest = self.event_bounds().await?.0;
        self.write(
            "insert into webhook_endpoint (endpoint_id, url, event_types, secret, created_at, delivered_through, \
             next_attempt_at) values ($1, $2, $3, $4, $5, $6, $5)",
            &args![&id, url, types, secret, now, newest],
        )
        .await?;
        self.webhook(&id).await?.map(|c| c.endpoint).ok_or_else(|| Error::internal("the new endpoint vanished"))
    }

    async fn list_webhooks(&mut self) -> Result<Vec<WebhookEndpoint>> {
        let sql = format!("select {ENDPOINT_COLUMNS} from webhook_endpoint order by created_at");
        let rows: Vec<EndpointRow> = self.fetch_all(&sql, &[]).await?;
        rows.into_iter().map(|r| EndpointWithSecrets::try_from(r).map(|c| c.endpoint)).collect()
    }

    async fn webhook(&mut self, id: &str) -> Result<Option<EndpointWithSecrets>> {
        let sql = format!("select {ENDPOINT_COLUMNS} from webhook_endpoint where endpoint_id = $1");
        self.fetch_optional::<EndpointRow>(&sql, &args![id]).await?.map(EndpointWithSecrets::try_from).transpose()
    }

    async fn delete_webhook(&mut self, id: &str) -> Result<bool> {
        self.savepoint().await?;
        self.write("delete from webhook_delivery where endpoint_id = $1", &args![id]).await?;
        Ok(self.write("delete from webhook_endpoint where endpoint_id = $1", &args![id]).await? > 0)
    }

    async fn set_webhook_secrets(&mut self, id: &str, secret: &str, previous: Option<&str>) -> Result<()> {
        let sql = "update webhook_endpoint set secret = $2, previous_secret = $3 where endpoint_id = $1";
        self.write(sql, &args![id, secret, previous]).await.map(|_| ())
    }

    async fn rotate_webhook(&mut self, id: &str, secret: &str, previous_until: Millis) -> Result<bool> {
        let sql = "update webhook_endpoint set previous_secret = secret, previous_secret_until = $2, secret = $3 \
                   where endpoint_id = $1";
        Ok(self.write(sql, &args![id, previous_until, secret]).await? > 0)
    }

    async fn due_webhooks(&mut self, now: Millis) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = self
            .fetch_all(
                "select endpoint_id from webhook_endpoint e where next_attempt_at <= $1 and lease_until < $1 \
                 and exists (select 1 from directory_event d where d.seq > e.delivered_through)",
                &args![now],
            )
            .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    async fn claim_webhook(
        &mut self,
        id: &str,
        owner: &str,
        now: Millis,
        until: Millis,
    ) -> Result<Option<EndpointWithSecrets>> {
        // One conditional update decides, on either database: of several instances trying at once, one changes the
        // row and the others find it leased.
        let claimed = self
            .write(
                "update webhook_endpoint set lease_until = $1, lease_owner = $2 \
                 where endpoint_id = $3 and lease_until < $4 and next_attempt_at <= $4",
                &args![until, owner, id, now],
            )
            .await?;
        if claimed == 0 {
            return Ok(None);
        }
        self.webhook(id).await
    }

    async fn finish_attempt(
        &mut self,
        id: &str,
        owner: &str,
        deliveries: &[WebhookDelivery],
        state: &EndpointState,
        lease_until: Millis,
    ) -> Result<bool> {
        self.savepoint().await?;
        let moved = self
            .write(
                "update webhook_endpoint set delivered_through = $1, attempt = $2, failing_since = $3, \
                 next_attempt_at = $4, last_error = $5, lease_until = $6 \
                 where endpoint_id = $7 and lease_owner = $8",
                &args![
                    state.delivered_through,
                    state.attempt,
                    state.failing_since,
                    state.next_attempt_at,
                    state.last_error.clone(),
                    lease_until,
                    id,
                    owner
                ],
            )
            .await?;
        if moved == 0 {
            return Ok(false);
        }
        for d in deliveries {
            self.record_delivery(d).await?;
        }
        Ok(true)
    }

    async fn record_delivery(&mut self, d: &WebhookDelivery) -> Result<()> {
        self.write(
            "insert into webhook_delivery (endpoint_id, event_seq, event_id, event_type, attempt, at, instance, status, \
             outcome, error, duration_ms) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &args![
                &d.endpoint_id,
                d.event_seq,
                &d.event_id,
                &d.event_type,
                d.attempt,
                d.at,
                &d.instance,
                d.status,
                d.outcome.as_str(),
                &d.error,
                d.duration_ms
            ],
        )
        .await
        .map(|_| ())
    }

    async fn webhook_deliveries(&mut self, id: &str, limit: i64) -> Result<Vec<WebhookDelivery>> {
        let sql = format!(
            "select {DELIVERY_COLUMNS} from webhook_delivery where endpoint_id = $1 order by delivery_id desc limit $2"
        );
        let rows: Vec<DeliveryRow> = self.fetch_all(&sql, &args![id, limit]).await?;
        rows.into_iter().map(WebhookDelivery::try_from).collect()
    }

    async fn prune_webhook_deliveries(&mut self, before: Millis) -> Result<u64> {
        self.write("delete from webhook_delivery where at < $1", &args![before]).await
    }

    async fn retry_webhook_now(&mut self, id: &str, now: Millis) -> Result<bool> {
        let sql = "update webhook_endpoint set next_attempt_at = $1 where endpoint_id = $2";
        Ok(self.write(sql, &args![now, id]).await? > 0)
    }

    async fn record_drift(
        &mut self,
        group: &GroupId,
        users: &[UserId],
        added: bool,
        by: &str,
        at: Millis,
    ) -> Result<()> {
        if users.is_empty() {
            return Ok(());
        }
        self.savepoint().await?;
        let dialect = self.dialect();
        // The opposite change cancels: an add after a remove is back to what the IdP pushed.
        let mut undo = Sql::default();
        undo.push("delete from group_drift where group_id = ").bind(group.0.clone());
        undo.push(" and added = ").bind(!added).push(" and user_id in (select value from ");
        undo.bind_rows(dialect, users.iter().map(|u| u.0.as_str())).push(") returning user_id");
        let cancelled: Vec<(String,)> = self.write_returning(&undo.text, &undo.args).await?;
        let cancelled: std::collections::HashSet<String> = cancelled.into_iter().map(|(u,)| u).collect();
        let rest: Vec<&str> = users.iter().map(|u| u.0.as_str()).filter(|u| !cancelled.contains(*u)).collect();
        if rest.is_empty() {
            return Ok(());
        }
        let mut s = Sql::default();
        s.push("insert into group_drift (group_id, user_id, added, by_admin, at) select ").bind(group.0.clone());
        s.push(", value, ").bind(added).push(", ").bind(by.to_owned()).push(", ").bind(at).push(" from ");
        s.bind_rows(dialect, rest);
        s.push(" where true on conflict (group_id, user_id) do update set added = excluded.added, ");
        s.push("by_admin = excluded.by_admin, at = excluded.at");
        self.write(&s.text, &s.args).await.map(|_| ())
    }

    async fn drift_of_group(&mut self, group: &GroupId) -> Result<Vec<DriftMember>> {
        let rows: Vec<(String, String, bool, String, i64)> = self
            .fetch_all(
                "select d.user_id, u.user_name, d.added, d.by_admin, d.at from group_drift d \
                 join app_user u on u.user_id = d.user_id where d.group_id = $1 order by u.user_name_folded",
                &args![&group.0],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, user_name, added, by_admin, at)| DriftMember {
                user_id: UserId(id),
                user_name,
                added,
                by_admin,
                at,
            })
            .collect())
    }

    async fn clear_drift(&mut self, group: &GroupId, users: &[UserId]) -> Result<()> {
        if users.is_empty() {
            return Ok(());
        }
        let mut s = Sql::default();
        s.push("delete from group_drift where group_id = ").bind(group.0.clone());
        s.push(" and user_id in (select value from ");
        s.bind_rows(self.dialect(), users.iter().map(|u| u.0.as_str())).push(")");
        self.write(&s.text, &s.args).await.map(|_| ())
    }

    async fn drift(&mut self) -> Result<Vec<GroupDrift>> {
        let rows: Vec<(String, String, String, i64, i64)> = self
            .fetch_all(
                "select g.group_id, g.display_name, g.managed_by, \
                 cast(sum(case when d.added then 1 else 0 end) as bigint), \
                 cast(sum(case when d.added then 0 else 1 end) as bigint) \
                 from group_drift d join app_group g on g.group_id = d.group_id \
                 group by g.group_id, g.display_name, g.managed_by, g.display_name_folded \
                 order by g.display_name_folded",
                &[],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, display_name, idp, added, removed)| GroupDrift {
                group_id: GroupId(id),
                display_name,
                idp,
                added,
                removed,
            })
            .collect())
    }

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
