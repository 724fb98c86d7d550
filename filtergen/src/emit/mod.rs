//! Outputs for other engines.

pub mod suricata;
