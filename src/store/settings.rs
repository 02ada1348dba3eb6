//! The installation's settings row: SCIM on or off, the licence, the running count of seats used, the first-run
//! setup link; the objects of each IdP, and releasing them.
use crate::Result;
use crate::model::*;
use async_trait::async_trait;

/// Reads of this concern: on a read connection, a snapshot, or inside a write transaction.
#[async_trait]
pub trait SettingsRead: Send {
    async fn settings(&mut self) -> Result<Settings>;
    /// Seats used (the running count on the settings row) and the licence.
    async fn seat_usage(&mut self) -> Result<SeatUsage>;
    async fn counts(&mut self) -> Result<Counts>;
    /// The first-run setup token and when it was issued, while no admin exists.
    async fn setup_token(&mut self) -> Result<Option<(String, Millis)>>;
    /// Each IdP that manages at least one user or group: its label, and how many users and groups it manages.
    async fn idp_counts(&mut self) -> Result<Vec<IdpObjects>>;
}

/// Writes of this concern: only a write transaction has them.
#[async_trait]
pub trait SettingsWrite: Send {
    async fn set_scim_enabled(&mut self, on: bool) -> Result<()>;
    async fn set_seat_limit(&mut self, seats: SeatLimit) -> Result<()>;
    async fn set_setup_token(&mut self, token: Option<(&str, Millis)>) -> Result<()>;
    /// Moves the running count of seats used; the services pass [`crate::rules::seats::delta`] of each user write.
    async fn adjust_seats_used(&mut self, by: i64) -> Result<()>;
    /// Makes every user and group managed by the IdP labelled `label` local; returns how many users and groups.
    async fn release_idp(&mut self, label: &str) -> Result<(i64, i64)>;
}
