//! PATCH on a Group, turned into a delta: a rename, an externalId and membership operations, which the service
//! applies in O(changed members) without loading the group's members.
use super::*;
use crate::scim::SCHEMA_GROUP as CORE_GROUP;
use crate::scim::filter::{CompValue, CompareOp, Filter};
use crate::scim::resource::member_ids;
use crate::scim::schema::{ResourceType, SCHEMAS_ATTRIBUTE};
use std::collections::HashSet;

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

impl MemberOp {
    /// How many member ids the operation names.
    pub fn len(&self) -> usize {
        match self {
            MemberOp::Add(ids) | MemberOp::Remove(ids) | MemberOp::Replace(ids) => ids.len(),
            MemberOp::RemoveAll => 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Turns group ops into a delta so that a membership change costs O(changed members), never loading the group. Op
/// order is kept (`[remove X, add Y]` → `[Remove([X]), Add([Y])]`); consecutive ops of the same kind are merged.
pub fn group_patch(group_id: &str, ops: &[PatchOp]) -> Result<GroupPatch> {
    let mut r = Reading { patch: GroupPatch::default(), members: MemberOps::default(), group_id };
    for op in ops {
        match op_path(op) {
            None => {
                for (key, value) in pathless_map(op)? {
                    let path = parse_patch_path(key)?;
                    r.op(op.op, key, &path, Some(value), true)?;
                }
            }
            Some(raw) => {
                let path = parse_patch_path(raw)?;
                r.op(op.op, raw, &path, op.value.as_ref(), false)?;
            }
        }
    }
    let named: usize = r.members.ops.iter().map(MemberOp::len).sum();
    if named > crate::scim::MAX_MEMBERS_PER_REQUEST {
        return Err(crate::scim::resource::too_many_members(named));
    }
    r.patch.members = r.members.ops;
    Ok(r.patch)
}

/// A group PATCH being read: the attributes it sets and its member operations so far.
struct Reading<'a> {
    patch: GroupPatch,
    members: MemberOps,
    group_id: &'a str,
}

impl Reading<'_> {
    /// One operation on one attribute (`from_map`: a pathless op's map entry).
    fn op(&mut self, kind: OpKind, raw: &str, path: &PatchPath, value: Option<&Value>, from_map: bool) -> Result<()> {
        if path.attr.schema.as_deref().is_some_and(|s| !eq_ci(s, CORE_GROUP)) {
            return Err(Error::InvalidPath(format!("unknown Group attribute \"{raw}\"")));
        }
        let attr = ResourceType::Group
            .attribute(&path.attr.attr)
            .or_else(|| eq_ci(&path.attr.attr, SCHEMAS_ATTRIBUTE.name).then_some(&SCHEMAS_ATTRIBUTE))
            .ok_or_else(|| {
                Error::InvalidPath(format!(
                    "unknown Group attribute \"{raw}\"; only displayName, externalId and members can be patched"
                ))
            })?;
        let plain = path.filter.is_none() && path.attr.sub_attr.is_none() && path.sub_attr.is_none();
        if attr.name == "members" {
            if path.attr.sub_attr.is_some() || path.sub_attr.is_some() {
                return Err(Error::InvalidPath(format!(
                    "\"{raw}\" is not supported; use members or members[value eq \"<id>\"]"
                )));
            }
            let op = match (&path.filter, kind) {
            (Some(filter), OpKind::Remove) => {
                MemberOp::Remove(member_filter_ids(filter).ok_or_else(|| {
                    Error::InvalidFilter(format!(
                        "unsupported members filter in \"{raw}\"; use members[value eq \"<id>\"] (optionally joined with or)"
                    ))
                })?)
            }
            (Some(_), _) => {
                return Err(Error::InvalidPath(format!(
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
            self.members.push(op);
            return Ok(());
        }
        if !plain {
            return Err(Error::InvalidPath(format!(
                "\"{raw}\": Group attribute {} has no sub-attributes or filters",
                attr.name
            )));
        }
        match attr.name {
            "displayName" => {
                if kind == OpKind::Remove {
                    return Err(Error::InvalidValue("displayName is required".into()));
                }
                match required(value, "displayName")? {
                    Value::String(s) if !s.trim().is_empty() => {
                        check_length(attr, s)?;
                        crate::scim::check_str("displayName", s, true)?;
                        self.patch.display_name = Some(s.clone());
                        Ok(())
                    }
                    _ => Err(Error::InvalidValue("displayName must be a non-empty string".into())),
                }
            }
            "externalId" => {
                self.patch.external_id = Some(match (kind, value) {
                    (OpKind::Remove, _) | (_, Some(Value::Null)) => None,
                    (_, Some(Value::String(s))) => {
                        check_length(attr, s)?;
                        crate::scim::check_str("externalId", s, true)?;
                        Some(s.clone())
                    }
                    _ => return Err(Error::InvalidValue("externalId must be a string".into())),
                });
                Ok(())
            }
            "id" => match (kind, value) {
                (OpKind::Add | OpKind::Replace, Some(Value::String(id))) if id == self.group_id => Ok(()),
                _ => Err(Error::Mutability("id is assigned by the server and cannot be changed".into())),
            },
            // Okta echoes these inside path-less maps; named as a path they are an attempt to change them.
            _ if from_map => Ok(()),
            name => Err(Error::Mutability(format!("{name} is read-only"))),
        }
    }
}

fn required<'v>(value: Option<&'v Value>, attr: &str) -> Result<&'v Value> {
    value.ok_or_else(|| Error::InvalidValue(format!("{attr} needs a \"value\"")))
}

fn check_length(attr: &Attribute, value: &str) -> Result<()> {
    match crate::scim::too_long(attr.name, value) {
        Some(msg) if attr.indexed() => Err(Error::InvalidValue(msg)),
        _ => Ok(()),
    }
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

/// The membership ops being built. Consecutive ops of one kind merge, and ids are de-duplicated against a set kept
/// for the last op, so building costs O(ids sent) however many ops carry them.
#[derive(Default)]
struct MemberOps {
    ops: Vec<MemberOp>,
    /// The ids of the last op in `ops`.
    seen: HashSet<String>,
}

impl MemberOps {
    fn push(&mut self, op: MemberOp) {
        match op {
            MemberOp::Add(ids) | MemberOp::Remove(ids) if ids.is_empty() => {}
            MemberOp::RemoveAll => {
                if self.ops.last() != Some(&MemberOp::RemoveAll) {
                    self.seen.clear();
                    self.ops.push(MemberOp::RemoveAll);
                }
            }
            MemberOp::Replace(ids) => {
                // A later replace makes an earlier one moot.
                if matches!(self.ops.last(), Some(MemberOp::Replace(_))) {
                    self.ops.pop();
                }
                self.seen.clear();
                let ids = self.unique(ids);
                self.ops.push(MemberOp::Replace(ids));
            }
            MemberOp::Add(ids) => self.extend(ids, true),
            MemberOp::Remove(ids) => self.extend(ids, false),
        }
    }

    fn extend(&mut self, ids: Vec<String>, add: bool) {
        let ids = match self.ops.last() {
            Some(MemberOp::Add(_)) if add => self.unique(ids),
            Some(MemberOp::Remove(_)) if !add => self.unique(ids),
            _ => {
                self.seen.clear();
                let ids = self.unique(ids);
                self.ops.push(if add { MemberOp::Add(ids) } else { MemberOp::Remove(ids) });
                return;
            }
        };
        if let Some(MemberOp::Add(prev) | MemberOp::Remove(prev)) = self.ops.last_mut() {
            prev.extend(ids);
        }
    }

    /// The ids not yet in the last op, in the order sent.
    fn unique(&mut self, ids: Vec<String>) -> Vec<String> {
        ids.into_iter().filter(|id| self.seen.insert(id.clone())).collect()
    }
}
