//! The native engine's filter: a profile and a mode compiled, like
//! [`crate::compile::dfilter`] compiles them, into a tree evaluated on [`Facts`] in
//! three-valued (Kleene) logic. `Yes`/`No` are what tshark's display filter
//! would say; `Maybe` means only dissection can tell (host names, protocols
//! found by port or heuristics, raw filters, frames `headers` cannot settle).

use std::net::IpAddr;

use ipnet::IpNet;

use crate::packet::headers::Facts;
use crate::profile::resolve::Resolved;
use crate::profile::rules::{MacPattern, Mode, PortRange, Profile, Protocol, Rule};
use crate::report::country::{self, Country};
use crate::wellknown::{self, Transport};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tri {
    No,
    Maybe,
    Yes,
}

impl Tri {
    fn not(self) -> Tri {
        match self {
            Tri::No => Tri::Yes,
            Tri::Maybe => Tri::Maybe,
            Tri::Yes => Tri::No,
        }
    }
}

/// What a packet carries, or may carry when the facts are not certain.
fn seen(found: bool, facts: &Facts) -> Tri {
    if found {
        Tri::Yes
    } else if facts.certain {
        Tri::No
    } else {
        Tri::Maybe
    }
}

#[derive(Clone, Debug)]
enum Expr {
    All(Vec<Expr>),
    Any(Vec<Expr>),
    Not(Box<Expr>),
    Mac(Vec<MacPattern>),
    Nets(NetSet),
    TcpPorts(Vec<PortRange>),
    UdpPorts(Vec<PortRange>),
    /// A protocol the headers settle (eth, arp, icmp, ...), or not.
    Protocol(Protocol),
    /// A protocol found on certain ports: `Maybe` there (on either
    /// transport: Wireshark registers some on the other one too, NTP and
    /// DHCPv6 on TCP, and a `Maybe` only leaves the packet to dissection),
    /// else not there.
    AtPorts(Vec<PortRange>),
    /// DNS: any UDP datagram (its heuristic is on by default) or these TCP ports.
    Dns(Vec<PortRange>),
    /// Registration countries of either address (embedded registry data).
    Countries(Vec<Country>),
    /// Host names (DNS, TLS SNI, HTTP Host): only in a TCP/UDP payload.
    Names,
    /// A raw display filter.
    Raw,
}

/// CIDR blocks as sorted, merged integer ranges (binary search per packet).
#[derive(Clone, Debug, Default)]
struct NetSet {
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
}

impl NetSet {
    fn new(nets: &[IpNet]) -> NetSet {
        let mut set = NetSet::default();
        for net in IpNet::aggregate(&nets.to_vec()) {
            match net {
                IpNet::V4(n) => set.v4.push((n.network().into(), n.broadcast().into())),
                IpNet::V6(n) => set.v6.push((n.network().into(), n.broadcast().into())),
            }
        }
        set.v4.sort_unstable();
        set.v6.sort_unstable();
        set
    }

    fn contains<T: Ord + Copy>(ranges: &[(T, T)], x: T) -> bool {
        let i = ranges.partition_point(|r| r.0 <= x);
        i > 0 && ranges[i - 1].1 >= x
    }

    fn matches(&self, f: &Facts) -> bool {
        f.ip4.is_some_and(|(a, b)| Self::contains(&self.v4, a) || Self::contains(&self.v4, b))
            || f.ip6.is_some_and(|(a, b)| Self::contains(&self.v6, a) || Self::contains(&self.v6, b))
    }
}

/// A compiled mode filter.
#[derive(Clone, Debug)]
pub struct Program {
    expr: Expr,
    /// Whether any rule of the mode is a raw display filter (which may test
    /// anything, frame numbers included: tshark then needs the whole file).
    pub has_raw_filter: bool,
    /// Whether only stateless-per-conversation tests can be `Maybe` (see
    /// [`Program::flow_local`]).
    flow_local: bool,
}

impl Program {
    /// Mirrors `dfilter::compile` (same structure, same resolved addresses).
    pub fn compile(profile: &Profile, mode: Mode, resolved: &Resolved) -> Program {
        let device = match &profile.device {
            Some(d) => {
                let mut parts = Vec::new();
                if !d.mac.is_empty() {
                    parts.push(Expr::Mac(d.mac.clone()));
                }
                let nets: Vec<IpNet> = d.ip.iter().map(|&a| IpNet::from(a)).collect();
                if !nets.is_empty() {
                    parts.push(Expr::Nets(NetSet::new(&nets)));
                }
                Expr::Any(parts)
            }
            None => Expr::Any(Vec::new()),
        };
        let rules: Vec<&Rule> = match mode {
            Mode::Device => Vec::new(),
            Mode::Clean => profile.ignore.iter().collect(),
            Mode::Unexpected => profile.ignore.iter().chain(&profile.expected).collect(),
        };
        let mut all = vec![device];
        all.extend(rules.iter().map(|r| Expr::Not(Box::new(rule(r, resolved)))));
        let has_raw_filter = rules.iter().any(|r| r.filter.is_some());
        let flow_local = rules.iter().flat_map(|r| &r.protocols).all(|p| flow_local(&p.0));
        Program { expr: Expr::All(all), has_raw_filter, flow_local }
    }

    pub fn eval(&self, facts: &Facts) -> Tri {
        eval(&self.expr, facts)
    }

    /// Whether every test that can be `Maybe` is decided by tshark from the
    /// packet's own conversation (its IP address pair): host names and the
    /// port-registered protocols below. Then tshark needs only the
    /// conversations that hold undecided packets, not the whole device.
    pub fn flow_local(&self) -> bool {
        self.flow_local && !self.has_raw_filter
    }
}

/// Whether tshark settles `protocol` from the packet and its own
/// conversation (no state set up by other conversations, such as SIP/SDP
/// announcing RTP ports): the header protocols, those their ports alone
/// tell, and TLS (found by content within its own stream).
fn flow_local(protocol: &str) -> bool {
    header_protocol(protocol).is_some() || wellknown::by_port(protocol) || protocol == "tls"
}

fn rule(rule: &Rule, resolved: &Resolved) -> Expr {
    let mut keys = Vec::new();
    if !rule.mac.is_empty() {
        keys.push(Expr::Mac(rule.mac.clone()));
    }
    if !rule.host.is_empty() {
        let mut nets: Vec<IpNet> = rule.nets().collect();
        let names: Vec<_> = rule.names().collect();
        nets.extend(names.iter().flat_map(|n| resolved.addresses_for(n)).map(|a: IpAddr| IpNet::from(a)));
        let mut any = Vec::new();
        if !nets.is_empty() {
            any.push(Expr::Nets(NetSet::new(&nets)));
        }
        if !names.is_empty() {
            any.push(Expr::Names);
        }
        keys.push(Expr::Any(any));
    }
    if rule.has_ports() {
        keys.push(Expr::Any(vec![Expr::TcpPorts(rule.tcp.clone()), Expr::UdpPorts(rule.udp.clone())]));
    }
    if !rule.protocols.is_empty() {
        keys.push(Expr::Any(rule.protocols.iter().map(protocol_expr).collect()));
    }
    if !rule.country.is_empty() {
        keys.push(Expr::Countries(rule.country.clone()));
    }
    if rule.filter.is_some() {
        keys.push(Expr::Raw);
    }
    Expr::All(keys)
}

fn eval(e: &Expr, f: &Facts) -> Tri {
    match e {
        // All: any No decides; Any: any Yes decides; else Maybe if any Maybe.
        Expr::All(parts) => fold(parts, f, Tri::No, Tri::Yes),
        Expr::Any(parts) => fold(parts, f, Tri::Yes, Tri::No),
        Expr::Not(inner) => eval(inner, f).not(),
        Expr::Mac(macs) => seen(f.eth.is_some_and(|(src, dst)| macs.iter().any(|m| mac_matches(m, &src) || mac_matches(m, &dst))), f),
        Expr::Nets(set) => seen(set.matches(f), f),
        Expr::TcpPorts(ports) => seen(f.tcp_port(|x| ports.iter().any(|p| p.contains(x))), f),
        Expr::UdpPorts(ports) => seen(f.udp_port(|x| ports.iter().any(|p| p.contains(x))), f),
        Expr::Protocol(p) => protocol(&p.0, f),
        Expr::AtPorts(ports) => {
            let at = |x: u16| ports.iter().any(|p| p.contains(x));
            if f.udp_port(at) || f.tcp_port(at) {
                Tri::Maybe
            } else {
                seen(false, f)
            }
        }
        Expr::Dns(tcp) => {
            if f.udp.is_some() || f.tcp_port(|x| tcp.iter().any(|p| p.contains(x))) {
                Tri::Maybe
            } else {
                seen(false, f)
            }
        }
        Expr::Countries(countries) => seen(in_countries(countries, f), f),
        Expr::Names => {
            if f.l4_payload || f.tcp.is_some() {
                Tri::Maybe
            } else {
                seen(false, f)
            }
        }
        Expr::Raw => Tri::Maybe,
    }
}

/// Kleene AND (`decisive` No, `neutral` Yes) or OR (the other way round).
fn fold(parts: &[Expr], f: &Facts, decisive: Tri, neutral: Tri) -> Tri {
    let mut out = neutral;
    for p in parts {
        match eval(p, f) {
            t if t == decisive => return decisive,
            Tri::Maybe => out = Tri::Maybe,
            _ => {}
        }
    }
    out
}

fn in_countries(countries: &[Country], f: &Facts) -> bool {
    let of = |a: IpAddr| country::code(a).is_some_and(|c| countries.iter().any(|x| x.as_str() == c));
    f.ip4.is_some_and(|(a, b)| of(IpAddr::V4(a.into())) || of(IpAddr::V4(b.into())))
        || f.ip6.is_some_and(|(a, b)| of(IpAddr::V6(a.into())) || of(IpAddr::V6(b.into())))
}

fn mac_matches(pattern: &MacPattern, mac: &[u8; 6]) -> bool {
    mac.starts_with(&pattern.0)
}

/// How the matcher judges protocol `p`: by the ports it is found on (see
/// [`wellknown::by_port`]) or by the headers.
fn protocol_expr(p: &Protocol) -> Expr {
    fn all_ports(name: &str) -> Vec<PortRange> {
        [Transport::Udp, Transport::Tcp].into_iter().flat_map(|t| wellknown::ranges(name, t)).map(PortRange::from).collect()
    }
    match p.0.as_str() {
        // Wireshark gives TCP on the mDNS and LLMNR ports to its DNS dissector.
        "dns" => Expr::Dns(["dns", "mdns", "llmnr"].into_iter().flat_map(all_ports).collect()),
        name if wellknown::by_port(name) => Expr::AtPorts(all_ports(name)),
        _ => Expr::Protocol(p.clone()),
    }
}

/// A protocol the header decoder settles (`Yes`/`No`), or one it cannot judge.
fn protocol(name: &str, f: &Facts) -> Tri {
    header_protocol(name).map_or(Tri::Maybe, |present| seen(present(f), f))
}

/// The header protocols: each one's test of the decoded headers.
fn header_protocol(name: &str) -> Option<fn(&Facts) -> bool> {
    Some(match name {
        "eth" => |f| f.eth.is_some(),
        "vlan" => |f| f.vlan,
        "arp" => |f| f.ethertype == Some(0x0806),
        "lldp" => |f| f.ethertype == Some(0x88cc),
        "ip" => |f| f.ethertype == Some(0x0800),
        "ipv6" => |f| f.ethertype == Some(0x86dd),
        "stp" => |f| f.llc.is_some_and(|l| l.dsap == 0x42 && l.ssap == 0x42 || l.snap == Some((0x00000c, 0x010b))),
        "cdp" => |f| f.llc.is_some_and(|l| l.snap == Some((0x00000c, 0x2000))),
        "tcp" => |f| f.tcp.is_some(),
        "udp" => |f| f.udp.is_some(),
        "icmp" => |f| f.ip4.is_some() && f.ip_proto == Some(1),
        "icmpv6" => |f| f.ip6.is_some() && f.ip_proto == Some(58),
        "igmp" => |f| f.ip4.is_some() && f.ip_proto == Some(2),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::headers::Llc;

    #[test]
    fn flow_local_protocols() {
        for p in ["eth", "vlan", "udp", "igmp", "dns", "mdns", "mndp", "nbns", "dhcpv6", "tls"] {
            assert!(flow_local(p), "{p}");
        }
        for p in ["sip", "rtp", "mqtt", "coap", "http", "tuya", "miio"] {
            assert!(!flow_local(p), "{p}");
        }
    }

    /// `name` as a rule's `protocols` entry judges `f`.
    fn protocol(name: &str, f: &Facts) -> Tri {
        eval(&protocol_expr(&Protocol(name.to_string())), f)
    }

    fn udp(src: u32, dst: u32, sport: u16, dport: u16) -> Facts {
        Facts {
            certain: true,
            eth: Some(([0x64, 0x90, 0xc1, 1, 2, 3], [0xff; 6])),
            ethertype: Some(0x0800),
            ip4: Some((src, dst)),
            ip_proto: Some(17),
            udp: Some((sport, dport)),
            l4_payload: true,
            ..Default::default()
        }
    }

    #[test]
    fn three_valued_logic() {
        let f = udp(1, 2, 6667, 6667);
        assert_eq!(protocol("dhcp", &f), Tri::No);
        assert_eq!(protocol("dns", &f), Tri::Maybe);
        assert_eq!(protocol("udp", &f), Tri::Yes);
        assert_eq!(protocol("tuya", &f), Tri::Maybe);
        assert_eq!(protocol("dhcp", &udp(1, 2, 68, 67)), Tri::Maybe);
        let uncertain = Facts { certain: false, ..f };
        assert_eq!(protocol("arp", &uncertain), Tri::Maybe);
        assert_eq!(protocol("udp", &uncertain), Tri::Yes, "what is there stays true");
        let stp = Facts { certain: true, llc: Some(Llc { dsap: 0x42, ssap: 0x42, snap: None }), ..Default::default() };
        assert_eq!(protocol("stp", &stp), Tri::Yes);
        assert_eq!(protocol("ip", &stp), Tri::No);
        let nets = NetSet::new(&["3.64.0.0/14".parse().unwrap(), "10.0.0.1/32".parse().unwrap()]);
        assert!(nets.matches(&udp(0x03_43_f2_21, 7, 1, 2)));
        assert!(!nets.matches(&udp(0x03_44_00_00, 7, 1, 2)));
        assert!(nets.matches(&udp(9, 0x0a00_0001, 1, 2)));
    }

    #[test]
    fn countries_are_decided_from_the_addresses() {
        let cn = Expr::Countries(vec!["CN".parse().unwrap()]);
        let device = 0x0a0a_0a32;
        assert_eq!(eval(&cn, &udp(device, u32::from(std::net::Ipv4Addr::new(114, 114, 114, 114)), 40000, 53)), Tri::Yes);
        assert_eq!(eval(&cn, &udp(u32::from(std::net::Ipv4Addr::new(61, 164, 36, 105)), device, 123, 123)), Tri::Yes);
        assert_eq!(eval(&cn, &udp(device, u32::from(std::net::Ipv4Addr::new(8, 8, 8, 8)), 40000, 53)), Tri::No);
        assert_eq!(eval(&cn, &udp(device, 0x0a0a_0a01, 40000, 53)), Tri::No);
    }
}
