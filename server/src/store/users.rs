//! Users: their rows, emails and search index, the listings (with deep pages from positions) and the directory
//! API's keyset pages.
use super::direct::record;
use super::job::SqlTx;
use super::positions::{self, Marks, Positions};
use super::query::{kept_total, user_order, user_where};
use super::sql::{Arg, Script, Sql, args, limit};
use async_trait::async_trait;
use roster::model::*;
use roster::store::{UserRead, UserWrite};
use roster::{Error, Result};
use std::sync::Arc;

record! {
    pub struct UserRecord {
        user_id: String,
        user_name: String,
        external_id: Option<String>,
        display_name: Option<String>,
        given_name: Option<String>,
        family_name: Option<String>,
        email: Option<String>,
        active: bool,
        inactive_reason: Option<String>,
        managed_by: String,
        managed_by_idp: bool,
        deleted_at: Option<i64>,
        attributes: String,
        version: i64,
        created_at: i64,
        updated_at: i64,
    }
}

pub const USER_COLUMNS: &str = "app_user.user_id, app_user.user_name, app_user.external_id, app_user.display_name, \
    app_user.given_name, app_user.family_name, app_user.email, app_user.active, app_user.inactive_reason, \
    app_user.managed_by, app_user.managed_by_idp, app_user.deleted_at, app_user.attributes, app_user.version, \
    app_user.created_at, app_user.updated_at";

pub(super) fn managed_by(label: String, idp: bool) -> ManagedBy {
    if idp { ManagedBy::Scim { idp: label } } else { ManagedBy::Local }
}

impl TryFrom<UserRecord> for User {
    type Error = Error;
    fn try_from(r: UserRecord) -> Result<User> {
        Ok(User {
            id: UserId(r.user_id),
            user_name: r.user_name,
            external_id: r.external_id,
            display_name: r.display_name,
            given_name: r.given_name,
            family_name: r.family_name,
            email: r.email,
            active: r.active,
            inactive_reason: r
                .inactive_reason
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(Error::internal)?,
            managed_by: managed_by(r.managed_by, r.managed_by_idp),
            deleted_at: r.deleted_at,
            attributes: serde_json::from_str(&r.attributes).map_err(Error::internal)?,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// The panel's search text of a user: userName, names and email, folded.
pub fn search_text(u: &User) -> String {
    fold(
        &[
            Some(u.user_name.as_str()),
            u.given_name.as_deref(),
            u.family_name.as_deref(),
            u.display_name.as_deref(),
            u.email.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" "),
    )
}

/// The columns of `app_user`, in the order of [`user_args`].
const USER_FIELDS: &str = "user_id, user_name, user_name_folded, external_id, display_name, given_name, family_name, \
    email, search_folded, active, inactive_reason, managed_by, managed_by_idp, deleted_at, attributes, version, \
    created_at, updated_at";

fn user_args(u: &User) -> Result<Vec<Arg<'_>>> {
    let reason = u.inactive_reason.as_ref().map(serde_json::to_string).transpose().map_err(Error::internal)?;
    Ok(Vec::from(args![
        &u.id.0,
        &u.user_name,
        fold(&u.user_name),
        &u.external_id,
        &u.display_name,
        &u.given_name,
        &u.family_name,
        &u.email,
        search_text(u),
        u.active,
        reason,
        u.managed_by.label(),
        u.managed_by.is_scim(),
        u.deleted_at,
        serde_json::Value::Object(u.attributes.clone()).to_string(),
        u.version,
        u.created_at,
        u.updated_at,
    ]))
}

/// The user's emails as rows, in one statement, next in `script`.
fn index_emails(script: &mut Script, u: &User) {
    let emails = u.emails();
    if emails.is_empty() {
        return;
    }
    let s = script.statement();
    s.push("insert into user_email (user_id, position, value_folded, value, type, is_primary) values ");
    for (i, e) in emails.into_iter().enumerate() {
        s.push(if i == 0 { "(" } else { ", (" });
        s.bind(u.id.0.clone()).push(", ").bind(i as i64).push(", ").bind(fold(&e.value)).push(", ");
        s.bind(e.value).push(", ").bind(e.kind).push(", ").bind(e.primary).push(")");
    }
}

impl SqlTx {
    /// The marks of the default listing at `version` with `live` users: the ones `held` extended from their last mark
    /// if only users after it came since, else all of them read again (see [`positions`]).
    async fn read_marks(&mut self, held: Option<Arc<Marks>>, version: i64, live: i64) -> Result<Marks> {
        if let Some((held, (at, id))) = held.as_ref().and_then(|m| Some((m, m.last()?.clone()))) {
            let from = args![at, id.as_str()];
            // The total and the tail in one statement, one moment; read again after the marks, and the same, so no
            // user came before the last mark between the two reads (a read outside a snapshot sees each commit).
            let counts = "select users_live, (select count(*) from app_user where deleted_at is null \
                          and (created_at, user_id) >= ($1, $2)) from setting where setting_id = 1";
            let (live, in_tail): (i64, i64) = self.fetch_one(counts, &from).await?;
            let marks: Vec<(i64, String)> = self.fetch_all(&positions::marks_sql(true), &from).await?;
            let unmoved = self.fetch_one::<(i64, i64)>(counts, &from).await? == (live, in_tail);
            if let Some(extended) = held.extend(live, in_tail, marks).filter(|_| unmoved) {
                return Ok(extended);
            }
        }
        let keys = self.fetch_all(&positions::marks_sql(false), &[]).await?;
        Ok(Marks { version, live, keys })
    }

    /// A page of the default user listing, by seeking to the nearest mark (see [`positions`]).
    async fn seek_users(&mut self, positions: &Positions, start: i64, count: i64) -> Result<Page<UserRecord>> {
        let (version, total): (i64, i64) =
            self.fetch_one("select user_version, users_live from setting where setting_id = 1", &[]).await?;
        let marks = positions.get(version, total, |held| self.read_marks(held, version, total)).await?;
        let (limit, offset) = limit(start, count);
        let start_index = start.max(1);
        let Some(((created_at, user_id), skip)) = marks.seek(offset).filter(|_| limit > 0) else {
            return Ok(Page::new(Vec::new(), total, start_index));
        };
        let sql = format!(
            "select {USER_COLUMNS} from app_user where deleted_at is null and (created_at, user_id) >= ($1, $2) \
             order by created_at, user_id limit $3 offset $4"
        );
        let items = self.fetch_all(&sql, &args![*created_at, user_id.as_str(), limit, skip]).await?;
        Ok(Page::new(items, total, start_index))
    }
}

#[async_trait]
impl UserRead for SqlTx {
    async fn user(&mut self, id: &UserId) -> Result<Option<User>> {
        let sql = format!("select {USER_COLUMNS} from app_user where user_id = $1");
        self.fetch_optional::<UserRecord>(&sql, &args![&id.0]).await?.map(User::try_from).transpose()
    }

    async fn user_by_name(&mut self, user_name_folded: &str) -> Result<Option<User>> {
        let sql = format!("select {USER_COLUMNS} from app_user where user_name_folded = $1");
        self.fetch_optional::<UserRecord>(&sql, &args![user_name_folded]).await?.map(User::try_from).transpose()
    }

    async fn list_users(&mut self, q: &UserQuery) -> Result<Page<User>> {
        let page: Page<UserRecord> = match self.positions.clone().filter(|_| positions::serves(q)) {
            Some(positions) => self.seek_users(&positions, q.start_index, q.count).await?,
            None => {
                let w = user_where(q, self.dialect())?;
                // A write's own users are not in the kept totals until it commits.
                let kept = kept_total(q).filter(|_| !self.writable());
                let total = kept.map(|column| format!("select {column} from setting where setting_id = 1"));
                self.page_with(USER_COLUMNS, "app_user", w, &user_order(q), q.start_index, q.count, total).await?
            }
        };
        page.try_map(User::try_from)
    }

    async fn users_by_ids(&mut self, ids: &[UserId]) -> Result<Vec<User>> {
        let rows: Vec<UserRecord> = self
            .by_ids(
                ids,
                |rows| format!("select {USER_COLUMNS} from app_user where user_id in (select value from {rows})"),
                &[],
            )
            .await?;
        rows.into_iter().map(User::try_from).collect()
    }

    async fn live_users(&mut self, ids: &[UserId]) -> Result<Vec<(UserId, bool)>> {
        let sql = |rows: &str| {
            format!(
                "select user_id, active from app_user where deleted_at is null and user_id in (select value from {rows})"
            )
        };
        let rows: Vec<(String, bool)> = self.by_ids(ids, sql, &[]).await?;
        Ok(rows.into_iter().map(|(id, active)| (UserId(id), active)).collect())
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
}

#[async_trait]
impl UserWrite for SqlTx {
    async fn insert_user(&mut self, u: &User) -> Result<()> {
        let mut script = self.script();
        let insert = script.statement();
        insert.push(&format!("insert into app_user ({USER_FIELDS}) values ("));
        insert.bind_list(user_args(u)?.into_iter().map(Arg::into_owned)).push(")");
        index_emails(&mut script, u);
        self.unique_script(script, "userName", &u.user_name).await?;
        if self.is_sqlite() {
            self.pending().search.push(u.id.0.clone());
        }
        // A new user comes last in creation order, so it moves the total, not the positions; one that does not (a clock
        // behind another instance's) is found when the marks are next read (`positions::Marks::extend`).
        let pending = self.pending();
        pending.users_added += 1;
        pending.live_delta += i64::from(u.deleted_at.is_none());
        Ok(())
    }

    async fn update_user(&mut self, before: &User, after: &User) -> Result<()> {
        let mut script = self.script();
        let update = script.statement();
        update.push("update app_user set ");
        // Every field but the id, which is the first.
        for (i, (field, arg)) in USER_FIELDS.split(", ").zip(user_args(after)?).enumerate().skip(1) {
            update.push(if i == 1 { "" } else { ", " }).push(field).push(" = ").bind(arg.into_owned());
        }
        update.push(" where user_id = ").bind(after.id.0.clone());
        if before.emails() != after.emails() {
            script.statement().push("delete from user_email where user_id = ").bind(after.id.0.clone());
            index_emails(&mut script, after);
        }
        self.unique_script(script, "userName", &after.user_name).await?;
        if self.is_sqlite() && search_text(before) != search_text(after) {
            self.pending().search.push(after.id.0.clone());
        }
        let live = |u: &User| i64::from(u.deleted_at.is_none());
        let pending = self.pending();
        pending.users_moved |= live(before) != live(after);
        pending.live_delta += live(after) - live(before);
        Ok(())
    }
}

/// At commit, on SQLite: the users whose search text changed, re-indexed (migration 0005) in two statements whatever
/// their number, the ids going as one JSON array.
pub(super) fn flush_search(script: &mut Script, ids: &[String]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let ids = serde_json::to_string(ids).map_err(Error::internal)?;
    let changed = "select rowid from app_user where user_id in (select value from json_each(";
    script.statement().push("delete from user_search where rowid in (").push(changed).bind(ids.clone()).push(")))");
    script
        .statement()
        .push("insert into user_search (rowid, search_folded) select rowid, search_folded from app_user ")
        .push("where user_id in (select value from json_each(")
        .bind(ids)
        .push("))");
    Ok(())
}
