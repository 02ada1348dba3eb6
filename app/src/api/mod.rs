//! Server functions, one module per resource. Each has a fixed endpoint under `/api/`, so URLs do not depend on the
//! checkout path; each is a thin adapter: the signed-in admin, one service call, a redirect to the page to show next.
pub mod admins;
pub mod dashboard;
pub mod groups;
pub mod integrations;
pub mod log;
pub mod scim;
pub mod session;
pub mod sso;
pub mod users;

#[cfg(feature = "ssr")]
pub mod ctx;

/// The signed-in admin, as the panel shows them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Me {
    pub email: String,
    pub role: roster::model::Role,
}

/// What the sign-in page offers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SignInOptions {
    /// "Sign in with {label}", when single sign-on is set up.
    pub sso_label: Option<String>,
    pub password_for_break_glass_only: bool,
    /// Why the last sign-in through the IdP was refused.
    pub refusal: Option<String>,
}

/// A message to show once on the next page. It never carries a secret: the session lives in the database.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Flash {
    pub message: String,
}
