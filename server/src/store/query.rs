//! The WHERE and ORDER BY clauses of the three listings: users, groups and the provisioning log.
use super::filter::translate;
use super::sql::{Dialect, Sql, contains_pattern};
use roster::Result;
use roster::model::{GroupQuery, LogQuery, UserQuery, UserSort, UserStatus, fold};
use roster::scim::schema::ResourceType;

/// The WHERE clause of a user listing.
pub fn user_where(q: &UserQuery, dialect: Dialect) -> Result<Sql> {
    let mut s = Sql::default();
    s.push(" where 1 = 1");
    if !q.include_deleted {
        s.push(" and app_user.deleted_at is null");
    }
    if let Some(f) = &q.filter {
        s.push(" and ");
        translate(ResourceType::User, f, &mut s)?;
    }
    if let Some(term) = q.search.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        search(&mut s, &fold(term), dialect);
    }
    match q.status {
        Some(UserStatus::Active) => {
            s.push(" and app_user.active = ").bind(true).push(" and app_user.deleted_at is null")
        }
        Some(UserStatus::Inactive) => {
            s.push(" and app_user.active = ").bind(false).push(" and app_user.deleted_at is null")
        }
        Some(UserStatus::DeletedInIdp) => s.push(" and app_user.deleted_at is not null"),
        None => &mut s,
    };
    if let Some(idp) = q.managed_by_idp {
        s.push(" and app_user.managed_by_idp = ").bind(idp);
    }
    Ok(s)
}

/// The column of `setting` that keeps the total of a listing with no condition but "live" (migration 0014): every
/// user for the panel, which lists tombstones too, or the live users; `None` for a listing whose matches are counted.
pub fn kept_total(q: &UserQuery) -> Option<&'static str> {
    let unconditional = q.filter.is_none()
        && q.search.as_deref().is_none_or(|s| s.trim().is_empty())
        && q.status.is_none()
        && q.managed_by_idp.is_none();
    unconditional.then_some(if q.include_deleted { "users_total" } else { "users_live" })
}

/// The panel's search: the term anywhere in `search_folded`, through the trigram index of migration 0005 (FTS5 on
/// SQLite, pg_trgm on PostgreSQL, which serves the `like` itself). A term shorter than a trigram reads every row.
fn search(s: &mut Sql, term: &str, dialect: Dialect) {
    if dialect == Dialect::Sqlite && term.chars().count() >= 3 {
        // An FTS5 phrase of the whole term: with the trigram tokenizer, any row containing it as a substring.
        let phrase = format!("\"{}\"", term.replace('"', "\"\""));
        s.push(" and app_user.rowid in (select rowid from user_search where user_search match ").bind(phrase).push(")");
    } else {
        s.push(" and app_user.search_folded like ").bind(contains_pattern(term)).push(" escape '\\'");
    }
}

/// The ORDER BY of a user listing. The id breaks ties, so pages never overlap or skip (RFC 7644 §3.4.2.4 wants a
/// stable order).
pub fn user_order(q: &UserQuery) -> String {
    let col = match q.sort {
        UserSort::Created => "app_user.created_at",
        UserSort::UserName => "app_user.user_name_folded",
        UserSort::DisplayName => "app_user.display_name",
        UserSort::FamilyName => "app_user.family_name",
        UserSort::LastModified => "app_user.updated_at",
    };
    let dir = if q.descending { "desc" } else { "asc" };
    format!(" order by {col} {dir}, app_user.user_id {dir}")
}

pub fn group_where(q: &GroupQuery) -> Result<Sql> {
    let mut s = Sql::default();
    s.push(" where 1 = 1");
    if let Some(f) = &q.filter {
        s.push(" and ");
        translate(ResourceType::Group, f, &mut s)?;
    }
    if let Some(term) = q.search.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        s.push(" and app_group.display_name_folded like ").bind(contains_pattern(&fold(term))).push(" escape '\\'");
    }
    Ok(s)
}

pub fn group_order(q: &GroupQuery) -> String {
    let dir = if q.descending { "desc" } else { "asc" };
    let col = if q.sort_by_name { "app_group.display_name_folded" } else { "app_group.created_at" };
    format!(" order by {col} {dir}, app_group.group_id {dir}")
}

pub fn log_where(q: &LogQuery) -> Sql {
    let mut s = Sql::default();
    s.push(" where 1 = 1");
    if let Some(t) = q.target.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        if let Ok(id) = t.trim_start_matches('#').parse::<i64>() {
            s.push(" and (entry_id = ").bind(id).push(" or target_id = ").bind(t.to_owned()).push(")");
        } else {
            let like = contains_pattern(&fold(t));
            s.push(" and (target_id = ").bind(t.to_owned());
            s.push(" or lower(target_name) like ").bind(like.clone()).push(" escape '\\'");
            s.push(" or lower(actor) like ").bind(like).push(" escape '\\')");
        }
    }
    if let Some(k) = q.kind {
        s.push(" and target_kind = ").bind(k.as_str());
    }
    if q.failed_only {
        s.push(" and outcome <> ").bind("ok");
    }
    if let Some(o) = q.outcome {
        s.push(" and outcome = ").bind(o.as_str());
    }
    if let Some(t) = q.since {
        s.push(" and at >= ").bind(t);
    }
    if let Some(t) = q.until {
        s.push(" and at < ").bind(t);
    }
    s
}
