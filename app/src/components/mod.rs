//! Shared pieces of the panel.
pub mod layout;
pub mod seat_meter;
pub mod widgets;
