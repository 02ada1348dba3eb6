//! The SQLite and PostgreSQL stores, implementing `roster::store` once for both:
//! - [`connect`]: pools, migrations, and how a transaction starts;
//! - [`writer`]: the one task that runs every write job, several per transaction (group commit);
//! - [`tx`]: one transaction type and the SQL of every `Tx` method, written once with `$n` placeholders;
//! - [`rows`]: what the SELECTs return and its conversion to the model;
//! - [`sql`]: bound values and the SQL builder; [`query`]: the listing clauses; [`filter`]: SCIM filters to SQL;
//! - [`positions`]: deep pages of the default user listing without OFFSET.
//!
//! The contract suite in `tests.rs` runs on both databases. Sessions live in the same database ([`session`]).
pub mod connect;
pub mod filter;
pub mod positions;
pub mod query;
pub mod rows;
pub mod session;
pub mod sql;
#[cfg(test)]
mod tests;
pub mod tx;
pub mod writer;

pub use connect::Db;
