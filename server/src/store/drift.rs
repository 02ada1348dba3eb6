//! Drift: an admin's membership changes to IdP groups while SCIM was off, netted, until the IdP's next push.
use super::job::SqlTx;
use super::sql::{Sql, args};
use async_trait::async_trait;
use roster::Result;
use roster::model::*;
use roster::store::{DriftRead, DriftWrite};

#[async_trait]
impl DriftRead for SqlTx {
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
}

#[async_trait]
impl DriftWrite for SqlTx {
    async fn record_drift(&mut self, group: &GroupId, changes: &[(UserId, bool)], by: &str, at: Millis) -> Result<()> {
        let dialect = self.dialect();
        for added in [true, false] {
            let users: Vec<&str> = changes.iter().filter(|(_, a)| *a == added).map(|(u, _)| u.0.as_str()).collect();
            if users.is_empty() {
                continue;
            }
            let mut s = Sql::default();
            s.push("insert into group_drift (group_id, user_id, added, by_admin, at) select ").bind(group.0.clone());
            s.push(", value, ").bind(added).push(", ").bind(by.to_owned()).push(", ").bind(at).push(" from ");
            s.bind_rows(dialect, users);
            s.push(" where true on conflict (group_id, user_id) do update set added = excluded.added, ");
            s.push("by_admin = excluded.by_admin, at = excluded.at");
            self.write(&s.text, &s.args).await?;
        }
        Ok(())
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
}
