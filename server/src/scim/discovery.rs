//! Discovery (RFC 7644 §4): the documents come from the domain's schema table (`roster::scim::discovery`).
use super::ScimState;
use super::error::ScimError;
use super::json::ScimResponse;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use roster::scim::discovery::{self, find_by_id};
use roster::scim::resource::list_response;

pub async fn service_provider_config(State(s): State<ScimState>) -> ScimResponse {
    ScimResponse::ok(discovery::service_provider_config(&s.base, &s.docs))
}

pub async fn resource_types(State(s): State<ScimState>) -> ScimResponse {
    ScimResponse::ok(list(discovery::resource_types(&s.base)))
}

pub async fn resource_type(State(s): State<ScimState>, Path(id): Path<String>) -> Result<ScimResponse, ScimError> {
    find_by_id(discovery::resource_types(&s.base), &id)
        .map(ScimResponse::ok)
        .ok_or_else(|| not_found("resource type", &id))
}

pub async fn schemas(State(s): State<ScimState>) -> ScimResponse {
    ScimResponse::ok(list(discovery::schemas(&s.base)))
}

pub async fn schema(State(s): State<ScimState>, Path(id): Path<String>) -> Result<ScimResponse, ScimError> {
    find_by_id(discovery::schemas(&s.base), &id).map(ScimResponse::ok).ok_or_else(|| not_found("schema", &id))
}

fn list(items: Vec<serde_json::Value>) -> serde_json::Value {
    let n = items.len() as i64;
    list_response(items, n, 1)
}

fn not_found(what: &str, id: &str) -> ScimError {
    ScimError::new(StatusCode::NOT_FOUND, None, format!("no {what} '{id}'"))
}
