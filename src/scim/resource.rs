//! SCIM resources on the wire (RFC 7643 §4) and their conversion to and from the model. One canonical representation
//! serves POST, GET, PUT and list responses, so an IdP never sees two shapes of the same user. Attribute names, types
//! and caps come from the schema table ([`super::schema`]).
use super::schema::{Attribute, Mutability, ResourceType, Type};
use super::*;
use crate::model::{Group, MemberRef, User, rfc3339};
use crate::{Error, Result};
use serde_json::{Map, Value, json};

/// A validated User body from POST or PUT: the document to store, and whether it said `active`.
#[derive(Debug, Clone)]
pub struct UserBody {
    pub attributes: Map<String, Value>,
    pub user_name: String,
    pub active: Option<bool>,
}

/// Validates and normalises a User document (POST, PUT, or the result of a PATCH). Known attributes are stored under
/// the schema's spelling, so `username` from a sloppy client is stored as `userName`.
pub fn parse_user(body: Value) -> Result<UserBody> {
    check_text(&body)?;
    let Value::Object(input) = body else {
        return Err(Error::InvalidSyntax("the request body must be a JSON object".into()));
    };
    let mut attributes = Map::new();
    let mut active = None;
    for (k, v) in input {
        let def = ResourceType::User.attribute(&k);
        let key = match def {
            Some(a) => a.name.to_owned(),
            None if k.eq_ignore_ascii_case(SCHEMA_ENTERPRISE_USER) => SCHEMA_ENTERPRISE_USER.to_owned(),
            None => k,
        };
        // id, meta and groups are roster's (RFC 7643 §3.1, §4.1.2), and so is `schemas`; password is accepted and
        // dropped, never stored.
        if key.eq_ignore_ascii_case("schemas") || def.is_some_and(|a| a.mutability != Mutability::ReadWrite) {
            continue;
        }
        if key == "active" {
            if v.is_null() {
                continue;
            }
            active = Some(coerce_bool(&v).ok_or_else(|| Error::InvalidValue("active must be true or false".into()))?);
            continue;
        }
        if v.is_null() {
            continue; // RFC 7643 §2.5: null is the same as unassigned.
        }
        match def {
            Some(a) => check_value(a, &v)?,
            None if key.starts_with("urn:") && !v.is_object() => {
                return Err(Error::InvalidValue(format!("{key} must be an object")));
            }
            None => {}
        }
        attributes.insert(key, normalise(v));
    }
    let user_name = match attributes.get("userName") {
        Some(Value::String(s)) => user_name(s)?,
        _ => return Err(Error::InvalidValue("userName is required".into())),
    };
    Ok(UserBody { attributes, user_name, active })
}

/// Checks a value against its definition: its type; for a multi-valued attribute, an array with at most one primary
/// element whose elements carry the required sub-attributes; and the length cap of indexed attributes.
fn check_value(a: &Attribute, v: &Value) -> Result<()> {
    let bad = |what: &str| Err(Error::InvalidValue(format!("{} must be {what}", a.name)));
    if a.multi_valued {
        let Some(list) = v.as_array() else {
            return bad("an array");
        };
        if list.len() > MAX_MULTI_VALUES {
            return bad(&format!("an array of at most {MAX_MULTI_VALUES} values, not {}", list.len()));
        }
        for sub in a.sub_attributes.iter().filter(|s| s.required) {
            let has = |e: &Value| e.as_object().and_then(|m| get_ci(m, sub.name)).is_some_and(Value::is_string);
            if !list.iter().all(has) {
                return bad(&format!("an array of objects with a string \"{}\"", sub.name));
            }
        }
        let primary = |e: &&Value| e.as_object().and_then(|m| get_ci(m, "primary")).and_then(coerce_bool) == Some(true);
        if list.iter().filter(primary).count() > 1 {
            return bad("an array with at most one primary element (RFC 7643 §2.4)");
        }
        return list.iter().filter_map(Value::as_object).try_for_each(|e| check_indexed_subs(a, e));
    }
    match a.ty {
        Type::Complex => match v.as_object() {
            Some(m) => check_indexed_subs(a, m),
            None => bad("an object"),
        },
        Type::Boolean => match coerce_bool(v) {
            Some(_) => Ok(()),
            None => bad("true or false"),
        },
        _ => match v.as_str() {
            Some(s) => check_length(a.name, a, s),
            None => bad("a string"),
        },
    }
}

fn check_indexed_subs(a: &Attribute, m: &Map<String, Value>) -> Result<()> {
    for sub in a.sub_attributes.iter().filter(|s| s.indexed()) {
        if let Some(Value::String(s)) = get_ci(m, sub.name) {
            check_length(&format!("{}.{}", a.name, sub.name), sub, s)?;
        }
    }
    Ok(())
}

/// Indexed attributes have a length cap (see [`MAX_INDEXED_CHARS`]).
fn check_length(what: &str, a: &Attribute, s: &str) -> Result<()> {
    match too_long(what, s) {
        Some(msg) if a.indexed() => Err(Error::InvalidValue(msg)),
        _ => Ok(()),
    }
}

/// Turns string booleans inside multi-valued elements (`"primary": "True"`) into booleans.
fn normalise(v: Value) -> Value {
    match v {
        Value::Array(items) => Value::Array(items.into_iter().map(normalise).collect()),
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    if k.eq_ignore_ascii_case("primary") {
                        let b = coerce_bool(&v).map(Value::Bool).unwrap_or(v);
                        ("primary".to_owned(), b)
                    } else {
                        (k, normalise(v))
                    }
                })
                .collect(),
        ),
        other => other,
    }
}

/// `meta` for any resource (RFC 7643 §3.1). `version` is a weak ETag that PUT/PATCH/DELETE check via If-Match.
fn meta(kind: &str, id: &str, base: &str, created: i64, modified: i64, version: i64) -> Value {
    json!({
        "resourceType": kind,
        "created": rfc3339(created),
        "lastModified": rfc3339(modified),
        "location": format!("{base}/{kind}s/{id}"),
        "version": etag(version),
    })
}

/// The ETag for a version: `W/"3"` (RFC 7644 §3.14).
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// The User as SCIM shows it. `groups` is included when given (RFC 7643 §4.1.2, read-only). Takes the user, whose
/// document becomes the response's without a copy.
pub fn user_json(user: User, groups: Option<&[crate::model::GroupRef]>, base: &str) -> Value {
    let mut doc = user.attributes;
    let mut schemas = vec![Value::from(SCHEMA_USER)];
    for k in doc.keys().filter(|k| k.starts_with("urn:")) {
        schemas.push(Value::from(k.as_str()));
    }
    doc.insert("schemas".into(), Value::Array(schemas));
    doc.insert("id".into(), Value::from(user.id.as_str()));
    doc.insert("userName".into(), Value::from(user.user_name.as_str()));
    doc.insert("active".into(), Value::Bool(user.active));
    if let Some(groups) = groups {
        let list = groups
            .iter()
            .map(|g| json!({"value": g.id, "display": g.display_name, "$ref": format!("{base}/Groups/{}", g.id), "type": "direct"}))
            .collect();
        doc.insert("groups".into(), Value::Array(list));
    }
    doc.insert("meta".into(), meta("User", user.id.as_str(), base, user.created_at, user.updated_at, user.version));
    Value::Object(doc)
}

/// A validated Group body from POST or PUT.
#[derive(Debug, Clone)]
pub struct GroupBody {
    pub display_name: String,
    pub external_id: Option<String>,
    /// `None` when the body had no `members` (Entra creates groups empty and omits it).
    pub members: Option<Vec<String>>,
    pub extra: Map<String, Value>,
}

pub fn parse_group(body: Value) -> Result<GroupBody> {
    check_text(&body)?;
    let Value::Object(input) = body else {
        return Err(Error::InvalidSyntax("the request body must be a JSON object".into()));
    };
    let mut out = GroupBody { display_name: String::new(), external_id: None, members: None, extra: Map::new() };
    for (k, v) in input {
        let def = ResourceType::Group.attribute(&k);
        match (def.map(|a| a.name), v) {
            (Some("displayName"), Value::String(s)) if !s.trim().is_empty() => out.display_name = s,
            (Some("displayName"), _) => {
                return Err(Error::InvalidValue("displayName must be a non-empty string".into()));
            }
            (Some("externalId"), Value::String(s)) => out.external_id = Some(s),
            (Some("externalId"), Value::Null) => {}
            (Some("externalId"), _) => return Err(Error::InvalidValue("externalId must be a string".into())),
            (Some("members"), v) => out.members = Some(member_ids(&v)?),
            (None, v) if k.starts_with("urn:") && !k.eq_ignore_ascii_case(SCHEMA_GROUP) => {
                out.extra.insert(k, v);
            }
            // id and meta are roster's; unknown core attributes are ignored rather than failing a push.
            _ => {}
        }
    }
    if out.display_name.is_empty() {
        return Err(Error::InvalidValue("displayName is required".into()));
    }
    for (name, value) in [("displayName", Some(&out.display_name)), ("externalId", out.external_id.as_ref())] {
        let def = ResourceType::Group.attribute(name);
        if let (Some(def), Some(value)) = (def, value) {
            check_length(name, def, value)?;
        }
    }
    Ok(out)
}

/// Member ids from a `members` value (RFC 7643 §4.2): a list of `{"value": "<user id>", …}` objects, or one such
/// object; `null` means none (Okta may send `"members": null`). Each `value` must be a non-empty string, kept exactly
/// as sent (ids are caseExact). POST, PUT and PATCH all read members through this.
pub fn member_ids(value: &Value) -> Result<Vec<String>> {
    let items = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items.as_slice(),
        Value::Object(_) => std::slice::from_ref(value),
        _ => {
            return Err(Error::InvalidValue("members must be a list of {\"value\": \"<user id>\"} objects".into()));
        }
    };
    if items.len() > MAX_MEMBERS_PER_REQUEST {
        return Err(too_many_members(items.len()));
    }
    items
        .iter()
        .map(|item| match item.as_object().and_then(|m| get_ci(m, "value")) {
            Some(Value::String(id)) if !id.is_empty() => Ok(id.clone()),
            _ => Err(Error::InvalidValue("each member needs a string \"value\" (the user id)".into())),
        })
        .collect()
}

/// The error for a request naming more than [`MAX_MEMBERS_PER_REQUEST`] members.
pub fn too_many_members(n: usize) -> Error {
    Error::InvalidValue(format!(
        "the request names {n} members; roster takes at most {MAX_MEMBERS_PER_REQUEST} per request, so send the rest \
         in further PATCH requests"
    ))
}

/// The Group as SCIM shows it; `members` only when loaded (`excludedAttributes=members` never loads them).
pub fn group_json(group: &Group, members: Option<&[MemberRef]>, base: &str) -> Value {
    let mut doc = group.extra.clone();
    let mut schemas = vec![Value::from(SCHEMA_GROUP)];
    for k in doc.keys().filter(|k| k.starts_with("urn:")) {
        schemas.push(Value::from(k.as_str()));
    }
    doc.insert("schemas".into(), Value::Array(schemas));
    doc.insert("id".into(), Value::from(group.id.as_str()));
    doc.insert("displayName".into(), Value::from(group.display_name.as_str()));
    if let Some(x) = &group.external_id {
        doc.insert("externalId".into(), Value::from(x.as_str()));
    }
    if let Some(members) = members {
        let list = members
            .iter()
            .map(|m| json!({"value": m.id, "display": m.user_name, "$ref": format!("{base}/Users/{}", m.id), "type": "User"}))
            .collect();
        doc.insert("members".into(), Value::Array(list));
    }
    doc.insert(
        "meta".into(),
        meta("Group", group.id.as_str(), base, group.created_at, group.updated_at, group.version),
    );
    Value::Object(doc)
}

/// One name from `attributes` / `excludedAttributes`, resolved against a document: an attribute of the document or
/// of one of its extension objects, and optionally one sub-attribute.
struct AttrName {
    /// The extension object the attribute lives in (`urn:…:enterprise:2.0:User:employeeNumber`), if any.
    extension: Option<String>,
    attr: String,
    sub: Option<String>,
}

/// Strips a core schema URN (`urn:ietf:params:scim:schemas:core:2.0:Group:members` → `members`); RFC 7644 §3.10 lets
/// a client qualify any attribute name with its schema.
fn strip_core_urn(name: &str) -> &str {
    for schema in [SCHEMA_USER, SCHEMA_GROUP] {
        if let Some(head) = name.get(..schema.len() + 1)
            && head[..schema.len()].eq_ignore_ascii_case(schema)
            && head.ends_with(':')
        {
            return &name[schema.len() + 1..];
        }
    }
    name
}

fn resolve_name(name: &str, doc: &Map<String, Value>) -> Option<AttrName> {
    let split = |rest: &str, extension: Option<String>| {
        let (attr, sub) = match rest.split_once('.') {
            Some((a, s)) => (a.to_owned(), Some(s.to_owned())),
            None => (rest.to_owned(), None),
        };
        Some(AttrName { extension, attr, sub })
    };
    let core = strip_core_urn(name);
    if core.len() != name.len() || !name.to_ascii_lowercase().starts_with("urn:") {
        return split(core, None);
    }
    // A whole extension, or `<extension URN>:attr[.sub]`.
    for key in doc.keys().filter(|k| k.starts_with("urn:")) {
        if name.eq_ignore_ascii_case(key) {
            return Some(AttrName { extension: None, attr: key.clone(), sub: None });
        }
        if let Some(head) = name.get(..key.len() + 1)
            && head[..key.len()].eq_ignore_ascii_case(key)
            && head.ends_with(':')
        {
            return split(&name[key.len() + 1..], Some(key.clone()));
        }
    }
    None // An extension this resource does not have: names nothing.
}

/// Keeps only `subs` of a complex value, or of each element of a multi-valued one (`emails.value`).
fn keep_subs(v: Value, subs: &[&str]) -> Option<Value> {
    let filter =
        |m: Map<String, Value>| m.into_iter().filter(|(k, _)| subs.iter().any(|s| s.eq_ignore_ascii_case(k))).collect();
    match v {
        Value::Object(m) => Some(Value::Object(filter(m))),
        Value::Array(items) => Some(Value::Array(
            items.into_iter().map(|e| if let Value::Object(m) = e { Value::Object(filter(m)) } else { e }).collect(),
        )),
        _ => None, // `userName.x` names nothing.
    }
}

/// `attributes`: keeps the named attributes of `map` (whose names are relative to it).
fn include(map: Map<String, Value>, names: &[&AttrName]) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in map {
        let hits: Vec<&&AttrName> = names.iter().filter(|n| n.attr.eq_ignore_ascii_case(&k)).collect();
        if hits.is_empty() {
            continue;
        }
        if hits.iter().any(|n| n.sub.is_none()) {
            out.insert(k, v);
        } else if let Some(v) = keep_subs(v, &hits.iter().filter_map(|n| n.sub.as_deref()).collect::<Vec<_>>()) {
            out.insert(k, v);
        }
    }
    out
}

/// `excludedAttributes`: removes the named attributes, or sub-attributes, of `map`.
fn exclude(map: &mut Map<String, Value>, names: &[&AttrName]) {
    for n in names {
        let keys: Vec<String> = map.keys().filter(|k| k.eq_ignore_ascii_case(&n.attr)).cloned().collect();
        for k in keys {
            let drop_sub = |m: &mut Map<String, Value>, sub: &str| m.retain(|ik, _| !ik.eq_ignore_ascii_case(sub));
            match (n.sub.as_deref(), map.get_mut(&k)) {
                (None, _) => {
                    map.remove(&k);
                }
                (Some(sub), Some(Value::Object(inner))) => drop_sub(inner, sub),
                (Some(sub), Some(Value::Array(items))) => {
                    items.iter_mut().filter_map(Value::as_object_mut).for_each(|m| drop_sub(m, sub));
                }
                _ => {}
            }
        }
    }
}

/// `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5) over a rendered resource. `id`, `schemas` and `meta`
/// are always returned. Names compare case-insensitively and may be schema-qualified; `name.givenName` and
/// `emails.value` keep (or drop) only that sub-attribute, of each element for multi-valued attributes.
pub fn project(doc: Value, attributes: &[String], excluded: &[String]) -> Value {
    let Value::Object(mut map) = doc else {
        return doc;
    };
    let always = |k: &str| ["id", "schemas", "meta"].iter().any(|a| a.eq_ignore_ascii_case(k));
    let resolve = |list: &[String], map: &Map<String, Value>| -> Vec<AttrName> {
        list.iter().filter_map(|a| resolve_name(a, map)).filter(|n| n.extension.is_some() || !always(&n.attr)).collect()
    };
    if !attributes.is_empty() {
        let names = resolve(attributes, &map);
        let mut out = Map::new();
        for (k, v) in std::mem::take(&mut map) {
            if always(&k) {
                out.insert(k, v);
                continue;
            }
            let inner: Vec<&AttrName> =
                names.iter().filter(|n| n.extension.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(&k))).collect();
            let whole = names.iter().any(|n| n.extension.is_none() && n.attr.eq_ignore_ascii_case(&k));
            match v {
                Value::Object(ext) if k.starts_with("urn:") && !whole && !inner.is_empty() => {
                    out.insert(k, Value::Object(include(ext, &inner)));
                }
                v => {
                    let own: Vec<&AttrName> = names.iter().filter(|n| n.extension.is_none()).collect();
                    out.extend(include(Map::from_iter([(k, v)]), &own));
                }
            }
        }
        map = out;
    }
    let names = resolve(excluded, &map);
    let own: Vec<&AttrName> = names.iter().filter(|n| n.extension.is_none()).collect();
    exclude(&mut map, &own);
    for n in names.iter().filter(|n| n.extension.is_some()) {
        if let Some(Value::Object(ext)) = n.extension.as_deref().and_then(|e| map.get_mut(e)) {
            exclude(ext, &[n]);
        }
    }
    Value::Object(map)
}

/// Whether a projection wants `members`, so the store can skip loading them.
pub fn wants_members(attributes: &[String], excluded: &[String]) -> bool {
    let named = |l: &[String]| {
        l.iter()
            .map(|a| strip_core_urn(a))
            .any(|a| a.eq_ignore_ascii_case("members") || a.to_ascii_lowercase().starts_with("members."))
    };
    // `members.display` excluded still needs the members; only excluding `members` itself skips them.
    let excluded = excluded.iter().map(|a| strip_core_urn(a)).any(|a| a.eq_ignore_ascii_case("members"));
    !excluded && (attributes.is_empty() || named(attributes))
}

/// A ListResponse (RFC 7644 §3.4.2): integers, 1-based `startIndex`, `totalResults` = every match.
pub fn list_response(resources: Vec<Value>, total: i64, start_index: i64) -> Value {
    json!({
        "schemas": [SCHEMA_LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// A SCIM `userName`: kept exactly as sent (Okta's SPEC test checks the case survives), compared case-insensitively
/// (RFC 7643 §4.1.1 caseExact=false, through the folded column). Empty or over 256 characters is refused.
fn user_name(s: &str) -> crate::Result<String> {
    if s.trim().is_empty() {
        return Err(crate::Error::InvalidValue("userName is required and must not be empty".into()));
    }
    if s.chars().count() > 256 {
        return Err(crate::Error::InvalidValue("userName is longer than 256 characters".into()));
    }
    Ok(s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn okta_post_body_keeps_case_and_drops_password() {
        let b = parse_user(json!({"schemas":[SCHEMA_USER],"userName":"Test.User@okta.local","name":{"givenName":"Test","familyName":"User"},
            "emails":[{"primary":"True","value":"test.user@okta.local","type":"work"}],"password":"1mz050nq","active":true,"groups":[]}))
        .unwrap();
        assert_eq!(b.user_name, "Test.User@okta.local");
        assert_eq!(b.active, Some(true));
        assert!(!b.attributes.contains_key("password"));
        assert!(!b.attributes.contains_key("groups"));
        assert_eq!(b.attributes["emails"][0]["primary"], json!(true));
    }

    #[test]
    fn bad_user_bodies_are_invalid_value() {
        for body in [
            json!({}),
            json!({"userName": ""}),
            json!({"userName": 5}),
            json!({"userName":"a","emails":"x"}),
            json!({"userName":"a","active":"maybe"}),
            json!({"userName":"a","name":"x"}),
        ] {
            assert!(matches!(parse_user(body.clone()), Err(Error::InvalidValue(_))), "{body}");
        }
        assert!(matches!(parse_user(json!([1])), Err(Error::InvalidSyntax(_))));
    }

    #[test]
    fn projection() {
        let doc = json!({"id":"1","schemas":[],"meta":{},"userName":"a","name":{"givenName":"A","familyName":"B"},"emails":[]});
        let p = project(doc.clone(), &["userName".into(), "name.givenName".into()], &[]);
        assert_eq!(p, json!({"id":"1","schemas":[],"meta":{},"userName":"a","name":{"givenName":"A"}}));
        let p = project(doc, &[], &["EMAILS".into(), "id".into()]);
        assert!(p.get("emails").is_none() && p.get("id").is_some());
        assert!(!wants_members(&[], &["members".into()]));
        assert!(wants_members(&[], &[]));
        assert!(!wants_members(&["displayName".into()], &[]));
        assert!(!wants_members(&[], &["urn:ietf:params:scim:schemas:core:2.0:Group:members".into()]));
        assert!(wants_members(&[], &["members.display".into()]), "excluding a sub-attribute still needs members");
    }

    #[test]
    fn projection_of_multi_valued_extension_and_qualified_names() {
        let ent = SCHEMA_ENTERPRISE_USER;
        let doc = json!({"id":"1","userName":"a","name":{"givenName":"A","familyName":"B"},
            "emails":[{"value":"a@x","type":"work"},{"value":"b@x","type":"home"}],
            ent: {"employeeNumber":"7","department":"D"}});
        let p = project(doc.clone(), &["emails.value".into()], &[]);
        assert_eq!(p, json!({"id":"1","emails":[{"value":"a@x"},{"value":"b@x"}]}));
        let p = project(
            doc.clone(),
            &[format!("{ent}:employeeNumber"), "urn:ietf:params:scim:schemas:core:2.0:User:userName".into()],
            &[],
        );
        assert_eq!(p, json!({"id":"1","userName":"a",ent:{"employeeNumber":"7"}}));
        let p = project(doc.clone(), &[ent.to_lowercase()], &[]);
        assert_eq!(p, json!({"id":"1",ent:{"employeeNumber":"7","department":"D"}}), "a whole extension");
        let p =
            project(doc.clone(), &[], &["emails.type".into(), "NAME.givenname".into(), format!("{ent}:department")]);
        assert_eq!(p["emails"], json!([{"value":"a@x"},{"value":"b@x"}]));
        assert_eq!(p["name"], json!({"familyName":"B"}));
        assert_eq!(p[ent], json!({"employeeNumber":"7"}));
        let p = project(
            doc,
            &["urn:example:unknown:User:x".into()],
            &["urn:ietf:params:scim:schemas:core:2.0:User:id".into()],
        );
        assert_eq!(p, json!({"id":"1"}), "an unknown extension names nothing; id is always returned");
    }
}
