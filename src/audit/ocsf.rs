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

/// The class and activity of an entry. Decided from what roster itself wrote (the method, the panel's and CLI's
/// action names, the status, and the leading parts of its own change summaries), never from text a client sent: an
/// attribute value that reads "created (" or a token named "removed" changes nothing here.
pub fn classify(e: &LogEntry) -> Class {
    let (method, action) = (e.method.as_str(), e.path.as_str());
    // Attribute changes come after roster's own parts, each as "name: before → after".
    let parts: Vec<&str> = e.diff.split("; ").collect();
    let first = parts.first().copied().unwrap_or_default();
    let local = matches!(method, "PANEL" | "CLI");
    match (method, e.target.as_ref().map(|t| t.kind)) {
        ("SIGN-IN", _) => class(AUTHENTICATION, 1, "Logon"),
        ("SIGN-OUT", _) => class(AUTHENTICATION, 2, "Logoff"),
        // A SCIM request whose bearer token was missing, unknown or revoked.
        (_, None) if e.status == 401 && !local => class(AUTHENTICATION, 1, "Logon"),
        (_, Some(Kind::User)) => match () {
            _ if method == "DELETE" || parts.contains(&"deleted in the IdP (kept as a tombstone)") => {
                class(ACCOUNT_CHANGE, 6, "Delete")
            }
            _ if method == "POST" || action == "create user" || first.starts_with("created (") => {
                class(ACCOUNT_CHANGE, 1, "Create")
            }
            _ if first == "active: true → false" => class(ACCOUNT_CHANGE, 5, "Disable"),
            _ if first == "active: false → true" || first.starts_with("restored after deletion") => {
                class(ACCOUNT_CHANGE, 2, "Enable")
            }
            _ => class(ACCOUNT_CHANGE, 99, "Update"),
        },
        (_, Some(Kind::Admin)) => match action {
            "add admin" | "admin create" => class(ACCOUNT_CHANGE, 1, "Create"),
            "remove admin" | "admin remove" => class(ACCOUNT_CHANGE, 6, "Delete"),
            "change password" => class(ACCOUNT_CHANGE, 3, "Password Change"),
            "change role" | "admin set-role" => class(ACCOUNT_CHANGE, 99, "Role Change"),
            // Offboarding: the IdP deactivated the admin's user, and roster ended their panel access.
            _ if !local => class(ACCOUNT_CHANGE, 5, "Disable"),
            _ => class(ACCOUNT_CHANGE, 99, "Update"),
        },
        (_, Some(Kind::Group)) => {
            let count =
                |suffix: &str| parts.iter().any(|p| p.strip_suffix(suffix).is_some_and(|n| n.parse::<u64>().is_ok()));
            let (added, removed) = (count(" members added"), count(" members removed"));
            match () {
                _ if method == "DELETE" || action == "delete group" => class(GROUP_MANAGEMENT, 5, "Delete"),
                _ if action == "create group" || first.starts_with("created with ") => {
                    class(GROUP_MANAGEMENT, 6, "Create")
                }
                _ if action == "add member" || added && !removed && parts.len() == 1 => {
                    class(GROUP_MANAGEMENT, 3, "Add User")
                }
                _ if action == "remove member" || removed && !added && parts.len() == 1 => {
                    class(GROUP_MANAGEMENT, 4, "Remove User")
                }
                _ => class(GROUP_MANAGEMENT, 99, "Update"),
            }
        }
        // Tokens, webhooks, seats, SCIM on/off, single sign-on: by the words of the panel's or CLI's action.
        (_, _) if local => {
            let words: Vec<&str> = action.split(' ').collect();
            let any = |list: &[&str]| words.iter().any(|w| list.contains(w));
            match () {
                _ if e.status == 201 || any(&["create", "add"]) => class(ENTITY_MANAGEMENT, 1, "Create"),
                _ if any(&["revoke", "remove", "unmap", "disable"]) => class(ENTITY_MANAGEMENT, 4, "Delete"),
                _ => class(ENTITY_MANAGEMENT, 3, "Update"),
            }
        }
        // A SCIM request refused before it named a user or group: what it tried, by its method.
        (_, _) => match method {
            "POST" => class(ENTITY_MANAGEMENT, 1, "Create"),
            "GET" | "HEAD" => class(ENTITY_MANAGEMENT, 2, "Read"),
            "DELETE" => class(ENTITY_MANAGEMENT, 4, "Delete"),
            "PUT" | "PATCH" => class(ENTITY_MANAGEMENT, 3, "Update"),
            _ => class(ENTITY_MANAGEMENT, 99, "Other"),
        },
    }
}

/// The entry as an OCSF record of its class. `product_version` is roster's.
pub fn record(e: &LogEntry, product_version: &str) -> Map<String, Value> {
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
    r
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

/// Whether `s` matches OCSF's `email_t`: `^[a-zA-Z0-9!#$%&'*+-/=?^_`{|}~.]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+$`.
fn looks_like_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else { return false };
    let Some((first, rest)) = domain.split_once('.') else { return false };
    let label = |c: char| c.is_ascii_alphanumeric() || c == '-';
    !local.is_empty()
        && local.chars().all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+,-./=?^_`{|}~".contains(c))
        && !first.is_empty()
        && first.chars().all(label)
        && !rest.is_empty()
        && rest.chars().all(|c| label(c) || c == '.')
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
        assert!(r.values().all(|v| !v.is_null()));
    }

    #[test]
    fn text_a_client_sent_does_not_choose_the_activity() {
        let u = Some((Kind::User, "ada@example.com"));
        let sneaky = entry("PATCH", "/scim/v2/Users/1", 200, u, "active: true → false; title: ∅ → \"created (x\"");
        assert_eq!(activity(&sneaky), (3001, 5));
        let t = Some((Kind::Token, "removed"));
        assert_eq!(activity(&entry("PANEL", "create token", 201, t, "SCIM token 'removed' created")), (3004, 1));
        let g = Some((Kind::Group, "5 members added"));
        let renamed = entry("PATCH", "/scim/v2/Groups/1", 200, g, "renamed to '5 members added'");
        assert_eq!(activity(&renamed), (3006, 99));
    }

    #[test]
    fn an_email_is_given_only_in_the_form_ocsf_accepts() {
        assert!(looks_like_email("ada@example.com") && looks_like_email("a.b+c@mail.example.co.uk"));
        for bad in ["x@a_b.com", "x@example", "@example.com", "x@.com", "x@exa mple.com", "x@ex@ample.com"] {
            assert!(!looks_like_email(bad), "{bad}");
        }
    }
}
