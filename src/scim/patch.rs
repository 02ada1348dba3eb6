//! SCIM PATCH (RFC 7644 §3.5.2) for Users (applied to the JSON document) and Groups (turned
//! into a membership delta), tolerant of the shapes Okta and Entra ID actually send:
//! path-less value maps, `"Replace"`/`"False"`, dotted and URN-prefixed keys, remove-by-value
//! arrays and filtered replaces that must upsert.

use serde::Deserialize;
use serde::de::{Deserializer, Error as _};
use serde_json::{Map, Value};

use super::filter::{self, CompValue, CompareOp, Filter, PatchPath};

const CORE_USER: &str = super::SCHEMA_USER;
const CORE_GROUP: &str = super::SCHEMA_GROUP;
const CORE_PREFIX: &str = "urn:ietf:params:scim:schemas:core:";
const ENTERPRISE_USER: &str = super::SCHEMA_ENTERPRISE_USER;

/// Canonical casing of the RFC 7643 §4.1 User attributes (plus read-only ones).
const CORE_ATTRS: &[&str] = &[
    "id",
    "externalId",
    "meta",
    "schemas",
    "groups",
    "userName",
    "name",
    "displayName",
    "nickName",
    "profileUrl",
    "title",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
    "active",
    "password",
    "emails",
    "phoneNumbers",
    "ims",
    "photos",
    "addresses",
    "entitlements",
    "roles",
    "x509Certificates",
];
const MULTI_VALUED: &[&str] = &super::USER_MULTI_VALUED;
const NAME_SUBS: &[&str] =
    &["formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix"];
const MULTI_SUBS: &[&str] = &["value", "display", "type", "primary", "$ref"];
const ADDRESS_SUBS: &[&str] =
    &["formatted", "streetAddress", "locality", "region", "postalCode", "country", "type", "primary"];
/// RFC 7643 §4.3 enterprise User extension.
const ENTERPRISE_ATTRS: &[&str] =
    &["employeeNumber", "costCenter", "organization", "division", "department", "manager"];
const MANAGER_SUBS: &[&str] = &["value", "$ref", "displayName"];

/// Body of a PATCH request (RFC 7644 §3.5.2). `operations` is also accepted in lower case.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct PatchRequest {
    #[serde(default)]
    pub schemas: Vec<String>,
    #[serde(rename = "Operations", alias = "operations")]
    pub operations: Vec<PatchOp>,
}

/// One PATCH operation; `path` is optional for add/replace (RFC 7644 §3.5.2.1, §3.5.2.3).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct PatchOp {
    pub op: OpKind,
    #[serde(default)]
    pub path: Option<String>,
    /// `Some(Value::Null)` for an explicit `"value": null` (clears the attribute), `None` when absent.
    #[serde(default, deserialize_with = "present_value")]
    pub value: Option<Value>,
}

/// Keeps an explicit JSON `null` distinguishable from a missing `value`.
fn present_value<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// `op` value. Deserialised case-insensitively: Entra sends "Add"/"Replace"/"Remove", Okta and
/// OneLogin lower case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Replace,
    Remove,
}

impl<'de> Deserialize<'de> for OpKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        match name.to_ascii_lowercase().as_str() {
            "add" => Ok(OpKind::Add),
            "replace" => Ok(OpKind::Replace),
            "remove" => Ok(OpKind::Remove),
            _ => Err(D::Error::unknown_variant(&name, &["add", "replace", "remove"])),
        }
    }
}

impl OpKind {
    fn name(self) -> &'static str {
        match self {
            OpKind::Add => "add",
            OpKind::Replace => "replace",
            OpKind::Remove => "remove",
        }
    }
}

/// PATCH failure; each variant is one `scimType` of RFC 7644 §3.12 (all answered with 400).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PatchError {
    #[error("{0}")]
    InvalidPath(String),
    #[error("{0}")]
    InvalidValue(String),
    #[error("{0}")]
    NoTarget(String),
    #[error("{0}")]
    Mutability(String),
    #[error("{0}")]
    InvalidFilter(String),
}

impl PatchError {
    /// The `scimType` for the SCIM error body (RFC 7644 §3.12, Table 9).
    pub fn scim_type(&self) -> &'static str {
        match self {
            PatchError::InvalidPath(_) => "invalidPath",
            PatchError::InvalidValue(_) => "invalidValue",
            PatchError::NoTarget(_) => "noTarget",
            PatchError::Mutability(_) => "mutability",
            PatchError::InvalidFilter(_) => "invalidFilter",
        }
    }
}

/// Parses a PATCH path; errors inside `[...]` are `invalidFilter` (RFC 7644 §3.12 lists PATCH
/// filters under that type), errors in the attribute part are `invalidPath`.
fn parse_patch_path(path: &str) -> Result<PatchPath, PatchError> {
    filter::parse_path_detailed(path).map_err(|e| {
        let msg = format!("invalid path \"{path}\": {}", e.error);
        if e.in_filter { PatchError::InvalidFilter(msg) } else { PatchError::InvalidPath(msg) }
    })
}

/// An empty or blank `path` is treated as absent.
fn op_path(op: &PatchOp) -> Option<&str> {
    op.path.as_deref().map(str::trim).filter(|p| !p.is_empty())
}

fn eq_ci(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn canonical(table: &[&str], name: &str) -> String {
    table.iter().find(|c| eq_ci(c, name)).map_or_else(|| name.to_string(), |c| (*c).to_string())
}

/// An existing key keeps its casing; otherwise the canonical name from `table`, else as sent.
fn resolve_key(map: &Map<String, Value>, name: &str, table: &[&str]) -> String {
    map.keys().find(|k| eq_ci(k, name)).cloned().unwrap_or_else(|| canonical(table, name))
}

fn get_ci<'m>(map: &'m Map<String, Value>, name: &str) -> Option<&'m Value> {
    map.iter().find(|(k, _)| eq_ci(k, name)).map(|(_, v)| v)
}

fn remove_ci(map: &mut Map<String, Value>, name: &str) {
    if let Some(key) = map.keys().find(|k| eq_ci(k, name)).cloned() {
        map.remove(&key);
    }
}

fn set_ci(map: &mut Map<String, Value>, name: &str, value: Value) {
    let key = resolve_key(map, name, &[]);
    map.insert(key, value);
}

/// Booleans also arrive as "True"/"False" strings from Entra's default (non-flagged) jobs.
fn coerce_bool(name: &str, value: &Value) -> Result<bool, PatchError> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if eq_ci(s, "true") => Ok(true),
        Value::String(s) if eq_ci(s, "false") => Ok(false),
        other => Err(PatchError::InvalidValue(format!("{name} must be true or false, got {other}"))),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Core,
    Enterprise,
    Other,
}

/// How an attribute behaves under PATCH; the slice is its sub-attribute casing table.
#[derive(Debug, Clone, Copy)]
enum Shape {
    Multi(&'static [&'static str]),
    Complex(&'static [&'static str]),
    Simple,
}

fn known_shape(scope: Scope, key: &str) -> Option<Shape> {
    let has = |table: &[&str]| table.iter().any(|a| eq_ci(a, key));
    match scope {
        Scope::Core if eq_ci(key, "addresses") => Some(Shape::Multi(ADDRESS_SUBS)),
        Scope::Core if has(MULTI_VALUED) => Some(Shape::Multi(MULTI_SUBS)),
        Scope::Core if eq_ci(key, "name") => Some(Shape::Complex(NAME_SUBS)),
        Scope::Core if has(CORE_ATTRS) => Some(Shape::Simple),
        Scope::Enterprise if eq_ci(key, "manager") => Some(Shape::Complex(MANAGER_SUBS)),
        Scope::Enterprise if has(ENTERPRISE_ATTRS) => Some(Shape::Simple),
        _ => None,
    }
}

/// Unknown attributes take their shape from the stored value, else from the request.
fn resolve_shape(scope: Scope, key: &str, existing: Option<&Value>, path: &PatchPath, value: Option<&Value>) -> Shape {
    if let Some(shape) = known_shape(scope, key) {
        return shape;
    }
    match existing {
        Some(Value::Array(_)) => Shape::Multi(&[]),
        Some(Value::Object(_)) => Shape::Complex(&[]),
        Some(Value::Null) | None => {
            if path.filter.is_some() {
                Shape::Multi(&[])
            } else if path.attr.sub_attr.is_some() {
                Shape::Complex(&[])
            } else {
                match value {
                    Some(Value::Array(_)) => Shape::Multi(&[]),
                    Some(Value::Object(_)) => Shape::Complex(&[]),
                    _ => Shape::Simple,
                }
            }
        }
        Some(_) => Shape::Simple,
    }
}

/// Applies ops, in order, to the SCIM JSON of a User (keys in canonical camelCase, enterprise
/// extension under its URN key). All-or-nothing: on error `doc` is left unchanged
/// (RFC 7644 §3.5.2: the whole PATCH fails if one operation does).
pub fn apply_user(doc: &mut Value, ops: &[PatchOp]) -> Result<(), PatchError> {
    let Some(original) = doc.as_object() else {
        return Err(PatchError::InvalidValue("the stored user is not a JSON object".into()));
    };
    let before: Vec<String> = extension_keys(original);
    let mut work = original.clone();
    for op in ops {
        apply_one(&mut work, op)?;
    }
    sync_extension_schemas(&mut work, &before);
    *doc = Value::Object(work);
    Ok(())
}

fn extension_keys(doc: &Map<String, Value>) -> Vec<String> {
    doc.iter()
        .filter(|(k, v)| k.to_ascii_lowercase().starts_with("urn:") && v.is_object())
        .map(|(k, _)| k.clone())
        .collect()
}

/// Keeps `schemas` listing exactly the extensions present (RFC 7643 §3): an extension emptied
/// by PATCH is dropped, a new one is declared.
fn sync_extension_schemas(doc: &mut Map<String, Value>, before: &[String]) {
    let mut present = Vec::new();
    for key in extension_keys(doc) {
        if doc.get(&key).and_then(Value::as_object).is_some_and(Map::is_empty) {
            doc.remove(&key);
        } else {
            present.push(key);
        }
    }
    let Some(Value::Array(schemas)) = doc.get_mut("schemas") else {
        return;
    };
    let listed = |schemas: &[Value], key: &str| schemas.iter().position(|s| s.as_str().is_some_and(|s| eq_ci(s, key)));
    for gone in before.iter().filter(|b| !present.iter().any(|p| eq_ci(p, b))) {
        if let Some(i) = listed(schemas, gone) {
            schemas.remove(i);
        }
    }
    for key in present {
        if listed(schemas, &key).is_none() {
            schemas.push(Value::String(key));
        }
    }
}

fn apply_one(doc: &mut Map<String, Value>, op: &PatchOp) -> Result<(), PatchError> {
    let Some(path) = op_path(op) else {
        if op.op == OpKind::Remove {
            return Err(PatchError::NoTarget("remove needs a \"path\" (RFC 7644 §3.5.2.2)".into()));
        }
        return match &op.value {
            Some(Value::Object(map)) => apply_map(doc, op.op, map, None),
            _ => Err(PatchError::InvalidValue(format!(
                "{} without a \"path\" needs an object \"value\" of attributes",
                op.op.name()
            ))),
        };
    };
    if is_extension_key(doc, path) {
        return apply_extension(doc, op.op, path, op.value.as_ref());
    }
    let parsed = parse_patch_path(path)?;
    apply_path(doc, op.op, &parsed, op.value.as_ref(), false)
}

/// Whether `key` names a whole extension (e.g. the enterprise URN) rather than
/// `URN:attribute`. Unknown URNs count when already stored, declared in `schemas`, or ending
/// in ":User" by convention.
fn is_extension_key(doc: &Map<String, Value>, key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    if !lower.starts_with("urn:") || lower.starts_with(CORE_PREFIX) {
        return false;
    }
    eq_ci(key, ENTERPRISE_USER)
        || doc.keys().any(|k| eq_ci(k, key))
        || doc
            .get("schemas")
            .and_then(Value::as_array)
            .is_some_and(|s| s.iter().any(|s| s.as_str().is_some_and(|s| eq_ci(s, key))))
        || key.rsplit(':').next() == Some("User")
}

fn extension_storage_key(doc: &Map<String, Value>, schema: &str) -> String {
    if let Some(existing) = doc.keys().find(|k| eq_ci(k, schema)) {
        existing.clone()
    } else if eq_ci(schema, ENTERPRISE_USER) {
        ENTERPRISE_USER.to_string()
    } else {
        schema.to_string()
    }
}

/// Path-less add/replace (RFC 7644 §3.5.2.1/§3.5.2.3): each key is handled as if it were a
/// path, so Entra's `"name.givenName"` and URN-prefixed keys work, and Okta's
/// `{"active":false}` deactivates. `ext` is set while merging into one extension object.
fn apply_map(
    doc: &mut Map<String, Value>,
    kind: OpKind,
    map: &Map<String, Value>,
    ext: Option<&str>,
) -> Result<(), PatchError> {
    for (key, value) in map {
        if ext.is_none() {
            if eq_ci(key, CORE_USER) {
                match value {
                    Value::Object(inner) => apply_map(doc, kind, inner, None)?,
                    _ => {
                        return Err(PatchError::InvalidValue(format!("\"{key}\" must hold an object of attributes")));
                    }
                }
                continue;
            }
            if is_extension_key(doc, key) {
                apply_extension(doc, kind, key, Some(value))?;
                continue;
            }
        }
        let mut path = parse_patch_path(key)?;
        if let Some(ext) = ext {
            if path.attr.schema.is_some() {
                return Err(PatchError::InvalidPath(format!(
                    "\"{key}\" inside \"{ext}\" must be a plain attribute name"
                )));
            }
            path.attr.schema = Some(ext.to_string());
        }
        apply_path(doc, kind, &path, Some(value), true)?;
    }
    Ok(())
}

/// A whole extension as target: add/replace merge its attributes (complex attribute rule of
/// RFC 7644 §3.5.2.3), remove drops it.
fn apply_extension(
    doc: &mut Map<String, Value>,
    kind: OpKind,
    key: &str,
    value: Option<&Value>,
) -> Result<(), PatchError> {
    let storage = extension_storage_key(doc, key);
    match (kind, value) {
        (OpKind::Remove, _) | (_, Some(Value::Null)) => {
            doc.remove(&storage);
            Ok(())
        }
        (_, Some(Value::Object(map))) => apply_map(doc, kind, map, Some(&storage)),
        _ => Err(PatchError::InvalidValue(format!("\"{key}\" must be given an object of extension attributes"))),
    }
}

fn check_id(doc: &Map<String, Value>, kind: OpKind, value: Option<&Value>) -> Result<(), PatchError> {
    if kind != OpKind::Remove && value.is_some() && value == get_ci(doc, "id") {
        return Ok(());
    }
    Err(PatchError::Mutability("id is assigned by the server and cannot be changed".into()))
}

fn apply_path(
    doc: &mut Map<String, Value>,
    kind: OpKind,
    path: &PatchPath,
    value: Option<&Value>,
    from_map: bool,
) -> Result<(), PatchError> {
    let (scope, ext) = match path.attr.schema.as_deref() {
        None => (Scope::Core, None),
        Some(s) if eq_ci(s, CORE_USER) => (Scope::Core, None),
        Some(s) if s.to_ascii_lowercase().starts_with(CORE_PREFIX) => {
            return Err(PatchError::InvalidPath(format!("schema \"{s}\" does not apply to Users")));
        }
        Some(s) => {
            let key = extension_storage_key(doc, s);
            let scope = if key == ENTERPRISE_USER { Scope::Enterprise } else { Scope::Other };
            (scope, Some(key))
        }
    };
    if ext.is_none() {
        let attr = path.attr.attr.as_str();
        if eq_ci(attr, "id") {
            return check_id(doc, kind, value);
        }
        if ["meta", "schemas", "groups"].iter().any(|a| eq_ci(a, attr)) {
            // RFC 7643 §3.1, §4.1.2: read-only. Okta echoes them inside value maps.
            return if from_map {
                Ok(())
            } else {
                Err(PatchError::Mutability(format!("{} is read-only", canonical(CORE_ATTRS, attr))))
            };
        }
    }
    let container: &mut Map<String, Value> = match ext {
        None => doc,
        Some(key) => {
            if kind == OpKind::Remove && !doc.contains_key(&key) {
                return Ok(());
            }
            let entry = doc.entry(key.clone()).or_insert(Value::Null);
            if entry.is_null() {
                *entry = Value::Object(Map::new());
            }
            entry
                .as_object_mut()
                .ok_or_else(|| PatchError::InvalidValue(format!("stored \"{key}\" is not an object")))?
        }
    };
    let table = match scope {
        Scope::Core => CORE_ATTRS,
        Scope::Enterprise => ENTERPRISE_ATTRS,
        Scope::Other => &[],
    };
    let key = resolve_key(container, &path.attr.attr, table);
    let shape = resolve_shape(scope, &key, container.get(&key), path, value);
    let target = Target { key, shape, scope, kind, value };
    match (&path.filter, &path.attr.sub_attr) {
        (Some(_), Some(_)) => {
            Err(PatchError::InvalidPath("a sub-attribute goes after the filter: attr[filter].sub".into()))
        }
        (Some(f), None) => target.filtered(container, f, path.sub_attr.as_deref()),
        (None, Some(sub)) => target.sub_attribute(container, sub),
        (None, None) => target.whole(container),
    }
}

/// One resolved user attribute and the operation to perform on it.
struct Target<'v> {
    key: String,
    shape: Shape,
    scope: Scope,
    kind: OpKind,
    value: Option<&'v Value>,
}

impl Target<'_> {
    fn is(&self, name: &str) -> bool {
        self.scope == Scope::Core && eq_ci(&self.key, name)
    }

    fn required_value(&self) -> Result<&Value, PatchError> {
        self.value
            .ok_or_else(|| PatchError::InvalidValue(format!("{} of {} needs a \"value\"", self.kind.name(), self.key)))
    }

    /// Removing (or nulling) userName/active would leave the user invalid (RFC 7643 §4.1).
    fn check_removable(&self) -> Result<(), PatchError> {
        if self.is("userName") {
            return Err(PatchError::InvalidValue("userName is required".into()));
        }
        if self.is("active") {
            return Err(PatchError::InvalidValue("active must be true or false".into()));
        }
        Ok(())
    }

    fn whole(&self, container: &mut Map<String, Value>) -> Result<(), PatchError> {
        let key = &self.key;
        if self.kind == OpKind::Remove {
            self.check_removable()?;
            match (self.shape, self.value) {
                // Entra: {"op":"Remove","path":"emails","value":[{"value":"a@b.c"}]} removes
                // only the listed elements.
                (Shape::Multi(_), Some(v)) if !v.is_null() => {
                    let targets = as_list(key, v)?;
                    if let Some(Value::Array(list)) = container.get_mut(key) {
                        list.retain(|e| !targets.iter().any(|t| same_element(e, t)));
                        if list.is_empty() {
                            container.remove(key);
                        }
                    }
                }
                _ => {
                    container.remove(key);
                }
            }
            return Ok(());
        }
        let value = self.required_value()?;
        if value.is_null() {
            self.check_removable()?;
            container.remove(key);
            return Ok(());
        }
        match self.shape {
            Shape::Multi(subs) => {
                let items = as_list(key, value)?
                    .into_iter()
                    .map(|e| normalize_element(key, subs, e))
                    .collect::<Result<Vec<_>, _>>()?;
                if self.kind == OpKind::Replace {
                    if items.iter().filter(|e| is_primary(e)).count() > 1 {
                        return Err(PatchError::InvalidValue(format!(
                            "only one {key} entry may be primary (RFC 7643 §2.4)"
                        )));
                    }
                    if items.is_empty() {
                        container.remove(key);
                    } else {
                        container.insert(key.clone(), Value::Array(items));
                    }
                    Ok(())
                } else {
                    union(ensure_array(container, key)?, items);
                    Ok(())
                }
            }
            Shape::Complex(subs) => {
                let map = self.complex_value(value)?;
                let entry = container.entry(key.clone()).or_insert(Value::Null);
                if !entry.is_object() {
                    *entry = Value::Object(Map::new());
                }
                if let Value::Object(existing) = entry {
                    merge_object(existing, &map, subs);
                    if existing.is_empty() {
                        container.remove(key);
                    }
                }
                Ok(())
            }
            Shape::Simple => {
                let value = self.simple_value(value)?;
                container.insert(key.clone(), value);
                Ok(())
            }
        }
    }

    /// Entra sends the manager as a bare id or a one-element array; RFC 7643 §4.3 says object.
    fn complex_value(&self, value: &Value) -> Result<Map<String, Value>, PatchError> {
        let manager = self.scope == Scope::Enterprise && eq_ci(&self.key, "manager");
        match value {
            Value::Object(map) => Ok(map.clone()),
            Value::String(id) if manager => {
                let mut map = Map::new();
                map.insert("value".into(), Value::String(id.clone()));
                Ok(map)
            }
            Value::Array(items) if manager && items.len() == 1 => match items.first() {
                Some(Value::Object(map)) => Ok(map.clone()),
                _ => Err(PatchError::InvalidValue("manager must be an object".into())),
            },
            _ => Err(PatchError::InvalidValue(format!("{} must be an object of sub-attributes", self.key))),
        }
    }

    fn simple_value(&self, value: &Value) -> Result<Value, PatchError> {
        if self.is("active") {
            return coerce_bool("active", value).map(Value::Bool);
        }
        if self.is("userName") && value.as_str().is_none_or(|s| s.trim().is_empty()) {
            return Err(PatchError::InvalidValue("userName must be a non-empty string".into()));
        }
        if (value.is_object() || value.is_array()) && known_shape(self.scope, &self.key).is_some() {
            return Err(PatchError::InvalidValue(format!(
                "{} takes a single value, not {}",
                self.key,
                if value.is_array() { "a list" } else { "an object" }
            )));
        }
        Ok(value.clone())
    }

    /// `name.givenName`, `manager.value`, or `emails.value` (every element, RFC 7644 §3.5.2).
    fn sub_attribute(&self, container: &mut Map<String, Value>, sub: &str) -> Result<(), PatchError> {
        let key = &self.key;
        match self.shape {
            Shape::Simple => Err(PatchError::InvalidPath(format!("{key} has no sub-attribute \"{sub}\""))),
            Shape::Multi(subs) => {
                let sub = canonical(subs, sub);
                let value = match self.kind {
                    OpKind::Remove => None,
                    _ => Some(self.required_value()?).filter(|v| !v.is_null()),
                };
                let Some(value) = value else {
                    if let Some(Value::Array(list)) = container.get_mut(key) {
                        for item in list.iter_mut() {
                            if let Value::Object(m) = item {
                                remove_ci(m, &sub);
                            }
                        }
                    }
                    return Ok(());
                };
                let value = normalize_sub(key, &sub, value)?;
                let list = ensure_array(container, key)?;
                if list.is_empty() {
                    let mut element = Map::new();
                    element.insert(sub, value);
                    list.push(Value::Object(element));
                } else {
                    for item in list.iter_mut() {
                        if let Value::Object(m) = item {
                            set_ci(m, &sub, value.clone());
                        }
                    }
                    if let Some(first) = list.iter().position(is_primary) {
                        clear_other_primaries(list, first);
                    }
                }
                Ok(())
            }
            Shape::Complex(subs) => {
                let value = match self.kind {
                    OpKind::Remove => None,
                    _ => Some(self.required_value()?).filter(|v| !v.is_null()),
                };
                match value {
                    None => {
                        if let Some(Value::Object(m)) = container.get_mut(key) {
                            remove_ci(m, sub);
                            if m.is_empty() {
                                container.remove(key);
                            }
                        }
                    }
                    Some(value) => {
                        let entry = container.entry(key.clone()).or_insert(Value::Null);
                        if entry.is_null() {
                            *entry = Value::Object(Map::new());
                        }
                        let Value::Object(m) = entry else {
                            return Err(PatchError::InvalidPath(format!("{key} is not a complex attribute")));
                        };
                        let sub = resolve_key(m, sub, subs);
                        m.insert(sub, value.clone());
                    }
                }
                Ok(())
            }
        }
    }

    /// `emails[type eq "work"]` / `emails[type eq "work"].value` (RFC 7644 §3.5.2.2, §3.5.2.3).
    fn filtered(
        &self,
        container: &mut Map<String, Value>,
        filter: &Filter,
        elem_sub: Option<&str>,
    ) -> Result<(), PatchError> {
        let key = &self.key;
        let Shape::Multi(subs) = self.shape else {
            return Err(PatchError::InvalidPath(format!("{key} is not multi-valued, so it cannot take a [filter]")));
        };
        let elem_sub = elem_sub.map(|s| canonical(subs, s));
        if self.kind == OpKind::Remove {
            // No match is a no-op, not noTarget: removal stays idempotent for IdP retries.
            if let Some(Value::Array(list)) = container.get_mut(key) {
                match &elem_sub {
                    Some(sub) => {
                        for item in list.iter_mut().filter(|e| filter.matches(e)) {
                            if let Value::Object(m) = item {
                                remove_ci(m, sub);
                            }
                        }
                    }
                    None => list.retain(|e| !filter.matches(e)),
                }
                if list.is_empty() {
                    container.remove(key);
                }
            }
            return Ok(());
        }
        // add with a filter is treated like replace: set on the matching elements.
        let value = self.required_value()?;
        let update = match (&elem_sub, value) {
            (Some(_), Value::Null) => None,
            (Some(sub), v) => Some(normalize_sub(key, sub, v)?),
            (None, Value::Object(_)) => Some(normalize_element(key, subs, value.clone())?),
            (None, _) => {
                return Err(PatchError::InvalidValue(format!("replacing {key}[...] needs an object value")));
            }
        };
        let mut touched: Vec<usize> = match container.get(key) {
            Some(Value::Array(list)) => {
                (0..list.len()).filter(|&i| list.get(i).is_some_and(|e| filter.matches(e))).collect()
            }
            _ => Vec::new(),
        };
        let mut new_element = None;
        if touched.is_empty() {
            if update.is_none() {
                return Ok(());
            }
            // Entra expects `emails[type eq "work"].value` to add the work email when absent.
            let Some(pairs) = eq_pairs(filter) else {
                return Err(PatchError::NoTarget(format!("no {key} entry matches the filter")));
            };
            let mut element = Map::new();
            for (attr, value) in pairs {
                element.insert(canonical(subs, &attr), comp_to_json(value));
            }
            new_element = Some(Value::Object(element));
        }
        let list = ensure_array(container, key)?;
        if let Some(element) = new_element {
            list.push(element);
            touched.push(list.len() - 1);
        }
        let mut primary = None;
        for &i in &touched {
            let Some(Value::Object(element)) = list.get_mut(i) else {
                continue;
            };
            match (&elem_sub, &update) {
                (Some(sub), Some(v)) => set_ci(element, sub, v.clone()),
                (Some(sub), None) => remove_ci(element, sub),
                (None, Some(Value::Object(map))) => merge_object(element, map, subs),
                (None, _) => {}
            }
            if primary.is_none() && get_ci(element, "primary") == Some(&Value::Bool(true)) {
                primary = Some(i);
            }
        }
        if let Some(p) = primary {
            clear_other_primaries(list, p);
        }
        Ok(())
    }
}

fn as_list(key: &str, value: &Value) -> Result<Vec<Value>, PatchError> {
    match value {
        Value::Array(items) => Ok(items.clone()),
        Value::Object(_) => Ok(vec![value.clone()]),
        _ => Err(PatchError::InvalidValue(format!("{key} must be a list of objects"))),
    }
}

fn ensure_array<'m>(container: &'m mut Map<String, Value>, key: &str) -> Result<&'m mut Vec<Value>, PatchError> {
    let entry = container.entry(key.to_string()).or_insert_with(|| Value::Array(Vec::new()));
    if !entry.is_array() {
        let old = std::mem::take(entry);
        *entry = Value::Array(if old.is_null() { Vec::new() } else { vec![old] });
    }
    entry.as_array_mut().ok_or_else(|| PatchError::InvalidValue(format!("stored {key} is not a list")))
}

/// Canonical sub-attribute casing, `primary` coerced to bool, nulls dropped (unassigned).
fn normalize_element(key: &str, subs: &[&str], element: Value) -> Result<Value, PatchError> {
    match element {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                if v.is_null() {
                    continue;
                }
                let k = canonical(subs, &k);
                let v = normalize_sub(key, &k, &v)?;
                out.insert(k, v);
            }
            Ok(Value::Object(out))
        }
        other if subs.is_empty() => Ok(other),
        _ => Err(PatchError::InvalidValue(format!("each {key} entry must be an object"))),
    }
}

fn normalize_sub(key: &str, sub: &str, value: &Value) -> Result<Value, PatchError> {
    if eq_ci(sub, "primary") {
        coerce_bool(&format!("{key}.primary"), value).map(Value::Bool)
    } else {
        Ok(value.clone())
    }
}

fn merge_object(target: &mut Map<String, Value>, source: &Map<String, Value>, subs: &[&str]) {
    for (k, v) in source {
        let k = resolve_key(target, k, subs);
        if v.is_null() {
            target.remove(&k);
        } else {
            target.insert(k, v.clone());
        }
    }
}

fn is_primary(v: &Value) -> bool {
    v.as_object().and_then(|m| get_ci(m, "primary")).is_some_and(|p| p == &Value::Bool(true))
}

/// RFC 7643 §2.4: at most one element may be primary; the newest one wins.
fn clear_other_primaries(list: &mut [Value], keep: usize) {
    for (i, item) in list.iter_mut().enumerate() {
        if i != keep
            && is_primary(item)
            && let Value::Object(m) = item
        {
            set_ci(m, "primary", Value::Bool(false));
        }
    }
}

fn str_eq_ci(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.to_lowercase() == y.to_lowercase(),
        _ => a == b,
    }
}

/// Same element for union/removal: by `value` case-insensitively, else whole-object equality.
fn same_element(existing: &Value, candidate: &Value) -> bool {
    match (existing, candidate) {
        (Value::Object(e), Value::Object(c)) => match (get_ci(e, "value"), get_ci(c, "value")) {
            (Some(a), Some(b)) => str_eq_ci(a, b),
            (_, None) => existing == candidate,
            (None, Some(_)) => false,
        },
        _ => str_eq_ci(existing, candidate),
    }
}

/// add on a multi-valued attribute appends only new elements (RFC 7644 §3.5.2.1: "no changes
/// SHOULD be made" for a value already present); a duplicate's other sub-attributes are merged.
fn union(list: &mut Vec<Value>, items: Vec<Value>) {
    let mut primary = None;
    for item in items {
        let index = match list.iter().position(|e| same_element(e, &item)) {
            Some(i) => {
                if let (Some(Value::Object(existing)), Value::Object(new)) = (list.get_mut(i), &item) {
                    // The stored `value` keeps its casing; other sub-attributes are updated.
                    let mut new = new.clone();
                    remove_ci(&mut new, "value");
                    merge_object(existing, &new, &[]);
                }
                i
            }
            None => {
                list.push(item);
                list.len() - 1
            }
        };
        if list.get(index).is_some_and(is_primary) {
            primary = Some(index);
        }
    }
    if let Some(p) = primary {
        clear_other_primaries(list, p);
    }
}

/// `type eq "work" and primary eq true` → [("type", "work"), ("primary", true)]; `None` when
/// the filter is anything but a conjunction of `eq` on plain sub-attributes.
fn eq_pairs(filter: &Filter) -> Option<Vec<(String, CompValue)>> {
    match filter {
        Filter::Compare { path, op: CompareOp::Eq, value }
            if path.schema.is_none() && path.sub_attr.is_none() && *value != CompValue::Null =>
        {
            Some(vec![(path.attr.clone(), value.clone())])
        }
        Filter::And(a, b) => {
            let mut pairs = eq_pairs(a)?;
            pairs.extend(eq_pairs(b)?);
            Some(pairs)
        }
        _ => None,
    }
}

fn comp_to_json(value: CompValue) -> Value {
    match value {
        CompValue::Str(s) => Value::String(s),
        CompValue::Number(n) => Value::Number(n),
        CompValue::Bool(b) => Value::Bool(b),
        CompValue::Null => Value::Null,
    }
}

/// Group attributes a PATCH may change, as a delta for the service to apply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupPatch {
    pub display_name: Option<String>,
    /// `Some(None)` clears the externalId.
    pub external_id: Option<Option<String>>,
    pub members: Vec<MemberOp>,
}

/// Membership change, by user id exactly as sent (ids are caseExact, RFC 7643 §4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberOp {
    Add(Vec<String>),
    Remove(Vec<String>),
    RemoveAll,
    Replace(Vec<String>),
}

/// Turns group ops into a delta so that a membership change costs O(changed members), never
/// loading the group. Op order is kept (`[remove X, add Y]` → `[Remove([X]), Add([Y])]`);
/// consecutive ops of the same kind are merged.
pub fn group_patch(group_id: &str, ops: &[PatchOp]) -> Result<GroupPatch, PatchError> {
    let mut patch = GroupPatch::default();
    for op in ops {
        match op_path(op) {
            None => {
                if op.op == OpKind::Remove {
                    return Err(PatchError::NoTarget("remove needs a \"path\" (RFC 7644 §3.5.2.2)".into()));
                }
                let Some(Value::Object(map)) = &op.value else {
                    return Err(PatchError::InvalidValue(format!(
                        "{} without a \"path\" needs an object \"value\" of attributes",
                        op.op.name()
                    )));
                };
                for (key, value) in map {
                    let path = parse_patch_path(key)?;
                    group_op(&mut patch, group_id, op.op, key, &path, Some(value), true)?;
                }
            }
            Some(raw) => {
                let path = parse_patch_path(raw)?;
                group_op(&mut patch, group_id, op.op, raw, &path, op.value.as_ref(), false)?;
            }
        }
    }
    Ok(patch)
}

fn group_op(
    patch: &mut GroupPatch,
    group_id: &str,
    kind: OpKind,
    raw: &str,
    path: &PatchPath,
    value: Option<&Value>,
    from_map: bool,
) -> Result<(), PatchError> {
    if path.attr.schema.as_deref().is_some_and(|s| !eq_ci(s, CORE_GROUP)) {
        return Err(PatchError::InvalidPath(format!("unknown Group attribute \"{raw}\"")));
    }
    let attr = path.attr.attr.as_str();
    let plain = path.filter.is_none() && path.attr.sub_attr.is_none() && path.sub_attr.is_none();
    if eq_ci(attr, "members") {
        if path.attr.sub_attr.is_some() || path.sub_attr.is_some() {
            return Err(PatchError::InvalidPath(format!(
                "\"{raw}\" is not supported; use members or members[value eq \"<id>\"]"
            )));
        }
        let op = match (&path.filter, kind) {
            (Some(filter), OpKind::Remove) => {
                MemberOp::Remove(member_filter_ids(filter).ok_or_else(|| {
                    PatchError::InvalidFilter(format!(
                        "unsupported members filter in \"{raw}\"; use members[value eq \"<id>\"] (optionally joined with or)"
                    ))
                })?)
            }
            (Some(_), _) => {
                return Err(PatchError::InvalidPath(format!(
                    "{} cannot use a members filter; send the members as the value",
                    kind.name()
                )));
            }
            (None, OpKind::Remove) => match value {
                None | Some(Value::Null) => MemberOp::RemoveAll,
                Some(v) => MemberOp::Remove(member_ids(v)?),
            },
            (None, OpKind::Add) => MemberOp::Add(member_ids(required(value, "members")?)?),
            (None, OpKind::Replace) => match value {
                Some(Value::Null) => MemberOp::Replace(Vec::new()),
                v => MemberOp::Replace(member_ids(required(v, "members")?)?),
            },
        };
        push_member_op(&mut patch.members, op);
        return Ok(());
    }
    if !plain {
        return Err(PatchError::InvalidPath(format!(
            "\"{raw}\": Group attribute {attr} has no sub-attributes or filters"
        )));
    }
    if eq_ci(attr, "displayName") {
        if kind == OpKind::Remove {
            return Err(PatchError::InvalidValue("displayName is required".into()));
        }
        match required(value, "displayName")? {
            Value::String(s) if !s.trim().is_empty() => {
                if let Some(msg) = super::too_long("displayName", s) {
                    return Err(PatchError::InvalidValue(msg));
                }
                patch.display_name = Some(s.clone());
                Ok(())
            }
            _ => Err(PatchError::InvalidValue("displayName must be a non-empty string".into())),
        }
    } else if eq_ci(attr, "externalId") {
        patch.external_id = Some(match (kind, value) {
            (OpKind::Remove, _) | (_, Some(Value::Null)) => None,
            (_, Some(Value::String(s))) => match super::too_long("externalId", s) {
                Some(msg) => return Err(PatchError::InvalidValue(msg)),
                None => Some(s.clone()),
            },
            _ => {
                return Err(PatchError::InvalidValue("externalId must be a string".into()));
            }
        });
        Ok(())
    } else if eq_ci(attr, "id") {
        match (kind, value) {
            (OpKind::Remove, _) => {
                Err(PatchError::Mutability("id is assigned by the server and cannot be changed".into()))
            }
            (_, Some(Value::String(id))) if id == group_id => Ok(()),
            _ => Err(PatchError::Mutability("id is assigned by the server and cannot be changed".into())),
        }
    } else if eq_ci(attr, "schemas") || eq_ci(attr, "meta") {
        if from_map { Ok(()) } else { Err(PatchError::Mutability(format!("{attr} is read-only"))) }
    } else {
        Err(PatchError::InvalidPath(format!(
            "unknown Group attribute \"{raw}\"; only displayName, externalId and members can be patched"
        )))
    }
}

fn required<'v>(value: Option<&'v Value>, attr: &str) -> Result<&'v Value, PatchError> {
    value.ok_or_else(|| PatchError::InvalidValue(format!("{attr} needs a \"value\"")))
}

/// `[{"value":"id","display":…,"$ref":…}]` → ids; a single object is accepted as a list of one.
fn member_ids(value: &Value) -> Result<Vec<String>, PatchError> {
    let items = match value {
        Value::Array(items) => items.as_slice(),
        Value::Object(_) => std::slice::from_ref(value),
        _ => {
            return Err(PatchError::InvalidValue(
                "members must be a list of {\"value\": \"<user id>\"} objects".into(),
            ));
        }
    };
    items
        .iter()
        .map(|item| match item.as_object().and_then(|m| get_ci(m, "value")) {
            Some(Value::String(id)) if !id.is_empty() => Ok(id.clone()),
            _ => Err(PatchError::InvalidValue("each member needs a string \"value\" (the user id)".into())),
        })
        .collect()
}

/// `value eq "a"` or `value eq "a" or value eq "b"` → ids; anything else is unsupported.
fn member_filter_ids(filter: &Filter) -> Option<Vec<String>> {
    match filter {
        Filter::Compare { path, op: CompareOp::Eq, value: CompValue::Str(id) }
            if path.schema.is_none() && path.sub_attr.is_none() && eq_ci(&path.attr, "value") =>
        {
            Some(vec![id.clone()])
        }
        Filter::Or(a, b) => {
            let mut ids = member_filter_ids(a)?;
            ids.extend(member_filter_ids(b)?);
            Some(ids)
        }
        _ => None,
    }
}

fn extend_unique(list: &mut Vec<String>, more: Vec<String>) {
    for id in more {
        if !list.contains(&id) {
            list.push(id);
        }
    }
}

fn push_member_op(ops: &mut Vec<MemberOp>, op: MemberOp) {
    let op = match op {
        MemberOp::Add(ids) | MemberOp::Remove(ids) if ids.is_empty() => return,
        MemberOp::Add(ids) => MemberOp::Add(dedup(ids)),
        MemberOp::Remove(ids) => MemberOp::Remove(dedup(ids)),
        MemberOp::Replace(ids) => MemberOp::Replace(dedup(ids)),
        MemberOp::RemoveAll => MemberOp::RemoveAll,
    };
    match (ops.last_mut(), op) {
        (Some(MemberOp::Add(prev)), MemberOp::Add(ids)) => extend_unique(prev, ids),
        (Some(MemberOp::Remove(prev)), MemberOp::Remove(ids)) => extend_unique(prev, ids),
        (Some(MemberOp::RemoveAll), MemberOp::RemoveAll) => {}
        (Some(last @ MemberOp::Replace(_)), op @ MemberOp::Replace(_)) => *last = op,
        (_, op) => ops.push(op),
    }
}

fn dedup(ids: Vec<String>) -> Vec<String> {
    let mut out = Vec::with_capacity(ids.len());
    extend_unique(&mut out, ids);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    const M1: &str = "2819c223-7f76-453a-919d-413861904646";
    const M2: &str = "902c246b-6245-4190-8e05-00816be7344a";

    fn ops(operations: Value) -> Vec<PatchOp> {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": operations
        });
        serde_json::from_value::<PatchRequest>(body).unwrap().operations
    }

    fn user() -> Value {
        json!({
            "schemas": [CORE_USER],
            "id": "u1",
            "userName": "bjensen@example.com",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "active": true,
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "addresses": [
                {"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood"}
            ],
            "meta": {"resourceType": "User"}
        })
    }

    type Checks = Vec<(String, Option<Value>)>;

    fn at(pointer: &str, value: Value) -> (String, Option<Value>) {
        (pointer.to_string(), Some(value))
    }
    fn gone(pointer: &str) -> (String, Option<Value>) {
        (pointer.to_string(), None)
    }
    fn ent(rest: &str) -> String {
        format!("/{ENT}{rest}")
    }

    #[test]
    fn user_patch_table() {
        let cases: Vec<(&str, Value, Result<Checks, &str>)> = vec![
            (
                "okta deactivate: path-less replace",
                json!([{"op": "replace", "value": {"active": false}}]),
                Ok(vec![at("/active", json!(false)), at("/userName", json!("bjensen@example.com"))]),
            ),
            (
                "okta reactivate",
                json!([{"op": "replace", "value": {"active": false}}, {"op": "replace", "value": {"active": true}}]),
                Ok(vec![at("/active", json!(true))]),
            ),
            (
                "entra Replace active \"False\"",
                json!([{"op": "Replace", "path": "active", "value": "False"}]),
                Ok(vec![at("/active", json!(false))]),
            ),
            (
                "entra active \"TRUE\"",
                json!([{"op": "Replace", "path": "active", "value": "False"}, {"op": "Replace", "path": "active", "value": "TRUE"}]),
                Ok(vec![at("/active", json!(true))]),
            ),
            (
                "active must be boolean",
                json!([{"op": "replace", "path": "active", "value": "no"}]),
                Err("invalidValue"),
            ),
            ("active null", json!([{"op": "replace", "path": "active", "value": null}]), Err("invalidValue")),
            ("active number", json!([{"op": "replace", "value": {"active": 0}}]), Err("invalidValue")),
            (
                "entra path-less map with dotted and URN keys",
                json!([{"op": "replace", "value": {
                    "name.givenName": "Babs",
                    "displayName": "Babs Jensen",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "701984",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager": {"value": "m1"},
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Tour Operations"
                }}]),
                Ok(vec![
                    at("/name/givenName", json!("Babs")),
                    at("/name/familyName", json!("Jensen")),
                    at("/displayName", json!("Babs Jensen")),
                    at(&ent("/employeeNumber"), json!("701984")),
                    at(&ent("/manager/value"), json!("m1")),
                    at(&ent("/department"), json!("Tour Operations")),
                    at("/schemas/1", json!(ENT)),
                ]),
            ),
            (
                "path-less map: extension URN key with object merges",
                json!([
                    {"op": "add", "value": {ENT: {"department": "Tour", "costCenter": "4130"}}},
                    {"op": "replace", "value": {ENT: {"department": "Sales", "manager": {"value": "m9", "displayName": "Boss"}}}}
                ]),
                Ok(vec![
                    at(&ent("/department"), json!("Sales")),
                    at(&ent("/costCenter"), json!("4130")),
                    at(&ent("/manager/displayName"), json!("Boss")),
                ]),
            ),
            (
                "entra one op per enterprise path",
                json!([{"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "value": "42"}]),
                Ok(vec![at(&ent("/employeeNumber"), json!("42")), at("/schemas/1", json!(ENT))]),
            ),
            (
                "entra manager as bare id",
                json!([{"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "m2"}]),
                Ok(vec![at(&ent("/manager"), json!({"value": "m2"}))]),
            ),
            (
                "entra manager as one-element array with null $ref",
                json!([{"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": [{"$ref": null, "value": "m3"}]}]),
                Ok(vec![at(&ent("/manager"), json!({"value": "m3"}))]),
            ),
            (
                "manager.value path",
                json!([{"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value", "value": "m4"}]),
                Ok(vec![at(&ent("/manager/value"), json!("m4"))]),
            ),
            (
                "emptied extension is dropped from doc and schemas",
                json!([
                    {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": {"value": "m1"}},
                    {"op": "remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}
                ]),
                Ok(vec![gone(&ent("")), gone("/schemas/1")]),
            ),
            (
                "remove whole extension by URN path",
                json!([
                    {"op": "add", "path": ENT, "value": {"division": "Theme Park"}},
                    {"op": "remove", "path": ENT}
                ]),
                Ok(vec![gone(&ent("")), gone("/schemas/1")]),
            ),
            (
                "entra Add on single-valued = replace",
                json!([{"op": "Add", "path": "nickName", "value": "Babs"}, {"op": "Add", "path": "nickName", "value": "Babsy"}]),
                Ok(vec![at("/nickName", json!("Babsy"))]),
            ),
            (
                "rfc add emails: union appends only new",
                json!([{"op": "add", "path": "emails", "value": [
                    {"value": "babs@jensen.org", "type": "home"},
                    {"value": "new@example.com", "type": "other"}
                ]}]),
                Ok(vec![at("/emails/2/value", json!("new@example.com")), gone("/emails/3")]),
            ),
            (
                "add union is case-insensitive on value",
                json!([{"op": "add", "path": "emails", "value": [{"value": "BJENSEN@example.com", "type": "work"}]}]),
                Ok(vec![at("/emails/0/value", json!("bjensen@example.com")), gone("/emails/2")]),
            ),
            (
                "path-less add of emails is a union too",
                json!([{"op": "add", "value": {"emails": [{"value": "babs@jensen.org"}, {"value": "x@y.z"}]}}]),
                Ok(vec![at("/emails/2/value", json!("x@y.z")), gone("/emails/3")]),
            ),
            (
                "added primary clears other primaries; \"True\" coerced",
                json!([{"op": "add", "path": "emails", "value": [{"value": "n@x.com", "Primary": "True"}]}]),
                Ok(vec![
                    at("/emails/0/primary", json!(false)),
                    at("/emails/2", json!({"value": "n@x.com", "primary": true})),
                ]),
            ),
            (
                "primary must be boolean",
                json!([{"op": "add", "path": "emails", "value": [{"value": "n@x.com", "primary": "yes"}]}]),
                Err("invalidValue"),
            ),
            (
                "replace multi-valued without filter replaces the list",
                json!([{"op": "replace", "path": "emails", "value": [{"value": "only@x.com", "type": "work"}]}]),
                Ok(vec![at("/emails", json!([{"value": "only@x.com", "type": "work"}]))]),
            ),
            (
                "replace list with two primaries",
                json!([{"op": "replace", "path": "emails", "value": [{"value": "a@x", "primary": true}, {"value": "b@x", "primary": true}]}]),
                Err("invalidValue"),
            ),
            (
                "rfc replace emails[type eq \"work\"].value",
                json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "barbara@example.com"}]),
                Ok(vec![
                    at("/emails/0", json!({"value": "barbara@example.com", "type": "work", "primary": true})),
                    at("/emails/1/value", json!("babs@jensen.org")),
                ]),
            ),
            (
                "entra replace on a missing work email adds it",
                json!([
                    {"op": "remove", "path": "emails[type eq \"work\"]"},
                    {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "w@x.com"}
                ]),
                Ok(vec![at("/emails/1", json!({"type": "work", "value": "w@x.com"})), gone("/emails/2")]),
            ),
            (
                "filtered replace upserts into an absent attribute",
                json!([{"op": "replace", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"}]),
                Ok(vec![at("/phoneNumbers", json!([{"type": "mobile", "value": "+1 555 0100"}]))]),
            ),
            (
                "validator: emails[primary eq true].value",
                json!([{"op": "replace", "path": "emails[primary eq true].value", "value": "p@x.com"}]),
                Ok(vec![at("/emails/0/value", json!("p@x.com")), at("/emails/1/value", json!("babs@jensen.org"))]),
            ),
            (
                "add with a filter behaves like replace",
                json!([{"op": "add", "path": "emails[type eq \"work\"].value", "value": "w2@x.com"}]),
                Ok(vec![at("/emails/0/value", json!("w2@x.com")), gone("/emails/2")]),
            ),
            (
                "filtered replace, no match, non-eq filter",
                json!([{"op": "replace", "path": "emails[value co \"zzz\"].type", "value": "work"}]),
                Err("noTarget"),
            ),
            (
                "rfc replace addresses[type eq \"work\"] merges the object",
                json!([{"op": "replace", "path": "addresses[type eq \"work\"]", "value": {
                    "type": "work", "streetAddress": "911 Universal City Plaza", "postalcode": "91608", "primary": true
                }}]),
                Ok(vec![
                    at("/addresses/0/streetAddress", json!("911 Universal City Plaza")),
                    at("/addresses/0/locality", json!("Hollywood")),
                    at("/addresses/0/postalCode", json!("91608")),
                    at("/addresses/0/primary", json!(true)),
                ]),
            ),
            (
                "rfc replace addresses[type eq \"work\"].streetAddress",
                json!([{"op": "replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "1010 Broadway Ave"}]),
                Ok(vec![at("/addresses/0/streetAddress", json!("1010 Broadway Ave"))]),
            ),
            (
                "filtered replace needs an object without sub-attribute",
                json!([{"op": "replace", "path": "addresses[type eq \"work\"]", "value": "x"}]),
                Err("invalidValue"),
            ),
            (
                "remove by filter removes matches only",
                json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]),
                Ok(vec![at("/emails/0/type", json!("work")), gone("/emails/1")]),
            ),
            (
                "remove by filter with no match is a no-op",
                json!([{"op": "remove", "path": "emails[type eq \"other\"]"}]),
                Ok(vec![at("/emails/1/type", json!("home"))]),
            ),
            (
                "remove a sub-attribute of matching elements",
                json!([{"op": "remove", "path": "emails[type eq \"work\"].primary"}]),
                Ok(vec![at("/emails/0", json!({"value": "bjensen@example.com", "type": "work"}))]),
            ),
            (
                "entra remove with value array removes listed elements only",
                json!([{"op": "Remove", "path": "emails", "value": [{"value": "BABS@jensen.org"}]}]),
                Ok(vec![at("/emails/0/value", json!("bjensen@example.com")), gone("/emails/1")]),
            ),
            (
                "remove multi-valued without value removes all",
                json!([{"op": "remove", "path": "emails"}]),
                Ok(vec![gone("/emails")]),
            ),
            (
                "remove simple attribute",
                json!([{"op": "remove", "path": "name.givenName"}, {"op": "remove", "path": "nickName"}]),
                Ok(vec![gone("/name/givenName"), at("/name/familyName", json!("Jensen"))]),
            ),
            ("remove without path", json!([{"op": "remove", "value": {"active": false}}]), Err("noTarget")),
            ("remove userName", json!([{"op": "remove", "path": "userName"}]), Err("invalidValue")),
            ("empty userName", json!([{"op": "replace", "path": "userName", "value": " "}]), Err("invalidValue")),
            (
                "entra replace userName; existing key casing kept",
                json!([{"op": "Replace", "path": "USERNAME", "value": "Babs@Example.com"}]),
                Ok(vec![at("/userName", json!("Babs@Example.com")), gone("/USERNAME")]),
            ),
            (
                "case-insensitive names get canonical casing",
                json!([{"op": "replace", "path": "NAME.GIVENNAME", "value": "B"}, {"op": "add", "path": "displayname", "value": "D"},
                       {"op": "add", "value": {"PREFERREDLANGUAGE": "en", "Name.MiddleName": "M"}}]),
                Ok(vec![
                    at("/name/givenName", json!("B")),
                    at("/displayName", json!("D")),
                    at("/preferredLanguage", json!("en")),
                    at("/name/middleName", json!("M")),
                ]),
            ),
            (
                "unknown attribute keeps the casing sent",
                json!([{"op": "add", "path": "favoriteColor", "value": "blue"}]),
                Ok(vec![at("/favoriteColor", json!("blue"))]),
            ),
            (
                "unknown extension kept under its URN",
                json!([{"op": "add", "path": "urn:acme:params:scim:ext:2.0:User:badge", "value": "7"},
                       {"op": "add", "value": {"urn:acme:params:scim:ext:2.0:User": {"floor": 3}}}]),
                Ok(vec![
                    at("/urn:acme:params:scim:ext:2.0:User", json!({"badge": "7", "floor": 3})),
                    at("/schemas/1", json!("urn:acme:params:scim:ext:2.0:User")),
                ]),
            ),
            (
                "replace on name merges sub-attributes",
                json!([{"op": "replace", "path": "name", "value": {"givenname": "B", "formatted": "B Jensen"}}]),
                Ok(vec![at("/name", json!({"givenName": "B", "familyName": "Jensen", "formatted": "B Jensen"}))]),
            ),
            (
                "name must be an object",
                json!([{"op": "replace", "path": "name", "value": "Babs"}]),
                Err("invalidValue"),
            ),
            (
                "simple attribute given a list",
                json!([{"op": "replace", "path": "title", "value": ["a"]}]),
                Err("invalidValue"),
            ),
            (
                "id equal to the current id is a no-op",
                json!([{"op": "replace", "value": {"id": "u1", "active": false}}, {"op": "replace", "path": "id", "value": "u1"}]),
                Ok(vec![at("/id", json!("u1")), at("/active", json!(false))]),
            ),
            ("different id in a value map", json!([{"op": "replace", "value": {"id": "u2"}}]), Err("mutability")),
            ("different id as a path", json!([{"op": "replace", "path": "id", "value": "u2"}]), Err("mutability")),
            ("remove id", json!([{"op": "remove", "path": "id"}]), Err("mutability")),
            (
                "okta PUT-like map: meta, schemas, groups ignored",
                json!([{"op": "replace", "value": {"schemas": ["x"], "meta": {"resourceType": "X"}, "groups": [], "title": "T"}}]),
                Ok(vec![
                    at("/schemas", json!([CORE_USER])),
                    at("/meta/resourceType", json!("User")),
                    gone("/groups"),
                    at("/title", json!("T")),
                ]),
            ),
            (
                "meta as explicit path",
                json!([{"op": "replace", "path": "meta.lastModified", "value": "x"}]),
                Err("mutability"),
            ),
            (
                "groups as explicit path",
                json!([{"op": "add", "path": "groups", "value": [{"value": "g"}]}]),
                Err("mutability"),
            ),
            ("schemas as explicit path", json!([{"op": "add", "path": "schemas", "value": ["x"]}]), Err("mutability")),
            (
                "password is set like any attribute",
                json!([{"op": "replace", "path": "password", "value": "1mz050nq"}]),
                Ok(vec![at("/password", json!("1mz050nq"))]),
            ),
            (
                "unterminated filter in path",
                json!([{"op": "remove", "path": "emails[type eq \"work\""}]),
                Err("invalidFilter"),
            ),
            (
                "bad filter operator in path",
                json!([{"op": "remove", "path": "emails[type is \"work\"]"}]),
                Err("invalidFilter"),
            ),
            (
                "bad path syntax",
                json!([{"op": "replace", "path": "name..givenName", "value": "x"}]),
                Err("invalidPath"),
            ),
            ("path starting with digit", json!([{"op": "replace", "path": "1abc", "value": "x"}]), Err("invalidPath")),
            (
                "filter on single-valued attribute",
                json!([{"op": "replace", "path": "name[givenName eq \"x\"]", "value": {}}]),
                Err("invalidPath"),
            ),
            (
                "sub-attribute of simple attribute",
                json!([{"op": "replace", "path": "userName.first", "value": "x"}]),
                Err("invalidPath"),
            ),
            (
                "Group schema on a user",
                json!([{"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:Group:displayName", "value": "x"}]),
                Err("invalidPath"),
            ),
            ("non-object value for path-less op", json!([{"op": "replace", "value": "active"}]), Err("invalidValue")),
            ("path-less op without value", json!([{"op": "add"}]), Err("invalidValue")),
            ("add with path but no value", json!([{"op": "add", "path": "title"}]), Err("invalidValue")),
            (
                "core User URN prefix on path and as a map key",
                json!([{"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:title", "value": "A"},
                       {"op": "replace", "value": {"urn:ietf:params:scim:schemas:core:2.0:User": {"userType": "Employee"}}}]),
                Ok(vec![at("/title", json!("A")), at("/userType", json!("Employee"))]),
            ),
            (
                "empty path is treated as absent",
                json!([{"op": "replace", "path": "", "value": {"active": false}}]),
                Ok(vec![at("/active", json!(false))]),
            ),
            (
                "null value removes the attribute",
                json!([{"op": "replace", "value": {"title": "x"}}, {"op": "replace", "path": "title", "value": null}]),
                Ok(vec![gone("/title")]),
            ),
            (
                "emails.value without filter sets every element",
                json!([{"op": "replace", "path": "ims.value", "value": "aim1"}]),
                Ok(vec![at("/ims", json!([{"value": "aim1"}]))]),
            ),
        ];
        let total = cases.len();
        for (name, operations, want) in cases {
            let mut doc = user();
            let result = apply_user(&mut doc, &ops(operations));
            match (result, want) {
                (Ok(()), Ok(checks)) => {
                    for (pointer, expected) in checks {
                        assert_eq!(doc.pointer(&pointer), expected.as_ref(), "{name}: {pointer} in {doc:#}");
                    }
                }
                (Err(e), Err(kind)) => {
                    assert_eq!(e.scim_type(), kind, "{name}: {e}");
                    assert!(!e.to_string().is_empty());
                    assert_eq!(doc, user(), "{name}: failed PATCH must leave the doc unchanged");
                }
                (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
            }
        }
        assert!(total > 60);
    }

    #[test]
    fn failed_patch_is_atomic() {
        let mut doc = user();
        let err = apply_user(
            &mut doc,
            &ops(json!([
                {"op": "replace", "path": "displayName", "value": "x"},
                {"op": "remove", "path": "userName"}
            ])),
        )
        .unwrap_err();
        assert_eq!(err, PatchError::InvalidValue("userName is required".into()));
        assert_eq!(doc, user());
    }

    #[test]
    fn non_object_document_is_an_error() {
        let mut doc = json!([1]);
        assert!(apply_user(&mut doc, &[]).is_err());
    }

    fn group(id: &str, operations: Value) -> Result<GroupPatch, PatchError> {
        group_patch(id, &ops(operations))
    }

    fn members(list: Vec<MemberOp>) -> GroupPatch {
        GroupPatch { members: list, ..GroupPatch::default() }
    }

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn group_patch_table() {
        use MemberOp::*;
        let cases: Vec<(&str, Value, Result<GroupPatch, &str>)> = vec![
            (
                "rfc add member",
                json!([{"op": "add", "path": "members", "value": [{
                    "display": "Babs Jensen",
                    "$ref": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646",
                    "value": M1
                }]}]),
                Ok(members(vec![Add(ids(&[M1]))])),
            ),
            (
                "rfc remove member by filter",
                json!([{"op": "remove", "path": format!("members[value eq \"{M1}\"]")}]),
                Ok(members(vec![Remove(ids(&[M1]))])),
            ),
            ("rfc remove all members", json!([{"op": "remove", "path": "members"}]), Ok(members(vec![RemoveAll]))),
            (
                "rfc replace members via remove + add",
                json!([
                    {"op": "remove", "path": "members"},
                    {"op": "add", "path": "members", "value": [{"display": "Babs Jensen", "value": M1}, {"display": "James Smith", "value": M2}]}
                ]),
                Ok(members(vec![RemoveAll, Add(ids(&[M1, M2]))])),
            ),
            (
                "okta full push: replace members",
                json!([{"op": "replace", "path": "members", "value": [{"value": M1, "display": "a"}, {"value": M2, "display": "b"}]}]),
                Ok(members(vec![Replace(ids(&[M1, M2]))])),
            ),
            (
                "replace members with empty list clears",
                json!([{"op": "replace", "path": "members", "value": []}]),
                Ok(members(vec![Replace(vec![])])),
            ),
            (
                "okta remove by filter then add keeps order",
                json!([
                    {"op": "remove", "path": "members[value eq \"89bb1940-b905-4575-9e7f-6f887cfb368e\"]"},
                    {"op": "add", "path": "members", "value": [{"value": "23a35c27-23d3-4c03-b4c5-6443c09e7173", "display": "test.user@okta.local"}]}
                ]),
                Ok(members(vec![
                    Remove(ids(&["89bb1940-b905-4575-9e7f-6f887cfb368e"])),
                    Add(ids(&["23a35c27-23d3-4c03-b4c5-6443c09e7173"])),
                ])),
            ),
            (
                "okta rename with id inside value",
                json!([{"op": "replace", "value": {"id": "abf4dd94-a4c0-4f67-89c9-76b03340cb9b", "displayName": "Test SCIMv2"}}]),
                Ok(GroupPatch { display_name: Some("Test SCIMv2".into()), ..GroupPatch::default() }),
            ),
            (
                "okta rename with a different id",
                json!([{"op": "replace", "value": {"id": "other", "displayName": "Test SCIMv2"}}]),
                Err("mutability"),
            ),
            (
                "entra rename",
                json!([{"op": "Replace", "path": "displayName", "value": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"}]),
                Ok(GroupPatch {
                    display_name: Some("1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName".into()),
                    ..GroupPatch::default()
                }),
            ),
            (
                "entra add member with null $ref",
                json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": "f648f8d5ea4e4cd38e9c"}]}]),
                Ok(members(vec![Add(ids(&["f648f8d5ea4e4cd38e9c"]))])),
            ),
            (
                "entra remove member by value array",
                json!([{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": "u1091"}]}]),
                Ok(members(vec![Remove(ids(&["u1091"]))])),
            ),
            (
                "members filter joined with or",
                json!([{"op": "remove", "path": "members[value eq \"a\" or value eq \"b\"]"}]),
                Ok(members(vec![Remove(ids(&["a", "b"]))])),
            ),
            (
                "members filter on display",
                json!([{"op": "remove", "path": "members[display eq \"x\"]"}]),
                Err("invalidFilter"),
            ),
            (
                "members filter with ne",
                json!([{"op": "remove", "path": "members[value ne \"x\"]"}]),
                Err("invalidFilter"),
            ),
            (
                "members filter with and",
                json!([{"op": "remove", "path": "members[value eq \"x\" and type eq \"User\"]"}]),
                Err("invalidFilter"),
            ),
            (
                "unparsable members filter",
                json!([{"op": "remove", "path": "members[value eq \"x\""}]),
                Err("invalidFilter"),
            ),
            (
                "add with members filter",
                json!([{"op": "add", "path": "members[value eq \"x\"]", "value": [{"value": "x"}]}]),
                Err("invalidPath"),
            ),
            ("members.value path", json!([{"op": "remove", "path": "members.value"}]), Err("invalidPath")),
            (
                "member without value",
                json!([{"op": "add", "path": "members", "value": [{"display": "x"}]}]),
                Err("invalidValue"),
            ),
            (
                "member value not a string",
                json!([{"op": "add", "path": "members", "value": [{"value": 7}]}]),
                Err("invalidValue"),
            ),
            ("members value not a list", json!([{"op": "add", "path": "members", "value": "x"}]), Err("invalidValue")),
            ("add members without value", json!([{"op": "add", "path": "members"}]), Err("invalidValue")),
            (
                "ids kept exactly; consecutive adds merged and deduplicated",
                json!([
                    {"op": "add", "path": "members", "value": [{"value": "ABC"}]},
                    {"op": "add", "path": "members", "value": [{"value": "abc"}, {"value": "ABC"}]}
                ]),
                Ok(members(vec![Add(ids(&["ABC", "abc"]))])),
            ),
            (
                "interleaved kinds are not merged",
                json!([
                    {"op": "add", "path": "members", "value": [{"value": "a"}]},
                    {"op": "remove", "path": "members[value eq \"b\"]"},
                    {"op": "remove", "path": "members", "value": [{"value": "c"}]},
                    {"op": "add", "path": "members", "value": {"value": "d"}}
                ]),
                Ok(members(vec![Add(ids(&["a"])), Remove(ids(&["b", "c"])), Add(ids(&["d"]))])),
            ),
            (
                "path-less map with members, schemas and meta",
                json!([{"op": "replace", "value": {"schemas": ["x"], "meta": {}, "members": [{"value": "a"}], "externalId": "e1"}}]),
                Ok(GroupPatch {
                    external_id: Some(Some("e1".into())),
                    members: vec![Replace(ids(&["a"]))],
                    ..GroupPatch::default()
                }),
            ),
            (
                "externalId replace then remove",
                json!([{"op": "replace", "path": "externalId", "value": "e1"}, {"op": "remove", "path": "externalId"}]),
                Ok(GroupPatch { external_id: Some(None), ..GroupPatch::default() }),
            ),
            (
                "externalId not a string",
                json!([{"op": "replace", "path": "externalId", "value": 5}]),
                Err("invalidValue"),
            ),
            ("remove displayName", json!([{"op": "remove", "path": "displayName"}]), Err("invalidValue")),
            (
                "empty displayName",
                json!([{"op": "replace", "path": "displayName", "value": "  "}]),
                Err("invalidValue"),
            ),
            ("displayName not a string", json!([{"op": "replace", "value": {"displayName": 3}}]), Err("invalidValue")),
            ("unknown attribute", json!([{"op": "replace", "path": "description", "value": "x"}]), Err("invalidPath")),
            ("unknown attribute in map", json!([{"op": "replace", "value": {"owner": "x"}}]), Err("invalidPath")),
            (
                "foreign schema",
                json!([{"op": "replace", "path": "urn:acme:ext:Group:owner", "value": "x"}]),
                Err("invalidPath"),
            ),
            (
                "core Group URN prefix accepted",
                json!([{"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:Group:displayName", "value": "G"}]),
                Ok(GroupPatch { display_name: Some("G".into()), ..GroupPatch::default() }),
            ),
            ("remove without path", json!([{"op": "remove"}]), Err("noTarget")),
            ("path-less value not an object", json!([{"op": "replace", "value": [1]}]), Err("invalidValue")),
            ("meta as explicit path", json!([{"op": "replace", "path": "meta", "value": {}}]), Err("mutability")),
            ("remove id", json!([{"op": "remove", "path": "id"}]), Err("mutability")),
        ];
        for (name, operations, want) in cases {
            let id = "abf4dd94-a4c0-4f67-89c9-76b03340cb9b";
            match (group(id, operations), want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{name}"),
                (Err(e), Err(kind)) => assert_eq!(e.scim_type(), kind, "{name}: {e}"),
                (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn unknown_group_attribute_is_named() {
        let err = group("g", json!([{"op": "replace", "path": "description", "value": "x"}])).unwrap_err();
        assert!(err.to_string().contains("description"), "{err}");
    }

    #[test]
    fn op_names_deserialize_case_insensitively() {
        for (name, kind) in [
            ("add", OpKind::Add),
            ("Add", OpKind::Add),
            ("REMOVE", OpKind::Remove),
            ("Replace", OpKind::Replace),
            ("rePlace", OpKind::Replace),
        ] {
            let op: PatchOp = serde_json::from_value(json!({"op": name, "path": "title", "value": "x"})).unwrap();
            assert_eq!(op.op, kind, "{name}");
        }
        let err = serde_json::from_value::<PatchOp>(json!({"op": "move", "path": "title"})).unwrap_err();
        assert!(err.to_string().contains("move"), "{err}");
        assert!(serde_json::from_value::<PatchOp>(json!({"op": 1})).is_err());
        assert!(serde_json::from_value::<PatchOp>(json!({"path": "x"})).is_err());
        let req: PatchRequest = serde_json::from_value(json!({"operations": [{"op": "remove", "path": "x"}]})).unwrap();
        assert!(req.schemas.is_empty());
        assert_eq!(req.operations.len(), 1);
        assert_eq!(req.operations[0].value, None);
        let op: PatchOp = serde_json::from_value(json!({"op": "replace", "path": "x", "value": null})).unwrap();
        assert_eq!(op.value, Some(Value::Null));
        assert!(serde_json::from_value::<PatchRequest>(json!({"Operations": [{"op": "copy"}]})).is_err());
    }

    #[test]
    fn never_panics_on_garbage_paths() {
        let values =
            [json!(null), json!("x"), json!(true), json!([{"value": "a", "primary": true}]), json!({"value": "a"})];
        for (i, path) in crate::scim::filter::tests::fuzz_inputs(5_000).into_iter().enumerate() {
            for kind in ["add", "replace", "remove"] {
                let value = &values[i % values.len()];
                let ops = ops(json!([{"op": kind, "path": path, "value": value}]));
                let _ = apply_user(&mut user(), &ops);
                let _ = group_patch("g", &ops);
            }
        }
    }

    #[test]
    fn scim_types() {
        let cases = [
            (PatchError::InvalidPath(String::new()), "invalidPath"),
            (PatchError::InvalidValue(String::new()), "invalidValue"),
            (PatchError::NoTarget(String::new()), "noTarget"),
            (PatchError::Mutability(String::new()), "mutability"),
            (PatchError::InvalidFilter(String::new()), "invalidFilter"),
        ];
        for (err, want) in cases {
            assert_eq!(err.scim_type(), want);
        }
    }
}
