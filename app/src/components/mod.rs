//! Shared pieces of the panel.
pub mod charts;
pub mod layout;
pub mod page;
pub mod seat_meter;
pub mod widgets;
