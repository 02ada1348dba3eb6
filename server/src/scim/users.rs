//! /Users handlers (RFC 7644 §3.3–3.6). Each is one expression over `UserService`.
use super::ScimState;
use super::error::ScimError;
use super::json::{IfMatch, PatchBody, ResourceId, ScimJson, ScimResponse, UserParams};
use axum::Extension;
use axum::extract::State;
use roster::model::UserId;
use roster::scim::list::ListParams;
use roster::scim::resource::{list_response, project, user_json};
use roster::scim::schema::ResourceType;
use roster::service::Ctx;

type Res = Result<ScimResponse, ScimError>;

pub async fn list(State(s): State<ScimState>, UserParams(p): UserParams) -> Res {
    page(&s, &p).await
}

/// `POST /Users/.search` (RFC 7644 §3.4.3): the same list, its parameters in the body.
pub async fn search(State(s): State<ScimState>, ScimJson(body): ScimJson) -> Res {
    page(&s, &ListParams::from_search_request(&body, ResourceType::User)?).await
}

async fn page(s: &ScimState, p: &ListParams) -> Res {
    let page = s.services.users.list(&p.user_query()).await?;
    let items = page.items.into_iter().map(|u| project(user_json(u, None, &s.base), &p.attributes, &p.excluded));
    Ok(ScimResponse::ok(list_response(items.collect(), page.total, page.start_index)))
}

pub async fn get(State(s): State<ScimState>, ResourceId(id): ResourceId, UserParams(p): UserParams) -> Res {
    let (user, groups) = s.services.users.get_with_groups(&UserId(id)).await?;
    Ok(ScimResponse::ok(project(user_json(user, Some(&groups), &s.base), &p.attributes, &p.excluded)))
}

pub async fn create(State(s): State<ScimState>, Extension(ctx): Extension<Ctx>, ScimJson(body): ScimJson) -> Res {
    let (user, _restored) = s.services.users.create(&ctx, body).await?;
    Ok(ScimResponse::created(user_json(user, None, &s.base)))
}

pub async fn replace(
    State(s): State<ScimState>,
    Extension(ctx): Extension<Ctx>,
    ResourceId(id): ResourceId,
    IfMatch(if_match): IfMatch,
    ScimJson(body): ScimJson,
) -> Res {
    let user = s.services.users.replace(&ctx, &UserId(id), body, if_match.as_deref()).await?;
    Ok(ScimResponse::ok(user_json(user, None, &s.base)))
}

pub async fn patch(
    State(s): State<ScimState>,
    Extension(ctx): Extension<Ctx>,
    ResourceId(id): ResourceId,
    IfMatch(if_match): IfMatch,
    PatchBody(req): PatchBody,
) -> Res {
    let user = s.services.users.patch(&ctx, &UserId(id), req.operations, if_match.as_deref()).await?;
    Ok(ScimResponse::ok(user_json(user, None, &s.base)))
}

pub async fn delete(
    State(s): State<ScimState>,
    Extension(ctx): Extension<Ctx>,
    ResourceId(id): ResourceId,
    IfMatch(if_match): IfMatch,
) -> Res {
    s.services.users.delete(&ctx, &UserId(id), if_match.as_deref()).await?;
    Ok(ScimResponse::no_content())
}
