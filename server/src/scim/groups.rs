//! /Groups handlers. `excludedAttributes=members` (Entra sends it on every lookup) never loads members.
use super::error::ScimError;
use super::json::{ScimJson, ScimResponse};
use super::users::parse_patch;
use super::{ListParams, if_match};
use crate::web::AppState;
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use roster::model::GroupId;
use roster::scim::resource::{group_json, list_response, project, wants_members};
use roster::service::Ctx;
use std::collections::HashMap;

type Res = Result<ScimResponse, ScimError>;

pub async fn list(State(s): State<AppState>, Query(raw): Query<HashMap<String, String>>) -> Res {
    let p = ListParams::parse(&raw)?;
    let page = s.services.groups.list(&p.group_query()).await?;
    let members = if wants_members(&p.attributes, &p.excluded) {
        Some(s.services.groups.members_of(&page.items.iter().map(|g| g.id.clone()).collect::<Vec<_>>()).await?)
    } else {
        None
    };
    let items = page
        .items
        .iter()
        .enumerate()
        .map(|(i, g)| {
            project(group_json(g, members.as_ref().map(|m| m[i].as_slice()), &s.scim_base), &p.attributes, &p.excluded)
        })
        .collect();
    Ok(ScimResponse::ok(list_response(items, page.total, page.start_index)))
}

pub async fn get(State(s): State<AppState>, Path(id): Path<String>, Query(raw): Query<HashMap<String, String>>) -> Res {
    let p = ListParams::parse(&raw)?;
    let id = GroupId(id);
    let body = if wants_members(&p.attributes, &p.excluded) {
        let (g, m) = s.services.groups.get_with_members(&id).await?;
        group_json(&g, Some(&m), &s.scim_base)
    } else {
        group_json(&s.services.groups.get(&id).await?, None, &s.scim_base)
    };
    Ok(ScimResponse::ok(project(body, &p.attributes, &p.excluded)))
}

pub async fn create(State(s): State<AppState>, Extension(ctx): Extension<Ctx>, ScimJson(body): ScimJson) -> Res {
    let (g, _adopted) = s.services.groups.create(&ctx, body).await?;
    let (g, m) = s.services.groups.get_with_members(&g.id).await?;
    Ok(ScimResponse::created(group_json(&g, Some(&m), &s.scim_base)))
}

pub async fn replace(
    State(s): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    headers: HeaderMap,
    ScimJson(body): ScimJson,
) -> Res {
    let g = s.services.groups.replace(&ctx, &GroupId(id), body, if_match(&headers).as_deref()).await?;
    let (g, m) = s.services.groups.get_with_members(&g.id).await?;
    Ok(ScimResponse::ok(group_json(&g, Some(&m), &s.scim_base)))
}

/// 204, as Entra expects; the response need not carry the (possibly huge) member list (RFC 7644 §3.5.2).
pub async fn patch(
    State(s): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    headers: HeaderMap,
    ScimJson(body): ScimJson,
) -> Res {
    let req = parse_patch(body)?;
    s.services.groups.patch(&ctx, &GroupId(id), &req.operations, if_match(&headers).as_deref()).await?;
    Ok(ScimResponse::no_content())
}

pub async fn delete(
    State(s): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Res {
    s.services.groups.delete(&ctx, &GroupId(id), if_match(&headers).as_deref()).await?;
    Ok(ScimResponse::no_content())
}
