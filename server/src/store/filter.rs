//! SCIM filters (RFC 7644 §3.4.2.2) to SQL. The schema table decides which attributes a filter may name
//! ([`schema::filter_attr`]); this maps each to its indexed column, so a filter always runs in SQL and never by loading
//! rows. Case-insensitive matching uses folded columns or `lower()` on both sides, so SQLite and PostgreSQL agree.
use super::sql::{Arg, Sql, like_escape};
use roster::model::{fold, parse_rfc3339};
use roster::scim::filter::{AttrPath, CompValue, CompareOp, Filter};
use roster::scim::schema::{self, FilterAttr, ResourceType};
use roster::{Error, Result};

#[derive(Clone, Copy)]
enum Ty {
    /// Compared folded: the column holds folded text and values are folded before binding.
    Folded,
    /// Case-sensitive text (RFC 7643 caseExact: id, externalId).
    Exact,
    /// Case-insensitive text in a column that is not folded: `lower()` on both sides, in SQL, with an index on the
    /// `lower()` expression. Folding only the value (in Rust) made a non-ASCII value such as "Åsa" miss even itself on
    /// SQLite, whose `lower()` folds ASCII only.
    Lower,
    Bool,
    /// Millis, compared with RFC 3339 strings.
    Time,
}

#[derive(Clone, Copy)]
struct Column {
    expr: &'static str,
    ty: Ty,
    nullable: bool,
}

/// A side table of rows per resource, for multi-valued attributes: its rows are tested with `exists (…)`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Emails,
    Members,
}

impl Side {
    fn open(self) -> &'static str {
        match self {
            Side::Emails => "exists (select 1 from user_email e where e.user_id = app_user.user_id and ",
            Side::Members => "exists (select 1 from group_member m where m.group_id = app_group.group_id and ",
        }
    }
}

const fn col(expr: &'static str, ty: Ty, nullable: bool) -> Column {
    Column { expr, ty, nullable }
}

/// The column behind a filterable attribute, and the side table it lives in, if any.
fn column(res: ResourceType, attr: FilterAttr) -> Result<(Column, Option<Side>)> {
    use FilterAttr as F;
    use ResourceType::{Group, User};
    Ok(match (res, attr) {
        (User, F::Id) => (col("app_user.user_id", Ty::Exact, false), None),
        (Group, F::Id) => (col("app_group.group_id", Ty::Exact, false), None),
        (User, F::ExternalId) => (col("app_user.external_id", Ty::Exact, true), None),
        (Group, F::ExternalId) => (col("app_group.external_id", Ty::Exact, true), None),
        (User, F::Created) => (col("app_user.created_at", Ty::Time, false), None),
        (Group, F::Created) => (col("app_group.created_at", Ty::Time, false), None),
        (User, F::LastModified) => (col("app_user.updated_at", Ty::Time, false), None),
        (Group, F::LastModified) => (col("app_group.updated_at", Ty::Time, false), None),
        (User, F::UserName) => (col("app_user.user_name_folded", Ty::Folded, false), None),
        (User, F::DisplayName) => (col("app_user.display_name", Ty::Lower, true), None),
        (Group, F::DisplayName) => (col("app_group.display_name_folded", Ty::Folded, false), None),
        (User, F::GivenName) => (col("app_user.given_name", Ty::Lower, true), None),
        (User, F::FamilyName) => (col("app_user.family_name", Ty::Lower, true), None),
        (User, F::Active) => (col("app_user.active", Ty::Bool, false), None),
        (User, F::EmailValue) => (col("e.value_folded", Ty::Folded, false), Some(Side::Emails)),
        (User, F::EmailType) => (col("e.type", Ty::Lower, true), Some(Side::Emails)),
        (User, F::EmailPrimary) => (col("e.is_primary", Ty::Bool, false), Some(Side::Emails)),
        (Group, F::Member) => (col("m.user_id", Ty::Exact, false), Some(Side::Members)),
        (res, attr) => {
            return Err(Error::InvalidFilter(format!("{attr:?} cannot filter {}s", res.name())));
        }
    })
}

/// Appends the WHERE-clause SQL for `f` to `out`.
pub fn translate(res: ResourceType, f: &Filter, out: &mut Sql) -> Result<()> {
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
            let (col, side) = column(res, schema::filter_attr(res, p)?)?;
            if let Some(side) = side {
                out.push(side.open());
            }
            condition(&col, comparison(f), p, out)?;
            if side.is_some() {
                out.push(")");
            }
        }
        Filter::ValuePath { attr, filter } => {
            let (_, side) = column(res, schema::filter_attr(res, attr)?)?;
            let side = side.ok_or_else(|| Error::InvalidFilter(format!("'{}' is not multi-valued", attr.attr)))?;
            out.push(side.open());
            element(res, attr, side, filter, out)?;
            out.push(")");
        }
    }
    Ok(())
}

/// The inside of `emails[…]`: paths name sub-attributes of one side-table row.
fn element(res: ResourceType, parent: &AttrPath, side: Side, f: &Filter, out: &mut Sql) -> Result<()> {
    match f {
        Filter::And(a, b) | Filter::Or(a, b) => {
            out.push("(");
            element(res, parent, side, a, out)?;
            out.push(if matches!(f, Filter::And(..)) { " and " } else { " or " });
            element(res, parent, side, b, out)?;
            out.push(")");
            Ok(())
        }
        Filter::Not(a) => {
            out.push("not (");
            element(res, parent, side, a, out)?;
            out.push(")");
            Ok(())
        }
        Filter::Present(p) | Filter::Compare { path: p, .. } => {
            let (col, inner) = column(res, schema::element_filter_attr(res, parent, p)?)?;
            if inner != Some(side) {
                return Err(Error::InvalidFilter(format!("'{}' is not a sub-attribute of '{}'", p.attr, parent.attr)));
            }
            condition(&col, comparison(f), p, out)
        }
        Filter::ValuePath { attr, .. } => {
            Err(Error::InvalidFilter(format!("a value filter on '{}' cannot be nested in another", attr.attr)))
        }
    }
}

fn comparison(f: &Filter) -> Option<(CompareOp, &CompValue)> {
    match f {
        Filter::Compare { op, value, .. } => Some((*op, value)),
        _ => None,
    }
}

fn path_text(p: &AttrPath) -> String {
    match &p.sub_attr {
        Some(s) => format!("{}.{}", p.attr, s),
        None => p.attr.clone(),
    }
}

fn condition(col: &Column, cmp: Option<(CompareOp, &CompValue)>, p: &AttrPath, out: &mut Sql) -> Result<()> {
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
    let arg: Arg<'static> = match (col.ty, value) {
        (Ty::Bool, CompValue::Bool(b)) => Arg::Bool(*b),
        (Ty::Bool, _) => {
            return Err(Error::InvalidFilter(format!(
                "'{}' is a boolean: compare it with true or false",
                path_text(p)
            )));
        }
        (Ty::Time, CompValue::Str(s)) => Arg::Int(parse_rfc3339(s).ok_or_else(|| {
            Error::InvalidFilter(format!("'{s}' is not an RFC 3339 date-time such as 2026-11-29T14:02:00Z"))
        })?),
        (Ty::Folded, CompValue::Str(s)) => fold(s).into(),
        (Ty::Exact | Ty::Lower, CompValue::Str(s)) => s.clone().into(),
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
            let Arg::Text(s) = arg else {
                return Err(Error::InvalidFilter(format!("'{}' must be compared with a string", path_text(p))));
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
            bind_value(col, pattern.into(), out);
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
            bind_value(col, arg, out);
        }
    }
    out.push(")");
    Ok(())
}

/// `co`/`sw`/`ew` on a caseExact column. Not LIKE, which ignores ASCII case on SQLite and not on PostgreSQL; these
/// forms compare exactly on both (`length` and `substr` count characters on both).
fn exact_substring(expr: &str, op: CompareOp, s: &str, out: &mut Sql) {
    let v = || s.to_owned();
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
fn bind_value(col: &Column, arg: Arg<'static>, out: &mut Sql) {
    if matches!(col.ty, Ty::Lower) {
        out.push("lower(").bind(arg).push(")");
    } else {
        out.bind(arg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use roster::scim::filter::parse;

    fn sql(res: ResourceType, f: &str) -> Result<Sql> {
        let mut out = Sql::default();
        translate(res, &parse(f).map_err(|e| Error::InvalidFilter(e.0))?, &mut out)?;
        Ok(out)
    }

    #[test]
    fn username_is_folded_and_indexed() {
        let s = sql(ResourceType::User, r#"userName eq "Test.User@Okta.local""#).unwrap();
        assert_eq!(s.text, "(app_user.user_name_folded = $1)");
        assert_eq!(s.args, vec![Arg::from("test.user@okta.local".to_owned())]);
    }

    #[test]
    fn case_insensitive_unfolded_columns_lower_both_sides() {
        let s = sql(ResourceType::User, r#"displayName eq "Åsa""#).unwrap();
        assert_eq!(s.text, "(app_user.display_name is not null and lower(app_user.display_name) = lower($1))");
        assert_eq!(s.args, vec![Arg::from("Åsa".to_owned())]);
    }

    #[test]
    fn substring_operators_on_case_exact_columns_avoid_like() {
        let s = sql(ResourceType::User, r#"externalId sw "00u""#).unwrap();
        assert_eq!(s.text, "(app_user.external_id is not null and substr(app_user.external_id, 1, length($1)) = $2)");
        assert!(!sql(ResourceType::User, r#"externalId co "x""#).unwrap().text.contains("like"));
        assert!(!sql(ResourceType::User, r#"externalId ew "x""#).unwrap().text.contains("like"));
    }

    #[test]
    fn value_paths_use_the_side_table() {
        let s = sql(ResourceType::User, r#"emails[type eq "work"].value eq "A@x""#).unwrap();
        assert!(s.text.starts_with("exists (select 1 from user_email e"), "{}", s.text);
        let s = sql(ResourceType::Group, r#"members[value eq "u1"]"#).unwrap();
        assert!(s.text.starts_with("exists (select 1 from group_member m"), "{}", s.text);
    }

    #[test]
    fn unsupported_attributes_are_invalid_filter() {
        assert!(matches!(sql(ResourceType::User, r#"nickName eq "x""#), Err(Error::InvalidFilter(_))));
        assert!(matches!(sql(ResourceType::Group, r#"userName eq "x""#), Err(Error::InvalidFilter(_))));
    }
}
