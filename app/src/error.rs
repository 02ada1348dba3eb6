//! `UiError`: the one error type of the panel's server functions. It keeps the domain's message (written for admins)
//! and hides internals, which are logged on the server.
//!
//! A server function that fails is answered with the status that fits (401, 403, 404, 409, 429, 503…), not the 500
//! a server function answers by default: a refused sign-in is not a server failure, to a proxy, a log or a monitor.
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use leptos::server_fn::{Bytes, Encodes};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum UiError {
    #[error("Please sign in.")]
    Unauthenticated,
    /// A message safe and useful to show: a bad value (400).
    #[error("{0}")]
    Message(String),
    /// A refusal with its own status (403 read-only, 404, 409, 429, 503…), and the message to show.
    #[error("{message}")]
    Refused { status: u16, message: String },
    #[error("Something went wrong on the server; it has been logged. Please try again.")]
    Internal,
    /// Transport problems between browser and server.
    #[error("Could not reach roster: {0}")]
    Transport(String),
}

impl UiError {
    /// A refusal with its own status, where the domain's error is not the one to show (a wrong password is
    /// `Unauthenticated` to the domain, and a message to the admin).
    pub fn refused(status: u16, message: impl Into<String>) -> Self {
        UiError::Refused { status, message: message.into() }
    }

    /// The HTTP status a server function answers this error with: set in one place, [`FromServerFnError::ser`].
    pub fn status(&self) -> u16 {
        match self {
            UiError::Unauthenticated => 401,
            UiError::Message(_) => 400,
            UiError::Refused { status, .. } => *status,
            UiError::Internal => 500,
            UiError::Transport(_) => 502,
        }
    }
}

impl FromServerFnError for UiError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(e: ServerFnErrorErr) -> Self {
        match e {
            // A request the server could not read is the caller's mistake (400), not a failure on the way.
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) | ServerFnErrorErr::Deserialization(_) => {
                UiError::Message(format!("The request was not understood: {e}"))
            }
            other => UiError::Transport(other.to_string()),
        }
    }

    /// Encodes the error for the response, and gives the response its status.
    fn ser(&self) -> Bytes {
        #[cfg(feature = "ssr")]
        respond_with(self.status());
        <JsonEncoding as Encodes<UiError>>::encode(self).unwrap_or_else(|_| Bytes::from_static(br#""Internal""#))
    }
}

/// The domain's error as the panel shows it, with the status of the domain's one table (a throttled sign-in is 429
/// here, where SCIM answers 403). A plain conversion: the status is set on the response when the error is sent.
#[cfg(feature = "ssr")]
impl From<roster::Error> for UiError {
    fn from(e: roster::Error) -> Self {
        let status = match &e {
            roster::Error::Throttled { .. } => 429,
            other => other.scim().0,
        };
        match e {
            roster::Error::Unauthenticated => UiError::Unauthenticated,
            roster::Error::Internal(source) => {
                tracing::error!(error = %source, "internal error in the panel");
                UiError::Internal
            }
            other => UiError::Refused { status, message: other.to_string() },
        }
    }
}

/// Sets this response's status, the first time only, and only for a server
/// function call answered with data (the hydrated panel's `fetch`): a form posted without JavaScript is answered with
/// a redirect back to its page, which must stay a redirect, and a page rendered on the server that shows an error is
/// still a page.
#[cfg(feature = "ssr")]
fn respond_with(status: u16) {
    use leptos::prelude::use_context;
    let answered_as_data = use_context::<http::request::Parts>().is_some_and(|req| {
        let accepts_html = req
            .headers
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"));
        req.uri.path().starts_with("/api/") && !accepts_html
    });
    if let (true, Some(res), Ok(status)) =
        (answered_as_data, use_context::<leptos_axum::ResponseOptions>(), http::StatusCode::from_u16(status))
        && res.0.read().map(|r| r.status.is_none()).unwrap_or(false)
    {
        res.set_status(status);
    }
}
