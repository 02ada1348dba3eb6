pub mod chain;
pub mod csv;
pub mod ocsf;
