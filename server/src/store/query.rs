//! Query building: bound values, a small SQL builder with `$n` placeholders (both databases accept them), and the
//! WHERE and ORDER BY clauses of the three listings.
use super::filter::translate;
use super::rows::kind_str;
use roster::Result;
use roster::model::{EventQuery, GroupQuery, UserQuery, UserSort, UserStatus, fold};
use roster::scim::schema::ResourceType;
use std::borrow::Cow;

/// A value to bind, in placeholder order.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg<'a> {
    Text(Cow<'a, str>),
    OptText(Option<Cow<'a, str>>),
    Int(i64),
    OptInt(Option<i64>),
    Bool(bool),
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(s: &'a str) -> Self {
        Arg::Text(Cow::Borrowed(s))
    }
}
impl<'a> From<&'a String> for Arg<'a> {
    fn from(s: &'a String) -> Self {
        Arg::Text(Cow::Borrowed(s))
    }
}
impl From<String> for Arg<'_> {
    fn from(s: String) -> Self {
        Arg::Text(Cow::Owned(s))
    }
}
impl<'a> From<&'a Option<String>> for Arg<'a> {
    fn from(s: &'a Option<String>) -> Self {
        Arg::OptText(s.as_deref().map(Cow::Borrowed))
    }
}
impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(s: Option<&'a str>) -> Self {
        Arg::OptText(s.map(Cow::Borrowed))
    }
}
impl From<Option<String>> for Arg<'_> {
    fn from(s: Option<String>) -> Self {
        Arg::OptText(s.map(Cow::Owned))
    }
}
impl From<i64> for Arg<'_> {
    fn from(i: i64) -> Self {
        Arg::Int(i)
    }
}
impl From<Option<i64>> for Arg<'_> {
    fn from(i: Option<i64>) -> Self {
        Arg::OptInt(i)
    }
}
impl From<bool> for Arg<'_> {
    fn from(b: bool) -> Self {
        Arg::Bool(b)
    }
}

/// `args![a, b, c]`: the values to bind, each through `Arg::from`.
macro_rules! args {
    ($($a:expr),* $(,)?) => { [$($crate::store::query::Arg::from($a)),*] };
}
pub(crate) use args;

/// SQL text and its bound values, built together so placeholders always match.
#[derive(Debug, Default)]
pub struct Sql {
    pub text: String,
    pub args: Vec<Arg<'static>>,
}

impl Sql {
    pub fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    /// Appends a placeholder for `value`.
    pub fn bind(&mut self, value: impl Into<Arg<'static>>) -> &mut Self {
        self.args.push(value.into());
        let n = self.args.len();
        self.text.push_str(&format!("${n}"));
        self
    }

    /// Appends `$k, $k+1, …` for each of `values`.
    pub fn bind_list<T: Into<Arg<'static>>>(&mut self, values: impl IntoIterator<Item = T>) -> &mut Self {
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.bind(v);
        }
        self
    }

    /// ` limit $n offset $m` for a 1-based SCIM page.
    pub fn page(&mut self, start_index: i64, count: i64) -> &mut Self {
        let (count, offset) = limit(start_index, count);
        self.push(" limit ").bind(count).push(" offset ").bind(offset)
    }
}

/// `(count, offset)` of a 1-based page.
pub fn limit(start_index: i64, count: i64) -> (i64, i64) {
    (count.max(0), (start_index.max(1) - 1).max(0))
}

/// A `LIKE` pattern matching `term` anywhere, with `%`, `_` and `\` taken literally (used with `escape '\'`).
pub fn contains_pattern(term: &str) -> String {
    format!("%{}%", like_escape(term))
}

pub fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// The WHERE clause of a user listing.
pub fn user_where(q: &UserQuery) -> Result<Sql> {
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
        s.push(" and app_user.search_folded like ").bind(contains_pattern(&fold(term))).push(" escape '\\'");
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

pub fn event_where(q: &EventQuery) -> Sql {
    let mut s = Sql::default();
    s.push(" where 1 = 1");
    if let Some(t) = q.target.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        if let Ok(id) = t.trim_start_matches('#').parse::<i64>() {
            s.push(" and (event_id = ").bind(id).push(" or target_id = ").bind(t.to_owned()).push(")");
        } else {
            let like = contains_pattern(&fold(t));
            s.push(" and (target_id = ").bind(t.to_owned());
            s.push(" or lower(target_name) like ").bind(like.clone()).push(" escape '\\'");
            s.push(" or lower(actor) like ").bind(like).push(" escape '\\')");
        }
    }
    if let Some(k) = q.kind {
        s.push(" and target_kind = ").bind(kind_str(k));
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
