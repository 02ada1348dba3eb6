//! SCIM PATCH (RFC 7644 §3.5.2) for Users (applied to the JSON document, [`user`]) and Groups (turned into a
//! membership delta, [`group`]), tolerant of the shapes Okta and Entra ID actually send: path-less value maps,
//! `"Replace"`/`"False"`, dotted and URN-prefixed keys, remove-by-value arrays and filtered replaces that must upsert.
//! Attribute names, shapes and sub-attributes come from the schema table ([`super::schema`]).
mod group;
#[cfg(test)]
mod tests;
mod user;

pub use group::{GroupPatch, MemberOp, group_patch};
pub use user::apply_user;

use super::filter::{self, PatchPath};
use super::get_ci;
use super::schema::{Attribute, find};
use crate::{Error, Result};
use serde::Deserialize;
use serde::de::{Deserializer, Error as _};
use serde_json::{Map, Value};

/// The most operations one PATCH may carry; more get 400 `tooMany`.
pub const MAX_PATCH_OPS: usize = 1000;

/// Body of a PATCH request (RFC 7644 §3.5.2). `operations` is also accepted in lower case.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct PatchRequest {
    #[serde(default)]
    pub schemas: Vec<String>,
    #[serde(rename = "Operations", alias = "operations")]
    pub operations: Vec<PatchOp>,
}

impl PatchRequest {
    /// A PatchOp message from a request body, with its operation count capped at [`MAX_PATCH_OPS`].
    pub fn parse(body: Value) -> Result<PatchRequest> {
        super::check_patch_text(&body)?;
        let req: PatchRequest = serde_json::from_value(body)
            .map_err(|e| Error::InvalidSyntax(format!("not a valid PatchOp request: {e}")))?;
        if req.operations.len() > MAX_PATCH_OPS {
            return Err(Error::TooMany(format!("at most {MAX_PATCH_OPS} operations per PATCH")));
        }
        Ok(req)
    }
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

/// `op` value. Deserialised case-insensitively: Entra sends "Add"/"Replace"/"Remove", Okta lower case.
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

/// Parses a PATCH path; errors inside `[...]` are `invalidFilter` (RFC 7644 §3.12 lists PATCH filters under that
/// type), errors in the attribute part are `invalidPath`.
fn parse_patch_path(path: &str) -> Result<PatchPath> {
    filter::parse_path_detailed(path).map_err(|e| {
        let msg = format!("invalid path \"{path}\": {}", e.error);
        if e.in_filter { Error::InvalidFilter(msg) } else { Error::InvalidPath(msg) }
    })
}

/// An empty or blank `path` is treated as absent.
fn op_path(op: &PatchOp) -> Option<&str> {
    op.path.as_deref().map(str::trim).filter(|p| !p.is_empty())
}

/// `remove` needs a path; path-less `add`/`replace` need an object of attributes (RFC 7644 §3.5.2).
fn pathless_map(op: &PatchOp) -> Result<&Map<String, Value>> {
    if op.op == OpKind::Remove {
        return Err(Error::NoTarget("remove needs a \"path\" (RFC 7644 §3.5.2.2)".into()));
    }
    match &op.value {
        Some(Value::Object(map)) => Ok(map),
        _ => Err(Error::InvalidValue(format!(
            "{} without a \"path\" needs an object \"value\" of attributes",
            op.op.name()
        ))),
    }
}

fn eq_ci(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// The canonical spelling of `name` from `table`, else `name` as sent.
fn canonical(table: &'static [Attribute], name: &str) -> String {
    find(table, name).map_or_else(|| name.to_string(), |a| a.name.to_string())
}

/// An existing key keeps its casing; otherwise the canonical name from `table`, else as sent.
fn resolve_key(map: &Map<String, Value>, name: &str, table: &'static [Attribute]) -> String {
    map.keys().find(|k| eq_ci(k, name)).cloned().unwrap_or_else(|| canonical(table, name))
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

/// A boolean, also from the "True"/"False" strings Entra's default jobs send.
fn boolean(name: &str, value: &Value) -> Result<bool> {
    super::coerce_bool(value).ok_or_else(|| Error::InvalidValue(format!("{name} must be true or false, got {value}")))
}
