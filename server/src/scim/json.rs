//! The extractors and response type of /scim. `ScimJson` accepts `application/scim+json` and `application/json`
//! (Okta's SPEC test sends the latter); malformed JSON is 400 invalidSyntax; a body over the limit is 413 with a SCIM
//! body. `PatchBody`, `UserParams`/`GroupParams` and `IfMatch` parse the rest of a request before the handler runs.
use super::error::ScimError;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use roster::scim::list::ListParams;
use roster::scim::patch::PatchRequest;
use roster::scim::schema::ResourceType;
use roster::scim::{CONTENT_TYPE, MAX_BODY_BYTES, MAX_GROUP_BODY_BYTES};
use serde_json::Value;

pub struct ScimJson(pub Value);

impl<S: Send + Sync> FromRequest<S> for ScimJson {
    type Rejection = ScimError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let limit = if req.uri().path().contains("/Groups") { MAX_GROUP_BODY_BYTES } else { MAX_BODY_BYTES };
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ScimError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    None, // RFC 7644 §3.12 defines no scimType for 413.
                    format!("the request body is larger than {limit} bytes, the most roster takes here"),
                )
            } else {
                ScimError::new(
                    StatusCode::BAD_REQUEST,
                    Some("invalidSyntax"),
                    format!("could not read the request body: {e}"),
                )
            }
        })?;
        if bytes.is_empty() {
            return Err(ScimError::new(StatusCode::BAD_REQUEST, Some("invalidSyntax"), "the request body is empty"));
        }
        serde_json::from_slice(&bytes).map(ScimJson).map_err(|e| {
            ScimError::new(
                StatusCode::BAD_REQUEST,
                Some("invalidSyntax"),
                format!("the request body is not valid JSON: {e}"),
            )
        })
    }
}

/// A PatchOp message (RFC 7644 §3.5.2), parsed and checked by the domain.
pub struct PatchBody(pub PatchRequest);

impl<S: Send + Sync> FromRequest<S> for PatchBody {
    type Rejection = ScimError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let ScimJson(body) = ScimJson::from_request(req, state).await?;
        Ok(PatchBody(PatchRequest::parse(body)?))
    }
}

/// A resource id from the path. Any id that names nothing is 404, but one with a control character in it (a NUL, say)
/// is malformed: 400 `invalidValue`, the same on both databases.
pub struct ResourceId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ResourceId {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(id) = axum::extract::Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| ScimError::new(StatusCode::BAD_REQUEST, Some("invalidValue"), format!("bad id: {e}")))?;
        roster::scim::check_str("the id", &id, true)?;
        Ok(ResourceId(id))
    }
}

/// `If-Match` (RFC 7644 §3.14).
pub struct IfMatch(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(IfMatch(parts.headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()).map(str::to_owned)))
    }
}

/// The list parameters of a `/Users` request (also `attributes` on a single GET).
pub struct UserParams(pub ListParams);
/// The list parameters of a `/Groups` request.
pub struct GroupParams(pub ListParams);

fn params(parts: &Parts, resource: ResourceType) -> Result<ListParams, ScimError> {
    let query = parts.uri.query().unwrap_or_default();
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|e| ScimError::new(StatusCode::BAD_REQUEST, Some("invalidValue"), format!("bad query string: {e}")))?;
    Ok(ListParams::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())), resource)?)
}

impl<S: Send + Sync> FromRequestParts<S> for UserParams {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        params(parts, ResourceType::User).map(UserParams)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for GroupParams {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        params(parts, ResourceType::Group).map(GroupParams)
    }
}

/// A SCIM response: status, body and, for single resources, `ETag` and `Location` (RFC 7644 §3.1, §3.14).
pub struct ScimResponse {
    pub status: StatusCode,
    pub body: Option<Value>,
}

impl ScimResponse {
    pub fn ok(body: Value) -> Self {
        ScimResponse { status: StatusCode::OK, body: Some(body) }
    }
    pub fn created(body: Value) -> Self {
        ScimResponse { status: StatusCode::CREATED, body: Some(body) }
    }
    pub fn no_content() -> Self {
        ScimResponse { status: StatusCode::NO_CONTENT, body: None }
    }
}

impl IntoResponse for ScimResponse {
    fn into_response(self) -> Response {
        let Some(body) = self.body else {
            return self.status.into_response();
        };
        let meta = body.get("meta");
        let etag =
            meta.and_then(|m| m.get("version")).and_then(Value::as_str).and_then(|v| HeaderValue::from_str(v).ok());
        let location = (self.status == StatusCode::CREATED)
            .then(|| {
                meta.and_then(|m| m.get("location")).and_then(Value::as_str).and_then(|v| HeaderValue::from_str(v).ok())
            })
            .flatten();
        let mut r = (self.status, body.to_string()).into_response();
        let h = r.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        if let Some(v) = etag {
            h.insert(header::ETAG, v);
        }
        if let Some(v) = location {
            h.insert(header::LOCATION, v);
        }
        r
    }
}
