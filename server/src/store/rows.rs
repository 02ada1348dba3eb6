//! Rows: what each table's SELECT returns, and its conversion to the model. One row type serves both databases.
use roster::Kind;
use roster::model::*;
use roster::{Error, Result};
use sqlx::FromRow;

#[derive(FromRow)]
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

pub const USER_COLUMNS: &str = "app_user.user_id, app_user.user_name, app_user.external_id, app_user.display_name, \
    app_user.given_name, app_user.family_name, app_user.email, app_user.active, app_user.inactive_reason, \
    app_user.managed_by, app_user.managed_by_idp, app_user.deleted_at, app_user.attributes, app_user.version, \
    app_user.created_at, app_user.updated_at";

fn managed_by(label: String, idp: bool) -> ManagedBy {
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

#[derive(FromRow)]
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

#[derive(FromRow)]
pub struct AdminRecord {
    admin_id: i64,
    email: String,
    created_at: i64,
    sessions_valid_from: i64,
}

pub const ADMIN_COLUMNS: &str = "admin_id, email, created_at, sessions_valid_from";

impl From<AdminRecord> for Admin {
    fn from(r: AdminRecord) -> Admin {
        Admin {
            id: AdminId(r.admin_id),
            email: r.email,
            created_at: r.created_at,
            sessions_valid_from: r.sessions_valid_from,
        }
    }
}

#[derive(FromRow)]
pub struct TokenRecord {
    token_id: i64,
    name: String,
    created_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl From<TokenRecord> for Token {
    fn from(r: TokenRecord) -> Token {
        Token {
            id: TokenId(r.token_id),
            name: r.name,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        }
    }
}

#[derive(FromRow)]
pub struct LogEntryRecord {
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
    request_id: Option<String>,
}

pub fn kind_str(k: Kind) -> &'static str {
    match k {
        Kind::User => "user",
        Kind::Group => "group",
        Kind::Token => "token",
        Kind::Admin => "admin",
        Kind::LogEntry => "event",
        Kind::ApiToken => "api_token",
        Kind::Webhook => "webhook",
    }
}

fn parse_kind(s: &str) -> Option<Kind> {
    Some(match s {
        "user" => Kind::User,
        "group" => Kind::Group,
        "token" => Kind::Token,
        "admin" => Kind::Admin,
        "event" => Kind::LogEntry,
        "api_token" => Kind::ApiToken,
        "webhook" => Kind::Webhook,
        _ => return None,
    })
}

impl From<LogEntryRecord> for LogEntry {
    fn from(r: LogEntryRecord) -> LogEntry {
        let target = match (r.target_kind.as_deref().and_then(parse_kind), r.target_id) {
            (Some(kind), Some(id)) => Some(Target { kind, id, name: r.target_name.unwrap_or_default() }),
            _ => None,
        };
        LogEntry {
            id: LogEntryId(r.event_id),
            at: r.at,
            actor: r.actor,
            method: r.method,
            path: r.path,
            status: u16::try_from(r.status).unwrap_or(0),
            outcome: Outcome::parse(&r.outcome),
            target,
            diff: r.diff,
            detail: r.detail,
            request_id: r.request_id,
        }
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
