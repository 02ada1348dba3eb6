//! Black-box HTTP tests: each spawns the real app on port 0 with a fresh database. One binary for all of them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly by design.
mod audit;
mod concurrency;
mod entra;
mod events;
mod faults;
mod hardening;
mod helpers;
mod instances;
mod okta;
mod operations;
mod panel;
mod platform;
mod roles;
mod rules;
mod scim_protocol;
mod sessions;
mod sso;
mod store;
mod tls;
mod upgrades;
