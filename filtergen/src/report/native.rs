//! The native observation pass: each capture streamed once (pcap, pcapng,
//! gzip, as `run` reads them), headers decoded by the run engine's decoder
//! (`headers`), payloads by [`super::payload`] and the IoT dissectors by
//! [`super::iot`], and every packet turned into the row of fields a
//! `tshark -T fields` pass would print for it (see `observe::fields`), so
//! both engines feed the same observations.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
use pcap_file::DataLink;
use rustc_hash::FxHashMap;

use super::iot::{Context, Iot};
use super::payload;
use super::observe::{self, DeviceMatch, Observations, PacketView};
use crate::error::Error;
use crate::packet::capture::{self, Event};
use crate::packet::headers::{self, Facts};
use crate::tshark::fields::AGGREGATOR;
use crate::wellknown::{self, Transport};

/// The built-in Wireshark dissector registered on a UDP port (the layer
/// `frame.protocols` shows above `udp`).
fn udp_layer(port: u16) -> Option<&'static str> {
    wellknown::built_in_layer(Transport::Udp, port)
}

/// The same for TCP ports; TLS ports carry ClientHello names.
fn tcp_layer(port: u16) -> Option<&'static str> {
    wellknown::built_in_layer(Transport::Tcp, port)
}

const TLS_HEADER: usize = 5;

/// Where one direction of a TLS stream is: a handshake record being
/// gathered (header first), or the bytes of another record still to come.
#[derive(Default)]
struct TlsStream {
    record: Vec<u8>,
    /// The gathered record's whole length, once its header is read.
    record_len: usize,
    skip: usize,
}

/// One direction of a TCP stream: (source, destination) address and port.
type StreamKey = ((IpAddr, u16), (IpAddr, u16));

/// The row being built for one packet: one text per field of the pass.
struct Row {
    values: Vec<String>,
}

impl Row {
    fn clear(&mut self) {
        self.values.iter_mut().for_each(String::clear);
    }

    fn set(&mut self, field: usize, value: impl std::fmt::Display) {
        use std::fmt::Write;
        let v = &mut self.values[field];
        v.clear();
        let _ = write!(v, "{value}");
    }

    /// Adds one more occurrence of a field.
    fn push(&mut self, field: usize, value: impl std::fmt::Display) {
        use std::fmt::Write;
        let v = &mut self.values[field];
        if !v.is_empty() {
            v.push(AGGREGATOR);
        }
        let _ = write!(v, "{value}");
    }

    /// [`Row::push`] of text as it is.
    fn push_str(&mut self, field: usize, value: &str) {
        let v = &mut self.values[field];
        if !v.is_empty() {
            v.push(AGGREGATOR);
        }
        v.push_str(value);
    }
}

/// The pass's fields, in row order.
fn names() -> &'static [&'static str] {
    static NAMES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    NAMES.get_or_init(observe::fields)
}

fn field(name: &str) -> usize {
    names().iter().position(|f| *f == name).expect("a field of the pass")
}

/// More than the pass has fields (checked when a pass starts).
const MAX_FIELDS: usize = 64;

/// Indices into the row, looked up once.
struct Indices {
    time: usize,
    dns_response: usize,
    dns_qname: usize,
    dns_a: usize,
    dns_aaaa: usize,
    dns_cname: usize,
    sni: usize,
    http_host: usize,
    dhcp_dns: usize,
}

impl Indices {
    fn new() -> Indices {
        Indices {
            time: field("frame.time_epoch"),
            dns_response: field("dns.flags.response"),
            dns_qname: field("dns.qry.name"),
            dns_a: field("dns.a"),
            dns_aaaa: field("dns.aaaa"),
            dns_cname: field("dns.cname"),
            sni: field("tls.handshake.extensions_server_name"),
            http_host: field("http.host"),
            dhcp_dns: field("dhcp.option.domain_name_server"),
        }
    }
}

/// Called with each packet's frame number (1-based), header view and row.
pub type Hook<'h> = &'h mut dyn FnMut(u32, &PacketView, &[Option<&str>]);

/// The pass over one capture.
struct Pass<'a, 'h> {
    devices: &'a [&'a DeviceMatch],
    hook: Option<Hook<'h>>,
    /// One per device, in the order of `devices`.
    observations: Vec<Observations>,
    row: Row,
    at: Indices,
    /// Timestamp resolution (digits after the point) of each interface.
    resolutions: Vec<u32>,
    frame: u32,
    iot: Iot,
    /// (Hashed with Fx: a lookup a TLS segment, on keys no one outside chooses.)
    tls: FxHashMap<StreamKey, TlsStream>,
    /// This packet's time, headers and `frame.protocols`.
    time: f64,
    headers: Headers,
    layers: String,
    /// The layer list `layers` is written from (kept for its allocation).
    layer_list: Vec<&'static str>,
}

/// The header fields of the packet being read.
#[derive(Default)]
struct Headers {
    ip: [Option<IpAddr>; 2],
    tcp: Option<[u16; 2]>,
    udp: Option<[u16; 2]>,
    syn_only: bool,
}

/// What the native pass made of one capture: `O` is one device's
/// observations, or each device's for [`observe_each`].
pub enum Outcome<O = Observations> {
    /// The observations, and the problem that stopped the read early, if any.
    Observed(O, Option<String>),
    /// A link type other than Ethernet (Linux cooked, raw IP, 802.11, ...):
    /// the native decoder does not read it, so the capture needs tshark.
    Foreign(DataLink),
}

/// Observes one capture natively. A damaged capture is not an `Err`: its
/// problem comes back with the observations of the packets before it.
pub fn observe(path: &Path, device: &DeviceMatch) -> Result<Outcome, Error> {
    observe_with(path, device, None)
}

/// [`observe`], showing every packet to `hook` as it goes (to find the
/// frame that carried something).
pub fn observe_with(path: &Path, device: &DeviceMatch, hook: Option<Hook>) -> Result<Outcome, Error> {
    Ok(match pass(path, &[device], hook)? {
        Outcome::Observed(mut each, problem) => Outcome::Observed(each.pop().unwrap_or_default(), problem),
        Outcome::Foreign(linktype) => Outcome::Foreign(linktype),
    })
}

/// Observes one capture natively for several devices in one read: each
/// device's observations, in the order of `devices`.
pub fn observe_each(path: &Path, devices: &[&DeviceMatch]) -> Result<Outcome<Vec<Observations>>, Error> {
    pass(path, devices, None)
}

fn pass(path: &Path, devices: &[&DeviceMatch], hook: Option<Hook>) -> Result<Outcome<Vec<Observations>>, Error> {
    assert!(names().len() <= MAX_FIELDS, "the pass has more fields than MAX_FIELDS");
    let mut pass = Pass {
        devices,
        hook,
        observations: devices.iter().map(|_| Observations::default()).collect(),
        row: Row { values: vec![String::new(); names().len()] },
        at: Indices::new(),
        resolutions: Vec::new(),
        frame: 0,
        iot: Iot::new(names()),
        tls: FxHashMap::default(),
        time: 0.0,
        headers: Headers::default(),
        layers: String::new(),
        layer_list: Vec::with_capacity(8),
    };
    let mut foreign = None;
    let read = capture::read(path, Arc::new(AtomicU64::new(0)), |event| {
        match event {
            Event::Interface(idb) if idb.linktype != DataLink::ETHERNET => {
                foreign = Some(idb.linktype);
                return Err(Error::Usage(format!("{}: link type {:?}", path.display(), idb.linktype)));
            }
            Event::Interface(idb) => pass.resolutions.push(resolution(&idb.options)),
            Event::Packet(p) => pass.packet(p.interface, p.linktype, p.timestamp, p.original_len, p.data),
            Event::Forward(_) => {}
        }
        Ok(())
    });
    if let Some(linktype) = foreign {
        return Ok(Outcome::Foreign(linktype));
    }
    let summary = read?;
    let problem = summary.problem.map(|p| format!("{}: damaged at byte {}: {}", path.display(), p.offset, p.reason));
    Ok(Outcome::Observed(pass.observations, problem))
}

/// `seconds.nanoseconds` (nine digits after the point) into `out`, as
/// `format!("{seconds}.{nanos:09}")` writes it, without the formatter's
/// cost (it showed, once a packet).
fn time_text(seconds: u64, nanos: u64, out: &mut String) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = seconds;
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let mut fraction = [b'0'; 9];
    let mut n = nanos;
    for d in fraction.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.clear();
    out.push_str(std::str::from_utf8(&digits[at..]).expect("digits"));
    out.push('.');
    out.push_str(std::str::from_utf8(&fraction).expect("digits"));
}

/// if_tsresol: 10^-n seconds (pcapng's default is microseconds); a
/// power-of-two resolution is taken as its nearest decimal digit count.
fn resolution(options: &[InterfaceDescriptionOption]) -> u32 {
    options
        .iter()
        .find_map(|o| match o {
            InterfaceDescriptionOption::IfTsResol(r) if r & 0x80 == 0 => Some(u32::from(*r).min(9)),
            InterfaceDescriptionOption::IfTsResol(r) => Some(((f64::from(r & 0x7f)) * 2f64.log10()).ceil() as u32),
            _ => None,
        })
        .unwrap_or(6)
}

impl Pass<'_, '_> {
    fn packet(&mut self, interface: u32, linktype: DataLink, timestamp: u64, original_len: u32, data: &[u8]) {
        self.frame += 1;
        let digits = self.resolutions.get(interface as usize).copied().unwrap_or(6);
        let scale = 10u64.pow(digits);
        self.row.clear();
        // The time as tshark prints it (nine digits after the point), read
        // back as tshark's reader does, so both engines hold the same f64.
        let nanos = (timestamp % scale) * 10u64.pow(9 - digits);
        time_text(timestamp / scale, nanos, &mut self.row.values[self.at.time]);
        self.time = self.row.values[self.at.time].parse().unwrap_or(0.0);
        let facts = headers::decode(linktype, data);
        self.headers = Headers::default();
        let mut layers = std::mem::take(&mut self.layers);
        layers.clear();
        self.layers(&facts, data, &mut layers);
        let h = &self.headers;
        let view = PacketView {
            ts: self.time,
            len: u64::from(original_len),
            eth: facts.eth.map_or([None, None], |(s, d)| [Some(s), Some(d)]),
            ip: h.ip,
            protocols: &layers,
            tcp: h.tcp,
            udp: h.udp,
            syn_only: h.syn_only,
        };
        let mut values: [Option<&str>; MAX_FIELDS] = [None; MAX_FIELDS];
        for (v, text) in values.iter_mut().zip(&self.row.values) {
            if !text.is_empty() {
                *v = Some(text.as_str());
            }
        }
        let values = &values[..self.row.values.len()];
        for (device, observations) in self.devices.iter().zip(&mut self.observations) {
            observations.add_view(device, &view, values);
        }
        if let Some(hook) = self.hook.as_mut() {
            hook(self.frame, &view, values);
        }
        self.layers = layers;
    }

    /// Fills the header fields and the payload fields of the row; writes
    /// `frame.protocols` into `out`.
    fn layers(&mut self, f: &Facts, data: &[u8], out: &mut String) {
        let mut layers = std::mem::take(&mut self.layer_list);
        layers.clear();
        self.stack(f, data, &mut layers);
        for (i, l) in layers.iter().enumerate() {
            if i > 0 {
                out.push(':');
            }
            out.push_str(l);
        }
        self.layer_list = layers;
    }

    fn stack(&mut self, f: &Facts, data: &[u8], layers: &mut Vec<&'static str>) {
        if f.eth.is_none() {
            return;
        }
        layers.push("eth");
        if f.llc.is_some() || (f.ethertype.is_none() && data.len() >= 14) {
            layers.push("llc");
            match f.llc {
                Some(l) if l.dsap == 0x42 && l.ssap == 0x42 => layers.push("stp"),
                Some(l) if l.snap == Some((0x00000c, 0x2000)) => layers.push("cdp"),
                Some(l) if l.snap == Some((0x00000c, 0x010b)) => layers.push("stp"),
                _ => {}
            }
            return;
        }
        layers.push("ethertype");
        if f.vlan {
            layers.extend(["vlan", "ethertype"]);
        }
        let (src_ip, dst_ip) = match (f.ip4, f.ip6) {
            (Some((a, b)), _) => {
                layers.push("ip");
                (IpAddr::V4(Ipv4Addr::from(a)), IpAddr::V4(Ipv4Addr::from(b)))
            }
            (None, Some((a, b))) => {
                layers.push("ipv6");
                (IpAddr::V6(Ipv6Addr::from(a)), IpAddr::V6(Ipv6Addr::from(b)))
            }
            _ => {
                match f.ethertype {
                    Some(0x0806) => layers.push("arp"),
                    Some(0x88cc) => layers.push("lldp"),
                    _ => layers.push("data"),
                }
                return;
            }
        };
        self.headers.ip = [Some(src_ip), Some(dst_ip)];
        let payload = data.get(f.payload.0..f.payload.1).unwrap_or(&[]);
        match (f.ip_proto, f.tcp, f.udp) {
            (_, Some((sport, dport)), _) => {
                layers.push("tcp");
                self.headers.tcp = Some([sport, dport]);
                self.headers.syn_only = f.tcp_flags & 0x12 == 0x02;
                if !payload.is_empty() {
                    // FIN or RST: the stream ends here.
                    let closing = f.tcp_flags & 0x05 != 0;
                    self.tcp_payload(layers, (src_ip, sport), (dst_ip, dport), payload, closing);
                }
            }
            (_, _, Some((sport, dport))) => {
                layers.push("udp");
                self.headers.udp = Some([sport, dport]);
                self.udp_payload(layers, (src_ip, sport), (dst_ip, dport), payload);
            }
            (Some(1), ..) if f.ip4.is_some() => layers.push("icmp"),
            (Some(2), ..) if f.ip4.is_some() => layers.push("igmp"),
            (Some(58), ..) => layers.push("icmpv6"),
            _ => layers.push("data"),
        }
    }

    fn context(&self, src: (IpAddr, u16), dst: (IpAddr, u16)) -> Context {
        Context { frame: self.frame, time: self.time, src: src.0, dst: dst.0, src_port: src.1, dst_port: dst.1 }
    }

    fn udp_payload(&mut self, layers: &mut Vec<&'static str>, src: (IpAddr, u16), dst: (IpAddr, u16), payload: &[u8]) {
        let claimed = |p: u16| udp_layer(p).is_some();
        let cx = self.context(src, dst);
        if let Some(d) = self.iot.udp(&cx, payload, &claimed) {
            iot_fields(&mut self.row, layers, d);
            return;
        }
        let ports = [src.1.min(dst.1), src.1.max(dst.1)];
        let Some(layer) = ports.iter().find_map(|&p| udp_layer(p)) else {
            if !payload.is_empty() {
                layers.push("data");
            }
            return;
        };
        layers.push(layer);
        match layer {
            "dns" | "mdns" | "llmnr" => self.dns(payload),
            "dhcp" => {
                for server in payload::dhcp_resolvers(payload) {
                    self.row.push(self.at.dhcp_dns, server);
                }
            }
            "ssdp" => {
                if let Some(host) = payload::http_host(payload) {
                    self.row.push(self.at.http_host, host);
                }
            }
            _ => {}
        }
    }

    fn tcp_payload(&mut self, layers: &mut Vec<&'static str>, src: (IpAddr, u16), dst: (IpAddr, u16), payload: &[u8], closing: bool) {
        let claimed = |p: u16| tcp_layer(p).is_some();
        let cx = self.context(src, dst);
        if let Some(d) = self.iot.tcp(&cx, payload, &claimed) {
            iot_fields(&mut self.row, layers, &d);
            return;
        }
        let ports = [src.1.min(dst.1), src.1.max(dst.1)];
        let Some(layer) = ports.iter().find_map(|&p| tcp_layer(p)) else {
            layers.push("data");
            return;
        };
        layers.push(layer);
        match layer {
            "tls" => {
                layers.pop();
                self.tls(layers, (src, dst), payload, closing);
            }
            "http" => {
                if let Some(host) = payload::http_host(payload) {
                    self.row.push(self.at.http_host, host);
                }
            }
            "dns" => {
                if payload.len() > 2 && usize::from(u16::from_be_bytes([payload[0], payload[1]])) == payload.len() - 2 {
                    self.dns(&payload[2..]);
                }
            }
            _ => {}
        }
    }

    /// TLS records of one direction, followed across segments: a segment
    /// that completes a record shows `tls` (one that only carries part of
    /// one shows nothing above TCP, as Wireshark's reassembly has it), and a
    /// completed ClientHello gives its server names.
    fn tls(&mut self, layers: &mut Vec<&'static str>, key: StreamKey, payload: &[u8], closing: bool) {
        let mut stream = self.tls.remove(&key).unwrap_or_default();
        let mut completed = false;
        let mut rest = payload;
        while !rest.is_empty() {
            if stream.skip > 0 {
                let n = stream.skip.min(rest.len());
                stream.skip -= n;
                rest = &rest[n..];
                completed |= stream.skip == 0;
                continue;
            }
            let want = if stream.record.len() < TLS_HEADER { TLS_HEADER } else { stream.record_len };
            let n = (want - stream.record.len()).min(rest.len());
            stream.record.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            if stream.record.len() == TLS_HEADER && stream.record_len == 0 {
                let Some(len) = payload::tls_record_len(&stream.record) else {
                    // Not a record header: not followed any further.
                    completed = true;
                    stream = TlsStream::default();
                    break;
                };
                if stream.record[0] == payload::TLS_HANDSHAKE {
                    stream.record_len = len;
                } else {
                    stream.skip = len - TLS_HEADER;
                    stream.record.clear();
                    completed |= stream.skip == 0;
                    continue;
                }
            }
            if stream.record_len > 0 && stream.record.len() == stream.record_len {
                for name in payload::client_hello_names(&stream.record) {
                    self.row.push(self.at.sni, name);
                }
                completed = true;
                stream = TlsStream::default();
            }
        }
        if completed {
            layers.push("tls");
        }
        if !closing && (stream.skip > 0 || !stream.record.is_empty()) {
            self.tls.insert(key, stream);
        }
    }

    fn dns(&mut self, message: &[u8]) {
        let Some(d) = payload::dns(message) else { return };
        self.row.set(self.at.dns_response, u8::from(d.response));
        if let Some(q) = d.question {
            self.row.push(self.at.dns_qname, q);
        }
        for a in d.addresses {
            match a {
                IpAddr::V4(a) => self.row.push(self.at.dns_a, a),
                IpAddr::V6(a) => self.row.push(self.at.dns_aaaa, a),
            }
        }
        for c in d.cnames {
            self.row.push(self.at.dns_cname, c);
        }
    }
}

/// The layers and fields the IoT dissectors found, into the stack and row.
fn iot_fields(row: &mut Row, layers: &mut Vec<&'static str>, d: &super::iot::Decoded) {
    layers.extend(&d.layers);
    for (i, value) in &d.fields {
        row.push_str(*i, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::UtcOffset;
    use crate::report::country::Embedded;
    use crate::report::model::{build, Inputs};
    use crate::report::text;
    use phonehome_samples::{Capture, Host};

    fn json(profile: &crate::profile::rules::Profile, observations: &Observations) -> String {
        text::json(&build(Inputs { profile, observations, captures: vec![], plugin: true, notes: vec![], offset: UtcOffset(0), geo: &Embedded, country_source: String::new() }))
    }

    #[test]
    fn time_text_is_the_formatters() {
        for (s, n) in [(0, 0), (1, 5), (1_700_000_000, 123_456_789), (u64::MAX, 999_999_999), (42, 1_000)] {
            let mut out = String::from("old");
            time_text(s, n, &mut out);
            assert_eq!(out, format!("{s}.{n:09}"));
        }
    }

    /// One read for two devices says what a read for each says.
    #[test]
    fn observe_each_equals_observe_per_device() {
        let (a, b) = (Host::new([2, 0, 0, 0, 0, 0xa], [192, 0, 2, 10]), Host::new([2, 0, 0, 0, 0, 0xb], [192, 0, 2, 11]));
        let (router, cloud) = (Host::new([2, 0, 0, 0, 0, 1], [192, 0, 2, 1]), Host::new([2, 0, 0, 0, 0, 1], [203, 0, 113, 9]));
        let mut cap = Capture::new();
        for i in 0..4u16 {
            cap.udp(a, 40000 + i, router, 53, b"not quite dns");
            cap.tcp(a, 41000 + i, cloud, 8883).client(b"mqtt ping").server(b"pong");
            cap.udp(b, 6667, Host::broadcast(), 6667, b"discovery");
            cap.udp(b, 42000, a, 54321, b"to the other device");
            cap.wait(std::time::Duration::from_secs(30));
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("two.pcap");
        cap.write(&path).unwrap();
        let profile = |name: &str, ip: &str| {
            let text = format!("name: {name}\ndevice: {{ip: [{ip}]}}\nexpected:\n  - name: dns\n    host: [192.0.2.1]\n    udp: [53]\n");
            crate::profile::load::parse(&text, Path::new("t.yaml"), None).unwrap()
        };
        let profiles = [profile("a", "192.0.2.10"), profile("b", "192.0.2.11")];
        let matchers: Vec<DeviceMatch> = profiles.iter().map(|p| DeviceMatch::from_profile(p).unwrap()).collect();
        let refs: Vec<&DeviceMatch> = matchers.iter().collect();
        let Ok(Outcome::Observed(each, None)) = observe_each(&path, &refs) else { panic!("observe_each failed") };
        assert_eq!(each.len(), 2);
        for ((profile, matcher), together) in profiles.iter().zip(&matchers).zip(&each) {
            let Ok(Outcome::Observed(alone, None)) = observe(&path, matcher) else { panic!("observe failed") };
            assert!(!alone.flows.is_empty(), "{}: nothing observed", profile.name);
            assert_eq!(json(profile, together), json(profile, &alone), "{}", profile.name);
        }
        assert_ne!(json(&profiles[0], &each[0]), json(&profiles[1], &each[1]));
    }
}
