//! Browser tests live in tests/browser.rs.
