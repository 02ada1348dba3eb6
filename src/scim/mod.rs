//! The SCIM 2.0 wire format (RFC 7643 schemas, RFC 7644 protocol). Pure: no I/O.
pub mod discovery;
pub mod filter;
pub mod list;
pub mod patch;
pub mod readable;
pub mod resource;
pub mod schema;

use serde_json::{Map, Value};

/// RFC 7644 §3.1: responses use this media type; requests may also use `application/json`.
pub const CONTENT_TYPE: &str = "application/scim+json";
pub const SCHEMA_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const SCHEMA_ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const SCHEMA_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const SCHEMA_LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const SCHEMA_PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const SCHEMA_SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
pub const SCHEMA_ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const SCHEMA_SERVICE_PROVIDER_CONFIG: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
pub const SCHEMA_RESOURCE_TYPE: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// The most resources one list page returns; advertised as `filter.maxResults` in /ServiceProviderConfig.
pub const MAX_PAGE: i64 = 500;
/// The page size when a client sends no `count` (RFC 7644 §3.4.2.4 leaves it to the server).
pub const DEFAULT_PAGE: i64 = 100;
/// The largest request body to `/Users` and everything but `/Groups`; larger bodies get 413. Advertised as
/// `bulk.maxPayloadSize`, the only field SCIM has for a size: a client that keeps to it never gets 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// The largest request body to `/Groups`, where a Push now carries the whole membership (50,000 members with their
/// display names are about 4 MiB). Documented in docs/scim.md and SECURITY.md.
pub const MAX_GROUP_BODY_BYTES: usize = 8 * 1024 * 1024;
/// The most members one request may name (POST, PUT, or all the operations of a PATCH together).
pub const MAX_MEMBERS_PER_REQUEST: usize = 100_000;
/// The most values one multi-valued User attribute may hold (emails, phoneNumbers, …).
pub const MAX_MULTI_VALUES: usize = 100;
/// The longest value, in characters, of an attribute roster indexes (the filterable strings of the schema table).
/// PostgreSQL refuses a B-tree entry over 2,704 bytes, so without this cap a long value was a 500 on PostgreSQL and
/// fine on SQLite; now it is the same 400 `invalidValue` on both.
pub const MAX_INDEXED_CHARS: usize = 512;

/// The message for an indexed attribute longer than [`MAX_INDEXED_CHARS`], or `None` when it fits.
pub fn too_long(what: &str, value: &str) -> Option<String> {
    (value.chars().count() > MAX_INDEXED_CHARS)
        .then(|| format!("{what} is longer than {MAX_INDEXED_CHARS} characters, the most roster stores"))
}

/// A boolean as IdPs send it: `true`/`false`, or the strings Entra's default jobs send (`"False"`, any case).
pub fn coerce_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// Refuses control characters in the strings of a request, keys included: NUL (which PostgreSQL cannot store) and
/// every other control character (C0, DEL, C1) except tab, line feed and carriage return. The attributes roster indexes and shows as
/// one line (userName, displayName, externalId, names, emails, ids, members) refuse tab and line breaks too.
pub fn check_text(body: &Value) -> crate::Result<()> {
    walk_text(body, "", false)
}

/// [`check_text`] for a PatchOp message: `op` and `path` are single-line, and each operation's `value` is checked as a
/// body of its own, so a multi-line address is fine while a userName with a line break inside the value is not.
pub fn check_patch_text(body: &Value) -> crate::Result<()> {
    let Value::Object(m) = body else { return walk_text(body, "", false) };
    for (k, v) in m {
        check_str(k, k, true)?;
        match (k.eq_ignore_ascii_case("Operations"), v) {
            (true, Value::Array(ops)) => {
                for op in ops {
                    let Value::Object(op) = op else { continue };
                    for (ok, ov) in op {
                        check_str(ok, ok, true)?;
                        let strict = !ok.eq_ignore_ascii_case("value");
                        walk_text(ov, ok, strict)?;
                    }
                }
            }
            _ => walk_text(v, k, true)?,
        }
    }
    Ok(())
}

fn walk_text(v: &Value, path: &str, strict: bool) -> crate::Result<()> {
    fn walk(v: &Value, path: &str, strict: bool) -> crate::Result<()> {
        match v {
            Value::String(s) => check_str(path, s, strict),
            Value::Array(items) => items.iter().try_for_each(|i| walk(i, path, strict)),
            Value::Object(m) => m.iter().try_for_each(|(k, v)| {
                let inner = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                check_str(&inner, k, true)?;
                walk(v, &inner, strict || one_line(k))
            }),
            _ => Ok(()),
        }
    }
    walk(v, path, strict)
}

/// Attribute names whose values are single-line identifiers or names.
fn one_line(key: &str) -> bool {
    ["userName", "displayName", "externalId", "givenName", "familyName", "value", "id", "display", "type"]
        .iter()
        .any(|k| k.eq_ignore_ascii_case(key))
}

/// See [`check_text`]: `strict` also refuses tab and line breaks.
pub fn check_str(what: &str, s: &str, strict: bool) -> crate::Result<()> {
    let bad = s.chars().find(|c| c.is_control() && (strict || !matches!(c, '\t' | '\n' | '\r')));
    match bad {
        None => Ok(()),
        Some(c) => Err(crate::Error::InvalidValue(format!(
            "{} contains the control character U+{:04X}; remove it",
            if what.is_empty() { "the request" } else { what },
            c as u32
        ))),
    }
}

/// A member of a JSON object by name, ignoring case (RFC 7643 §2.1: attribute names are case-insensitive).
pub fn get_ci<'m>(map: &'m Map<String, Value>, name: &str) -> Option<&'m Value> {
    map.get(name).or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}
