//! Server functions, one module per resource. Each has a fixed endpoint under `/api/`, so URLs do not depend on the
//! checkout path, and each is one expression over a service.
#[cfg(feature = "ssr")]
pub mod ctx;
pub mod dashboard;
pub mod session;
