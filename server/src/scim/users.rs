//! /Users handlers (RFC 7644 §3.3–3.6). Each is one expression over `UserService`.
use super::error::ScimError;
use super::json::{ScimJson, ScimResponse};
use super::{ListParams, if_match};
use crate::web::AppState;
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use roster::Error;
use roster::model::UserId;
use roster::scim::patch::PatchRequest;
use roster::scim::resource::{list_response, project, user_json};
use roster::service::Ctx;
use std::collections::HashMap;

type Res = Result<ScimResponse, ScimError>;

pub async fn list(State(s): State<AppState>, Query(raw): Query<HashMap<String, String>>) -> Res {
    let p = ListParams::parse(&raw)?;
    let page = s.services.users.list(&p.user_query()).await?;
    let items =
        page.items.iter().map(|u| project(user_json(u, None, &s.scim_base), &p.attributes, &p.excluded)).collect();
    Ok(ScimResponse::ok(list_response(items, page.total, page.start_index)))
}

pub async fn get(State(s): State<AppState>, Path(id): Path<String>, Query(raw): Query<HashMap<String, String>>) -> Res {
    let p = ListParams::parse(&raw)?;
    let (user, groups) = s.services.users.get_with_groups(&UserId(id)).await?;
    Ok(ScimResponse::ok(project(user_json(&user, Some(&groups), &s.scim_base), &p.attributes, &p.excluded)))
}

pub async fn create(State(s): State<AppState>, Extension(ctx): Extension<Ctx>, ScimJson(body): ScimJson) -> Res {
    let (user, _restored) = s.services.users.create(&ctx, body).await?;
    Ok(ScimResponse::created(user_json(&user, None, &s.scim_base)))
}

pub async fn replace(
    State(s): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    headers: HeaderMap,
    ScimJson(body): ScimJson,
) -> Res {
    let user = s.services.users.replace(&ctx, &UserId(id), body, if_match(&headers).as_deref()).await?;
    Ok(ScimResponse::ok(user_json(&user, None, &s.scim_base)))
}

pub async fn patch(
    State(s): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    headers: HeaderMap,
    ScimJson(body): ScimJson,
) -> Res {
    let req = parse_patch(body)?;
    let user = s.services.users.patch(&ctx, &UserId(id), &req.operations, if_match(&headers).as_deref()).await?;
    Ok(ScimResponse::ok(user_json(&user, None, &s.scim_base)))
}

pub async fn delete(
    State(s): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Res {
    s.services.users.delete(&ctx, &UserId(id), if_match(&headers).as_deref()).await?;
    Ok(ScimResponse::no_content())
}

/// A PatchOp message (RFC 7644 §3.5.2), with its op count capped.
pub fn parse_patch(body: serde_json::Value) -> Result<PatchRequest, Error> {
    let req: PatchRequest =
        serde_json::from_value(body).map_err(|e| Error::InvalidSyntax(format!("not a valid PatchOp request: {e}")))?;
    if req.operations.len() > roster::scim::MAX_PATCH_OPS {
        return Err(Error::TooMany(format!("at most {} operations per PATCH", roster::scim::MAX_PATCH_OPS)));
    }
    Ok(req)
}
