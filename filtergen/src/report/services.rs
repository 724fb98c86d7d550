//! Names of the services smart-home devices use, by transport and port.

/// The service usually found at `port`, if we know one.
pub fn name(transport: &str, port: u16) -> Option<&'static str> {
    let both = match port {
        53 => Some("dns"),
        443 => Some("https"),
        _ => None,
    };
    let specific = match (transport, port) {
        ("tcp", 80 | 8080) => Some("http"),
        ("tcp", 8443) => Some("https-alt"),
        ("tcp", 1883) => Some("mqtt"),
        ("tcp", 8883) => Some("mqtt over tls"),
        ("tcp", 22) => Some("ssh"),
        ("tcp", 6668) => Some("tuya local control"),
        ("udp", 67 | 68) => Some("dhcp"),
        ("udp", 123) => Some("ntp"),
        ("udp", 443) => Some("quic"),
        ("udp", 1900) => Some("ssdp"),
        ("udp", 5353) => Some("mdns"),
        ("udp", 5355) => Some("llmnr"),
        ("udp", 5683) => Some("coap"),
        ("udp", 6666 | 6667) => Some("tuya discovery"),
        ("udp", 54321) => Some("miio"),
        ("udp", 32100 | 32108) => Some("pppp/kalay p2p"),
        ("udp", 10001) => Some("kalay p2p"),
        ("udp", 9993) => Some("zerotier"),
        _ => None,
    };
    specific.or(both)
}
