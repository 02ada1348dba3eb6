//! /Groups handlers. `excludedAttributes=members` (Entra sends it on every lookup) never loads members.
use super::ScimState;
use super::error::ScimError;
use super::json::{GroupParams, IfMatch, PatchBody, ResourceId, ScimJson, ScimResponse};
use axum::Extension;
use axum::extract::State;
use roster::model::GroupId;
use roster::scim::list::ListParams;
use roster::scim::resource::{group_json, list_response, project, wants_members};
use roster::scim::schema::ResourceType;
use roster::service::Ctx;

type Res = Result<ScimResponse, ScimError>;

pub async fn list(State(s): State<ScimState>, GroupParams(p): GroupParams) -> Res {
    page(&s, &p).await
}

/// `POST /Groups/.search` (RFC 7644 §3.4.3): the same list, its parameters in the body.
pub async fn search(State(s): State<ScimState>, ScimJson(body): ScimJson) -> Res {
    page(&s, &ListParams::from_search_request(&body, ResourceType::Group)?).await
}

async fn page(s: &ScimState, p: &ListParams) -> Res {
    let with_members = wants_members(&p.attributes, &p.excluded);
    let page = s.services.groups.list_with_members(&p.group_query(), with_members).await?;
    let items = page.items.iter().map(|(g, m)| {
        project(group_json(g, with_members.then_some(m.as_slice()), &s.base), &p.attributes, &p.excluded)
    });
    Ok(ScimResponse::ok(list_response(items.collect(), page.total, page.start_index)))
}

pub async fn get(State(s): State<ScimState>, ResourceId(id): ResourceId, GroupParams(p): GroupParams) -> Res {
    let id = GroupId(id);
    let body = if wants_members(&p.attributes, &p.excluded) {
        let (g, m) = s.services.groups.get_with_members(&id).await?;
        group_json(&g, Some(&m), &s.base)
    } else {
        group_json(&s.services.groups.get(&id).await?, None, &s.base)
    };
    Ok(ScimResponse::ok(project(body, &p.attributes, &p.excluded)))
}

pub async fn create(State(s): State<ScimState>, Extension(ctx): Extension<Ctx>, ScimJson(body): ScimJson) -> Res {
    let w = s.services.groups.create(&ctx, body).await?;
    Ok(ScimResponse::created(group_json(&w.group, Some(&w.members), &s.base)))
}

pub async fn replace(
    State(s): State<ScimState>,
    Extension(ctx): Extension<Ctx>,
    ResourceId(id): ResourceId,
    IfMatch(if_match): IfMatch,
    ScimJson(body): ScimJson,
) -> Res {
    let w = s.services.groups.replace(&ctx, &GroupId(id), body, if_match.as_deref()).await?;
    Ok(ScimResponse::ok(group_json(&w.group, Some(&w.members), &s.base)))
}

/// 204, as Entra expects; the response need not carry the (possibly huge) member list (RFC 7644 §3.5.2).
pub async fn patch(
    State(s): State<ScimState>,
    Extension(ctx): Extension<Ctx>,
    ResourceId(id): ResourceId,
    IfMatch(if_match): IfMatch,
    PatchBody(req): PatchBody,
) -> Res {
    s.services.groups.patch(&ctx, &GroupId(id), &req.operations, if_match.as_deref()).await?;
    Ok(ScimResponse::no_content())
}

pub async fn delete(
    State(s): State<ScimState>,
    Extension(ctx): Extension<Ctx>,
    ResourceId(id): ResourceId,
    IfMatch(if_match): IfMatch,
) -> Res {
    s.services.groups.delete(&ctx, &GroupId(id), if_match.as_deref()).await?;
    Ok(ScimResponse::no_content())
}
