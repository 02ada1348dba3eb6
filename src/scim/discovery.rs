//! The discovery documents (RFC 7644 §4): `/ServiceProviderConfig`, `/ResourceTypes` and `/Schemas`, rendered from
//! the schema table and the limits, so they describe exactly what roster does.
use super::schema::{Attribute, Mutability, ResourceType, Returned, SCHEMAS, Schema, Type, Uniqueness};
use super::*;
use serde_json::{Value, json};

/// `/ServiceProviderConfig` (RFC 7643 §5). `docs` is the page an admin reads about roster's SCIM support.
pub fn service_provider_config(scim_base: &str, docs: &str) -> Value {
    json!({
        "schemas": [SCHEMA_SERVICE_PROVIDER_CONFIG],
        "documentationUri": docs,
        "patch": { "supported": true },
        // Bulk is unsupported; the limits are still given because Okta's SPEC test wants them non-empty. The payload size
        // is the one every endpoint takes, so a client that keeps to it never gets 413 (`/Groups` takes up to
        // MAX_GROUP_BODY_BYTES, for a Push now of a large group).
        "bulk": { "supported": false, "maxOperations": 1, "maxPayloadSize": MAX_BODY_BYTES },
        "filter": { "supported": true, "maxResults": MAX_PAGE },
        "changePassword": { "supported": false },
        "sort": { "supported": true },
        "etag": { "supported": true },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "A roster SCIM token, sent as `Authorization: Bearer <token>`. Create one under SCIM settings.",
            "specUri": "https://www.rfc-editor.org/rfc/rfc6750",
            "primary": true
        }],
        "meta": { "resourceType": "ServiceProviderConfig", "location": format!("{scim_base}/ServiceProviderConfig") }
    })
}

/// Every resource type (RFC 7643 §6).
pub fn resource_types(scim_base: &str) -> Vec<Value> {
    [ResourceType::User, ResourceType::Group]
        .into_iter()
        .map(|r| {
            let mut doc = json!({
                "schemas": [SCHEMA_RESOURCE_TYPE], "id": r.name(), "name": r.name(), "endpoint": format!("/{}s", r.name()),
                "description": if r == ResourceType::User { "User Account" } else { "Group" }, "schema": r.schema(),
                "meta": { "resourceType": "ResourceType", "location": format!("{scim_base}/ResourceTypes/{}", r.name()) }
            });
            if r == ResourceType::User {
                doc["schemaExtensions"] = json!([{ "schema": SCHEMA_ENTERPRISE_USER, "required": false }]);
            }
            doc
        })
        .collect()
}

/// Every schema (RFC 7643 §7), from the schema table.
pub fn schemas(scim_base: &str) -> Vec<Value> {
    SCHEMAS.iter().map(|s| schema_json(s, scim_base)).collect()
}

/// One document by its `id`, ignoring case, for `/ResourceTypes/{id}` and `/Schemas/{id}`.
pub fn find_by_id(docs: Vec<Value>, id: &str) -> Option<Value> {
    docs.into_iter().find(|d| d["id"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(id)))
}

fn schema_json(s: &Schema, base: &str) -> Value {
    let mut attributes: Vec<Value> = s.attributes.iter().map(attribute_json).collect();
    if s.id != SCHEMA_ENTERPRISE_USER {
        // externalId is common to every resource (RFC 7643 §3.1); clients look for it in the resource's schema.
        attributes.extend(schema::COMMON_ATTRIBUTES.iter().filter(|a| a.name == "externalId").map(attribute_json));
    }
    json!({
        "schemas": [SCHEMA_SCHEMA], "id": s.id, "name": s.name, "description": s.description,
        "attributes": attributes,
        "meta": { "resourceType": "Schema", "location": format!("{base}/Schemas/{}", s.id) }
    })
}

fn attribute_json(a: &Attribute) -> Value {
    let mut doc = json!({
        "name": a.name,
        "type": match a.ty {
            Type::String => "string",
            Type::Boolean => "boolean",
            Type::DateTime => "dateTime",
            Type::Reference => "reference",
            Type::Complex => "complex",
            Type::Binary => "binary",
        },
        "multiValued": a.multi_valued,
        "description": a.description,
        "required": a.required,
        "caseExact": a.case_exact,
        "mutability": match a.mutability {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::WriteOnly => "writeOnly",
        },
        "returned": match a.returned {
            Returned::Always => "always",
            Returned::Default => "default",
            Returned::Never => "never",
        },
        "uniqueness": match a.uniqueness {
            Uniqueness::None => "none",
            Uniqueness::Server => "server",
        },
    });
    if a.ty == Type::Reference {
        doc["referenceTypes"] = json!(if a.name == "$ref" { vec!["User", "Group"] } else { vec!["external"] });
    }
    if !a.sub_attributes.is_empty() {
        doc["subAttributes"] = Value::Array(a.sub_attributes.iter().map(attribute_json).collect());
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_describe_the_table() {
        let all = schemas("https://r.example/scim/v2");
        let user = find_by_id(all.clone(), "URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER").unwrap();
        let names: Vec<&str> =
            user["attributes"].as_array().unwrap().iter().filter_map(|a| a["name"].as_str()).collect();
        assert!(names.contains(&"userName") && names.contains(&"externalId") && names.contains(&"emails"));
        let password = user["attributes"].as_array().unwrap().iter().find(|a| a["name"] == "password").unwrap();
        assert_eq!(
            (password["mutability"].as_str(), password["returned"].as_str()),
            (Some("writeOnly"), Some("never"))
        );
        assert_eq!(resource_types("b").len(), 2);
        assert!(find_by_id(all, "nope").is_none());
        assert_eq!(service_provider_config("b", "d")["bulk"]["maxPayloadSize"], json!(MAX_BODY_BYTES));
    }
}
