//! The symbols Wireshark looks up when it loads a plugin. They are defined
//! in Rust because a cdylib exports only Rust's `#[no_mangle]` items; their
//! values come from the Wireshark that `pkg-config wireshark` found at build
//! time (see build.rs). Registration itself is done by the C glue.
#![allow(non_upper_case_globals)]

use std::os::raw::c_int;

mod built {
    include!(concat!(env!("OUT_DIR"), "/plugin_version.rs"));
}

/// NUL-terminated plugin version, e.g. "0.1.0\0".
#[no_mangle]
#[used]
pub static plugin_version: [u8; built::VERSION.len()] = built::VERSION;

#[no_mangle]
#[used]
pub static plugin_want_major: c_int = built::WANT_MAJOR;

#[no_mangle]
#[used]
pub static plugin_want_minor: c_int = built::WANT_MINOR;

extern "C" {
    fn ph_glue_register();
    fn ph_glue_describe() -> u32;
}

/// Called once by Wireshark at start-up.
#[no_mangle]
pub extern "C" fn plugin_register() {
    crate::ffi::install_panic_hook();
    // SAFETY: the glue's registration only queues Wireshark registrations.
    unsafe { ph_glue_register() }
}

/// Read by Wireshark 4.2+: what kind of plugin this is.
#[no_mangle]
pub extern "C" fn plugin_describe() -> u32 {
    // SAFETY: returns a constant from Wireshark's headers.
    unsafe { ph_glue_describe() }
}

/// The Wireshark version this build targets, e.g. "4.0.17".
pub const WIRESHARK_VERSION: &str = env!("PH_WIRESHARK_VERSION");
