//! The SQLite and PostgreSQL stores. The SQL is written once: [`impl_tx!`] expands the same method bodies for both
//! databases (both accept `$n` placeholders and the schema is the same), and the contract suite in `tests.rs` runs on
//! both. What differs, opening connections and taking the write lock, is in `Db`.
pub mod session;
pub mod sql_filter;
#[cfg(test)]
mod tests;

use async_trait::async_trait;
use roster::error::Kind;
use roster::model::*;
use roster::store::*;
use roster::{Error, Result};
use sql_filter::{Bind, Resource, Sql, translate};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{FromRow, PgPool, Postgres, Sqlite, SqlitePool, Transaction};
use std::str::FromStr;
use std::time::Duration;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// A connected database, chosen by the URL scheme.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Db {
    /// Connects. SQLite: creates the file, WAL, foreign keys on, a busy timeout. Errors name the URL's problem.
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)
                .map_err(|e| anyhow::anyhow!("bad SQLite URL '{url}': {e}"))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(opts)
                .await
                .map_err(|e| anyhow::anyhow!("cannot open SQLite database '{url}': {e}"))?;
            Ok(Db::Sqlite(pool))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let opts = PgConnectOptions::from_str(url).map_err(|e| anyhow::anyhow!("bad PostgreSQL URL: {e}"))?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await
                .map_err(|e| anyhow::anyhow!("cannot connect to PostgreSQL: {e}"))?;
            Ok(Db::Postgres(pool))
        } else {
            anyhow::bail!("unsupported database URL '{url}': use sqlite://path/to/roster.db or postgres://user@host/db")
        }
    }

    /// Applies pending migrations; a failure stops the caller with the reason.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            Db::Sqlite(p) => SQLITE_MIGRATIONS.run(p).await,
            Db::Postgres(p) => POSTGRES_MIGRATIONS.run(p).await,
        }
        .map_err(|e| anyhow::anyhow!("database migration failed: {e}"))
    }

    pub fn store(&self) -> std::sync::Arc<dyn Store> {
        std::sync::Arc::new(self.clone())
    }
}

#[async_trait]
impl Store for Db {
    async fn begin_read(&self) -> Result<Box<dyn Tx>> {
        Ok(match self {
            Db::Sqlite(p) => Box::new(SqlTx(p.begin().await.map_err(db)?)),
            Db::Postgres(p) => Box::new(SqlTx(p.begin().await.map_err(db)?)),
        })
    }

    async fn begin_write(&self) -> Result<Box<dyn Tx>> {
        Ok(match self {
            // Takes the write lock up front: a deferred BEGIN that reads then writes can fail with SQLITE_BUSY.
            Db::Sqlite(p) => Box::new(SqlTx(p.begin_with("BEGIN IMMEDIATE").await.map_err(db)?)),
            Db::Postgres(p) => {
                let mut tx = p.begin().await.map_err(db)?;
                // READ COMMITTED would let two activations both pass a seat count; the settings row lock serialises writers.
                sqlx::query("select 1 from setting where setting_id = 1 for update")
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                Box::new(SqlTx(tx))
            }
        })
    }

    async fn ping(&self) -> Result<()> {
        match self {
            Db::Sqlite(p) => sqlx::query("select 1").execute(p).await.map(|_| ()),
            Db::Postgres(p) => sqlx::query("select 1").execute(p).await.map(|_| ()),
        }
        .map_err(db)
    }
}

/// One transaction on either database.
pub struct SqlTx<DB: sqlx::Database>(Transaction<'static, DB>);

fn db(e: sqlx::Error) -> Error {
    Error::internal(e)
}

/// Maps a unique-constraint violation to the domain conflict the caller names; anything else is internal.
fn unique(what: &'static str, value: &str) -> impl FnOnce(sqlx::Error) -> Error {
    move |e| match e.as_database_error() {
        Some(d) if d.is_unique_violation() => Error::Conflict { what, value: value.to_owned() },
        _ => Error::internal(e),
    }
}

#[derive(FromRow)]
struct UserRow {
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

const USER_COLUMNS: &str = "app_user.user_id, app_user.user_name, app_user.external_id, app_user.display_name, \
    app_user.given_name, app_user.family_name, app_user.email, app_user.active, app_user.inactive_reason, \
    app_user.managed_by, app_user.managed_by_idp, app_user.deleted_at, app_user.attributes, app_user.version, \
    app_user.created_at, app_user.updated_at";

fn managed_by(label: String, idp: bool) -> ManagedBy {
    if idp { ManagedBy::Scim { idp: label } } else { ManagedBy::Local }
}

impl TryFrom<UserRow> for User {
    type Error = Error;
    fn try_from(r: UserRow) -> Result<User> {
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

#[derive(FromRow)]
struct GroupRow {
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

const GROUP_COLUMNS: &str = "app_group.group_id, app_group.display_name, app_group.external_id, app_group.managed_by, \
    app_group.managed_by_idp, app_group.extra, app_group.member_count, app_group.version, app_group.created_at, \
    app_group.updated_at";

impl TryFrom<GroupRow> for Group {
    type Error = Error;
    fn try_from(r: GroupRow) -> Result<Group> {
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

#[derive(FromRow)]
struct AdminRow {
    admin_id: i64,
    email: String,
    created_at: i64,
}

impl From<AdminRow> for Admin {
    fn from(r: AdminRow) -> Admin {
        Admin { id: AdminId(r.admin_id), email: r.email, created_at: r.created_at }
    }
}

#[derive(FromRow)]
struct TokenRow {
    token_id: i64,
    name: String,
    created_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl From<TokenRow> for ScimToken {
    fn from(r: TokenRow) -> ScimToken {
        ScimToken {
            id: TokenId(r.token_id),
            name: r.name,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        }
    }
}

#[derive(FromRow)]
struct EventRow {
    event_id: i64,
    at: i64,
    actor: String,
    method: String,
    path: String,
    status: i64,
    outcome: String,
    target_kind: Option<String>,
    target_id: Option<String>,
    target_name: Option<String>,
    diff: String,
    detail: String,
}

fn kind_str(k: Kind) -> &'static str {
    match k {
        Kind::User => "user",
        Kind::Group => "group",
        Kind::Token => "token",
        Kind::Admin => "admin",
        Kind::Event => "event",
    }
}

fn parse_kind(s: &str) -> Option<Kind> {
    Some(match s {
        "user" => Kind::User,
        "group" => Kind::Group,
        "token" => Kind::Token,
        "admin" => Kind::Admin,
        "event" => Kind::Event,
        _ => return None,
    })
}

impl From<EventRow> for Event {
    fn from(r: EventRow) -> Event {
        let target = match (r.target_kind.as_deref().and_then(parse_kind), r.target_id) {
            (Some(kind), Some(id)) => Some(Target { kind, id, name: r.target_name.unwrap_or_default() }),
            _ => None,
        };
        Event {
            id: EventId(r.event_id),
            at: r.at,
            actor: r.actor,
            method: r.method,
            path: r.path,
            status: u16::try_from(r.status).unwrap_or(0),
            outcome: Outcome::parse(&r.outcome),
            target,
            diff: r.diff,
            detail: r.detail,
        }
    }
}

/// Whether a user takes a seat: active and not deleted in the IdP.
fn takes_seat(u: &User) -> bool {
    u.active && u.deleted_at.is_none()
}

fn search_text(u: &User) -> String {
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

/// The WHERE clause and ORDER BY of a user listing.
fn user_where(q: &UserQuery) -> Result<Sql> {
    let mut s = Sql::default();
    s.push(" where 1 = 1");
    if !q.include_deleted {
        s.push(" and app_user.deleted_at is null");
    }
    if let Some(f) = &q.filter {
        s.push(" and ");
        translate(Resource::User, f, &mut s)?;
    }
    if let Some(term) = q.search.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let pattern = format!("%{}%", fold(term).replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        s.push(" and app_user.search_folded like ").bind(Bind::Text(pattern)).push(" escape '\\'");
    }
    match q.status {
        Some(UserStatus::Active) => {
            s.push(" and app_user.active = ").bind(Bind::Bool(true)).push(" and app_user.deleted_at is null")
        }
        Some(UserStatus::Inactive) => {
            s.push(" and app_user.active = ").bind(Bind::Bool(false)).push(" and app_user.deleted_at is null")
        }
        Some(UserStatus::DeletedInIdp) => s.push(" and app_user.deleted_at is not null"),
        None => &mut s,
    };
    if let Some(idp) = q.managed_by_idp {
        s.push(" and app_user.managed_by_idp = ").bind(Bind::Bool(idp));
    }
    Ok(s)
}

fn user_order(q: &UserQuery) -> String {
    let col = match q.sort {
        UserSort::Created => "app_user.created_at",
        UserSort::UserName => "app_user.user_name_folded",
        UserSort::DisplayName => "app_user.display_name",
        UserSort::FamilyName => "app_user.family_name",
        UserSort::LastModified => "app_user.updated_at",
    };
    let dir = if q.descending { "desc" } else { "asc" };
    // The id breaks ties, so pages never overlap or skip (RFC 7644 §3.4.2.4 wants a stable order).
    format!(" order by {col} {dir}, app_user.user_id {dir}")
}

fn group_where(q: &GroupQuery) -> Result<Sql> {
    let mut s = Sql::default();
    s.push(" where 1 = 1");
    if let Some(f) = &q.filter {
        s.push(" and ");
        translate(Resource::Group, f, &mut s)?;
    }
    if let Some(term) = q.search.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let pattern = format!("%{}%", fold(term).replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        s.push(" and app_group.display_name_folded like ").bind(Bind::Text(pattern)).push(" escape '\\'");
    }
    Ok(s)
}

fn event_where(q: &EventQuery) -> Sql {
    let mut s = Sql::default();
    s.push(" where 1 = 1");
    if let Some(t) = q.target.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let n = t.trim_start_matches('#');
        if let Ok(id) = n.parse::<i64>() {
            s.push(" and (event_id = ")
                .bind(Bind::Int(id))
                .push(" or target_id = ")
                .bind(Bind::Text(t.to_owned()))
                .push(")");
        } else {
            let like = format!("%{}%", fold(t).replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
            s.push(" and (target_id = ").bind(Bind::Text(t.to_owned()));
            s.push(" or lower(target_name) like ").bind(Bind::Text(like.clone())).push(" escape '\\'");
            s.push(" or lower(actor) like ").bind(Bind::Text(like)).push(" escape '\\')");
        }
    }
    if let Some(k) = q.kind {
        s.push(" and target_kind = ").bind(Bind::Text(kind_str(k).into()));
    }
    if q.failed_only {
        s.push(" and outcome <> ").bind(Bind::Text("ok".into()));
    }
    if let Some(o) = q.outcome {
        s.push(" and outcome = ").bind(Bind::Text(o.as_str().into()));
    }
    if let Some(t) = q.since {
        s.push(" and at >= ").bind(Bind::Int(t));
    }
    if let Some(t) = q.until {
        s.push(" and at < ").bind(Bind::Int(t));
    }
    s
}

fn limit(start_index: i64, count: i64) -> (i64, i64) {
    (count.max(0), (start_index.max(1) - 1).max(0))
}

/// Binds a dynamic list of values onto a query, for both databases.
macro_rules! bind_all {
    ($q:expr, $binds:expr) => {{
        let mut q = $q;
        for b in $binds {
            q = match b {
                Bind::Text(s) => q.bind(s.clone()),
                Bind::Int(i) => q.bind(*i),
                Bind::Bool(v) => q.bind(*v),
            };
        }
        q
    }};
}

/// `$1, $2, …` starting after `offset` binds.
fn placeholders(offset: usize, n: usize) -> String {
    (offset + 1..=offset + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// Large id lists are chunked to stay under SQLite's bound-parameter limit.
const CHUNK: usize = 500;

macro_rules! impl_tx {
    ($db:ty) => {
        #[async_trait]
        impl Tx for SqlTx<$db> {
            async fn commit(self: Box<Self>) -> Result<()> {
                self.0.commit().await.map_err(db)
            }

            async fn settings(&mut self) -> Result<Settings> {
                let (enabled, seats): (bool, i64) =
                    sqlx::query_as("select scim_enabled, cast(seat_limit as bigint) from setting where setting_id = 1")
                        .fetch_one(&mut *self.0)
                        .await
                        .map_err(db)?;
                Ok(Settings { scim_enabled: enabled, seats: SeatLimit(seats) })
            }

            async fn set_scim_enabled(&mut self, on: bool) -> Result<()> {
                sqlx::query("update setting set scim_enabled = $1 where setting_id = 1").bind(on).execute(&mut *self.0).await.map_err(db)?;
                Ok(())
            }

            async fn set_seat_limit(&mut self, seats: SeatLimit) -> Result<()> {
                sqlx::query("update setting set seat_limit = $1 where setting_id = 1").bind(seats.0).execute(&mut *self.0).await.map_err(db)?;
                Ok(())
            }

            async fn setup_token_hash(&mut self) -> Result<Option<String>> {
                sqlx::query_scalar("select setup_token_hash from setting where setting_id = 1").fetch_one(&mut *self.0).await.map_err(db)
            }

            async fn set_setup_token_hash(&mut self, hash: Option<&str>) -> Result<()> {
                sqlx::query("update setting set setup_token_hash = $1 where setting_id = 1").bind(hash).execute(&mut *self.0).await.map_err(db)?;
                Ok(())
            }

            async fn counts(&mut self) -> Result<Counts> {
                let (users, active, groups): (i64, i64, i64) = sqlx::query_as(
                    "select (select count(*) from app_user where deleted_at is null), \
                     (select count(*) from app_user where active = $1 and deleted_at is null), \
                     (select count(*) from app_group)",
                )
                .bind(true)
                .fetch_one(&mut *self.0)
                .await
                .map_err(db)?;
                Ok(Counts { users, active_users: active, groups })
            }

            async fn count_admins(&mut self) -> Result<i64> {
                sqlx::query_scalar("select count(*) from admin").fetch_one(&mut *self.0).await.map_err(db)
            }

            async fn insert_admin(&mut self, email: &str, password_hash: &str, now: Millis) -> Result<Admin> {
                self.savepoint().await?;
                let row: Result<AdminRow> = sqlx::query_as(
                    "insert into admin (email, email_folded, password_hash, created_at, updated_at) values ($1, $2, $3, $4, $4) \
                     returning admin_id, email, created_at",
                )
                .bind(email)
                .bind(fold(email))
                .bind(password_hash)
                .bind(now)
                .fetch_one(&mut *self.0)
                .await
                .map_err(unique("admin email", email));
                let row = self.settle(row).await?;
                Ok(row.into())
            }

            async fn admin_credentials(&mut self, email_folded: &str) -> Result<Option<(Admin, String)>> {
                let row: Option<(i64, String, i64, String)> = sqlx::query_as(
                    "select admin_id, email, created_at, password_hash from admin where email_folded = $1",
                )
                .bind(email_folded)
                .fetch_optional(&mut *self.0)
                .await
                .map_err(db)?;
                Ok(row.map(|(id, email, created_at, hash)| (Admin { id: AdminId(id), email, created_at }, hash)))
            }

            async fn admin_password_hash(&mut self, id: AdminId) -> Result<Option<String>> {
                sqlx::query_scalar("select password_hash from admin where admin_id = $1").bind(id.0).fetch_optional(&mut *self.0).await.map_err(db)
            }

            async fn admin(&mut self, id: AdminId) -> Result<Option<Admin>> {
                let row: Option<AdminRow> = sqlx::query_as("select admin_id, email, created_at from admin where admin_id = $1")
                    .bind(id.0)
                    .fetch_optional(&mut *self.0)
                    .await
                    .map_err(db)?;
                Ok(row.map(Into::into))
            }

            async fn list_admins(&mut self) -> Result<Vec<Admin>> {
                let rows: Vec<AdminRow> = sqlx::query_as("select admin_id, email, created_at from admin order by email_folded")
                    .fetch_all(&mut *self.0)
                    .await
                    .map_err(db)?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn set_admin_password(&mut self, id: AdminId, password_hash: &str, now: Millis) -> Result<()> {
                sqlx::query("update admin set password_hash = $1, updated_at = $2 where admin_id = $3")
                    .bind(password_hash)
                    .bind(now)
                    .bind(id.0)
                    .execute(&mut *self.0)
                    .await
                    .map_err(db)?;
                Ok(())
            }

            async fn insert_token(&mut self, name: &str, token_hash: &str, now: Millis) -> Result<ScimToken> {
                self.savepoint().await?;
                let row: Result<TokenRow> = sqlx::query_as(
                    "insert into scim_token (name, name_folded, token_hash, created_at) values ($1, $2, $3, $4) \
                     returning token_id, name, created_at, last_used_at, revoked_at",
                )
                .bind(name)
                .bind(fold(name))
                .bind(token_hash)
                .bind(now)
                .fetch_one(&mut *self.0)
                .await
                .map_err(unique("token name", name));
                let row = self.settle(row).await?;
                Ok(row.into())
            }

            async fn list_tokens(&mut self) -> Result<Vec<ScimToken>> {
                let rows: Vec<TokenRow> = sqlx::query_as(
                    "select token_id, name, created_at, last_used_at, revoked_at from scim_token \
                     order by revoked_at is not null, created_at desc",
                )
                .fetch_all(&mut *self.0)
                .await
                .map_err(db)?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn revoke_token(&mut self, name_folded: &str, now: Millis) -> Result<bool> {
                let n = sqlx::query("update scim_token set revoked_at = $1 where name_folded = $2 and revoked_at is null")
                    .bind(now)
                    .bind(name_folded)
                    .execute(&mut *self.0)
                    .await
                    .map_err(db)?
                    .rows_affected();
                Ok(n > 0)
            }

            async fn authenticate_token(&mut self, token_hash: &str) -> Result<Option<(ScimToken, bool)>> {
                let row: Option<(i64, String, i64, Option<i64>, bool)> = sqlx::query_as(
                    "select t.token_id, t.name, t.created_at, t.last_used_at, s.scim_enabled from scim_token t, setting s \
                     where t.token_hash = $1 and t.revoked_at is null and s.setting_id = 1",
                )
                .bind(token_hash)
                .fetch_optional(&mut *self.0)
                .await
                .map_err(db)?;
                Ok(row.map(|(id, name, created_at, last_used_at, enabled)| {
                    (ScimToken { id: TokenId(id), name, created_at, last_used_at, revoked_at: None }, enabled)
                }))
            }

            async fn touch_token(&mut self, id: TokenId, now: Millis) -> Result<()> {
                sqlx::query("update scim_token set last_used_at = $1 where token_id = $2").bind(now).bind(id.0).execute(&mut *self.0).await.map_err(db)?;
                Ok(())
            }

            async fn count_active_users(&mut self) -> Result<i64> {
                // Kept by insert_user/update_user (migration 0002), so a seat check is O(1) at any directory size.
                sqlx::query_scalar("select cast(active_users as bigint) from setting where setting_id = 1")
                    .fetch_one(&mut *self.0)
                    .await
                    .map_err(db)
            }

            async fn user(&mut self, id: &UserId) -> Result<Option<User>> {
                let row: Option<UserRow> = sqlx::query_as(&format!("select {USER_COLUMNS} from app_user where user_id = $1"))
                    .bind(id.as_str())
                    .fetch_optional(&mut *self.0)
                    .await
                    .map_err(db)?;
                row.map(User::try_from).transpose()
            }

            async fn user_by_name(&mut self, user_name_folded: &str) -> Result<Option<User>> {
                let row: Option<UserRow> = sqlx::query_as(&format!("select {USER_COLUMNS} from app_user where user_name_folded = $1"))
                    .bind(user_name_folded)
                    .fetch_optional(&mut *self.0)
                    .await
                    .map_err(db)?;
                row.map(User::try_from).transpose()
            }

            async fn insert_user(&mut self, u: &User) -> Result<()> {
                self.savepoint().await?;
                let r = sqlx::query(
                    "insert into app_user (user_id, user_name, user_name_folded, external_id, display_name, given_name, \
                     family_name, email, search_folded, active, inactive_reason, managed_by, managed_by_idp, deleted_at, \
                     attributes, version, created_at, updated_at) \
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
                )
                .bind(u.id.as_str())
                .bind(&u.user_name)
                .bind(fold(&u.user_name))
                .bind(&u.external_id)
                .bind(&u.display_name)
                .bind(&u.given_name)
                .bind(&u.family_name)
                .bind(&u.email)
                .bind(search_text(u))
                .bind(u.active)
                .bind(u.inactive_reason.as_ref().map(|r| serde_json::to_string(r).unwrap_or_default()))
                .bind(u.managed_by.label())
                .bind(u.managed_by.is_scim())
                .bind(u.deleted_at)
                .bind(serde_json::Value::Object(u.attributes.clone()).to_string())
                .bind(u.version)
                .bind(u.created_at)
                .bind(u.updated_at)
                .execute(&mut *self.0)
                .await
                .map_err(unique("userName", &u.user_name));
                self.settle(r).await?;
                self.adjust_active(i64::from(takes_seat(u))).await?;
                self.index_emails(u).await
            }

            async fn update_user(&mut self, u: &User) -> Result<()> {
                let before: Option<(bool, Option<i64>)> =
                    sqlx::query_as("select active, deleted_at from app_user where user_id = $1")
                        .bind(u.id.as_str())
                        .fetch_optional(&mut *self.0)
                        .await
                        .map_err(db)?;
                let was = before.is_some_and(|(active, deleted)| active && deleted.is_none());
                self.savepoint().await?;
                let r = sqlx::query(
                    "update app_user set user_name = $2, user_name_folded = $3, external_id = $4, display_name = $5, \
                     given_name = $6, family_name = $7, email = $8, search_folded = $9, active = $10, inactive_reason = $11, \
                     managed_by = $12, managed_by_idp = $13, deleted_at = $14, attributes = $15, version = $16, updated_at = $17 \
                     where user_id = $1",
                )
                .bind(u.id.as_str())
                .bind(&u.user_name)
                .bind(fold(&u.user_name))
                .bind(&u.external_id)
                .bind(&u.display_name)
                .bind(&u.given_name)
                .bind(&u.family_name)
                .bind(&u.email)
                .bind(search_text(u))
                .bind(u.active)
                .bind(u.inactive_reason.as_ref().map(|r| serde_json::to_string(r).unwrap_or_default()))
                .bind(u.managed_by.label())
                .bind(u.managed_by.is_scim())
                .bind(u.deleted_at)
                .bind(serde_json::Value::Object(u.attributes.clone()).to_string())
                .bind(u.version)
                .bind(u.updated_at)
                .execute(&mut *self.0)
                .await
                .map_err(unique("userName", &u.user_name));
                self.settle(r).await?;
                sqlx::query("delete from user_email where user_id = $1").bind(u.id.as_str()).execute(&mut *self.0).await.map_err(db)?;
                self.adjust_active(i64::from(takes_seat(u)) - i64::from(was)).await?;
                self.index_emails(u).await
            }

            async fn list_users(&mut self, q: &UserQuery) -> Result<Page<User>> {
                let w = user_where(q)?;
                let count_sql = format!("select count(*) from app_user{}", w.text);
                let total: i64 = bind_all!(sqlx::query_scalar(&count_sql), &w.binds)
                    .fetch_one(&mut *self.0)
                    .await
                    .map_err(db)?;
                let (count, offset) = limit(q.start_index, q.count);
                let mut items = Vec::new();
                if count > 0 && offset < total {
                    let n = w.binds.len();
                    let sql = format!(
                        "select {USER_COLUMNS} from app_user{}{} limit ${} offset ${}",
                        w.text,
                        user_order(q),
                        n + 1,
                        n + 2
                    );
                    let rows: Vec<UserRow> = bind_all!(sqlx::query_as(&sql), &w.binds)
                        .bind(count)
                        .bind(offset)
                        .fetch_all(&mut *self.0)
                        .await
                        .map_err(db)?;
                    items = rows.into_iter().map(User::try_from).collect::<Result<_>>()?;
                }
                Ok(Page { items, total, start_index: q.start_index.max(1) })
            }

            async fn groups_of_user(&mut self, id: &UserId) -> Result<Vec<GroupRef>> {
                let rows: Vec<(String, String)> = sqlx::query_as(
                    "select g.group_id, g.display_name from group_member m join app_group g on g.group_id = m.group_id \
                     where m.user_id = $1 order by g.display_name_folded",
                )
                .bind(id.as_str())
                .fetch_all(&mut *self.0)
                .await
                .map_err(db)?;
                Ok(rows.into_iter().map(|(id, name)| GroupRef { id: GroupId(id), display_name: name }).collect())
            }

            async fn users_by_ids(&mut self, ids: &[UserId]) -> Result<Vec<User>> {
                let mut out = Vec::with_capacity(ids.len());
                for chunk in ids.chunks(CHUNK) {
                    let sql = format!("select {USER_COLUMNS} from app_user where user_id in ({})", placeholders(0, chunk.len()));
                    let mut q = sqlx::query_as::<_, UserRow>(&sql);
                    for id in chunk {
                        q = q.bind(id.as_str());
                    }
                    for r in q.fetch_all(&mut *self.0).await.map_err(db)? {
                        out.push(User::try_from(r)?);
                    }
                }
                Ok(out)
            }

            async fn group_counts(&mut self, ids: &[UserId]) -> Result<Vec<(UserId, i64)>> {
                let mut out = Vec::with_capacity(ids.len());
                for chunk in ids.chunks(CHUNK) {
                    let sql = format!(
                        "select user_id, count(*) from group_member where user_id in ({}) group by user_id",
                        placeholders(0, chunk.len())
                    );
                    let mut q = sqlx::query_as::<_, (String, i64)>(&sql);
                    for id in chunk {
                        q = q.bind(id.as_str());
                    }
                    for (id, n) in q.fetch_all(&mut *self.0).await.map_err(db)? {
                        out.push((UserId(id), n));
                    }
                }
                Ok(out)
            }

            async fn group(&mut self, id: &GroupId) -> Result<Option<Group>> {
                let row: Option<GroupRow> = sqlx::query_as(&format!("select {GROUP_COLUMNS} from app_group where group_id = $1"))
                    .bind(id.as_str())
                    .fetch_optional(&mut *self.0)
                    .await
                    .map_err(db)?;
                row.map(Group::try_from).transpose()
            }

            async fn group_by_name(&mut self, folded: &str) -> Result<Option<Group>> {
                let row: Option<GroupRow> =
                    sqlx::query_as(&format!("select {GROUP_COLUMNS} from app_group where display_name_folded = $1"))
                        .bind(folded)
                        .fetch_optional(&mut *self.0)
                        .await
                        .map_err(db)?;
                row.map(Group::try_from).transpose()
            }

            async fn insert_group(&mut self, g: &Group) -> Result<()> {
                self.savepoint().await?;
                let r = sqlx::query(
                    "insert into app_group (group_id, display_name, display_name_folded, external_id, managed_by, \
                     managed_by_idp, extra, member_count, version, created_at, updated_at) \
                     values ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9, $10)",
                )
                .bind(g.id.as_str())
                .bind(&g.display_name)
                .bind(fold(&g.display_name))
                .bind(&g.external_id)
                .bind(g.managed_by.label())
                .bind(g.managed_by.is_scim())
                .bind(serde_json::Value::Object(g.extra.clone()).to_string())
                .bind(g.version)
                .bind(g.created_at)
                .bind(g.updated_at)
                .execute(&mut *self.0)
                .await
                .map_err(unique("group name", &g.display_name));
                self.settle(r).await?;
                Ok(())
            }

            async fn update_group(&mut self, g: &Group) -> Result<()> {
                // member_count is kept by the membership methods, never written from a possibly stale copy.
                self.savepoint().await?;
                let r = sqlx::query(
                    "update app_group set display_name = $2, display_name_folded = $3, external_id = $4, managed_by = $5, \
                     managed_by_idp = $6, extra = $7, version = $8, updated_at = $9 where group_id = $1",
                )
                .bind(g.id.as_str())
                .bind(&g.display_name)
                .bind(fold(&g.display_name))
                .bind(&g.external_id)
                .bind(g.managed_by.label())
                .bind(g.managed_by.is_scim())
                .bind(serde_json::Value::Object(g.extra.clone()).to_string())
                .bind(g.version)
                .bind(g.updated_at)
                .execute(&mut *self.0)
                .await
                .map_err(unique("group name", &g.display_name));
                self.settle(r).await?;
                Ok(())
            }

            async fn delete_group(&mut self, id: &GroupId) -> Result<()> {
                sqlx::query("delete from app_group where group_id = $1").bind(id.as_str()).execute(&mut *self.0).await.map_err(db)?;
                Ok(())
            }

            async fn list_groups(&mut self, q: &GroupQuery) -> Result<Page<Group>> {
                let w = group_where(q)?;
                let count_sql = format!("select count(*) from app_group{}", w.text);
                let total: i64 = bind_all!(sqlx::query_scalar(&count_sql), &w.binds)
                    .fetch_one(&mut *self.0)
                    .await
                    .map_err(db)?;
                let (count, offset) = limit(q.start_index, q.count);
                let mut items = Vec::new();
                if count > 0 && offset < total {
                    let n = w.binds.len();
                    let dir = if q.descending { "desc" } else { "asc" };
                    let col = if q.sort_by_name { "app_group.display_name_folded" } else { "app_group.created_at" };
                    let sql = format!(
                        "select {GROUP_COLUMNS} from app_group{} order by {col} {dir}, app_group.group_id {dir} limit ${} offset ${}",
                        w.text,
                        n + 1,
                        n + 2
                    );
                    let rows: Vec<GroupRow> = bind_all!(sqlx::query_as(&sql), &w.binds)
                        .bind(count)
                        .bind(offset)
                        .fetch_all(&mut *self.0)
                        .await
                        .map_err(db)?;
                    items = rows.into_iter().map(Group::try_from).collect::<Result<_>>()?;
                }
                Ok(Page { items, total, start_index: q.start_index.max(1) })
            }

            async fn members(&mut self, id: &GroupId, start_index: i64, count: i64) -> Result<Page<MemberRef>> {
                let total: i64 = sqlx::query_scalar(
                    "select count(*) from group_member m join app_user u on u.user_id = m.user_id \
                     where m.group_id = $1 and u.deleted_at is null",
                )
                .bind(id.as_str())
                .fetch_one(&mut *self.0)
                .await
                .map_err(db)?;
                let (count, offset) = if count <= 0 { (i64::MAX, 0) } else { limit(start_index, count) };
                let rows: Vec<(String, String, bool)> = sqlx::query_as(
                    "select u.user_id, u.user_name, u.active from group_member m join app_user u on u.user_id = m.user_id \
                     where m.group_id = $1 and u.deleted_at is null order by u.user_name_folded limit $2 offset $3",
                )
                .bind(id.as_str())
                .bind(count)
                .bind(offset)
                .fetch_all(&mut *self.0)
                .await
                .map_err(db)?;
                let items = rows.into_iter().map(|(id, user_name, active)| MemberRef { id: UserId(id), user_name, active }).collect();
                Ok(Page { items, total, start_index: start_index.max(1) })
            }

            async fn add_members(&mut self, id: &GroupId, users: &[UserId], now: Millis) -> Result<Vec<UserId>> {
                let mut added = Vec::new();
                for u in users {
                    let n = sqlx::query(
                        "insert into group_member (group_id, user_id, added_at) values ($1, $2, $3) on conflict do nothing",
                    )
                    .bind(id.as_str())
                    .bind(u.as_str())
                    .bind(now)
                    .execute(&mut *self.0)
                    .await
                    .map_err(db)?
                    .rows_affected();
                    if n > 0 {
                        added.push(u.clone());
                    }
                }
                self.bump_count(id, added.len() as i64).await?;
                Ok(added)
            }

            async fn remove_members(&mut self, id: &GroupId, users: &[UserId]) -> Result<Vec<UserId>> {
                let mut removed = Vec::new();
                for u in users {
                    let n = sqlx::query("delete from group_member where group_id = $1 and user_id = $2")
                        .bind(id.as_str())
                        .bind(u.as_str())
                        .execute(&mut *self.0)
                        .await
                        .map_err(db)?
                        .rows_affected();
                    if n > 0 {
                        removed.push(u.clone());
                    }
                }
                self.bump_count(id, -(removed.len() as i64)).await?;
                Ok(removed)
            }

            async fn clear_members(&mut self, id: &GroupId) -> Result<Vec<UserId>> {
                let ids = self.member_ids(id).await?;
                sqlx::query("delete from group_member where group_id = $1").bind(id.as_str()).execute(&mut *self.0).await.map_err(db)?;
                sqlx::query("update app_group set member_count = 0 where group_id = $1").bind(id.as_str()).execute(&mut *self.0).await.map_err(db)?;
                Ok(ids)
            }

            async fn member_ids(&mut self, id: &GroupId) -> Result<Vec<UserId>> {
                let rows: Vec<String> = sqlx::query_scalar("select user_id from group_member where group_id = $1")
                    .bind(id.as_str())
                    .fetch_all(&mut *self.0)
                    .await
                    .map_err(db)?;
                Ok(rows.into_iter().map(UserId).collect())
            }

            async fn insert_event(&mut self, e: &NewEvent) -> Result<EventId> {
                let id: i64 = sqlx::query_scalar(
                    "insert into provisioning_event (at, actor, method, path, status, outcome, target_kind, target_id, \
                     target_name, diff, detail) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) returning event_id",
                )
                .bind(e.at)
                .bind(&e.actor)
                .bind(&e.method)
                .bind(&e.path)
                .bind(i64::from(e.status))
                .bind(e.outcome.as_str())
                .bind(e.target.as_ref().map(|t| kind_str(t.kind)))
                .bind(e.target.as_ref().map(|t| t.id.as_str()))
                .bind(e.target.as_ref().map(|t| t.name.as_str()))
                .bind(&e.diff)
                .bind(&e.detail)
                .fetch_one(&mut *self.0)
                .await
                .map_err(db)?;
                Ok(EventId(id))
            }

            async fn list_events(&mut self, q: &EventQuery) -> Result<Page<Event>> {
                let w = event_where(q);
                let count_sql = format!("select count(*) from provisioning_event{}", w.text);
                let total: i64 = bind_all!(sqlx::query_scalar(&count_sql), &w.binds)
                    .fetch_one(&mut *self.0)
                    .await
                    .map_err(db)?;
                let (count, offset) = limit(q.start_index, q.count);
                let mut items = Vec::new();
                if count > 0 && offset < total {
                    let n = w.binds.len();
                    let sql = format!(
                        "select event_id, at, actor, method, path, status, outcome, target_kind, target_id, target_name, diff, \
                         detail from provisioning_event{} order by event_id desc limit ${} offset ${}",
                        w.text,
                        n + 1,
                        n + 2
                    );
                    let rows: Vec<EventRow> = bind_all!(sqlx::query_as(&sql), &w.binds)
                        .bind(count)
                        .bind(offset)
                        .fetch_all(&mut *self.0)
                        .await
                        .map_err(db)?;
                    items = rows.into_iter().map(Into::into).collect();
                }
                Ok(Page { items, total, start_index: q.start_index.max(1) })
            }

            async fn event(&mut self, id: EventId) -> Result<Option<Event>> {
                let row: Option<EventRow> = sqlx::query_as(
                    "select event_id, at, actor, method, path, status, outcome, target_kind, target_id, target_name, diff, \
                     detail from provisioning_event where event_id = $1",
                )
                .bind(id.0)
                .fetch_optional(&mut *self.0)
                .await
                .map_err(db)?;
                Ok(row.map(Into::into))
            }
        }

        impl SqlTx<$db> {
            /// Statements that may hit a unique index run inside a savepoint, so a conflict leaves the transaction
            /// usable on PostgreSQL (which otherwise aborts it) exactly as on SQLite.
            async fn savepoint(&mut self) -> Result<()> {
                sqlx::query("savepoint roster_unique").execute(&mut *self.0).await.map_err(db)?;
                Ok(())
            }

            async fn settle<T>(&mut self, r: Result<T>) -> Result<T> {
                if r.is_err() {
                    sqlx::query("rollback to savepoint roster_unique").execute(&mut *self.0).await.map_err(db)?;
                }
                sqlx::query("release savepoint roster_unique").execute(&mut *self.0).await.map_err(db)?;
                r
            }

            async fn index_emails(&mut self, u: &User) -> Result<()> {
                for (i, e) in u.emails().into_iter().enumerate() {
                    sqlx::query(
                        "insert into user_email (user_id, position, value, value_folded, type, is_primary) values ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(u.id.as_str())
                    .bind(i as i64)
                    .bind(&e.value)
                    .bind(fold(&e.value))
                    .bind(&e.kind)
                    .bind(e.primary)
                    .execute(&mut *self.0)
                    .await
                    .map_err(db)?;
                }
                Ok(())
            }

            async fn adjust_active(&mut self, by: i64) -> Result<()> {
                if by != 0 {
                    sqlx::query("update setting set active_users = active_users + $1 where setting_id = 1")
                        .bind(by)
                        .execute(&mut *self.0)
                        .await
                        .map_err(db)?;
                }
                Ok(())
            }

            async fn bump_count(&mut self, id: &GroupId, by: i64) -> Result<()> {
                if by != 0 {
                    sqlx::query("update app_group set member_count = member_count + $1 where group_id = $2")
                        .bind(by)
                        .bind(id.as_str())
                        .execute(&mut *self.0)
                        .await
                        .map_err(db)?;
                }
                Ok(())
            }
        }
    };
}

impl_tx!(Sqlite);
impl_tx!(Postgres);
