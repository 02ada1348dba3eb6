//! `ScimJson`: the request body extractor and response type for /scim. Accepts `application/scim+json` and
//! `application/json` (Okta's SPEC test sends the latter); malformed JSON is 400 invalidSyntax; a body over
//! the limit is 413 with a SCIM body.
use super::error::ScimError;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use roster::scim::{CONTENT_TYPE, MAX_BODY_BYTES};
use serde_json::Value;

pub struct ScimJson(pub Value);

impl<S: Send + Sync> FromRequest<S> for ScimJson {
    type Rejection = ScimError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ScimError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    None, // RFC 7644 §3.12 defines no scimType for 413.
                    format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
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
