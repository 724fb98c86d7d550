//! Names of the services smart-home devices use, by transport and port.

use crate::wellknown;

/// ZeroTier's UDP port: no Wireshark dissector claims it.
const ZEROTIER_PORT: u16 = 9993;

/// The service usually found at `port`, if we know one.
pub fn name(transport: &str, port: u16) -> Option<&'static str> {
    match wellknown::at_named(transport, port) {
        Some(p) => Some(p.label),
        None => (transport == "udp" && port == ZEROTIER_PORT).then_some("zerotier"),
    }
}

/// Whether `port` names a service on either transport: the well-known
/// ports below 1024 and those of the services above.
pub fn is_service_port(port: u16) -> bool {
    port < 1024 || name("udp", port).is_some() || name("tcp", port).is_some()
}
