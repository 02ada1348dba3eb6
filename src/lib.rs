//! roster's domain: everything that decides what provisioning means, with no web framework and no database driver.
//!
//! Front doors (the SCIM routes and the panel's server functions in other crates) call [`service`]; the services open one
//! store transaction per mutation and apply [`rules`] inside it, so a rule is written once whichever door a request used.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

/// The audit trail's formats: the log's hash chain, OCSF records, and the CSV export.
#[cfg(feature = "service")]
pub mod audit;
/// The domain error, whose `Display` is safe to show an admin or an IdP.
pub mod error;
/// Users, groups, tokens, admins, events and the ids that name them. Serialisable and wasm-safe.
pub mod model;
/// Provisioning policy as pure functions: ownership (read-only while SCIM is on), seats, sole-group deactivation.
pub mod rules;
/// The SCIM 2.0 wire format (RFC 7643/7644): resources, filters, PATCH.
pub mod scim;
/// The services: the only code that combines rules and storage.
#[cfg(feature = "service")]
pub mod service;
/// The storage traits that `server` implements for SQLite and PostgreSQL.
#[cfg(feature = "service")]
pub mod store;

pub use error::{Error, Kind, Result};
