//! SCIM filter expressions (RFC 7644 §3.4.2.2) and PATCH paths (RFC 7644 §3.5.2, §3.10).
//!
//! A hand-written recursive-descent parser with hard limits on input size and nesting, so
//! that a broken or hostile IdP request yields a [`FilterError`] (scimType `invalidFilter`,
//! RFC 7644 §3.12) instead of a stack overflow. The resulting tree is meant to be turned into
//! SQL by the caller; [`Filter::matches`] evaluates the same semantics in memory.

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::Value;

/// Longest filter or path accepted, in bytes; Okta/Entra lookups are far shorter.
const MAX_INPUT: usize = 4096;
/// Deepest nesting of `(`, `not (` and `[` accepted; bounds parser recursion.
const MAX_DEPTH: usize = 32;

/// `attrPath = [URI ":"] ATTRNAME *1subAttr` (RFC 7644 §3.10), kept as written.
#[derive(Debug, Clone, PartialEq)]
pub struct AttrPath {
    /// Schema URN prefix when written, e.g. "urn:ietf:params:scim:schemas:core:2.0:User" (as written).
    pub schema: Option<String>,
    /// Attribute name as written ("userName", "emails", "name").
    pub attr: String,
    /// Sub-attribute as written ("givenName" in "name.givenName").
    pub sub_attr: Option<String>,
}

impl AttrPath {
    /// Lower-cased dotted key without the schema: "name.givenname", "username", "emails.value",
    /// "meta.lastmodified". Attribute names are case-insensitive (RFC 7643 §2.1), so this is the
    /// lookup key for column mappings.
    pub fn key(&self) -> String {
        let mut key = self.attr.to_ascii_lowercase();
        if let Some(sub) = &self.sub_attr {
            key.push('.');
            key.push_str(&sub.to_ascii_lowercase());
        }
        key
    }
}

/// Attribute operators of RFC 7644 §3.4.2.2 Table 3 (`pr` is [`Filter::Present`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

/// `compValue = false / null / true / number / string` (JSON literals, RFC 7644 §3.4.2.2).
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    Str(String),
    Number(serde_json::Number),
    Bool(bool),
    Null,
}

/// Parsed filter tree. `and`/`or` chains are left-associative.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Present(AttrPath),
    Compare {
        path: AttrPath,
        op: CompareOp,
        value: CompValue,
    },
    Not(Box<Filter>),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    /// `emails[type eq "work"]`: true when one element of multi-valued `attr` matches `filter`;
    /// paths inside `filter` are relative to the element (their `attr` is the sub-attribute name, e.g. "type").
    ValuePath {
        attr: AttrPath,
        filter: Box<Filter>,
    },
}

/// Why a filter or path was rejected; the text is shown to the IdP admin as the SCIM `detail`.
/// Maps to scimType `invalidFilter` (or `invalidPath` for [`parse_path`]), RFC 7644 §3.12.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct FilterError(pub String);

/// PATCH target: `PATH = attrPath / valuePath [subAttr]` (RFC 7644 §3.5.2).
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attr: AttrPath,
    pub filter: Option<Filter>,
    pub sub_attr: Option<String>,
}

/// Parses a `filter` query parameter (RFC 7644 §3.4.2.2). Operators, keywords and attribute
/// names are case-insensitive; `not` binds tighter than `and`, which binds tighter than `or`.
/// Also accepts Entra's non-RFC `emails[type eq "work"].value eq "x"`, normalised to
/// `ValuePath { emails, And(type eq "work", value eq "x") }`.
pub fn parse(input: &str) -> Result<Filter, FilterError> {
    check_len(input, "filter")?;
    let mut p = Parser::new(input);
    p.skip_ws();
    if p.at_end() {
        return Err(FilterError("filter is empty".into()));
    }
    let filter = p.parse_or(false)?;
    p.skip_ws();
    if !p.at_end() {
        return Err(p.unexpected(p.pos, "'and', 'or' or end of filter"));
    }
    Ok(filter)
}

/// Parses a PATCH `path` (RFC 7644 §3.5.2): `members`, `name.familyName`,
/// `emails[type eq "work"].value`, URN-prefixed enterprise attributes.
pub fn parse_path(input: &str) -> Result<PatchPath, FilterError> {
    parse_path_detailed(input).map_err(|e| e.error)
}

/// Error from [`parse_path_detailed`], telling whether the bracketed filter (scimType
/// `invalidFilter`) or the path around it (`invalidPath`) was at fault (RFC 7644 §3.12).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PathError {
    pub in_filter: bool,
    pub error: FilterError,
}

pub(crate) fn parse_path_detailed(input: &str) -> Result<PatchPath, PathError> {
    let path_err = |error| PathError { in_filter: false, error };
    let filter_err = |error| PathError { in_filter: true, error };
    check_len(input, "path").map_err(path_err)?;
    let mut p = Parser::new(input);
    p.skip_ws();
    if p.at_end() {
        return Err(path_err(FilterError("path is empty".into())));
    }
    let start = p.pos;
    let word = p.take_word();
    if word.is_empty() {
        return Err(path_err(p.unexpected(start, "an attribute name")));
    }
    let attr = parse_attr_path(word).map_err(|m| path_err(p.error(start, &m)))?;
    let mut filter = None;
    let mut sub_attr = None;
    if p.peek() == Some(b'[') {
        if attr.sub_attr.is_some() {
            return Err(path_err(p.error(p.pos, "'[' must follow a multi-valued attribute, not a sub-attribute")));
        }
        let open = p.pos;
        p.pos += 1;
        p.enter(open).map_err(filter_err)?;
        let inner = p.parse_or(true).map_err(filter_err)?;
        p.expect_close(b']').map_err(filter_err)?;
        p.leave();
        filter = Some(inner);
        if p.peek() == Some(b'.') {
            p.pos += 1;
            let sub_start = p.pos;
            let sub = p.take_word();
            validate_name(sub).map_err(|m| path_err(p.error(sub_start, &m)))?;
            sub_attr = Some(sub.to_string());
        }
    }
    p.skip_ws();
    if !p.at_end() {
        return Err(path_err(p.unexpected(p.pos, "end of path")));
    }
    Ok(PatchPath { attr, filter, sub_attr })
}

fn check_len(input: &str, what: &str) -> Result<(), FilterError> {
    if input.len() > MAX_INPUT {
        return Err(FilterError(format!("{what} is too long ({} bytes, limit {MAX_INPUT})", input.len())));
    }
    Ok(())
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'$' | b':' | b'.')
}

fn comparison_op(word: &str) -> Option<Option<CompareOp>> {
    let op = match word.to_ascii_lowercase().as_str() {
        "pr" => return Some(None),
        "eq" => CompareOp::Eq,
        "ne" => CompareOp::Ne,
        "co" => CompareOp::Co,
        "sw" => CompareOp::Sw,
        "ew" => CompareOp::Ew,
        "gt" => CompareOp::Gt,
        "ge" => CompareOp::Ge,
        "lt" => CompareOp::Lt,
        "le" => CompareOp::Le,
        _ => return None,
    };
    Some(Some(op))
}

/// `ATTRNAME = ALPHA *(nameChar)`, plus a leading `$` for `$ref` (RFC 7643 §2.1).
fn validate_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    match chars.next() {
        None => return Err("missing attribute name".into()),
        Some(c) if c.is_ascii_alphabetic() || c == '$' => {}
        Some(_) => return Err(format!("attribute name '{name}' must start with a letter")),
    }
    if chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '$')) {
        Ok(())
    } else {
        Err(format!("'{name}' is not a valid attribute name"))
    }
}

/// Splits `urn:…:User:name.givenName` at the last ':' (the URN itself contains ':' and '.').
fn parse_attr_path(word: &str) -> Result<AttrPath, String> {
    let (schema, rest) = match word.rfind(':') {
        Some(i) => (Some(&word[..i]), &word[i + 1..]),
        None => (None, word),
    };
    if schema.is_some_and(str::is_empty) {
        return Err(format!("missing schema URN before ':' in '{word}'"));
    }
    let mut parts = rest.split('.');
    let attr = parts.next().unwrap_or_default();
    let sub = parts.next();
    if parts.next().is_some() {
        return Err(format!("'{rest}' has too many '.' parts; use attribute.subAttribute"));
    }
    validate_name(attr)?;
    if let Some(sub) = sub {
        validate_name(sub)?;
    }
    Ok(AttrPath { schema: schema.map(str::to_string), attr: attr.to_string(), sub_attr: sub.map(str::to_string) })
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Self {
        Parser { src, pos: 0, depth: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn word_at(&self, pos: usize) -> &'a str {
        let bytes = self.src.as_bytes();
        let mut end = pos;
        while end < bytes.len() && is_word_byte(bytes[end]) {
            end += 1;
        }
        self.src.get(pos..end).unwrap_or_default()
    }

    fn take_word(&mut self) -> &'a str {
        let word = self.word_at(self.pos);
        self.pos += word.len();
        word
    }

    fn keyword_here(&self, keyword: &str) -> bool {
        self.word_at(self.pos).eq_ignore_ascii_case(keyword)
    }

    /// 1-based character column, as an admin would count it.
    fn column(&self, pos: usize) -> usize {
        self.src.get(..pos).map_or(pos, |s| s.chars().count()) + 1
    }

    fn describe(&self, pos: usize) -> String {
        let Some(rest) = self.src.get(pos..).filter(|r| !r.is_empty()) else {
            return "end of input".into();
        };
        let word = self.word_at(pos);
        let shown: String = if !word.is_empty() {
            word.chars().take(32).collect()
        } else if let Some(body) = rest.strip_prefix('"') {
            let end = body.find('"').map_or(rest.len(), |i| i + 2);
            rest[..end].chars().take(32).collect()
        } else {
            rest.chars().take(1).collect()
        };
        format!("'{shown}'")
    }

    fn error(&self, pos: usize, msg: &str) -> FilterError {
        FilterError(format!("{msg} at position {}", self.column(pos)))
    }

    fn unexpected(&self, pos: usize, expected: &str) -> FilterError {
        FilterError(format!("unexpected {} at position {}, expected {expected}", self.describe(pos), self.column(pos)))
    }

    fn enter(&mut self, pos: usize) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(pos, &format!("filter is nested too deeply (limit {MAX_DEPTH} levels)")));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn expect_close(&mut self, close: u8) -> Result<(), FilterError> {
        self.skip_ws();
        if self.peek() == Some(close) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected(self.pos, &format!("'and', 'or' or '{}'", close as char)))
        }
    }

    fn parse_or(&mut self, in_brackets: bool) -> Result<Filter, FilterError> {
        let mut left = self.parse_and(in_brackets)?;
        loop {
            self.skip_ws();
            if !self.keyword_here("or") {
                return Ok(left);
            }
            self.pos += 2;
            let right = self.parse_and(in_brackets)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
    }

    fn parse_and(&mut self, in_brackets: bool) -> Result<Filter, FilterError> {
        let mut left = self.parse_unary(in_brackets)?;
        loop {
            self.skip_ws();
            if !self.keyword_here("and") {
                return Ok(left);
            }
            self.pos += 3;
            let right = self.parse_unary(in_brackets)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
    }

    fn parse_group(&mut self, start: usize, in_brackets: bool) -> Result<Filter, FilterError> {
        self.enter(start)?;
        let inner = self.parse_or(in_brackets)?;
        self.expect_close(b')')?;
        self.leave();
        Ok(inner)
    }

    fn parse_unary(&mut self, in_brackets: bool) -> Result<Filter, FilterError> {
        self.skip_ws();
        let start = self.pos;
        if self.keyword_here("not") {
            let mut next = start + 3;
            let bytes = self.src.as_bytes();
            while bytes.get(next).is_some_and(|b| b.is_ascii_whitespace()) {
                next += 1;
            }
            if bytes.get(next) == Some(&b'(') {
                self.pos = next + 1;
                let inner = self.parse_group(start, in_brackets)?;
                return Ok(Filter::Not(Box::new(inner)));
            }
            // `not eq "x"` is an attribute called "not"; anything else lacks the '(' of §3.4.2.2.
            if comparison_op(self.word_at(next)).is_none() {
                return Err(self.unexpected(next, "'(' after 'not'"));
            }
        }
        if self.peek() == Some(b'(') {
            self.pos += 1;
            return self.parse_group(start, in_brackets);
        }
        self.parse_attr_expr(in_brackets)
    }

    fn parse_attr_expr(&mut self, in_brackets: bool) -> Result<Filter, FilterError> {
        let start = self.pos;
        let word = self.take_word();
        if word.is_empty() {
            return Err(self.unexpected(start, "an attribute name or '('"));
        }
        let path = parse_attr_path(word).map_err(|m| self.error(start, &m))?;
        if self.peek() == Some(b'[') {
            if in_brackets {
                return Err(self.error(self.pos, "a '[...]' filter cannot contain another '['"));
            }
            if path.sub_attr.is_some() {
                return Err(self.error(self.pos, "'[' must follow a multi-valued attribute, not a sub-attribute"));
            }
            let open = self.pos;
            self.pos += 1;
            self.enter(open)?;
            let inner = self.parse_or(true)?;
            self.expect_close(b']')?;
            self.leave();
            if self.peek() != Some(b'.') {
                return Ok(Filter::ValuePath { attr: path, filter: Box::new(inner) });
            }
            // Entra: `emails[type eq "work"].value eq "x"` = one element matching both.
            self.pos += 1;
            let sub_start = self.pos;
            let sub = self.take_word();
            validate_name(sub).map_err(|m| self.error(sub_start, &m))?;
            let rel = AttrPath { schema: None, attr: sub.to_string(), sub_attr: None };
            let cmp = self.parse_op_value(rel)?;
            return Ok(Filter::ValuePath { attr: path, filter: Box::new(Filter::And(Box::new(inner), Box::new(cmp))) });
        }
        if in_brackets && (path.schema.is_some() || path.sub_attr.is_some()) {
            return Err(self.error(start, "inside '[...]' use a plain sub-attribute name such as 'type'"));
        }
        self.parse_op_value(path)
    }

    fn parse_op_value(&mut self, path: AttrPath) -> Result<Filter, FilterError> {
        self.skip_ws();
        let op_pos = self.pos;
        let op = match comparison_op(self.word_at(op_pos)) {
            Some(op) => op,
            None => {
                return Err(self.unexpected(op_pos, "a comparison operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr)"));
            }
        };
        self.pos += 2;
        let Some(op) = op else {
            return Ok(Filter::Present(path));
        };
        self.skip_ws();
        let value = self.parse_value()?;
        Ok(Filter::Compare { path, op, value })
    }

    fn parse_value(&mut self) -> Result<CompValue, FilterError> {
        let start = self.pos;
        match self.peek() {
            Some(b'"') => self.parse_string().map(CompValue::Str),
            Some(b) if b == b'-' || b.is_ascii_digit() => {
                let bytes = self.src.as_bytes();
                let mut end = start;
                while bytes
                    .get(end)
                    .is_some_and(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
                {
                    end += 1;
                }
                let text = &self.src[start..end];
                let number = serde_json::from_str::<serde_json::Number>(text).map_err(|_| {
                    self.error(start, &format!("invalid number '{text}' (strings must be in double quotes)"))
                })?;
                self.pos = end;
                Ok(CompValue::Number(number))
            }
            _ => {
                let word = self.word_at(start);
                let value = match word.to_ascii_lowercase().as_str() {
                    "true" => CompValue::Bool(true),
                    "false" => CompValue::Bool(false),
                    "null" => CompValue::Null,
                    _ => {
                        return Err(
                            self.unexpected(start, "a value (a \"quoted string\", number, true, false or null)")
                        );
                    }
                };
                self.pos += word.len();
                Ok(value)
            }
        }
    }

    /// JSON string literal; escapes are decoded by serde_json so `\"`, `\\`, `\u00e9` all work.
    fn parse_string(&mut self) -> Result<String, FilterError> {
        let start = self.pos;
        let bytes = self.src.as_bytes();
        let mut i = start + 1;
        loop {
            match bytes.get(i) {
                None => return Err(self.error(start, "unterminated string starting")),
                Some(b'\\') => i += 2,
                Some(b'"') => break,
                Some(_) => i += 1,
            }
        }
        let literal = &self.src[start..=i];
        let text = serde_json::from_str::<String>(literal)
            .map_err(|_| self.error(start, "invalid escape or control character in string starting"))?;
        self.pos = i + 1;
        Ok(text)
    }
}

impl Filter {
    /// Evaluates the filter against a SCIM resource (RFC 7644 §3.4.2.2 semantics): attribute
    /// names match case-insensitively; strings compare case-insensitively except the caseExact
    /// `id`, `externalId` and `members.value` (RFC 7643 §4.1, §4.2); a multi-valued attribute
    /// matches when any value does; `ne` is the negation of `eq`.
    pub fn matches(&self, resource: &Value) -> bool {
        eval(self, resource, None)
    }
}

fn get_ci<'v>(v: &'v Value, key: &str) -> Option<&'v Value> {
    let obj = v.as_object()?;
    obj.get(key).or_else(|| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

/// Extension attributes live under their URN key (RFC 7643 §3.3); core URNs mean the top level.
fn container<'v>(resource: &'v Value, schema: Option<&str>) -> Option<&'v Value> {
    let Some(schema) = schema else {
        return Some(resource);
    };
    match get_ci(resource, schema) {
        Some(v) if v.is_object() => Some(v),
        _ if schema.to_ascii_lowercase().starts_with("urn:ietf:params:scim:schemas:core:") => Some(resource),
        _ => None,
    }
}

fn raw_values<'v>(resource: &'v Value, path: &AttrPath) -> Vec<&'v Value> {
    let Some(value) = container(resource, path.schema.as_deref()).and_then(|c| get_ci(c, &path.attr)) else {
        return Vec::new();
    };
    match (&path.sub_attr, value) {
        (None, v) => vec![v],
        (Some(sub), Value::Array(items)) => items.iter().filter_map(|i| get_ci(i, sub)).collect(),
        (Some(sub), v) => get_ci(v, sub).into_iter().collect(),
    }
}

/// Values to compare: arrays are flattened and complex values compare by their `value`
/// sub-attribute, so `emails co "example.com"` works as in the RFC 7644 §3.4.2.2 examples.
fn scalar_values<'v>(resource: &'v Value, path: &AttrPath) -> Vec<&'v Value> {
    let mut out = Vec::new();
    for v in raw_values(resource, path) {
        match v {
            Value::Array(items) => {
                for item in items {
                    if item.is_object() {
                        out.extend(get_ci(item, "value"));
                    } else {
                        out.push(item);
                    }
                }
            }
            Value::Object(_) => out.extend(get_ci(v, "value")),
            other => out.push(other),
        }
    }
    out
}

/// `pr`: "has a non-empty value, or contains a non-empty node" (RFC 7644 §3.4.2.2).
fn non_empty(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => items.iter().any(non_empty),
        Value::Object(map) => map.values().any(non_empty),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

fn is_case_exact(parent: Option<&str>, path: &AttrPath) -> bool {
    let key = match parent {
        Some(parent) => format!("{parent}.{}", path.key()),
        None => path.key(),
    };
    matches!(key.as_str(), "id" | "externalid" | "members" | "members.value")
}

fn eval(filter: &Filter, resource: &Value, parent: Option<&str>) -> bool {
    match filter {
        Filter::Present(path) => raw_values(resource, path).into_iter().any(non_empty),
        Filter::Compare { path, op, value } => {
            let exact = is_case_exact(parent, path);
            let values = scalar_values(resource, path);
            match (op, value) {
                (CompareOp::Eq, CompValue::Null) => !values.into_iter().any(non_empty),
                (CompareOp::Ne, CompValue::Null) => values.into_iter().any(non_empty),
                (_, CompValue::Null) => false,
                (CompareOp::Ne, _) => !values.into_iter().any(|c| compare(c, CompareOp::Eq, value, exact)),
                _ => values.into_iter().any(|c| compare(c, *op, value, exact)),
            }
        }
        Filter::Not(inner) => !eval(inner, resource, parent),
        Filter::And(a, b) => eval(a, resource, parent) && eval(b, resource, parent),
        Filter::Or(a, b) => eval(a, resource, parent) || eval(b, resource, parent),
        Filter::ValuePath { attr, filter } => {
            let key = attr.key();
            raw_values(resource, attr).into_iter().any(|v| match v {
                Value::Array(items) => items.iter().any(|item| item.is_object() && eval(filter, item, Some(&key))),
                Value::Object(_) => eval(filter, v, Some(&key)),
                _ => false,
            })
        }
    }
}

fn compare_numbers(a: &serde_json::Number, b: &serde_json::Number) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return Some(x.cmp(&y));
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return Some(x.cmp(&y));
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

fn ordering_matches(op: CompareOp, ord: Ordering) -> bool {
    match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Ne => ord != Ordering::Equal,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

fn compare(candidate: &Value, op: CompareOp, value: &CompValue, exact: bool) -> bool {
    match (value, candidate) {
        (CompValue::Str(want), Value::String(have)) => {
            let (have, want): (Cow<str>, Cow<str>) = if exact {
                (Cow::Borrowed(have), Cow::Borrowed(want))
            } else {
                (Cow::Owned(have.to_lowercase()), Cow::Owned(want.to_lowercase()))
            };
            match op {
                CompareOp::Co => have.contains(want.as_ref()),
                CompareOp::Sw => have.starts_with(want.as_ref()),
                CompareOp::Ew => have.ends_with(want.as_ref()),
                // Lexicographic: RFC 3339 timestamps in one format order correctly.
                _ => ordering_matches(op, have.cmp(&want)),
            }
        }
        (CompValue::Number(want), Value::Number(have)) => {
            compare_numbers(have, want).is_some_and(|ord| ordering_matches(op, ord))
        }
        (CompValue::Bool(want), Value::Bool(have)) => match op {
            CompareOp::Eq => have == want,
            CompareOp::Ne => have != want,
            _ => false,
        },
        _ => false,
    }
}

#[cfg(test)]
pub(crate) mod tests;
