//! filtergen: compiles phonehome device profiles (YAML) into Wireshark display
//! filters, BPF capture filters, tshark command lines, batch scripts and
//! Wireshark configuration profiles.
//!
//! Library layout, reusable by later commands:
//! - [`profile`] loads and validates a YAML profile (positions in errors);
//! - [`rules`] is the typed model every value is parsed into;
//! - [`dfilter`] and [`bpf`] compile a profile and a [`rules::Mode`];
//! - [`delivery`] decides inline argument vs. Wireshark macro (128 KiB limit);
//! - [`jobs`], [`command`], [`script`], [`wsprofile`] produce the outputs;
//! - [`check`] compiles filters with the real tshark and libpcap.

pub mod atomic;
pub mod bpf;
pub mod capture;
pub mod check;
pub mod cli;
pub mod command;
pub mod delivery;
pub mod dfilter;
pub mod emit;
pub mod engine;
pub mod error;
pub mod expr;
pub mod headers;
pub mod jobs;
pub mod native;
pub mod profile;
pub mod protocols;
pub mod resolve;
pub mod run;
pub mod rules;
pub mod script;
pub mod shell;
pub mod uat;
pub mod wsprofile;

pub use error::Error;

// Issue 7: report, learn, mud.
pub mod clock;
pub mod gather;
pub mod geoip;
pub mod learn;
pub mod learn_cmd;
pub mod mud;
pub mod observe;
pub mod period;
pub mod report;
pub mod report_cmd;
pub mod report_html;
pub mod report_text;
pub mod services;
pub mod plugin_home;
pub mod tshark_fields;
