//! `UiError`: the one error type of the panel's server functions. It keeps the domain's message (written for admins)
//! and hides internals, which are logged on the server.
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum UiError {
    #[error("Please sign in.")]
    Unauthenticated,
    /// A message safe and useful to show: a refused rule, a bad value.
    #[error("{0}")]
    Message(String),
    #[error("Something went wrong on the server; it has been logged. Please try again.")]
    Internal,
    /// Transport problems between browser and server.
    #[error("Could not reach roster: {0}")]
    Transport(String),
}

impl FromServerFnError for UiError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(e: ServerFnErrorErr) -> Self {
        UiError::Transport(e.to_string())
    }
}

#[cfg(feature = "ssr")]
impl From<roster::Error> for UiError {
    fn from(e: roster::Error) -> Self {
        match e {
            roster::Error::Unauthenticated => UiError::Unauthenticated,
            roster::Error::Internal(source) => {
                tracing::error!(error = %source, "internal error in the panel");
                UiError::Internal
            }
            other => UiError::Message(other.to_string()),
        }
    }
}
