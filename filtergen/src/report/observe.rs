//! What one device did in a capture, gathered packet by packet from the
//! fields of one tshark pass: its endpoints (remote address, transport,
//! service port, both directions), DNS questions and answers, the names in
//! TLS SNI and HTTP Host, DHCP-offered resolvers, hourly activity and the
//! ids the plugin's IoT dissectors decode. Observations of several captures
//! merge into one.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use rustc_hash::FxHashMap;
use serde::Serialize;

use super::services;
use crate::plugin;
use crate::profile::rules::{MacPattern, Profile};
use crate::tshark::{self, fields::AGGREGATOR};

/// The Wireshark fields of the pass; the plugin's IoT fields follow them
/// (see [`fields`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Field {
    Time,
    Len,
    EthSrc,
    EthDst,
    IpSrc,
    IpDst,
    Ip6Src,
    Ip6Dst,
    Protocols,
    TcpSrc,
    TcpDst,
    UdpSrc,
    UdpDst,
    Syn,
    Ack,
    DnsResponse,
    DnsQname,
    DnsA,
    DnsAaaa,
    DnsCname,
    Sni,
    HttpHost,
    DhcpDns,
}

impl Field {
    const ALL: [Field; 23] = [
        Field::Time,
        Field::Len,
        Field::EthSrc,
        Field::EthDst,
        Field::IpSrc,
        Field::IpDst,
        Field::Ip6Src,
        Field::Ip6Dst,
        Field::Protocols,
        Field::TcpSrc,
        Field::TcpDst,
        Field::UdpSrc,
        Field::UdpDst,
        Field::Syn,
        Field::Ack,
        Field::DnsResponse,
        Field::DnsQname,
        Field::DnsA,
        Field::DnsAaaa,
        Field::DnsCname,
        Field::Sni,
        Field::HttpHost,
        Field::DhcpDns,
    ];

    /// The tshark field name.
    fn name(self) -> &'static str {
        match self {
            Field::Time => "frame.time_epoch",
            Field::Len => "frame.len",
            Field::EthSrc => "eth.src",
            Field::EthDst => "eth.dst",
            Field::IpSrc => "ip.src",
            Field::IpDst => "ip.dst",
            Field::Ip6Src => "ipv6.src",
            Field::Ip6Dst => "ipv6.dst",
            Field::Protocols => "frame.protocols",
            Field::TcpSrc => "tcp.srcport",
            Field::TcpDst => "tcp.dstport",
            Field::UdpSrc => "udp.srcport",
            Field::UdpDst => "udp.dstport",
            Field::Syn => "tcp.flags.syn",
            Field::Ack => "tcp.flags.ack",
            Field::DnsResponse => "dns.flags.response",
            Field::DnsQname => "dns.qry.name",
            Field::DnsA => "dns.a",
            Field::DnsAaaa => "dns.aaaa",
            Field::DnsCname => "dns.cname",
            Field::Sni => "tls.handshake.extensions_server_name",
            Field::HttpHost => "http.host",
            Field::DhcpDns => "dhcp.option.domain_name_server",
        }
    }
}

/// Every field of the pass, in row order: [`Field`]s, then the plugin's IoT
/// fields (those this tshark lacks are skipped).
pub fn fields() -> Vec<&'static str> {
    Field::ALL.iter().map(|f| f.name()).chain(plugin::report_fields().iter().copied()).collect()
}

/// One packet's values, in [`fields`] order.
#[derive(Clone, Copy)]
struct Row<'r, 'a>(&'r [Option<&'a str>]);

impl<'r, 'a> Row<'r, 'a> {
    fn get(self, field: Field) -> Option<&'a str> {
        self.0[field as usize]
    }

    /// The IoT fields' values, in [`plugin::report_fields`] order.
    fn iot(self) -> &'r [Option<&'a str>] {
        &self.0[Field::ALL.len()..]
    }
}

/// Packets of one endpoint closer than this belong to one burst; the
/// bursts' start times are what periods are measured on.
pub const BURST_GAP: f64 = 1.0;

/// Which packets are the device's: its MACs (or vendor prefixes) and IPs.
#[derive(Clone, Debug, Default)]
pub struct DeviceMatch {
    pub macs: Vec<MacPattern>,
    pub ips: Vec<IpAddr>,
}

impl DeviceMatch {
    pub fn from_profile(profile: &Profile) -> Option<DeviceMatch> {
        profile.device.as_ref().map(|d| DeviceMatch { macs: d.mac.clone(), ips: d.ip.clone() })
    }

    pub fn is_device(&self, mac: Option<[u8; 6]>, ip: Option<IpAddr>) -> bool {
        mac.is_some_and(|m| self.macs.iter().any(|p| m.starts_with(&p.0))) || ip.is_some_and(|a| self.ips.contains(&a))
    }
}

/// The other end of the device's traffic.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(untagged)]
pub enum Remote {
    Ip(IpAddr),
    /// Non-IP frames (ARP, LLDP, …): the peer's MAC address.
    Mac(String),
}

impl std::fmt::Display for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Remote::Ip(a) => write!(f, "{a}"),
            Remote::Mac(m) => f.write_str(m),
        }
    }
}

/// One endpoint: remote, transport (`tcp`, `udp`, or the protocol of other
/// frames such as `icmp`, `arp`), service port, and which side serves.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EndpointKey {
    pub remote: Remote,
    /// (Borrowed for `tcp` and `udp`: no text built a packet.)
    pub transport: Cow<'static, str>,
    pub port: Option<u16>,
    /// The device is the server (a remote client connects to it).
    pub device_serves: bool,
}

/// Which way a packet went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    FromDevice,
    ToDevice,
}

impl Direction {
    /// Index into [`Flow`]'s `[device→remote, remote→device]` pairs, and of
    /// the device's end in a packet's `[source, destination]`.
    fn index(self) -> usize {
        self as usize
    }
}

/// Traffic of one endpoint; index 0 is device→remote, 1 remote→device
/// ([`Direction::index`]).
#[derive(Clone, Debug, Default)]
pub struct Flow {
    pub packets: [u64; 2],
    pub bytes: [u64; 2],
    pub first: f64,
    pub last: f64,
    /// Start times of bursts (packets separated by more than [`BURST_GAP`]).
    pub bursts: Vec<f64>,
    /// Application protocols (the layer above TCP/UDP) and their packet counts.
    pub protocols: BTreeMap<String, u64>,
    /// Every layer name seen (for `protocols` rules).
    pub layers: BTreeSet<String>,
    /// Names carried by the traffic itself: TLS SNI, HTTP Host.
    pub names: BTreeSet<String>,
    pub remote_macs: BTreeSet<String>,
    /// Sent to a broadcast or multicast address.
    pub broadcast: bool,
    /// The last few `frame.protocols` texts of the flow and what they say
    /// (their layers are in `layers`): the next packets of a flow mostly
    /// carry one of them again (a TCP flow: with and without payload).
    pub(crate) seen: Vec<Seen>,
    /// The last remote MAC, in `remote_macs` already.
    pub(crate) seen_mac: Option<[u8; 6]>,
}

/// How many `frame.protocols` texts a flow remembers.
const SEEN: usize = 4;

/// A `frame.protocols` text, and what it says: the application protocol
/// (a range of the text) and which of our protocols its layers name.
#[derive(Clone, Debug)]
pub(crate) struct Seen {
    protocols: String,
    has_ip: bool,
    app: Option<std::ops::Range<usize>>,
    named: u64,
}

impl Seen {
    fn new(protocols: &str, has_ip: bool) -> Seen {
        let app = app_protocol(protocols, has_ip).map(|a| {
            let at = a.as_ptr() as usize - protocols.as_ptr() as usize;
            at..at + a.len()
        });
        // One walk over the layers: which of our protocols they name.
        let mut named = 0u64;
        for layer in layers(protocols) {
            if let Some(i) = plugin::protocol_names().position(|proto| proto == layer) {
                named |= 1 << i;
            }
        }
        Seen { protocols: protocols.to_string(), has_ip, app, named }
    }

    fn app(&self) -> Option<&str> {
        self.app.clone().map(|r| &self.protocols[r])
    }
}

impl Flow {
    fn add(&mut self, p: &PacketView, dir: Direction, new_connection: bool) {
        if self.packets == [0, 0] {
            self.first = p.ts;
            self.last = p.ts;
            self.bursts.push(p.ts);
        } else if new_connection || p.ts - self.last > BURST_GAP {
            self.bursts.push(p.ts);
        }
        self.first = self.first.min(p.ts);
        self.last = self.last.max(p.ts);
        self.packets[dir.index()] += 1;
        self.bytes[dir.index()] += p.len;
    }

    fn merge(&mut self, other: Flow) {
        if self.packets == [0, 0] {
            *self = other;
            return;
        }
        for i in 0..2 {
            self.packets[i] += other.packets[i];
            self.bytes[i] += other.bytes[i];
        }
        self.first = self.first.min(other.first);
        self.last = self.last.max(other.last);
        self.bursts = merge_bursts(&[&self.bursts, &other.bursts]);
        for (k, v) in other.protocols {
            *self.protocols.entry(k).or_default() += v;
        }
        self.layers.extend(other.layers);
        self.seen.clear();
        self.names.extend(other.names);
        self.remote_macs.extend(other.remote_macs);
        self.broadcast |= other.broadcast;
    }
}

/// Burst starts of several flows as one sorted series, starts closer than
/// [`BURST_GAP`] to the previous one folded into it.
pub fn merge_bursts(series: &[&[f64]]) -> Vec<f64> {
    let mut all: Vec<f64> = series.iter().flat_map(|s| s.iter().copied()).collect();
    all.sort_by(f64::total_cmp);
    let mut out: Vec<f64> = Vec::with_capacity(all.len());
    for t in all {
        if out.last().is_none_or(|&l| t - l > BURST_GAP) {
            out.push(t);
        }
    }
    out
}

/// One DNS name the device asked for.
#[derive(Clone, Debug, Default)]
pub struct DnsName {
    /// Times of the questions.
    pub asked: Vec<f64>,
    /// Resolver address to number of questions.
    pub resolvers: BTreeMap<IpAddr, u64>,
    pub addresses: BTreeSet<IpAddr>,
    pub cnames: BTreeSet<String>,
}

/// Everything gathered about the device.
#[derive(Clone, Debug, Default)]
pub struct Observations {
    pub packets: u64,
    pub device_packets: u64,
    pub first: Option<f64>,
    pub last: Option<f64>,
    /// (Hashed with Fx: a lookup a packet, on keys no one outside chooses.)
    pub flows: FxHashMap<EndpointKey, Flow>,
    pub dns: BTreeMap<String, DnsName>,
    /// Address to the names whose DNS answers returned it.
    pub answered: BTreeMap<IpAddr, BTreeSet<String>>,
    /// Resolvers offered to the device by DHCP (option 6).
    pub dhcp_resolvers: BTreeSet<IpAddr>,
    /// Unicast device packets per hour since the epoch.
    pub hourly: BTreeMap<i64, u64>,
    /// Hours (since the epoch) the captures cover, device traffic or not.
    pub covered_hours: BTreeSet<i64>,
    /// (field, value) of the IoT dissectors to packet count.
    pub iot: BTreeMap<(String, String), u64>,
    /// (protocol, remote address:port) of IoT-protocol packets to count.
    pub iot_remotes: BTreeMap<(String, String), u64>,
    /// Addresses the device sent from.
    pub device_ips: BTreeSet<IpAddr>,
    /// TCP connections seen in this capture: (device port, remote, remote
    /// port) to whether the device serves; decided by the SYN.
    tcp_servers: FxHashMap<(u16, IpAddr, u16), bool>,
    /// A reused (String, String) key for counting in `iot` and
    /// `iot_remotes` without building one per packet.
    scratch: (String, String),
    /// The same for `iot_remotes`, and the (remote, port) whose text its
    /// second half holds (written again only when it changes).
    remote_scratch: (String, String),
    remote_written: Option<(Remote, Option<u16>)>,
    /// The last hour put in `covered_hours`.
    last_hour: Option<i64>,
}

/// Adds 1 to `map[(a, b)]`, building the key in `scratch` (`b` writes its
/// half, or leaves it as it is): a new key is allocated only the first
/// time it is seen.
fn count(map: &mut BTreeMap<(String, String), u64>, scratch: &mut (String, String), a: &str, b: impl FnOnce(&mut String)) {
    scratch.0.clear();
    scratch.0.push_str(a);
    b(&mut scratch.1);
    match map.get_mut(scratch) {
        Some(n) => *n += 1,
        None => {
            map.insert(scratch.clone(), 1);
        }
    }
}

/// The header fields of one packet, parsed (from tshark's text, or
/// straight from the bytes by the native pass).
pub struct PacketView<'a> {
    pub ts: f64,
    pub len: u64,
    pub eth: [Option<[u8; 6]>; 2],
    pub ip: [Option<IpAddr>; 2],
    /// `frame.protocols`: the layers, colon-separated.
    pub protocols: &'a str,
    pub tcp: Option<[u16; 2]>,
    pub udp: Option<[u16; 2]>,
    /// SYN without ACK.
    pub syn_only: bool,
}

fn first(v: Option<&str>) -> Option<&str> {
    v.and_then(|s| s.split(AGGREGATOR).next())
}

use crate::tshark::fields::values as all;

fn flag(v: Option<&str>) -> bool {
    matches!(first(v), Some("1" | "True" | "true"))
}

fn mac(v: Option<&str>) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let s = first(v)?;
    let mut parts = s.split(':');
    for b in &mut out {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    Some(out)
}

/// `aa:bb:cc:dd:ee:ff`, as tshark prints a MAC.
struct MacText([u8; 17]);

impl MacText {
    fn new(m: [u8; 6]) -> MacText {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = [b':'; 17];
        for (i, b) in m.iter().enumerate() {
            out[i * 3] = DIGITS[usize::from(b >> 4)];
            out[i * 3 + 1] = DIGITS[usize::from(b & 0xf)];
        }
        MacText(out)
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("hex digits and colons")
    }
}

fn mac_text(m: [u8; 6]) -> String {
    MacText::new(m).as_str().to_string()
}

fn ports(a: Option<&str>, b: Option<&str>) -> Option<[u16; 2]> {
    Some([first(a)?.parse().ok()?, first(b)?.parse().ok()?])
}

/// Without a SYN to tell: the remote serves when the ports are equal, when
/// only its port is a service port, or when its port is the lower one.
pub fn remote_serves(device_port: u16, remote_port: u16) -> bool {
    match (services::is_service_port(device_port), services::is_service_port(remote_port)) {
        (false, true) => true,
        (true, false) => false,
        _ => remote_port <= device_port,
    }
}

/// The layer names of a `frame.protocols` text. (Split by a char test:
/// on these short texts cheaper than the substring search of `split(':')`.)
#[allow(clippy::manual_pattern_char_comparison)]
fn layers(protocols: &str) -> impl Iterator<Item = &str> {
    protocols.split(|c: char| c == ':')
}

/// The layer above TCP/UDP in `frame.protocols`, or for other frames the
/// protocol above IP (or Ethernet).
fn app_protocol(protocols: &str, has_ip: bool) -> Option<&str> {
    let after = |is: fn(&str) -> bool| {
        let mut layers = layers(protocols);
        layers.by_ref().find(|l| is(l)).map(|_| layers.next())
    };
    if let Some(above) = after(|l| l == "tcp" || l == "udp") {
        return above.filter(|l| *l != "data");
    }
    if has_ip {
        return after(|l| l == "ip" || l == "ipv6")?;
    }
    protocols.rsplit(':').find(|l| !matches!(*l, "eth" | "ethertype" | "vlan" | "llc" | "data"))
}

fn is_broadcast(ip: Option<IpAddr>, eth: Option<[u8; 6]>) -> bool {
    match ip {
        Some(IpAddr::V4(a)) if a.is_broadcast() || a.is_multicast() => true,
        Some(IpAddr::V6(a)) if a.is_multicast() => true,
        _ => eth.is_some_and(|m| m[0] & 1 == 1),
    }
}

impl Observations {
    /// Adds one packet's field values (in [`fields`] order).
    pub fn add(&mut self, device: &DeviceMatch, values: &[Option<&str>]) {
        let v = Row(values);
        let Some(ts) = first(v.get(Field::Time)).and_then(|t| t.parse::<f64>().ok()) else { return };
        let ip = |a: Field, b: Field| first(v.get(a)).or(first(v.get(b))).and_then(|s| s.parse::<IpAddr>().ok());
        let p = PacketView {
            ts,
            len: first(v.get(Field::Len)).and_then(|l| l.parse().ok()).unwrap_or(0),
            eth: [mac(v.get(Field::EthSrc)), mac(v.get(Field::EthDst))],
            ip: [ip(Field::IpSrc, Field::Ip6Src), ip(Field::IpDst, Field::Ip6Dst)],
            protocols: first(v.get(Field::Protocols)).unwrap_or(""),
            tcp: ports(v.get(Field::TcpSrc), v.get(Field::TcpDst)),
            udp: ports(v.get(Field::UdpSrc), v.get(Field::UdpDst)),
            syn_only: flag(v.get(Field::Syn)) && !flag(v.get(Field::Ack)),
        };
        self.add_view(device, &p, values);
    }

    /// Adds one packet whose header fields are parsed already; `values`
    /// holds the payload fields (DNS, names, DHCP, IoT ids) in [`fields`] order.
    pub fn add_view(&mut self, device: &DeviceMatch, p: &PacketView, values: &[Option<&str>]) {
        let v = Row(values);
        let ts = p.ts;
        self.packets += 1;
        self.first = Some(self.first.map_or(ts, |f| f.min(ts)));
        self.last = Some(self.last.map_or(ts, |l| l.max(ts)));
        let hour = (ts / 3600.0).floor() as i64;
        if self.last_hour != Some(hour) {
            self.covered_hours.insert(hour);
            self.last_hour = Some(hour);
        }
        let dir = if device.is_device(p.eth[0], p.ip[0]) {
            Direction::FromDevice
        } else if device.is_device(p.eth[1], p.ip[1]) {
            Direction::ToDevice
        } else {
            return;
        };
        self.device_packets += 1;
        let (mine, theirs) = (dir.index(), 1 - dir.index());
        if dir == Direction::FromDevice {
            if let Some(a) = p.ip[0].filter(|a| !a.is_unspecified()) {
                self.device_ips.insert(a);
            }
        }
        let remote = match (p.ip[theirs], p.eth[theirs]) {
            (Some(a), _) => Remote::Ip(a),
            (None, Some(m)) => Remote::Mac(mac_text(m)),
            (None, None) => return,
        };
        let (transport, port, device_serves, new_connection) = self.service(p, mine, theirs);
        let broadcast = is_broadcast(p.ip[1], p.eth[1]);
        if !broadcast {
            *self.hourly.entry(hour).or_default() += 1;
        }
        let key = EndpointKey { remote: remote.clone(), transport, port, device_serves };
        let flow = self.flows.entry(key).or_default();
        flow.add(p, dir, new_connection);
        flow.broadcast |= broadcast;
        let has_ip = p.ip[0].is_some();
        let at = match flow.seen.iter().position(|s| s.protocols == p.protocols && s.has_ip == has_ip) {
            Some(at) => at,
            None => {
                for layer in layers(p.protocols) {
                    if !flow.layers.contains(layer) {
                        flow.layers.insert(layer.to_string());
                    }
                }
                if flow.seen.len() == SEEN {
                    flow.seen.remove(0);
                }
                flow.seen.push(Seen::new(p.protocols, has_ip));
                flow.seen.len() - 1
            }
        };
        let seen = &flow.seen[at];
        let named = seen.named;
        if let Some(app) = seen.app() {
            match flow.protocols.get_mut(app) {
                Some(n) => *n += 1,
                None => {
                    flow.protocols.insert(app.to_string(), 1);
                }
            }
        }
        if let Some(m) = p.eth[theirs].filter(|m| flow.seen_mac != Some(*m)) {
            let text = MacText::new(m);
            if flow.remote_macs.len() < 8 && !flow.remote_macs.contains(text.as_str()) {
                flow.remote_macs.insert(text.as_str().to_string());
            }
            if flow.remote_macs.contains(text.as_str()) {
                flow.seen_mac = Some(m);
            }
        }
        for name in all(v.get(Field::Sni)).chain(all(v.get(Field::HttpHost))) {
            let name = normalize_name(name);
            if !flow.names.contains(&name) {
                flow.names.insert(name);
            }
        }
        self.dns(v, p, dir);
        if dir == Direction::ToDevice {
            self.dhcp_resolvers.extend(all(v.get(Field::DhcpDns)).filter_map(|a| a.parse::<IpAddr>().ok()));
        }
        self.iot(v, &remote, p, theirs, named);
    }

    /// Transport, service port, whether the device serves, and whether this
    /// packet opens a new connection.
    fn service(&mut self, p: &PacketView, mine: usize, theirs: usize) -> (Cow<'static, str>, Option<u16>, bool, bool) {
        if let (Some(t), Some(remote_ip)) = (p.tcp, p.ip[theirs]) {
            let conn = (t[mine], remote_ip, t[theirs]);
            let device_serves = if p.syn_only {
                let serves = mine == 1;
                self.tcp_servers.insert(conn, serves);
                serves
            } else {
                *self.tcp_servers.entry(conn).or_insert_with(|| !remote_serves(t[mine], t[theirs]))
            };
            let port = if device_serves { t[mine] } else { t[theirs] };
            return (Cow::Borrowed("tcp"), Some(port), device_serves, p.syn_only);
        }
        if let Some(u) = p.udp {
            let device_serves = !remote_serves(u[mine], u[theirs]);
            let port = if device_serves { u[mine] } else { u[theirs] };
            return (Cow::Borrowed("udp"), Some(port), device_serves, false);
        }
        let transport = app_protocol(p.protocols, p.ip[0].is_some()).unwrap_or("other").to_string();
        (Cow::Owned(transport), None, false, false)
    }

    fn dns(&mut self, v: Row, p: &PacketView, dir: Direction) {
        let Some(qname) = first(v.get(Field::DnsQname)).map(normalize_name) else { return };
        let response = flag(v.get(Field::DnsResponse));
        if dir == Direction::FromDevice && !response {
            let entry = self.dns.entry(qname).or_default();
            entry.asked.push(p.ts);
            if let Some(resolver) = p.ip[1] {
                *entry.resolvers.entry(resolver).or_default() += 1;
            }
        } else if dir == Direction::ToDevice && response {
            let addrs: Vec<IpAddr> = tshark::dns_answer(v.get(Field::DnsA), v.get(Field::DnsAaaa)).collect();
            for a in &addrs {
                self.answered.entry(*a).or_default().insert(qname.clone());
            }
            let entry = self.dns.entry(qname).or_default();
            entry.addresses.extend(addrs);
            entry.cnames.extend(all(v.get(Field::DnsCname)).map(normalize_name));
        }
    }

    /// `named`: which of our protocols the packet's layers name (bit i for
    /// the i-th of [`plugin::protocol_names`]).
    fn iot(&mut self, v: Row, remote: &Remote, p: &PacketView, theirs: usize, named: u64) {
        for (field, values) in plugin::report_fields().iter().zip(v.iot()) {
            for value in all(*values) {
                count(&mut self.iot, &mut self.scratch, field, |s| {
                    s.clear();
                    s.push_str(value);
                });
            }
        }
        for (i, proto) in plugin::protocol_names().enumerate() {
            if named & 1 << i != 0 {
                let port = p.udp.or(p.tcp).map(|ports| ports[theirs]);
                let same = self.remote_written.as_ref().is_some_and(|(r, p)| r == remote && *p == port);
                if !same {
                    use std::fmt::Write;
                    let s = &mut self.remote_scratch.1;
                    s.clear();
                    let _ = match port {
                        Some(port) => write!(s, "{remote}:{port}"),
                        None => write!(s, "{remote}"),
                    };
                    self.remote_written = Some((remote.clone(), port));
                }
                count(&mut self.iot_remotes, &mut self.remote_scratch, proto, |_| {});
            }
        }
    }

    /// Folds another capture's observations into these.
    pub fn merge(&mut self, other: Observations) {
        self.packets += other.packets;
        self.device_packets += other.device_packets;
        self.first = [self.first, other.first].into_iter().flatten().reduce(f64::min);
        self.last = [self.last, other.last].into_iter().flatten().reduce(f64::max);
        for (k, f) in other.flows {
            self.flows.entry(k).or_default().merge(f);
        }
        for (name, d) in other.dns {
            let e = self.dns.entry(name).or_default();
            e.asked.extend(d.asked);
            e.asked.sort_by(f64::total_cmp);
            for (r, n) in d.resolvers {
                *e.resolvers.entry(r).or_default() += n;
            }
            e.addresses.extend(d.addresses);
            e.cnames.extend(d.cnames);
        }
        for (a, names) in other.answered {
            self.answered.entry(a).or_default().extend(names);
        }
        self.dhcp_resolvers.extend(other.dhcp_resolvers);
        for (h, n) in other.hourly {
            *self.hourly.entry(h).or_default() += n;
        }
        self.covered_hours.extend(other.covered_hours);
        for (k, n) in other.iot {
            *self.iot.entry(k).or_default() += n;
        }
        for (k, n) in other.iot_remotes {
            *self.iot_remotes.entry(k).or_default() += n;
        }
        self.device_ips.extend(other.device_ips);
    }
}

/// Lower case, no trailing dot.
pub fn normalize_name(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(values: &[(Field, &'static str)]) -> Vec<Option<&'static str>> {
        let mut v = vec![None; fields().len()];
        for &(f, s) in values {
            v[f as usize] = Some(s);
        }
        v
    }

    #[test]
    fn service_side_and_bursts() {
        let device = DeviceMatch { macs: vec!["64:90:c1".parse().unwrap()], ips: vec![] };
        let mut o = Observations::default();
        let base = |t: &'static str, sport: &'static str, dport: &'static str, from_device: bool| {
            let (s, d, si, di) = if from_device {
                ("64:90:c1:1d:24:c4", "00:0c:42:cf:36:20", "10.10.10.8", "3.67.242.33")
            } else {
                ("00:0c:42:cf:36:20", "64:90:c1:1d:24:c4", "3.67.242.33", "10.10.10.8")
            };
            row(&[(Field::Time, t), (Field::Len, "60"), (Field::EthSrc, s), (Field::EthDst, d), (Field::IpSrc, si), (Field::IpDst, di), (Field::Protocols, "eth:ethertype:ip:tcp"), (Field::TcpSrc, sport), (Field::TcpDst, dport)])
        };
        // A connection from device port 2000 to remote port 40000 (the
        // remote serves although its port is higher: the SYN says so).
        let mut syn = base("100.0", "2000", "40000", true);
        syn[Field::Syn as usize] = Some("1");
        syn[Field::Ack as usize] = Some("0");
        o.add(&device, &syn);
        o.add(&device, &base("100.5", "40000", "2000", false));
        o.add(&device, &base("160.0", "2000", "40000", true));
        assert_eq!(o.flows.len(), 1);
        let (key, flow) = o.flows.iter().next().unwrap();
        assert_eq!((key.port, key.device_serves), (Some(40000), false));
        assert_eq!(flow.packets, [2, 1]);
        assert_eq!(flow.bursts, vec![100.0, 160.0]);
    }

    /// Every field of the pass that belongs to a plugin protocol is in that
    /// protocol's field table (tshark would refuse an unknown `-e` field).
    #[test]
    fn plugin_fields_exist_in_the_plugins_tables() {
        let mut asked = 0;
        for field in fields() {
            let Some(spec) = crate::plugin::protocols().find(|p| field.split('.').next() == Some(p.filter_name)) else { continue };
            assert!(spec.fields.iter().any(|f| f.abbrev == field), "{field} is not in the {} field table", spec.filter_name);
            asked += 1;
        }
        assert_eq!(asked, crate::plugin::report_fields().len());
    }

    #[test]
    fn heuristics() {
        assert!(remote_serves(50000, 8883));
        assert!(remote_serves(6667, 6667));
        assert!(!remote_serves(6668, 40000));
        assert!(remote_serves(1025, 443));
        assert_eq!(app_protocol("eth:ethertype:ip:udp:tuya:json", true), Some("tuya"));
        assert_eq!(app_protocol("eth:ethertype:ip:tcp", true), None);
        assert_eq!(app_protocol("eth:ethertype:arp", false), Some("arp"));
        assert_eq!(merge_bursts(&[&[1.0, 10.0], &[1.5, 20.0]]), vec![1.0, 10.0, 20.0]);
    }
}
