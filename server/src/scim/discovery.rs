//! Discovery (RFC 7644 §4, schemas per RFC 7643 §5–7). They describe exactly what roster supports.
use super::error::ScimError;
use super::json::ScimResponse;
use crate::web::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use roster::scim::*;
use serde_json::{Value, json};

pub async fn service_provider_config(State(s): State<AppState>) -> ScimResponse {
    ScimResponse::ok(json!({
        "schemas": [SCHEMA_SERVICE_PROVIDER_CONFIG],
        "documentationUri": format!("{}/scim", s.public_url),
        "patch": { "supported": true },
        // Bulk is unsupported; the limits are still given because Okta's SPEC test wants them non-empty.
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
        "meta": { "resourceType": "ServiceProviderConfig", "location": format!("{}/ServiceProviderConfig", s.scim_base) }
    }))
}

fn resource_types_json(base: &str) -> Vec<Value> {
    vec![
        json!({
            "schemas": [SCHEMA_RESOURCE_TYPE], "id": "User", "name": "User", "endpoint": "/Users",
            "description": "User Account", "schema": SCHEMA_USER,
            "schemaExtensions": [{ "schema": SCHEMA_ENTERPRISE_USER, "required": false }],
            "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User") }
        }),
        json!({
            "schemas": [SCHEMA_RESOURCE_TYPE], "id": "Group", "name": "Group", "endpoint": "/Groups",
            "description": "Group", "schema": SCHEMA_GROUP,
            "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group") }
        }),
    ]
}

pub async fn resource_types(State(s): State<AppState>) -> ScimResponse {
    let items = resource_types_json(&s.scim_base);
    let n = items.len() as i64;
    ScimResponse::ok(resource::list_response(items, n, 1))
}

pub async fn resource_type(State(s): State<AppState>, Path(id): Path<String>) -> Result<ScimResponse, ScimError> {
    resource_types_json(&s.scim_base)
        .into_iter()
        .find(|r| r["id"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(&id)))
        .map(ScimResponse::ok)
        .ok_or_else(|| ScimError::new(StatusCode::NOT_FOUND, None, format!("no resource type '{id}'")))
}

/// One attribute definition (RFC 7643 §7).
fn attr(
    name: &str,
    ty: &str,
    multi: bool,
    required: bool,
    case_exact: bool,
    mutability: &str,
    uniqueness: &str,
) -> Value {
    json!({
        "name": name, "type": ty, "multiValued": multi, "description": name, "required": required,
        "caseExact": case_exact, "mutability": mutability, "returned": if name == "password" { "never" } else { "default" },
        "uniqueness": uniqueness
    })
}

fn s(name: &str) -> Value {
    attr(name, "string", false, false, false, "readWrite", "none")
}

fn complex(name: &str, multi: bool, subs: Vec<Value>) -> Value {
    let mut a = attr(name, "complex", multi, false, false, "readWrite", "none");
    a["subAttributes"] = Value::Array(subs);
    a
}

fn multi(name: &str) -> Value {
    complex(
        name,
        true,
        vec![s("value"), s("display"), s("type"), attr("primary", "boolean", false, false, false, "readWrite", "none")],
    )
}

fn schemas_json(base: &str) -> Vec<Value> {
    let user = vec![
        attr("userName", "string", false, true, false, "readWrite", "server"),
        complex(
            "name",
            false,
            ["formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix"]
                .map(s)
                .to_vec(),
        ),
        s("displayName"),
        s("nickName"),
        s("profileUrl"),
        s("title"),
        s("userType"),
        s("preferredLanguage"),
        s("locale"),
        s("timezone"),
        attr("active", "boolean", false, false, false, "readWrite", "none"),
        attr("password", "string", false, false, false, "writeOnly", "none"),
        attr("externalId", "string", false, false, true, "readWrite", "none"),
        multi("emails"),
        multi("phoneNumbers"),
        multi("ims"),
        multi("photos"),
        complex(
            "addresses",
            true,
            ["formatted", "streetAddress", "locality", "region", "postalCode", "country", "type"].map(s).to_vec(),
        ),
        multi("entitlements"),
        multi("roles"),
        multi("x509Certificates"),
        {
            let mut g = complex("groups", true, vec![s("value"), s("$ref"), s("display"), s("type")]);
            g["mutability"] = json!("readOnly");
            g
        },
    ];
    let enterprise = vec![
        s("employeeNumber"),
        s("costCenter"),
        s("organization"),
        s("division"),
        s("department"),
        complex("manager", false, vec![s("value"), s("$ref"), s("displayName")]),
    ];
    let group = vec![
        attr("displayName", "string", false, true, false, "readWrite", "server"),
        attr("externalId", "string", false, false, true, "readWrite", "none"),
        complex("members", true, vec![s("value"), s("$ref"), s("display"), s("type")]),
    ];
    [
        (SCHEMA_USER, "User", user),
        (SCHEMA_ENTERPRISE_USER, "EnterpriseUser", enterprise),
        (SCHEMA_GROUP, "Group", group),
    ]
    .into_iter()
    .map(|(id, name, attributes)| {
        json!({
            "schemas": [SCHEMA_SCHEMA], "id": id, "name": name, "description": name, "attributes": attributes,
            "meta": { "resourceType": "Schema", "location": format!("{base}/Schemas/{id}") }
        })
    })
    .collect()
}

pub async fn schemas(State(s): State<AppState>) -> ScimResponse {
    let items = schemas_json(&s.scim_base);
    let n = items.len() as i64;
    ScimResponse::ok(resource::list_response(items, n, 1))
}

pub async fn schema(State(s): State<AppState>, Path(id): Path<String>) -> Result<ScimResponse, ScimError> {
    schemas_json(&s.scim_base)
        .into_iter()
        .find(|r| r["id"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(&id)))
        .map(ScimResponse::ok)
        .ok_or_else(|| ScimError::new(StatusCode::NOT_FOUND, None, format!("no schema '{id}'")))
}
