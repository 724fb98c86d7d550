//! filtergen: compiles phonehome device profiles (YAML) into Wireshark display
//! filters, BPF capture filters, tshark command lines, batch scripts and
//! Wireshark configuration profiles; filters captures natively (`run`),
//! reports what a device did (`report`) and drafts profiles (`learn`).
//!
//! Modules, each with one job (see README.md):
//! - `cli`: argument parsing, one file per command;
//! - `profile`: YAML loading and validation, the typed rules, protocol names,
//!   DNS-resolved host names;
//! - `packet`: capture files and packet headers, without tshark;
//! - `compile`: display filters, BPF, the native matcher, macro delivery;
//! - `run`: filtering captures into NAME.MODE.pcapng;
//! - `tshark`: the one place tshark is started and its fields read;
//! - `report`: observations, the report model and its renderings, `learn`;
//! - `emit`: outputs for other tools (commands, scripts, Wireshark profiles, MUD);
//! - `watch`: a long dumpcap ring capture analysed file by file, with alerts;
//! - `wellknown`: the ports well-known protocols (and the plugin's) run on.

mod atomic;
mod cli;
mod clock;
mod compile;
mod emit;
mod error;
mod packet;
mod plugin;
mod profile;
mod report;
mod run;
mod tshark;
mod watch;
mod wellknown;

pub use cli::{run, Cli};
pub use error::Error;
pub use profile::load as load_profile;
pub use profile::rules::{Host, Mode, Profile};
pub use tshark::{installed_plugin, wireshark_xy, PluginHome};
pub use report::country::Country;
pub use report::geoip::Countries as GeoipDatabase;
