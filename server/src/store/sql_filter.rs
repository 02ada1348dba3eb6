//! SCIM filters (RFC 7644 §3.4.2.2) to SQL. Only allow-listed attributes translate; anything else is `invalidFilter`,
//! so a filter always runs on indexed columns and never by loading rows. The SQL uses `$n` placeholders, which both
//! SQLite and PostgreSQL accept, and folded columns so case-insensitive matching agrees on both.
use roster::Error;
use roster::model::{fold, parse_rfc3339};
use roster::scim::filter::{AttrPath, CompValue, CompareOp, Filter};

/// A value to bind, in placeholder order.
#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    Text(String),
    Int(i64),
    Bool(bool),
}

/// Accumulates SQL text and its binds.
#[derive(Debug, Default)]
pub struct Sql {
    pub text: String,
    pub binds: Vec<Bind>,
}

impl Sql {
    pub fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }
    pub fn bind(&mut self, b: Bind) -> &mut Self {
        self.binds.push(b);
        let n = self.binds.len();
        self.text.push_str(&format!("${n}"));
        self
    }
}

#[derive(Clone, Copy)]
enum Ty {
    /// Compared folded: the column holds folded text and values are folded before binding.
    Folded,
    /// Case-sensitive text (RFC 7643 caseExact: id, externalId).
    Exact,
    /// Case-insensitive text in a column that is not folded: `lower()` on both sides, in SQL. Folding only the value
    /// (in Rust) made a non-ASCII value such as "Åsa" miss even itself on SQLite, whose `lower()` folds ASCII only.
    Lower,
    Bool,
    /// Millis, compared with RFC 3339 strings.
    Time,
}

struct Column {
    expr: &'static str,
    ty: Ty,
    nullable: bool,
}

/// Which resource a filter is about, and so which columns its attributes map to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    User,
    Group,
}

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:user";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:group";

fn column(res: Resource, key: &str) -> Option<Column> {
    let c = |expr, ty, nullable| Some(Column { expr, ty, nullable });
    match (res, key) {
        (_, "id") if res == Resource::User => c("app_user.user_id", Ty::Exact, false),
        (_, "id") => c("app_group.group_id", Ty::Exact, false),
        (Resource::User, "username") => c("app_user.user_name_folded", Ty::Folded, false),
        (Resource::User, "externalid") => c("app_user.external_id", Ty::Exact, true),
        (Resource::User, "displayname") => c("app_user.display_name", Ty::Lower, true),
        (Resource::User, "name.givenname") => c("app_user.given_name", Ty::Lower, true),
        (Resource::User, "name.familyname") => c("app_user.family_name", Ty::Lower, true),
        (Resource::User, "active") => c("app_user.active", Ty::Bool, false),
        (Resource::User, "meta.created") => c("app_user.created_at", Ty::Time, false),
        (Resource::User, "meta.lastmodified") => c("app_user.updated_at", Ty::Time, false),
        (Resource::Group, "displayname") => c("app_group.display_name_folded", Ty::Folded, false),
        (Resource::Group, "externalid") => c("app_group.external_id", Ty::Exact, true),
        (Resource::Group, "meta.created") => c("app_group.created_at", Ty::Time, false),
        (Resource::Group, "meta.lastmodified") => c("app_group.updated_at", Ty::Time, false),
        _ => None,
    }
}

/// Columns of one `user_email` row `e`, for `emails.value`, `emails.type` and `emails[…]`.
fn email_column(sub: &str) -> Option<Column> {
    match sub {
        "value" => Some(Column { expr: "e.value_folded", ty: Ty::Folded, nullable: false }),
        "type" => Some(Column { expr: "e.type", ty: Ty::Lower, nullable: true }),
        "primary" => Some(Column { expr: "e.is_primary", ty: Ty::Bool, nullable: false }),
        _ => None,
    }
}

fn unsupported(path: &AttrPath) -> Error {
    Error::InvalidFilter(format!(
        "filtering on '{}' is not supported; use userName, externalId, displayName, name.givenName, name.familyName, \
         emails, active, id or meta.lastModified (Groups: displayName, externalId, id, members)",
        path_text(path)
    ))
}

fn path_text(p: &AttrPath) -> String {
    match &p.sub_attr {
        Some(s) => format!("{}.{}", p.attr, s),
        None => p.attr.clone(),
    }
}

/// The schema-free lower-case key, refusing extension schemas roster does not index.
fn key(res: Resource, p: &AttrPath) -> Result<String, Error> {
    if let Some(s) = &p.schema {
        let s = s.to_ascii_lowercase();
        let ok = match res {
            Resource::User => s == USER_SCHEMA,
            Resource::Group => s == GROUP_SCHEMA,
        };
        if !ok {
            return Err(unsupported(p));
        }
    }
    Ok(p.key())
}

/// Appends the WHERE-clause SQL for `f` to `out`.
pub fn translate(res: Resource, f: &Filter, out: &mut Sql) -> Result<(), Error> {
    match f {
        Filter::And(a, b) | Filter::Or(a, b) => {
            out.push("(");
            translate(res, a, out)?;
            out.push(if matches!(f, Filter::And(..)) { " and " } else { " or " });
            translate(res, b, out)?;
            out.push(")");
        }
        Filter::Not(a) => {
            out.push("not (");
            translate(res, a, out)?;
            out.push(")");
        }
        Filter::Present(p) | Filter::Compare { path: p, .. } => {
            let k = key(res, p)?;
            let cmp = match f {
                Filter::Compare { op, value, .. } => Some((*op, value)),
                _ => None,
            };
            match (res, k.as_str()) {
                (Resource::User, "emails" | "emails.value" | "emails.type" | "emails.primary") => {
                    let sub = k.strip_prefix("emails.").unwrap_or("value");
                    let col = email_column(sub).ok_or_else(|| unsupported(p))?;
                    out.push("exists (select 1 from user_email e where e.user_id = app_user.user_id and ");
                    condition(&col, cmp, p, out)?;
                    out.push(")");
                }
                (Resource::Group, "members" | "members.value") => {
                    let col = Column { expr: "m.user_id", ty: Ty::Exact, nullable: false };
                    out.push("exists (select 1 from group_member m where m.group_id = app_group.group_id and ");
                    condition(&col, cmp, p, out)?;
                    out.push(")");
                }
                _ => {
                    let col = column(res, &k).ok_or_else(|| unsupported(p))?;
                    condition(&col, cmp, p, out)?;
                }
            }
        }
        Filter::ValuePath { attr, filter } => {
            let k = key(res, attr)?;
            if res != Resource::User || k != "emails" {
                return Err(unsupported(attr));
            }
            out.push("exists (select 1 from user_email e where e.user_id = app_user.user_id and ");
            element(filter, out)?;
            out.push(")");
        }
    }
    Ok(())
}

/// The inside of `emails[…]`: paths name sub-attributes of one email row.
fn element(f: &Filter, out: &mut Sql) -> Result<(), Error> {
    match f {
        Filter::And(a, b) | Filter::Or(a, b) => {
            out.push("(");
            element(a, out)?;
            out.push(if matches!(f, Filter::And(..)) { " and " } else { " or " });
            element(b, out)?;
            out.push(")");
            Ok(())
        }
        Filter::Not(a) => {
            out.push("not (");
            element(a, out)?;
            out.push(")");
            Ok(())
        }
        Filter::Present(p) | Filter::Compare { path: p, .. } => {
            let col = email_column(&p.attr.to_ascii_lowercase()).ok_or_else(|| unsupported(p))?;
            let cmp = match f {
                Filter::Compare { op, value, .. } => Some((*op, value)),
                _ => None,
            };
            condition(&col, cmp, p, out)
        }
        Filter::ValuePath { attr, .. } => Err(unsupported(attr)),
    }
}

fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

fn condition(col: &Column, cmp: Option<(CompareOp, &CompValue)>, p: &AttrPath, out: &mut Sql) -> Result<(), Error> {
    let expr = match col.ty {
        Ty::Lower => format!("lower({})", col.expr),
        _ => col.expr.to_owned(),
    };
    let Some((op, value)) = cmp else {
        // `pr`: present and not empty (RFC 7644 §3.4.2.2).
        out.push(&format!("({} is not null", col.expr));
        if matches!(col.ty, Ty::Folded | Ty::Exact | Ty::Lower) {
            out.push(&format!(" and {} <> ''", col.expr));
        }
        out.push(")");
        return Ok(());
    };
    if let CompValue::Null = value {
        return match op {
            CompareOp::Eq => {
                out.push(&format!("{} is null", col.expr));
                Ok(())
            }
            CompareOp::Ne => {
                out.push(&format!("{} is not null", col.expr));
                Ok(())
            }
            _ => Err(Error::InvalidFilter(format!("'{}' can only be compared with null by eq or ne", path_text(p)))),
        };
    }
    let bind = match (col.ty, value) {
        (Ty::Bool, CompValue::Bool(b)) => Bind::Bool(*b),
        (Ty::Bool, _) => {
            return Err(Error::InvalidFilter(format!(
                "'{}' is a boolean: compare it with true or false",
                path_text(p)
            )));
        }
        (Ty::Time, CompValue::Str(s)) => Bind::Int(parse_rfc3339(s).ok_or_else(|| {
            Error::InvalidFilter(format!("'{s}' is not an RFC 3339 date-time such as 2026-11-29T14:02:00Z"))
        })?),
        (Ty::Folded, CompValue::Str(s)) => Bind::Text(fold(s)),
        (Ty::Exact | Ty::Lower, CompValue::Str(s)) => Bind::Text(s.clone()),
        _ => {
            return Err(Error::InvalidFilter(format!("'{}' must be compared with a string", path_text(p))));
        }
    };
    if matches!(col.ty, Ty::Bool) && !matches!(op, CompareOp::Eq | CompareOp::Ne) {
        return Err(Error::InvalidFilter(format!("'{}' is a boolean: only eq and ne apply", path_text(p))));
    }
    let guard = if col.nullable { format!("{} is not null and ", col.expr) } else { String::new() };
    out.push("(").push(&guard);
    match op {
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => {
            if matches!(col.ty, Ty::Time) {
                return Err(Error::InvalidFilter(format!("'{}' is a date-time: use gt, ge, lt or le", path_text(p))));
            }
            let Bind::Text(s) = bind else {
                return Err(unsupported(p));
            };
            if matches!(col.ty, Ty::Exact) {
                exact_substring(col.expr, op, &s, out);
                out.push(")");
                return Ok(());
            }
            let pattern = match op {
                CompareOp::Co => format!("%{}%", like_escape(&s)),
                CompareOp::Sw => format!("{}%", like_escape(&s)),
                _ => format!("%{}", like_escape(&s)),
            };
            out.push(&expr).push(" like ");
            bind_value(col, Bind::Text(pattern), out);
            out.push(" escape '\\'");
        }
        _ => {
            let sql_op = match op {
                CompareOp::Eq => " = ",
                CompareOp::Ne => " <> ",
                CompareOp::Gt => " > ",
                CompareOp::Ge => " >= ",
                CompareOp::Lt => " < ",
                _ => " <= ",
            };
            out.push(&expr).push(sql_op);
            bind_value(col, bind, out);
        }
    }
    out.push(")");
    Ok(())
}

/// `co`/`sw`/`ew` on a caseExact column. Not LIKE, which ignores ASCII case on SQLite and not on PostgreSQL; these
/// forms compare exactly on both (`length` and `substr` count characters on both).
fn exact_substring(expr: &str, op: CompareOp, s: &str, out: &mut Sql) {
    let v = || Bind::Text(s.to_owned());
    match op {
        CompareOp::Sw => {
            out.push(&format!("substr({expr}, 1, length(")).bind(v()).push(")) = ").bind(v());
        }
        CompareOp::Ew => {
            out.push(&format!("length({expr}) >= length(")).bind(v());
            out.push(&format!(") and substr({expr}, length({expr}) - length(")).bind(v()).push(") + 1) = ").bind(v());
        }
        _ if s.is_empty() => {
            out.push("1 = 1"); // `co ""` matches every value, as LIKE '%%' would.
        }
        _ => {
            out.push(&format!("replace({expr}, ")).bind(v()).push(&format!(", '') <> {expr}"));
        }
    }
}

/// The placeholder for a compared value, through the same `lower()` as the column for [`Ty::Lower`].
fn bind_value(col: &Column, b: Bind, out: &mut Sql) {
    if matches!(col.ty, Ty::Lower) {
        out.push("lower(").bind(b).push(")");
    } else {
        out.bind(b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use roster::scim::filter::parse;

    fn sql(res: Resource, f: &str) -> Result<Sql, Error> {
        let mut out = Sql::default();
        translate(res, &parse(f).map_err(|e| Error::InvalidFilter(e.0))?, &mut out)?;
        Ok(out)
    }

    #[test]
    fn username_is_folded_and_indexed() {
        let s = sql(Resource::User, r#"userName eq "Test.User@Okta.local""#).unwrap();
        assert_eq!(s.text, "(app_user.user_name_folded = $1)");
        assert_eq!(s.binds, vec![Bind::Text("test.user@okta.local".into())]);
    }

    #[test]
    fn case_insensitive_unfolded_columns_lower_both_sides() {
        let s = sql(Resource::User, r#"displayName eq "Åsa""#).unwrap();
        assert_eq!(s.text, "(app_user.display_name is not null and lower(app_user.display_name) = lower($1))");
        assert_eq!(s.binds, vec![Bind::Text("Åsa".into())]);
    }

    #[test]
    fn substring_operators_on_case_exact_columns_avoid_like() {
        let s = sql(Resource::User, r#"externalId sw "00u""#).unwrap();
        assert_eq!(s.text, "(app_user.external_id is not null and substr(app_user.external_id, 1, length($1)) = $2)");
        assert!(!sql(Resource::User, r#"externalId co "x""#).unwrap().text.contains("like"));
        assert!(!sql(Resource::User, r#"externalId ew "x""#).unwrap().text.contains("like"));
    }

    #[test]
    fn unsupported_attributes_are_invalid_filter() {
        assert!(matches!(sql(Resource::User, r#"nickName eq "x""#), Err(Error::InvalidFilter(_))));
        assert!(matches!(sql(Resource::Group, r#"userName eq "x""#), Err(Error::InvalidFilter(_))));
    }
}
