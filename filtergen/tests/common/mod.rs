//! Shared test helpers: running filtergen and external tools, and building
//! captures whose every packet's facts are known, so the packets a filter
//! should keep can be computed independently of filtergen.
#![allow(dead_code)]

pub mod netns;

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use etherparse::PacketBuilder;
use pcap_file::pcap::{PcapPacket, PcapWriter};

pub fn filtergen() -> Command {
    Command::new(env!("CARGO_BIN_EXE_filtergen"))
}

/// Runs filtergen; returns (exit code, stdout, stderr).
pub fn run(args: &[&str]) -> (i32, String, String) {
    let out = filtergen().args(args).output().expect("run filtergen");
    decode(out)
}

pub fn decode(out: Output) -> (i32, String, String) {
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Fails the test clearly when a tool the test needs is not installed.
pub fn require_tool(tool: &str, package: &str) {
    let found = Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(found, "this test needs `{tool}`: apt-get install {package}");
}

/// Writes `text` to `dir/name`; returns the path as a string for arguments.
pub fn write(dir: &Path, name: &str, text: impl AsRef<[u8]>) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

pub fn profile_path(name: &str) -> String {
    repo_root().join("profiles").join(name).to_string_lossy().into_owned()
}

/// Frame numbers (1-based) that `tshark -Y filter` keeps; extra args before `-r`.
pub fn tshark_keeps(capture: &Path, filter: &str, extra: &[&str], env: &[(&str, &Path)]) -> BTreeSet<usize> {
    require_tool("tshark", "tshark");
    let mut cmd = Command::new("tshark");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.args(extra).arg("-n").arg("-r").arg(capture).args(["-Y", filter, "-T", "fields", "-e", "frame.number"]).output().unwrap();
    let (code, stdout, stderr) = decode(out);
    assert_eq!(code, 0, "tshark rejected the filter:\n{filter}\n{stderr}");
    stdout.lines().map(|l| l.trim().parse().unwrap()).collect()
}

/// Frame numbers that `tcpdump EXPR` keeps (packet i is stamped i seconds).
pub fn tcpdump_keeps(capture: &Path, expr: &str) -> BTreeSet<usize> {
    require_tool("tcpdump", "tcpdump");
    let out = Command::new("tcpdump").args(["-n", "-tt", "-r"]).arg(capture).arg(expr).output().unwrap();
    let (code, stdout, stderr) = decode(out);
    assert_eq!(code, 0, "tcpdump rejected:\n{expr}\n{stderr}");
    stdout.lines().map(|l| l.split('.').next().unwrap().parse().unwrap()).collect()
}

pub type Mac = [u8; 6];

pub fn mac(s: &str) -> Mac {
    let v: Vec<u8> = s.split(':').map(|b| u8::from_str_radix(b, 16).unwrap()).collect();
    v.try_into().unwrap()
}

/// What a packet is, as far as the rules can see.
#[derive(Clone, Debug)]
pub enum Body {
    Arp,
    Stp,
    Lldp,
    Cdp,
    Ip { src: IpAddr, dst: IpAddr, ttl: u8, l4: L4 },
}

#[derive(Clone, Debug)]
pub enum L4 {
    Tcp { sport: u16, dport: u16, payload: Vec<u8> },
    Udp { sport: u16, dport: u16, payload: Vec<u8> },
    Icmp,
}

#[derive(Clone, Debug)]
pub struct Packet {
    pub src: Mac,
    pub dst: Mac,
    pub vlan: Option<u16>,
    pub body: Body,
    /// Wireshark protocols the packet carries that rules may name.
    pub protocols: Vec<&'static str>,
    /// Host names carried (DNS question, HTTP Host).
    pub names: Vec<String>,
}

impl Packet {
    pub fn ips(&self) -> Vec<IpAddr> {
        match &self.body {
            Body::Ip { src, dst, .. } => vec![*src, *dst],
            _ => vec![],
        }
    }
    pub fn tcp_ports(&self) -> Vec<u16> {
        match &self.body {
            Body::Ip { l4: L4::Tcp { sport, dport, .. }, .. } => vec![*sport, *dport],
            _ => vec![],
        }
    }
    pub fn udp_ports(&self) -> Vec<u16> {
        match &self.body {
            Body::Ip { l4: L4::Udp { sport, dport, .. }, .. } => vec![*sport, *dport],
            _ => vec![],
        }
    }
    pub fn ttl(&self) -> Option<u8> {
        match &self.body {
            Body::Ip { ttl, .. } => Some(*ttl),
            _ => None,
        }
    }

    pub fn l2(src: Mac, dst: Mac, body: Body, protocol: &'static str) -> Packet {
        Packet { src, dst, vlan: None, body, protocols: vec![protocol], names: vec![] }
    }

    pub fn ip(src: (Mac, &str), dst: (Mac, &str), l4: L4) -> Packet {
        let body = Body::Ip { src: src.1.parse().unwrap(), dst: dst.1.parse().unwrap(), ttl: 64, l4 };
        Packet { src: src.0, dst: dst.0, vlan: None, body, protocols: vec![], names: vec![] }
    }

    pub fn udp(src: (Mac, &str), dst: (Mac, &str), sport: u16, dport: u16) -> Packet {
        Packet::ip(src, dst, L4::Udp { sport, dport, payload: b"phonehome test".to_vec() })
    }

    pub fn tcp(src: (Mac, &str), dst: (Mac, &str), sport: u16, dport: u16) -> Packet {
        Packet::ip(src, dst, L4::Tcp { sport, dport, payload: vec![] })
    }

    /// A DNS query for `name` (the packet then carries the name and `dns`).
    pub fn dns_query(src: (Mac, &str), dst: (Mac, &str), name: &str) -> Packet {
        let mut p = Packet::ip(src, dst, L4::Udp { sport: 40000, dport: 53, payload: dns_query(name) });
        p.protocols.push("dns");
        p.names.push(name.to_string());
        p
    }

    /// An HTTP request carrying `Host: name`.
    pub fn http(src: (Mac, &str), dst: (Mac, &str), name: &str) -> Packet {
        let payload = format!("GET / HTTP/1.1\r\nHost: {name}\r\n\r\n").into_bytes();
        let mut p = Packet::ip(src, dst, L4::Tcp { sport: 41000, dport: 80, payload });
        p.protocols.push("http");
        p.names.push(name.to_string());
        p
    }

    pub fn tagged(mut self, vlan: u16) -> Packet {
        self.vlan = Some(vlan);
        self
    }

    pub fn with_ttl(mut self, value: u8) -> Packet {
        if let Body::Ip { ttl, .. } = &mut self.body {
            *ttl = value;
        }
        self
    }

    pub fn with_protocol(mut self, protocol: &'static str) -> Packet {
        self.protocols.push(protocol);
        self
    }

    pub fn frame(&self) -> Vec<u8> {
        match &self.body {
            Body::Ip { src, dst, ttl, l4 } => ip_frame(self, *src, *dst, *ttl, l4),
            Body::Arp => ethertype_frame(self, 0x0806, &arp_payload(self.src)),
            Body::Lldp => ethertype_frame(self, 0x88cc, &lldp_payload(self.src)),
            Body::Stp => llc_frame(self, &[0x42, 0x42, 0x03], &[0u8; 35]),
            Body::Cdp => llc_frame(self, &[0xaa, 0xaa, 0x03, 0x00, 0x00, 0x0c, 0x20, 0x00], &cdp_payload()),
        }
    }
}

fn ip_frame(p: &Packet, src: IpAddr, dst: IpAddr, ttl: u8, l4: &L4) -> Vec<u8> {
    let eth = PacketBuilder::ethernet2(p.src, p.dst);
    macro_rules! finish {
        ($b:expr) => {{
            let b = $b;
            let mut out = Vec::new();
            match l4 {
                L4::Tcp { sport, dport, payload } => {
                    let b = b.tcp(*sport, *dport, 1000, 64240).psh().ack(1);
                    b.write(&mut out, payload).unwrap();
                }
                L4::Udp { sport, dport, payload } => b.udp(*sport, *dport).write(&mut out, payload).unwrap(),
                L4::Icmp => {
                    let echo = etherparse::IcmpEchoHeader { id: 1, seq: 1 };
                    match (src, dst) {
                        (IpAddr::V4(_), _) => b.icmpv4_echo_request(echo.id, echo.seq).write(&mut out, b"ping").unwrap(),
                        _ => b.icmpv6_echo_request(echo.id, echo.seq).write(&mut out, b"ping").unwrap(),
                    }
                }
            }
            out
        }};
    }
    macro_rules! with_ip {
        ($b:expr) => {
            match (src, dst) {
                (IpAddr::V4(s), IpAddr::V4(d)) => finish!($b.ipv4(s.octets(), d.octets(), ttl)),
                (IpAddr::V6(s), IpAddr::V6(d)) => finish!($b.ipv6(s.octets(), d.octets(), ttl)),
                _ => panic!("mixed address families"),
            }
        };
    }
    match p.vlan {
        Some(id) => with_ip!(eth.single_vlan(etherparse::VlanId::try_new(id).unwrap())),
        None => with_ip!(eth),
    }
}

fn header(p: &Packet, ethertype: u16) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&p.dst);
    f.extend_from_slice(&p.src);
    if let Some(id) = p.vlan {
        f.extend_from_slice(&0x8100u16.to_be_bytes());
        f.extend_from_slice(&id.to_be_bytes());
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    f
}

fn ethertype_frame(p: &Packet, ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = header(p, ethertype);
    f.extend_from_slice(payload);
    pad(f)
}

/// An IEEE 802.3 frame (length field) with an LLC/SNAP header.
fn llc_frame(p: &Packet, llc: &[u8], payload: &[u8]) -> Vec<u8> {
    let len = (llc.len() + payload.len()) as u16;
    let mut f = header(p, len);
    f.extend_from_slice(llc);
    f.extend_from_slice(payload);
    pad(f)
}

fn pad(mut f: Vec<u8>) -> Vec<u8> {
    if f.len() < 60 {
        f.resize(60, 0);
    }
    f
}

fn arp_payload(src: Mac) -> Vec<u8> {
    let mut a = vec![0, 1, 8, 0, 6, 4, 0, 1];
    a.extend_from_slice(&src);
    a.extend_from_slice(&[10, 10, 10, 1]);
    a.extend_from_slice(&[0; 6]);
    a.extend_from_slice(&[10, 10, 10, 2]);
    a
}

fn lldp_payload(src: Mac) -> Vec<u8> {
    let mut l = vec![0x02, 0x07, 0x04];
    l.extend_from_slice(&src);
    l.extend_from_slice(&[0x04, 0x03, 0x07, b'p', b'1', 0x06, 0x02, 0x00, 0x78, 0x00, 0x00]);
    l
}

fn cdp_payload() -> Vec<u8> {
    // version 2, ttl 180, checksum (unchecked), Device ID TLV "sw1"
    vec![0x02, 0xb4, 0x00, 0x00, 0x00, 0x01, 0x00, 0x07, b's', b'w', b'1']
}

pub fn dns_query(name: &str) -> Vec<u8> {
    let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    q
}

/// Writes the packets as a pcap, packet i (1-based) stamped i seconds.
pub fn write_capture(path: &Path, packets: &[Packet]) {
    let file = std::fs::File::create(path).unwrap();
    let mut writer = PcapWriter::new(file).unwrap();
    for (i, p) in packets.iter().enumerate() {
        let data = p.frame();
        writer.write_packet(&PcapPacket::new(Duration::from_secs(i as u64 + 1), data.len() as u32, &data)).unwrap();
    }
}

/// Whether the test may run: true as root; otherwise it says it skipped,
/// unless `CI` is set, where a test needing root must not skip.
pub fn root_or_skip(test: &str) -> bool {
    extern "C" {
        fn geteuid() -> u32;
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { geteuid() } == 0 {
        return true;
    }
    assert!(std::env::var_os("CI").is_none(), "{test} needs root, and CI must run it");
    eprintln!("{test}: skipped: needs root (CI runs it as root)");
    false
}
