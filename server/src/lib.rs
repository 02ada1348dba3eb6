//! roster's server: the axum application that hosts the SCIM endpoint and the panel, the CLI, and the SQLite and
//! PostgreSQL stores.
pub mod api;
pub mod cli;
pub mod config;
pub mod guard;
pub mod metrics;
pub mod oidc;
pub mod scim;
pub mod serve;
pub mod signin;
pub mod site;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod web;
pub mod webhooks;
