//! Black-box HTTP tests: each spawns the real app on port 0 with a fresh database. One binary for all of them.
mod helpers;
mod platform;
mod scim_protocol;
mod okta;
mod entra;
mod rules;
