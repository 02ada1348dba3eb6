//! A user's SCIM attributes as an admin reads them: labelled fields ("Email: grace@example.com (work, primary)"),
//! core attributes first (RFC 7643 §4.1), then the enterprise extension (§4.3). What no label covers is still in the
//! raw JSON the page shows behind a disclosure.
use super::SCHEMA_ENTERPRISE_USER;
use serde_json::{Map, Value};

/// One labelled line of the user page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub label: &'static str,
    pub value: String,
}

/// The labelled fields of a user's stored SCIM document, in reading order; empty values are left out.
pub fn fields(attributes: &Map<String, Value>) -> Vec<Field> {
    let mut out = Vec::new();
    let mut push = |label: &'static str, value: Option<String>| {
        if let Some(value) = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) {
            out.push(Field { label, value });
        }
    };
    push("User name", text(get(attributes, "userName")));
    push("Display name", text(get(attributes, "displayName")));
    if let Some(name) = get(attributes, "name").and_then(Value::as_object) {
        let formatted = text(get(name, "formatted")).filter(|f| !f.trim().is_empty());
        let parts = ["honorificPrefix", "givenName", "middleName", "familyName", "honorificSuffix"]
            .iter()
            .filter_map(|k| text(get(name, k)))
            .collect::<Vec<_>>()
            .join(" ");
        push("Name", formatted.or(Some(parts)));
    }
    push("Nickname", text(get(attributes, "nickName")));
    push("Title", text(get(attributes, "title")));
    push("User type", text(get(attributes, "userType")));
    for (key, label) in [("emails", "Email"), ("phoneNumbers", "Phone"), ("ims", "Messaging"), ("addresses", "Address")]
    {
        for item in get(attributes, key).and_then(Value::as_array).into_iter().flatten() {
            push(label, multi_valued(item));
        }
    }
    push("Preferred language", text(get(attributes, "preferredLanguage")));
    push("Locale", text(get(attributes, "locale")));
    push("Time zone", text(get(attributes, "timezone")));
    push("External id", text(get(attributes, "externalId")));
    if let Some(ent) = get(attributes, SCHEMA_ENTERPRISE_USER).and_then(Value::as_object) {
        push("Employee number", text(get(ent, "employeeNumber")));
        push("Department", text(get(ent, "department")));
        push("Division", text(get(ent, "division")));
        push("Organization", text(get(ent, "organization")));
        push("Cost center", text(get(ent, "costCenter")));
        let manager = get(ent, "manager").and_then(|m| match m {
            Value::Object(m) => text(get(m, "displayName")).or_else(|| text(get(m, "value"))),
            other => text(Some(other)),
        });
        push("Manager", manager);
    }
    out
}

/// An attribute by name, ignoring case (RFC 7643 §2.1: names are case-insensitive; Entra sends its own casing).
fn get<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.get(name).or_else(|| object.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `grace@example.com (work, primary)`; an address is its `formatted` text, or its parts joined.
fn multi_valued(item: &Value) -> Option<String> {
    let Some(item) = item.as_object() else { return text(Some(item)) };
    let value = text(get(item, "value")).or_else(|| text(get(item, "formatted"))).or_else(|| {
        let parts: Vec<String> = ["streetAddress", "locality", "region", "postalCode", "country"]
            .iter()
            .filter_map(|k| text(get(item, k)))
            .collect();
        (!parts.is_empty()).then(|| parts.join(", "))
    })?;
    let mut notes: Vec<String> = text(get(item, "type")).into_iter().collect();
    if get(item, "primary")
        .is_some_and(|p| p == &Value::Bool(true) || p.as_str().is_some_and(|s| s.eq_ignore_ascii_case("true")))
    {
        notes.push("primary".into());
    }
    Some(if notes.is_empty() { value } else { format!("{value} ({})", notes.join(", ")) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_okta_user_with_the_enterprise_extension_reads_as_labelled_fields() {
        let doc = json!({
            "userName": "grace@example.com",
            "name": {"givenName": "Grace", "familyName": "Hopper"},
            "EMAILS": [{"value": "grace@example.com", "type": "work", "primary": "True"}, {"value": "g@home.example"}],
            "phoneNumbers": [{"value": "+1 555 0100", "type": "mobile"}],
            "addresses": [{"locality": "Arlington", "country": "US", "type": "work"}],
            "title": "",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":
                {"department": "Navy", "employeeNumber": 7, "manager": {"value": "m-1", "displayName": "Ada"}}
        });
        let got: Vec<(&str, String)> =
            fields(doc.as_object().unwrap()).into_iter().map(|f| (f.label, f.value)).collect();
        assert_eq!(
            got,
            [
                ("User name", "grace@example.com".into()),
                ("Name", "Grace Hopper".into()),
                ("Email", "grace@example.com (work, primary)".into()),
                ("Email", "g@home.example".into()),
                ("Phone", "+1 555 0100 (mobile)".into()),
                ("Address", "Arlington, US (work)".into()),
                ("Employee number", "7".into()),
                ("Department", "Navy".into()),
                ("Manager", "Ada".into()),
            ]
        );
    }
}
