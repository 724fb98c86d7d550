//! Well-known protocols and the ports they run on: the Wireshark built-in
//! dissectors device profiles name most, and the phonehome plugin's (their
//! ports read from the dissector crate). The capture filter, the native
//! matcher, the firewall, Suricata and the reports all read this one table.

use std::sync::OnceLock;

use phonehome::spec::PortRange;

use crate::plugin;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Transport {
    Tcp,
    Udp,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
        }
    }

    fn parse(text: &str) -> Option<Transport> {
        match text {
            "tcp" => Some(Transport::Tcp),
            "udp" => Some(Transport::Udp),
            _ => None,
        }
    }
}

/// Who sends a protocol's traffic on these ports to its dissector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A built-in Wireshark dissector's registration (`frame.protocols`
    /// shows the protocol there by default).
    Wireshark,
    /// The phonehome plugin's registration.
    Plugin,
    /// A port the protocol usually runs on that no dissector registers
    /// (Wireshark finds it there by a heuristic, or not at all).
    Usual,
}

/// Ports of one transport a protocol runs on.
#[derive(Clone, Copy, Debug)]
pub struct Ports {
    /// The Wireshark protocol (display-filter) name.
    pub protocol: &'static str,
    pub transport: Transport,
    pub ranges: &'static [PortRange],
    pub source: Source,
    /// What a report calls traffic there.
    pub label: &'static str,
}

/// How well a protocol's ports tell it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Told {
    /// Wireshark finds it on its ports only (no heuristic, no protocol
    /// carrying it): its ports stand for it in a capture filter, a firewall
    /// rule or the native matcher.
    Alone,
    /// Mostly on its ports, but other protocols carry it too (MQTT over
    /// WebSocket, CoAP over DTLS): good enough to open a firewall for it,
    /// not to say where Wireshark finds it.
    Mostly,
}

/// The protocols their ports tell. Others (tls, http, ssh, quic, the
/// plugin's) are found by content as well, on any port.
const BY_PORT: [(&str, Told); 12] = [
    ("dns", Told::Alone),
    ("dhcp", Told::Alone),
    ("dhcpv6", Told::Alone),
    ("ntp", Told::Alone),
    ("nbns", Told::Alone),
    ("nbdgm", Told::Alone),
    ("ssdp", Told::Alone),
    ("mdns", Told::Alone),
    ("llmnr", Told::Alone),
    ("mndp", Told::Alone),
    ("coap", Told::Mostly),
    ("mqtt", Told::Mostly),
];

/// Ports the firewall's router rules name on their own.
pub const DNS_PORT: u16 = 53;
pub const DNS_OVER_TLS_PORT: u16 = 853;
pub const DHCP_SERVER_PORT: u16 = 67;
const DHCP_CLIENT_PORT: u16 = 68;
const DHCPV6_CLIENT_PORT: u16 = 546;
pub const DHCPV6_SERVER_PORT: u16 = 547;

const fn one(port: u16) -> PortRange {
    PortRange::one(port)
}

const fn range(first: u16, last: u16) -> PortRange {
    PortRange { first, last }
}

const fn ports(protocol: &'static str, transport: Transport, ranges: &'static [PortRange], source: Source, label: &'static str) -> Ports {
    Ports { protocol, transport, ranges, source, label }
}

/// Wireshark's built-in protocols, a protocol's UDP rows before its TCP ones.
const BUILT_IN: [Ports; 22] = {
    use Source::{Usual, Wireshark};
    use Transport::{Tcp, Udp};
    [
        ports("dns", Udp, &[one(DNS_PORT)], Wireshark, "dns"),
        ports("dns", Tcp, &[one(DNS_PORT)], Wireshark, "dns"),
        ports("dhcp", Udp, &[range(DHCP_SERVER_PORT, DHCP_CLIENT_PORT)], Wireshark, "dhcp"),
        ports("dhcpv6", Udp, &[range(DHCPV6_CLIENT_PORT, DHCPV6_SERVER_PORT)], Wireshark, "dhcpv6"),
        ports("ntp", Udp, &[one(123)], Wireshark, "ntp"),
        ports("nbns", Udp, &[one(137)], Wireshark, "netbios name service"),
        ports("nbdgm", Udp, &[one(138)], Wireshark, "netbios datagrams"),
        ports("quic", Udp, &[one(443)], Wireshark, "quic"),
        ports("ssdp", Udp, &[one(1900)], Wireshark, "ssdp"),
        ports("mdns", Udp, &[one(5353)], Wireshark, "mdns"),
        ports("llmnr", Udp, &[one(5355)], Wireshark, "llmnr"),
        // RFC 4795's TCP port: Wireshark leaves it to no dissector.
        ports("llmnr", Tcp, &[one(5355)], Usual, "llmnr"),
        // MikroTik Neighbor Discovery.
        ports("mndp", Udp, &[one(5678)], Wireshark, "mndp"),
        ports("coap", Udp, &[one(5683)], Wireshark, "coap"),
        ports("mqtt", Tcp, &[one(1883)], Wireshark, "mqtt"),
        ports("ssh", Tcp, &[one(22)], Wireshark, "ssh"),
        ports("http", Tcp, &[one(80), one(8080)], Wireshark, "http"),
        ports("tls", Tcp, &[one(443)], Wireshark, "https"),
        ports("tls", Tcp, &[one(8443)], Usual, "https-alt"),
        ports("tls", Tcp, &[one(8883)], Wireshark, "mqtt over tls"),
        ports("tls", Tcp, &[one(DNS_OVER_TLS_PORT)], Wireshark, "dns over tls"),
        ports("tls", Tcp, &[one(465), one(993), one(995)], Wireshark, "mail over tls"),
    ]
};

/// What a report calls a plugin protocol's traffic.
fn plugin_label(protocol: &str, transport: Transport) -> &'static str {
    match (protocol, transport) {
        ("tuya", Transport::Tcp) => "tuya local control",
        ("tuya", Transport::Udp) => "tuya discovery",
        ("miio", _) => "miio",
        ("iotc", _) => "kalay p2p",
        ("pppp", _) => "pppp/kalay p2p",
        _ => "",
    }
}

/// Every row: the built-in protocols', then the plugin's.
pub fn all() -> &'static [Ports] {
    static ALL: OnceLock<Vec<Ports>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut rows = BUILT_IN.to_vec();
        for spec in plugin::protocols() {
            for (transport, ranges) in [(Transport::Udp, spec.udp_ports), (Transport::Tcp, spec.tcp_ports)] {
                if !ranges.is_empty() {
                    let label = plugin_label(spec.filter_name, transport);
                    rows.push(ports(spec.filter_name, transport, ranges, Source::Plugin, label));
                }
            }
        }
        rows
    })
}

/// The rows of `protocol` (none for a name not in the table).
pub fn of(protocol: &str) -> impl Iterator<Item = &'static Ports> + '_ {
    all().iter().filter(move |p| p.protocol == protocol)
}

/// The port ranges `protocol` runs on over `transport`.
pub fn ranges(protocol: &str, transport: Transport) -> impl Iterator<Item = PortRange> + '_ {
    of(protocol).filter(move |p| p.transport == transport).flat_map(|p| p.ranges.iter().copied())
}

/// Whether the table knows `protocol`'s ports.
pub fn has_ports(protocol: &str) -> bool {
    of(protocol).next().is_some()
}

/// How well `protocol`'s ports tell it (None: they do not).
pub fn told_by_port(protocol: &str) -> Option<Told> {
    BY_PORT.iter().find(|(name, _)| *name == protocol).map(|&(_, told)| told)
}

/// Whether `protocol`'s ports alone tell it.
pub fn by_port(protocol: &str) -> bool {
    told_by_port(protocol) == Some(Told::Alone)
}

/// For each transport and port, the first row holding it (its index + 1;
/// 0: none), so per-packet lookups cost one load.
struct PortIndex {
    tcp: Box<[u8]>,
    udp: Box<[u8]>,
}

fn index() -> &'static PortIndex {
    static INDEX: OnceLock<PortIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut index = PortIndex { tcp: vec![0; 65536].into(), udp: vec![0; 65536].into() };
        for (i, row) in all().iter().enumerate().rev() {
            let slots = match row.transport {
                Transport::Tcp => &mut index.tcp,
                Transport::Udp => &mut index.udp,
            };
            for r in row.ranges {
                for port in r.first..=r.last {
                    slots[usize::from(port)] = u8::try_from(i + 1).expect("fewer than 255 rows");
                }
            }
        }
        index
    })
}

/// The row holding `port` of `transport`, if any.
pub fn at(transport: Transport, port: u16) -> Option<&'static Ports> {
    let index = index();
    let slots = match transport {
        Transport::Tcp => &index.tcp,
        Transport::Udp => &index.udp,
    };
    let i = usize::from(slots[usize::from(port)]);
    (i > 0).then(|| &all()[i - 1])
}

/// [`at`] for a transport given by name ("tcp", "udp").
pub fn at_named(transport: &str, port: u16) -> Option<&'static Ports> {
    at(Transport::parse(transport)?, port)
}

/// The built-in dissector Wireshark hands `port` of `transport` to by
/// default (the layer `frame.protocols` shows above it), if the table has it.
pub fn built_in_layer(transport: Transport, port: u16) -> Option<&'static str> {
    at(transport, port).filter(|p| p.source == Source::Wireshark).map(|p| p.protocol)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_and_layers() {
        assert_eq!(ranges("dhcp", Transport::Udp).collect::<Vec<_>>(), [range(67, 68)]);
        assert_eq!(ranges("tuya", Transport::Tcp).collect::<Vec<_>>(), [one(6668)]);
        assert_eq!(ranges("mndp", Transport::Udp).collect::<Vec<_>>(), [one(5678)]);
        assert_eq!(built_in_layer(Transport::Tcp, 993), Some("tls"));
        assert_eq!(built_in_layer(Transport::Tcp, 8443), None, "a usual port, not a registration");
        assert_eq!(built_in_layer(Transport::Udp, 6667), None, "the plugin's");
        assert_eq!(at(Transport::Udp, 6667).map(|p| p.label), Some("tuya discovery"));
        assert_eq!(at(Transport::Udp, 54321).map(|p| p.protocol), Some("miio"));
        assert!(at(Transport::Udp, 32761).is_some() && at(Transport::Udp, 40000).is_none());
        assert!(by_port("mndp") && !by_port("mqtt") && !by_port("tls") && !by_port("tuya"));
        assert_eq!(told_by_port("mqtt"), Some(Told::Mostly));
    }

    #[test]
    fn each_port_is_one_protocols() {
        for t in [Transport::Tcp, Transport::Udp] {
            let mut seen = std::collections::HashMap::new();
            for row in all().iter().filter(|r| r.transport == t) {
                for r in row.ranges {
                    for port in r.first..=r.last {
                        let first = *seen.entry(port).or_insert(row.protocol);
                        assert_eq!(first, row.protocol, "{} port {port}", t.as_str());
                    }
                }
            }
        }
        for (name, _) in BY_PORT {
            assert!(has_ports(name), "{name}");
        }
    }
}
