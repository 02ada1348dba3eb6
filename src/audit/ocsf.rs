//! Each log entry as an OCSF record (Open Cybersecurity Schema Framework), the shared schema SIEMs map from.
//!
//! OCSF 1.8.0: the newest released version (March 2026; 1.9.0 is still in development). Its classes are vendored as
//! JSON Schemas in `schemas/ocsf/1.8.0/`, which the tests validate every record type against. Four classes, all in
//! Identity & Access Management (category 3):
//!
//! | log entry | class |
//! |---|---|
//! | a sign-in or sign-out, by password or the company's IdP; a request with a bad SCIM token | Authentication (3002) |
//! | a user or an admin created, changed, deactivated, deleted; an admin's password or role | Account Change (3001) |
//! | a group created, renamed, deleted; its members added or removed | Group Management (3006) |
//! | tokens, webhooks, settings, single sign-on, seats; a refused request with no target | Entity Management (3004) |
//!
//! What the classes have no field for (the log entry's own method, path and change summary, and its chain hash) is in
//! `unmapped.roster`, so nothing of an entry is lost.
use crate::Kind;
use crate::model::{LogEntry, Outcome};
use serde_json::{Map, Value, json};

/// `metadata.version` of every record.
pub const VERSION: &str = "1.8.0";
const CATEGORY_IAM: u32 = 3;

/// An OCSF class and activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Class {
    pub uid: u32,
    pub name: &'static str,
    pub activity_id: u32,
    pub activity_name: &'static str,
}

const ACCOUNT_CHANGE: (u32, &str) = (3001, "Account Change");
const AUTHENTICATION: (u32, &str) = (3002, "Authentication");
const ENTITY_MANAGEMENT: (u32, &str) = (3004, "Entity Management");
const GROUP_MANAGEMENT: (u32, &str) = (3006, "Group Management");

fn class((uid, name): (u32, &'static str), activity_id: u32, activity_name: &'static str) -> Class {
    Class { uid, name, activity_id, activity_name }
}

/// Who acted, from how the entry was written: the panel and sign-ins are admins, the CLI is the operator, anything else
/// came through SCIM with an IdP's token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ActorKind {
    Admin,
    Cli,
    Idp,
}

fn actor_kind(e: &LogEntry) -> ActorKind {
    match e.method.as_str() {
        "PANEL" | "SIGN-IN" | "SIGN-OUT" => ActorKind::Admin,
        "CLI" => ActorKind::Cli,
        _ => ActorKind::Idp,
    }
}

/// The class and activity of an entry.
pub fn classify(e: &LogEntry) -> Class {
    let what = e.path.as_str();
    let has = |s: &str| e.diff.contains(s);
    match (e.method.as_str(), e.target.as_ref().map(|t| t.kind)) {
        ("SIGN-IN", _) => class(AUTHENTICATION, 1, "Logon"),
        ("SIGN-OUT", _) => class(AUTHENTICATION, 2, "Logoff"),
        // A SCIM request whose bearer token was missing, unknown or revoked.
        (_, None) if e.status == 401 => class(AUTHENTICATION, 1, "Logon"),
        (m, Some(Kind::User)) => match () {
            _ if m == "POST" || what == "create user" || has("created (") => class(ACCOUNT_CHANGE, 1, "Create"),
            _ if m == "DELETE" || has("deleted in the IdP") => class(ACCOUNT_CHANGE, 6, "Delete"),
            _ if has("active: true → false") => class(ACCOUNT_CHANGE, 5, "Disable"),
            _ if has("active: false → true") => class(ACCOUNT_CHANGE, 2, "Enable"),
            _ => class(ACCOUNT_CHANGE, 99, "Update"),
        },
        (_, Some(Kind::Admin)) => match what {
            "add admin" | "admin create" => class(ACCOUNT_CHANGE, 1, "Create"),
            "remove admin" | "admin remove" => class(ACCOUNT_CHANGE, 6, "Delete"),
            "change password" => class(ACCOUNT_CHANGE, 3, "Password Change"),
            _ if has("removed") => class(ACCOUNT_CHANGE, 6, "Delete"),
            _ => class(ACCOUNT_CHANGE, 99, "Role Change"),
        },
        (m, Some(Kind::Group)) => match () {
            _ if m == "POST" && !has("adopted") || what == "create group" || has("created with") => {
                class(GROUP_MANAGEMENT, 6, "Create")
            }
            _ if m == "DELETE" || what == "delete group" => class(GROUP_MANAGEMENT, 5, "Delete"),
            _ if what == "add member" || has("members added") && !has("removed") => {
                class(GROUP_MANAGEMENT, 3, "Add User")
            }
            _ if what == "remove member" || has("members removed") && !has("added") => {
                class(GROUP_MANAGEMENT, 4, "Remove User")
            }
            _ => class(GROUP_MANAGEMENT, 99, "Update"),
        },
        (m, _) => match () {
            _ if e.status == 201 || m == "POST" => class(ENTITY_MANAGEMENT, 1, "Create"),
            _ if m == "GET" => class(ENTITY_MANAGEMENT, 2, "Read"),
            _ if m == "DELETE" || has("revoked") || has("removed") => class(ENTITY_MANAGEMENT, 4, "Delete"),
            _ => class(ENTITY_MANAGEMENT, 3, "Update"),
        },
    }
}

/// The entry as an OCSF record of its class. `product_version` is roster's.
pub fn record(e: &LogEntry, product_version: &str) -> Value {
    let c = classify(e);
    let ok = e.outcome == Outcome::Ok;
    let (severity_id, severity) = match (e.outcome, e.status) {
        (Outcome::Ok, _) => (1, "Informational"),
        (_, 401 | 403) => (3, "Medium"),
        (_, s) if s >= 500 => (4, "High"),
        _ => (2, "Low"),
    };
    let mut r = Map::new();
    r.insert("category_uid".into(), json!(CATEGORY_IAM));
    r.insert("category_name".into(), json!("Identity & Access Management"));
    r.insert("class_uid".into(), json!(c.uid));
    r.insert("class_name".into(), json!(c.name));
    r.insert("activity_id".into(), json!(c.activity_id));
    r.insert("activity_name".into(), json!(c.activity_name));
    r.insert("type_uid".into(), json!(u64::from(c.uid) * 100 + u64::from(c.activity_id)));
    r.insert("type_name".into(), json!(format!("{}: {}", c.name, c.activity_name)));
    r.insert("time".into(), json!(e.at));
    r.insert("severity_id".into(), json!(severity_id));
    r.insert("severity".into(), json!(severity));
    r.insert("status_id".into(), json!(if ok { 1 } else { 2 }));
    r.insert("status".into(), json!(if ok { "Success" } else { "Failure" }));
    r.insert("status_code".into(), json!(e.status.to_string()));
    if !e.detail.is_empty() {
        r.insert("status_detail".into(), json!(e.detail));
    }
    r.insert("message".into(), json!(message(e)));
    let mut metadata = json!({
        "version": VERSION,
        "product": { "name": "roster", "vendor_name": "roster", "version": product_version },
        "uid": e.id.0.to_string(),
        "sequence": e.id.0,
        "log_name": "provisioning log",
    });
    if let Some(id) = &e.request_id {
        metadata["correlation_uid"] = json!(id);
    }
    r.insert("metadata".into(), metadata);
    r.insert("actor".into(), actor(e));
    if let Some(client) = e.client.as_ref().filter(|c| is_ip(&c.address)) {
        r.insert("src_endpoint".into(), json!({ "ip": client.address }));
    }
    let mut http = Map::new();
    if let Some(ua) = e.client.as_ref().map(|c| c.user_agent.as_str()).filter(|ua| !ua.is_empty()) {
        http.insert("user_agent".into(), json!(ua));
    }
    if actor_kind(e) == ActorKind::Idp {
        if HTTP_METHODS.contains(&e.method.as_str()) {
            http.insert("http_method".into(), json!(e.method));
        }
        http.insert("url".into(), json!({ "path": e.path }));
    }
    if let Some(id) = &e.request_id {
        http.insert("uid".into(), json!(id));
    }
    if !http.is_empty() {
        r.insert("http_request".into(), Value::Object(http));
    }
    class_fields(&mut r, e, c);
    let mut roster = json!({ "entry": e.id.0, "method": e.method, "path": e.path, "outcome": e.outcome.as_str() });
    if !e.diff.is_empty() {
        roster["change"] = json!(e.diff);
    }
    if let Some(h) = &e.hash {
        roster["hash"] = json!(h);
    }
    r.insert("unmapped".into(), json!({ "roster": roster }));
    Value::Object(r)
}

/// What the entry says happened, for `message`.
fn message(e: &LogEntry) -> String {
    let target = e.target.as_ref().map(|t| format!(" {} '{}'", t.kind, t.name)).unwrap_or_default();
    let change = if e.diff.is_empty() { String::new() } else { format!(": {}", e.diff) };
    format!("{} {}{target}{change}", e.actor, e.path)
}

const HTTP_METHODS: [&str; 9] = ["CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"];

fn is_ip(s: &str) -> bool {
    s.parse::<std::net::IpAddr>().is_ok()
}

fn actor(e: &LogEntry) -> Value {
    match actor_kind(e) {
        ActorKind::Admin => json!({ "user": person(&e.actor, 2, "Admin"), "app_name": "roster panel" }),
        ActorKind::Cli => {
            json!({ "user": { "name": e.actor, "type_id": 3, "type": "System" }, "app_name": "roster CLI" })
        }
        ActorKind::Idp => json!({
            "user": { "name": e.actor, "type_id": 4, "type": "Service" },
            "app_name": "SCIM",
        }),
    }
}

/// A person by name, with their email when the name is one.
fn person(name: &str, type_id: u32, type_name: &str) -> Value {
    let mut u = json!({ "name": name, "type_id": type_id, "type": type_name });
    if looks_like_email(name) {
        u["email_addr"] = json!(name);
    }
    u
}

fn looks_like_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else { return false };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || "._%+-@".contains(c))
        && !domain.contains('@')
}

/// The attributes each class requires, and its own.
fn class_fields(r: &mut Map<String, Value>, e: &LogEntry, c: Class) {
    let t = e.target.as_ref();
    match c.uid {
        3002 => {
            // The person signing in (or the SCIM client refused), and the service they signed in to.
            let (protocol_id, protocol, service) = match e.path.as_str() {
                "sso" => (4, "OpenID", "roster panel"),
                "password" => (99, "Password", "roster panel"),
                _ => (6, "OAUTH 2.0", "roster SCIM"),
            };
            let user = match actor_kind(e) {
                ActorKind::Admin => person(&e.actor, 2, "Admin"),
                _ => json!({ "name": e.actor, "type_id": 4, "type": "Service" }),
            };
            r.insert("user".into(), user);
            r.insert("service".into(), json!({ "name": service }));
            r.insert("auth_protocol_id".into(), json!(protocol_id));
            r.insert("auth_protocol".into(), json!(protocol));
            r.insert("is_remote".into(), json!(true));
        }
        3001 => {
            let (uid, name) = t.map_or(("", e.actor.as_str()), |t| (t.id.as_str(), t.name.as_str()));
            let mut user = if t.is_some_and(|t| t.kind == Kind::Admin) {
                person(name, 2, "Admin")
            } else {
                person(name, 1, "User")
            };
            if !uid.is_empty() {
                user["uid"] = json!(uid);
            }
            r.insert("user".into(), user);
        }
        3006 => {
            let mut group = json!({ "name": t.map_or("", |t| t.name.as_str()) });
            if let Some(t) = t {
                group["uid"] = json!(t.id);
            }
            r.insert("group".into(), group);
        }
        _ => {
            let entity = match t {
                Some(t) => json!({ "uid": t.id, "name": t.name, "type": t.kind.to_string() }),
                None => json!({ "name": e.path, "type": if actor_kind(e) == ActorKind::Idp {
                    "SCIM request"
                } else {
                    "setting"
                } }),
            };
            r.insert("entity".into(), entity);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Client, LogEntryId, Target};

    fn entry(method: &str, path: &str, status: u16, target: Option<(Kind, &str)>, diff: &str) -> LogEntry {
        LogEntry {
            id: LogEntryId(7),
            at: 1_780_000_000_000,
            actor: "Okta".into(),
            method: method.into(),
            path: path.into(),
            status,
            outcome: if status < 400 { Outcome::Ok } else { Outcome::Failed },
            target: target.map(|(kind, name)| Target { kind, id: "id-1".into(), name: name.into() }),
            diff: diff.into(),
            detail: String::new(),
            request_id: Some("req-1".into()),
            client: Some(Client { address: "127.0.0.1".into(), user_agent: "Okta SCIM Client 1.0.0".into() }),
            hash: Some("ab".repeat(32)),
        }
    }

    fn activity(e: &LogEntry) -> (u32, u32) {
        let c = classify(e);
        (c.uid, c.activity_id)
    }

    #[test]
    fn each_kind_of_entry_has_its_class_and_activity() {
        let u = Some((Kind::User, "ada@example.com"));
        let g = Some((Kind::Group, "Engineering"));
        assert_eq!(activity(&entry("SIGN-IN", "sso", 200, None, "")), (3002, 1));
        assert_eq!(activity(&entry("SIGN-OUT", "password", 200, None, "")), (3002, 2));
        assert_eq!(activity(&entry("GET", "/scim/v2/Users", 401, None, "")), (3002, 1));
        assert_eq!(activity(&entry("POST", "/scim/v2/Users", 201, u, "created (active)")), (3001, 1));
        assert_eq!(activity(&entry("PATCH", "/scim/v2/Users/1", 200, u, "active: true → false")), (3001, 5));
        assert_eq!(activity(&entry("PATCH", "/scim/v2/Users/1", 200, u, "active: false → true")), (3001, 2));
        assert_eq!(activity(&entry("DELETE", "/scim/v2/Users/1", 204, u, "")), (3001, 6));
        assert_eq!(activity(&entry("PUT", "/scim/v2/Users/1", 200, u, "name.givenName: a → b")), (3001, 99));
        assert_eq!(activity(&entry("POST", "/scim/v2/Groups", 201, g, "created with 3 members")), (3006, 6));
        assert_eq!(activity(&entry("PATCH", "/scim/v2/Groups/1", 200, g, "2 members added")), (3006, 3));
        assert_eq!(activity(&entry("PATCH", "/scim/v2/Groups/1", 200, g, "1 members removed")), (3006, 4));
        assert_eq!(activity(&entry("DELETE", "/scim/v2/Groups/1", 204, g, "")), (3006, 5));
        assert_eq!(activity(&entry("PANEL", "add member", 200, g, "1 members added")), (3006, 3));
        let admin = Some((Kind::Admin, "root@example.com"));
        assert_eq!(activity(&entry("PANEL", "add admin", 201, admin, "")), (3001, 1));
        assert_eq!(activity(&entry("PANEL", "change password", 200, admin, "")), (3001, 3));
        let token = Some((Kind::Token, "Okta"));
        assert_eq!(activity(&entry("CLI", "scim token create", 201, token, "")), (3004, 1));
        assert_eq!(activity(&entry("PANEL", "revoke token", 200, token, "SCIM token 'Okta' revoked")), (3004, 4));
        assert_eq!(activity(&entry("PANEL", "set seats", 200, None, "seats: 10 → 20")), (3004, 3));
    }

    #[test]
    fn a_record_carries_what_the_issue_names() {
        let e = entry("PATCH", "/scim/v2/Users/1", 200, Some((Kind::User, "ada@example.com")), "active: true → false");
        let r = record(&e, "0.1.0");
        assert_eq!(r["metadata"]["version"], VERSION);
        assert_eq!(r["type_uid"], 300105);
        assert_eq!(r["actor"]["user"]["name"], "Okta");
        assert_eq!(r["user"]["email_addr"], "ada@example.com");
        assert_eq!(r["src_endpoint"]["ip"], "127.0.0.1");
        assert_eq!(r["http_request"]["user_agent"], "Okta SCIM Client 1.0.0");
        assert_eq!(r["metadata"]["correlation_uid"], "req-1");
        assert_eq!(r["unmapped"]["roster"]["entry"], 7);
        assert_eq!(r["time"], 1_780_000_000_000_i64);
        assert!(r.as_object().is_some_and(|o| o.values().all(|v| !v.is_null())));
    }
}
