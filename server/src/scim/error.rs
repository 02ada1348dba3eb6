//! `ScimError`: the one place the domain meets the SCIM error format (RFC 7644 §3.12). Handlers return it; the gate
//! in `mod.rs` records the failure in the provisioning log and renders the body with the entry's id appended.
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use roster::Error;
use roster::scim::{CONTENT_TYPE, SCHEMA_ERROR};
use serde_json::json;

/// A failure on its way out: status, scimType and detail (already safe to show).
#[derive(Debug, Clone)]
pub struct ScimError {
    pub status: StatusCode,
    pub scim_type: Option<&'static str>,
    pub detail: String,
    /// Refused for lack of seats: the dashboard counts these, and names the user the IdP tried to push.
    pub no_seats: Option<String>,
}

impl ScimError {
    pub fn new(status: StatusCode, scim_type: Option<&'static str>, detail: impl Into<String>) -> Self {
        ScimError { status, scim_type, detail: detail.into(), no_seats: None }
    }

    /// The body (RFC 7644 §3.12: `status` is a string).
    pub fn body(&self, log_id: Option<i64>) -> serde_json::Value {
        let detail = match log_id {
            Some(id) => format!("{} (roster log #{id})", self.detail),
            None => self.detail.clone(),
        };
        let mut b = json!({ "schemas": [SCHEMA_ERROR], "status": self.status.as_u16().to_string(), "detail": detail });
        if let Some(t) = self.scim_type {
            b["scimType"] = json!(t);
        }
        b
    }

    /// Counts this error in `roster_scim_errors_total`; the gate calls it once per error response.
    pub fn count(&self) {
        let status = self.status.as_str().to_owned();
        let scim_type = self.scim_type.unwrap_or("none");
        metrics::counter!("roster_scim_errors_total", "status" => status, "scim_type" => scim_type).increment(1);
    }

    /// Renders the final response. 401 carries `WWW-Authenticate: Bearer` (RFC 6750 §3).
    pub fn render(&self, log_id: Option<i64>) -> Response {
        let mut r = (self.status, self.body(log_id).to_string()).into_response();
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"roster SCIM\""));
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        r
    }
}

/// Status and scimType come from the domain's table ([`Error::scim`]); the detail is the error's message, except for
/// internals, which are logged and never shown.
impl From<Error> for ScimError {
    fn from(e: Error) -> Self {
        let (status, scim_type) = e.scim();
        let detail = match &e {
            Error::Unauthenticated => {
                "Invalid or missing SCIM bearer token: check the API token in your IdP's provisioning settings"
                    .to_owned()
            }
            Error::Internal(source) => {
                tracing::error!(error = %source, "internal error on /scim");
                "roster could not complete the request; it has been logged. Retry shortly".to_owned()
            }
            other => other.to_string(),
        };
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let no_seats = match e {
            Error::NoFreeSeats { user, .. } => Some(user),
            _ => None,
        };
        ScimError { status, scim_type, detail, no_seats }
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        // The gate replaces this with the logged, final form; the extension carries what it needs.
        let mut r = self.render(None);
        r.extensions_mut().insert(self);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_table() {
        let cases: Vec<(Error, u16, Option<&str>)> = vec![
            (Error::not_found(roster::Kind::User, "x"), 404, None),
            (Error::Conflict { what: "userName", value: "a".into() }, 409, Some("uniqueness")),
            (Error::InvalidFilter("f".into()), 400, Some("invalidFilter")),
            (Error::InvalidPath("p".into()), 400, Some("invalidPath")),
            (Error::InvalidValue("v".into()), 400, Some("invalidValue")),
            (Error::InvalidSyntax("s".into()), 400, Some("invalidSyntax")),
            (Error::Mutability("m".into()), 400, Some("mutability")),
            (Error::NoTarget("n".into()), 400, Some("noTarget")),
            (Error::TooMany("t".into()), 400, Some("tooMany")),
            (Error::NoFreeSeats { used: 5, limit: 5, user: "ada@example.com".into() }, 403, None),
            (Error::ScimDisabled, 403, None),
            (Error::PreconditionFailed { current: "W/\"2\"".into() }, 412, None),
            (Error::Unauthenticated, 401, None),
            (Error::internal("secret db detail"), 500, None),
            (Error::Unavailable("down".into()), 503, None),
            (Error::OtherIdp { what: "User 'a'".into(), owner: "Okta".into(), actor: "Entra".into() }, 403, None),
        ];
        for (e, status, t) in cases {
            let s = ScimError::from(e);
            assert_eq!(s.status.as_u16(), status, "{}", s.detail);
            assert_eq!(s.scim_type, t);
            assert!(!s.detail.contains("secret"), "internals never shown");
            assert_eq!(s.body(Some(7))["status"], json!(status.to_string()));
        }
    }
}
