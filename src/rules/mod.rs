//! Provisioning policy as pure functions over snapshots. The services call these inside their transaction; the panel
//! calls [`ownership::access`] to render the same decision the write path enforces.
pub mod delivery;
pub mod drift;
pub mod membership;
pub mod ownership;
pub mod roles;
pub mod seats;
