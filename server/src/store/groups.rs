//! Groups and their members, and the groups of users.
use super::direct::record;
use super::job::{SqlTx, over_ids};
use super::query::{group_order, group_where};
use super::sql::{Arg, Sql, args};
use super::users::managed_by;
use async_trait::async_trait;
use roster::model::*;
use roster::store::{GroupRead, GroupWrite};
use roster::{Error, Result};
use std::collections::HashMap;

record! {
    pub struct GroupRecord {
        group_id: String,
        display_name: String,
        external_id: Option<String>,
        managed_by: String,
        managed_by_idp: bool,
        extra: String,
        member_count: i64,
        version: i64,
        created_at: i64,
        updated_at: i64,
    }
}

pub const GROUP_COLUMNS: &str = "app_group.group_id, app_group.display_name, app_group.external_id, \
    app_group.managed_by, app_group.managed_by_idp, app_group.extra, app_group.member_count, app_group.version, \
    app_group.created_at, \
    app_group.updated_at";

impl TryFrom<GroupRecord> for Group {
    type Error = Error;
    fn try_from(r: GroupRecord) -> Result<Group> {
        Ok(Group {
            id: GroupId(r.group_id),
            display_name: r.display_name,
            external_id: r.external_id,
            managed_by: managed_by(r.managed_by, r.managed_by_idp),
            extra: serde_json::from_str(&r.extra).map_err(Error::internal)?,
            member_count: r.member_count,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

fn group_args(g: &Group) -> Vec<Arg<'_>> {
    Vec::from(args![
        &g.id.0,
        &g.display_name,
        fold(&g.display_name),
        &g.external_id,
        g.managed_by.label(),
        g.managed_by.is_scim(),
        serde_json::Value::Object(g.extra.clone()).to_string(),
        g.member_count,
        g.version,
        g.created_at,
        g.updated_at,
    ])
}

#[async_trait]
impl GroupRead for SqlTx {
    async fn group(&mut self, id: &GroupId) -> Result<Option<Group>> {
        let sql = format!("select {GROUP_COLUMNS} from app_group where group_id = $1");
        self.fetch_optional::<GroupRecord>(&sql, &args![&id.0]).await?.map(Group::try_from).transpose()
    }

    async fn group_by_name(&mut self, folded: &str) -> Result<Option<Group>> {
        let sql = format!("select {GROUP_COLUMNS} from app_group where display_name_folded = $1");
        self.fetch_optional::<GroupRecord>(&sql, &args![folded]).await?.map(Group::try_from).transpose()
    }

    async fn list_groups(&mut self, q: &GroupQuery) -> Result<Page<Group>> {
        let page: Page<GroupRecord> =
            self.page(GROUP_COLUMNS, "app_group", group_where(q)?, &group_order(q), q.start_index, q.count).await?;
        page.try_map(Group::try_from)
    }

    async fn members(&mut self, id: &GroupId, start_index: i64, count: i64) -> Result<Page<MemberRef>> {
        let from = "group_member m join app_user u on u.user_id = m.user_id";
        let mut w = Sql::default();
        w.push(" where m.group_id = ").bind(id.0.clone()).push(" and u.deleted_at is null");
        // count 0 means every member.
        let (start, count) = if count <= 0 { (1, i64::MAX) } else { (start_index, count) };
        let page: Page<(String, String, bool)> = self
            .page("u.user_id, u.user_name, u.active", from, w, " order by u.user_name_folded", start, count)
            .await?;
        let page = page.map(|(id, user_name, active)| MemberRef { id: UserId(id), user_name, active });
        Ok(Page { start_index: start_index.max(1), ..page })
    }

    async fn members_of(&mut self, ids: &[GroupId]) -> Result<Vec<Vec<MemberRef>>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut s = Sql::default();
        s.push(
            "select m.group_id, u.user_id, u.user_name, u.active from group_member m \
             join app_user u on u.user_id = m.user_id where u.deleted_at is null and m.group_id in (select value from ",
        );
        s.bind_rows(self.dialect(), ids.iter().map(|g| g.0.as_str())).push(") order by u.user_name_folded");
        let rows: Vec<(String, String, String, bool)> = self.fetch_all(&s.text, &s.args).await?;
        let mut by_group: HashMap<String, Vec<MemberRef>> = HashMap::new();
        for (group, id, user_name, active) in rows {
            by_group.entry(group).or_default().push(MemberRef { id: UserId(id), user_name, active });
        }
        Ok(ids.iter().map(|g| by_group.remove(&g.0).unwrap_or_default()).collect())
    }

    async fn member_ids(&mut self, id: &GroupId) -> Result<Vec<UserId>> {
        let rows: Vec<(String,)> =
            self.fetch_all("select user_id from group_member where group_id = $1", &args![&id.0]).await?;
        Ok(rows.into_iter().map(|(u,)| UserId(u)).collect())
    }

    async fn groups_of_user(&mut self, id: &UserId) -> Result<Vec<GroupRef>> {
        let rows: Vec<(String, String)> = self
            .fetch_all(
                "select g.group_id, g.display_name from group_member m join app_group g on g.group_id = m.group_id \
                 where m.user_id = $1 order by g.display_name_folded",
                &args![&id.0],
            )
            .await?;
        Ok(rows.into_iter().map(|(id, name)| GroupRef { id: GroupId(id), display_name: name }).collect())
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

    async fn group_counts(&mut self, ids: &[UserId]) -> Result<Vec<(UserId, i64)>> {
        let sql = |rows: &str| {
            format!(
                "select user_id, count(*) from group_member where user_id in (select value from {rows}) group by user_id"
            )
        };
        let rows: Vec<(String, i64)> = self.by_ids(ids, sql, &[]).await?;
        Ok(rows.into_iter().map(|(id, n)| (UserId(id), n)).collect())
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
}

#[async_trait]
impl GroupWrite for SqlTx {
    async fn insert_group(&mut self, g: &Group) -> Result<()> {
        self.unique_write(
            "insert into app_group (group_id, display_name, display_name_folded, external_id, managed_by, \
             managed_by_idp, extra, member_count, version, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &group_args(g),
            "group name",
            &g.display_name,
        )
        .await
    }

    async fn update_group(&mut self, g: &Group) -> Result<()> {
        self.unique_write(
            "update app_group set display_name = $2, display_name_folded = $3, external_id = $4, managed_by = $5, \
             managed_by_idp = $6, extra = $7, member_count = $8, version = $9, created_at = $10, updated_at = $11 \
             where group_id = $1",
            &group_args(g),
            "group name",
            &g.display_name,
        )
        .await
    }

    async fn delete_group(&mut self, id: &GroupId) -> Result<()> {
        self.write("delete from app_group where group_id = $1", &args![&id.0]).await.map(|_| ())
    }

    async fn add_members(&mut self, id: &GroupId, users: &[UserId], now: Millis) -> Result<Vec<UserId>> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let mut s = Sql::default();
        s.push("insert into group_member (group_id, user_id, added_at) select ").bind(id.0.clone());
        s.push(", value, ").bind(now).push(" from ");
        // `where true` tells SQLite's parser the `on conflict` is the upsert's, not a join's.
        s.bind_rows(self.dialect(), users.iter().map(|u| u.0.as_str()));
        s.push(" where true on conflict do nothing returning user_id");
        let rows: Vec<(String,)> = self.write_returning(&s.text, &s.args).await?;
        Ok(rows.into_iter().map(|(u,)| UserId(u)).collect())
    }

    async fn remove_members(&mut self, id: &GroupId, users: &[UserId]) -> Result<Vec<UserId>> {
        let sql = |rows: &str| {
            format!(
                "delete from group_member where group_id = $1 and user_id in (select value from {rows}) returning user_id"
            )
        };
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let q = over_ids(self.dialect(), users, sql, &args![&id.0]);
        let rows: Vec<(String,)> = self.write_returning(&q.text, &q.args).await?;
        Ok(rows.into_iter().map(|(u,)| UserId(u)).collect())
    }

    async fn clear_members(&mut self, id: &GroupId) -> Result<Vec<UserId>> {
        let rows: Vec<(String,)> = self
            .write_returning("delete from group_member where group_id = $1 returning user_id", &args![&id.0])
            .await?;
        Ok(rows.into_iter().map(|(u,)| UserId(u)).collect())
    }
}
