//! The shared harness (`testkit`): the real application on port 0 with a fresh database (SQLite, or
//! PostgreSQL when `ROSTER_TEST_POSTGRES_URL` is set), and clients that speak SCIM and the panel's forms.
pub use testkit::*;
