//! PATCH on a User: the operations run, in order, on the SCIM JSON document (keys in the schema's camelCase, the
//! enterprise extension under its URN key). The service then validates the result like a PUT body.
use super::*;
use crate::scim::filter::{CompValue, CompareOp, Filter};
use crate::scim::schema::{ENTERPRISE_ATTRIBUTES, ResourceType, SCHEMAS_ATTRIBUTE, Type};
use crate::scim::{SCHEMA_ENTERPRISE_USER as ENTERPRISE_USER, SCHEMA_USER as CORE_USER};
use std::collections::{HashMap, HashSet};

/// Core schema URNs start so; none but the User's applies to a User.
const CORE_PREFIX: &str = "urn:ietf:params:scim:schemas:core:";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Core,
    Enterprise,
    Other,
}

impl Scope {
    /// The schema table's definition of `name` in this scope.
    fn attribute(self, name: &str) -> Option<&'static Attribute> {
        match self {
            Scope::Core if eq_ci(name, "schemas") => Some(&SCHEMAS_ATTRIBUTE),
            Scope::Core => ResourceType::User.attribute(name),
            Scope::Enterprise => find(ENTERPRISE_ATTRIBUTES, name),
            Scope::Other => None,
        }
    }

    /// An existing key keeps its casing; otherwise the schema's spelling, else as sent.
    fn key(self, map: &Map<String, Value>, name: &str) -> String {
        map.keys()
            .find(|k| eq_ci(k, name))
            .cloned()
            .unwrap_or_else(|| self.attribute(name).map_or_else(|| name.to_string(), |a| a.name.to_string()))
    }
}

/// How an attribute behaves under PATCH; the slice is its sub-attribute table.
#[derive(Debug, Clone, Copy)]
enum Shape {
    Multi(&'static [Attribute]),
    Complex(&'static [Attribute]),
    Simple,
}

fn known_shape(scope: Scope, key: &str) -> Option<Shape> {
    let a = scope.attribute(key)?;
    Some(if a.multi_valued {
        Shape::Multi(a.sub_attributes)
    } else if a.ty == Type::Complex {
        Shape::Complex(a.sub_attributes)
    } else {
        Shape::Simple
    })
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
pub fn apply_user(doc: &mut Value, ops: &[PatchOp]) -> Result<()> {
    let Some(original) = doc.as_object() else {
        return Err(Error::InvalidValue("the stored user is not a JSON object".into()));
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

fn apply_one(doc: &mut Map<String, Value>, op: &PatchOp) -> Result<()> {
    let Some(path) = op_path(op) else {
        return apply_map(doc, op.op, pathless_map(op)?, None);
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
fn apply_map(doc: &mut Map<String, Value>, kind: OpKind, map: &Map<String, Value>, ext: Option<&str>) -> Result<()> {
    for (key, value) in map {
        if ext.is_none() {
            if eq_ci(key, CORE_USER) {
                match value {
                    Value::Object(inner) => apply_map(doc, kind, inner, None)?,
                    _ => {
                        return Err(Error::InvalidValue(format!("\"{key}\" must hold an object of attributes")));
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
                return Err(Error::InvalidPath(format!("\"{key}\" inside \"{ext}\" must be a plain attribute name")));
            }
            path.attr.schema = Some(ext.to_string());
        }
        apply_path(doc, kind, &path, Some(value), true)?;
    }
    Ok(())
}

/// A whole extension as target: add/replace merge its attributes (complex attribute rule of
/// RFC 7644 §3.5.2.3), remove drops it.
fn apply_extension(doc: &mut Map<String, Value>, kind: OpKind, key: &str, value: Option<&Value>) -> Result<()> {
    let storage = extension_storage_key(doc, key);
    match (kind, value) {
        (OpKind::Remove, _) | (_, Some(Value::Null)) => {
            doc.remove(&storage);
            Ok(())
        }
        (_, Some(Value::Object(map))) => apply_map(doc, kind, map, Some(&storage)),
        _ => Err(Error::InvalidValue(format!("\"{key}\" must be given an object of extension attributes"))),
    }
}

fn check_id(doc: &Map<String, Value>, kind: OpKind, value: Option<&Value>) -> Result<()> {
    if kind != OpKind::Remove && value.is_some() && value == get_ci(doc, "id") {
        return Ok(());
    }
    Err(Error::Mutability("id is assigned by the server and cannot be changed".into()))
}

fn apply_path(
    doc: &mut Map<String, Value>,
    kind: OpKind,
    path: &PatchPath,
    value: Option<&Value>,
    from_map: bool,
) -> Result<()> {
    let (scope, ext) = match path.attr.schema.as_deref() {
        None => (Scope::Core, None),
        Some(s) if eq_ci(s, CORE_USER) => (Scope::Core, None),
        Some(s) if s.to_ascii_lowercase().starts_with(CORE_PREFIX) => {
            return Err(Error::InvalidPath(format!("schema \"{s}\" does not apply to Users")));
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
                Err(Error::Mutability(format!("{} is read-only", Scope::Core.key(&Map::new(), attr))))
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
            entry.as_object_mut().ok_or_else(|| Error::InvalidValue(format!("stored \"{key}\" is not an object")))?
        }
    };
    let key = scope.key(container, &path.attr.attr);
    let shape = resolve_shape(scope, &key, container.get(&key), path, value);
    let target = Target { key, shape, scope, kind, value };
    match (&path.filter, &path.attr.sub_attr) {
        (Some(_), Some(_)) => Err(Error::InvalidPath("a sub-attribute goes after the filter: attr[filter].sub".into())),
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

    fn required_value(&self) -> Result<&Value> {
        self.value.ok_or_else(|| Error::InvalidValue(format!("{} of {} needs a \"value\"", self.kind.name(), self.key)))
    }

    /// Removing (or nulling) userName/active would leave the user invalid (RFC 7643 §4.1).
    fn check_removable(&self) -> Result<()> {
        if self.is("userName") {
            return Err(Error::InvalidValue("userName is required".into()));
        }
        // A user is active or not; roster has no third state to remove it to. RFC 7644 §3.12 `mutability`: the
        // change does not fit the attribute's current state.
        if self.is("active") && self.kind == OpKind::Remove {
            return Err(Error::Mutability(
                "active cannot be removed: a user is active or not. To deactivate, replace active with false".into(),
            ));
        }
        if self.is("active") {
            return Err(Error::InvalidValue("active must be true or false".into()));
        }
        Ok(())
    }

    fn whole(&self, container: &mut Map<String, Value>) -> Result<()> {
        let key = &self.key;
        if self.kind == OpKind::Remove {
            self.check_removable()?;
            match (self.shape, self.value) {
                // Entra: {"op":"Remove","path":"emails","value":[{"value":"a@b.c"}]} removes
                // only the listed elements.
                (Shape::Multi(_), Some(v)) if !v.is_null() => {
                    let targets: HashSet<ElementKey> = as_list(key, v)?.iter().map(element_key).collect();
                    if let Some(Value::Array(list)) = container.get_mut(key) {
                        list.retain(|e| !targets.contains(&element_key(e)));
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
                        return Err(Error::InvalidValue(format!(
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
    fn complex_value(&self, value: &Value) -> Result<Map<String, Value>> {
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
                _ => Err(Error::InvalidValue("manager must be an object".into())),
            },
            _ => Err(Error::InvalidValue(format!("{} must be an object of sub-attributes", self.key))),
        }
    }

    fn simple_value(&self, value: &Value) -> Result<Value> {
        if self.is("active") {
            return boolean("active", value).map(Value::Bool);
        }
        if self.is("userName") && value.as_str().is_none_or(|s| s.trim().is_empty()) {
            return Err(Error::InvalidValue("userName must be a non-empty string".into()));
        }
        if (value.is_object() || value.is_array()) && known_shape(self.scope, &self.key).is_some() {
            return Err(Error::InvalidValue(format!(
                "{} takes a single value, not {}",
                self.key,
                if value.is_array() { "a list" } else { "an object" }
            )));
        }
        Ok(value.clone())
    }

    /// `name.givenName`, `manager.value`, or `emails.value` (every element, RFC 7644 §3.5.2).
    fn sub_attribute(&self, container: &mut Map<String, Value>, sub: &str) -> Result<()> {
        let key = &self.key;
        match self.shape {
            Shape::Simple => Err(Error::InvalidPath(format!("{key} has no sub-attribute \"{sub}\""))),
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
                            return Err(Error::InvalidPath(format!("{key} is not a complex attribute")));
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
    fn filtered(&self, container: &mut Map<String, Value>, filter: &Filter, elem_sub: Option<&str>) -> Result<()> {
        let key = &self.key;
        let Shape::Multi(subs) = self.shape else {
            return Err(Error::InvalidPath(format!("{key} is not multi-valued, so it cannot take a [filter]")));
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
                return Err(Error::InvalidValue(format!("replacing {key}[...] needs an object value")));
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
                return Err(Error::NoTarget(format!("no {key} entry matches the filter")));
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

fn as_list(key: &str, value: &Value) -> Result<Vec<Value>> {
    match value {
        Value::Array(items) => Ok(items.clone()),
        Value::Object(_) => Ok(vec![value.clone()]),
        _ => Err(Error::InvalidValue(format!("{key} must be a list of objects"))),
    }
}

fn ensure_array<'m>(container: &'m mut Map<String, Value>, key: &str) -> Result<&'m mut Vec<Value>> {
    let entry = container.entry(key.to_string()).or_insert_with(|| Value::Array(Vec::new()));
    if !entry.is_array() {
        let old = std::mem::take(entry);
        *entry = Value::Array(if old.is_null() { Vec::new() } else { vec![old] });
    }
    entry.as_array_mut().ok_or_else(|| Error::InvalidValue(format!("stored {key} is not a list")))
}

/// Canonical sub-attribute casing, `primary` coerced to bool, nulls dropped (unassigned).
fn normalize_element(key: &str, subs: &'static [Attribute], element: Value) -> Result<Value> {
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
        _ => Err(Error::InvalidValue(format!("each {key} entry must be an object"))),
    }
}

fn normalize_sub(key: &str, sub: &str, value: &Value) -> Result<Value> {
    if eq_ci(sub, "primary") { boolean(&format!("{key}.primary"), value).map(Value::Bool) } else { Ok(value.clone()) }
}

fn merge_object(target: &mut Map<String, Value>, source: &Map<String, Value>, subs: &'static [Attribute]) {
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

/// What makes two elements of a multi-valued attribute the same for add and remove: the `value`, without regard to
/// case, or the whole element when it has no `value`. Keys make `union` and removal O(n) instead of comparing every
/// new element with every stored one.
#[derive(Debug, PartialEq, Eq, Hash)]
enum ElementKey {
    Value(String),
    Whole(String),
    Bare(String),
}

fn element_key(v: &Value) -> ElementKey {
    match v {
        Value::Object(m) => match get_ci(m, "value") {
            Some(value) => ElementKey::Value(scalar_key(value)),
            None => ElementKey::Whole(canonical_json(v)),
        },
        other => ElementKey::Bare(scalar_key(other)),
    }
}

fn scalar_key(v: &Value) -> String {
    match v {
        Value::String(s) => format!("s:{}", s.to_lowercase()),
        other => format!("j:{}", canonical_json(other)),
    }
}

/// JSON with object keys sorted, so equal values give equal text whatever order their keys were sent in.
fn canonical_json(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut pairs: Vec<(&String, &Value)> = m.iter().collect();
            pairs.sort_by(|a, b| a.0.cmp(b.0));
            let inner: Vec<String> =
                pairs.into_iter().map(|(k, v)| format!("{}:{}", Value::from(k.as_str()), canonical_json(v))).collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(canonical_json).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

/// add on a multi-valued attribute appends only new elements (RFC 7644 §3.5.2.1: "no changes SHOULD be made" for a
/// value already present); a duplicate's other sub-attributes are merged.
fn union(list: &mut Vec<Value>, items: Vec<Value>) {
    let mut index: HashMap<ElementKey, usize> = HashMap::with_capacity(list.len() + items.len());
    for (i, e) in list.iter().enumerate() {
        index.entry(element_key(e)).or_insert(i);
    }
    let mut primary = None;
    for item in items {
        let key = element_key(&item);
        let at = match index.get(&key) {
            Some(&i) => {
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
                index.insert(key, list.len() - 1);
                list.len() - 1
            }
        };
        if list.get(at).is_some_and(is_primary) {
            primary = Some(at);
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
