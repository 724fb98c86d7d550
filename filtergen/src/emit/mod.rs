//! Generators that turn profiles into other tools' configuration.

pub mod firewall;
