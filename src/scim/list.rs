//! List parameters of `GET /Users` and `GET /Groups` (RFC 7644 §3.4.2): names matched without regard to case,
//! numbers checked, `count` capped, the filter parsed and checked against the schema's allow-list.
use super::filter::{self, Filter};
use super::schema::{self, ResourceType};
use super::{DEFAULT_PAGE, MAX_PAGE};
use crate::model::{GroupQuery, UserQuery, UserSort};
use crate::{Error, Result};

#[derive(Debug, Clone, Default)]
pub struct ListParams {
    pub filter: Option<Filter>,
    pub start_index: i64,
    pub count: i64,
    pub sort_by: Option<String>,
    pub descending: bool,
    pub attributes: Vec<String>,
    pub excluded: Vec<String>,
}

impl ListParams {
    /// Parses query parameters given as name-value pairs.
    pub fn parse<'a>(raw: impl IntoIterator<Item = (&'a str, &'a str)>, resource: ResourceType) -> Result<Self> {
        let raw: Vec<(&str, &str)> = raw.into_iter().collect();
        let get = |name: &str| raw.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim());
        let int = |name: &str, default: i64| -> Result<i64> {
            match get(name) {
                None | Some("") => Ok(default),
                Some(v) => {
                    v.parse::<i64>().map_err(|_| Error::InvalidValue(format!("{name} must be an integer, not '{v}'")))
                }
            }
        };
        let list = |name: &str| -> Vec<String> {
            get(name)
                .map(|v| v.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect())
                .unwrap_or_default()
        };
        // An empty `filter=` is a filter that says nothing: invalidFilter, as RFC 7644 §3.4.2.2 gives no empty form.
        let filter = match get("filter") {
            Some(f) => {
                let f = filter::parse(f).map_err(|e| Error::InvalidFilter(e.0))?;
                check_filter(resource, &f)?;
                Some(f)
            }
            None => None,
        };
        Ok(ListParams {
            filter,
            // RFC 7644 §3.4.2.4: values below 1 are read as 1; a negative count as 0.
            start_index: int("startIndex", 1)?.max(1),
            count: int("count", DEFAULT_PAGE)?.clamp(0, MAX_PAGE),
            sort_by: get("sortBy").filter(|s| !s.is_empty()).map(str::to_owned),
            descending: get("sortOrder").is_some_and(|o| o.eq_ignore_ascii_case("descending")),
            attributes: list("attributes"),
            excluded: list("excludedAttributes"),
        })
    }

    /// The body of `POST /Users/.search` or `POST /Groups/.search` (RFC 7644 §3.4.3): a `SearchRequest` carrying
    /// the parameters a GET would put in its query string, as JSON: strings, numbers, and arrays of attribute names.
    pub fn from_search_request(body: &serde_json::Value, resource: ResourceType) -> Result<Self> {
        use serde_json::Value;
        let Some(fields) = body.as_object() else {
            return Err(Error::InvalidSyntax("a SearchRequest is a JSON object (RFC 7644 §3.4.3)".into()));
        };
        let schemas = fields.iter().find(|(k, _)| k.eq_ignore_ascii_case("schemas")).map(|(_, v)| v);
        let declared = schemas.and_then(Value::as_array).is_some_and(|s| s.iter().any(|u| u == super::SCHEMA_SEARCH));
        if !declared {
            return Err(Error::InvalidSyntax(format!(
                "a SearchRequest must list \"{}\" in schemas",
                super::SCHEMA_SEARCH
            )));
        }
        let mut pairs = Vec::new();
        for (name, value) in fields.iter().filter(|(k, _)| !k.eq_ignore_ascii_case("schemas")) {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Array(names) => names
                    .iter()
                    .map(|n| n.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| Error::InvalidValue(format!("{name} must be a list of attribute names")))?
                    .join(","),
                Value::Null => continue,
                _ => return Err(Error::InvalidValue(format!("{name} must be a string, a number or a list of names"))),
            };
            pairs.push((name.as_str(), text));
        }
        Self::parse(pairs.iter().map(|(k, v)| (*k, v.as_str())), resource)
    }

    pub fn user_query(&self) -> UserQuery {
        let sort = match self.sort_by.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("username") => UserSort::UserName,
            Some("displayname") => UserSort::DisplayName,
            Some("name.familyname") => UserSort::FamilyName,
            Some("meta.lastmodified") => UserSort::LastModified,
            _ => UserSort::Created,
        };
        UserQuery {
            filter: self.filter.clone(),
            sort,
            descending: self.descending,
            start_index: self.start_index,
            count: self.count,
            ..Default::default()
        }
    }

    pub fn group_query(&self) -> GroupQuery {
        GroupQuery {
            filter: self.filter.clone(),
            sort_by_name: self.sort_by.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("displayName")),
            descending: self.descending,
            start_index: self.start_index,
            count: self.count,
            ..Default::default()
        }
    }
}

/// Every attribute a filter names must be on the allow-list, so an unsupported filter is `invalidFilter` before any
/// query runs.
fn check_filter(resource: ResourceType, f: &Filter) -> Result<()> {
    match f {
        Filter::And(a, b) | Filter::Or(a, b) => {
            check_filter(resource, a)?;
            check_filter(resource, b)
        }
        Filter::Not(a) => check_filter(resource, a),
        Filter::Present(p) => schema::filter_attr(resource, p).map(|_| ()),
        Filter::Compare { path: p, value, .. } => {
            check_literal(value)?;
            schema::filter_attr(resource, p).map(|_| ())
        }
        Filter::ValuePath { attr, filter } => check_element(resource, attr, filter),
    }
}

/// A literal with a control character (a NUL, say) can match nothing roster stores: `invalidValue`.
fn check_literal(value: &filter::CompValue) -> Result<()> {
    match value {
        filter::CompValue::Str(s) => super::check_str("a filter value", s, true),
        _ => Ok(()),
    }
}

fn check_element(resource: ResourceType, parent: &filter::AttrPath, f: &Filter) -> Result<()> {
    match f {
        Filter::And(a, b) | Filter::Or(a, b) => {
            check_element(resource, parent, a)?;
            check_element(resource, parent, b)
        }
        Filter::Not(a) => check_element(resource, parent, a),
        Filter::Present(p) => schema::element_filter_attr(resource, parent, p).map(|_| ()),
        Filter::Compare { path: p, value, .. } => {
            check_literal(value)?;
            schema::element_filter_attr(resource, parent, p).map(|_| ())
        }
        Filter::ValuePath { attr, .. } => schema::filter_attr(resource, attr)
            .and(Err(Error::InvalidFilter("a value filter cannot be nested in another".into()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<ListParams> {
        ListParams::parse(pairs.iter().copied(), ResourceType::User)
    }

    #[test]
    fn paging_and_names() {
        let p = parse(&[("STARTINDEX", "0"), ("count", "9999"), ("sortOrder", "Descending")]).unwrap();
        assert_eq!((p.start_index, p.count, p.descending), (1, MAX_PAGE, true));
        assert!(matches!(parse(&[("count", "ten")]), Err(Error::InvalidValue(_))));
        assert!(matches!(parse(&[("filter", "nickName eq \"x\"")]), Err(Error::InvalidFilter(_))));
        assert!(matches!(parse(&[("filter", "emails[display eq \"x\"]")]), Err(Error::InvalidFilter(_))));
        assert!(parse(&[("filter", "emails[type eq \"work\"].value eq \"a@b\"")]).is_ok());
        assert!(matches!(parse(&[("filter", "")]), Err(Error::InvalidFilter(_))), "an empty filter");
        assert!(matches!(parse(&[("filter", "userName eq \"a\\u0000b\"")]), Err(Error::InvalidValue(_))));
    }
}
