//! A capture set like a published analysis of a Roborock vacuum on Tuya firmware on an
//! isolated VLAN): six hourly captures from 2024-01-01 00:00 UTC with
//!
//! - Tuya discovery broadcasts to 255.255.255.255:6667 every 5 s,
//! - a DHCP renewal with the router every 5 minutes,
//! - one long MQTT-over-TLS session with m2.tuyaeu.com:8883, a keep-alive
//!   every 60 s, reconnected at 03:00 to another m2 address,
//! - log uploads to awsde0.fds.api.xiaomi.com:443 (a CNAME to an AWS load
//!   balancer, three addresses in turn) every 30 minutes,
//! - a2.tuyaeu.com:443 requests every 25 minutes,
//! - the 3am burst: ten minutes of status messages on the new MQTT session,
//! - NTP to 61.164.36.105 every 28 s (the MiLight bridge's pattern; in no rule of the
//!   roborock-tuya profile, so UNEXPECTED),
//! - `ot.io.mi.com` asked of the hard-coded resolver 114.114.114.114 every
//!   10 minutes (the Wyze base station's pattern),
//! - noise: the analysis laptop's SSH session, ARP replies.
//!
//! Periods carry a small deterministic jitter. The constants are what a
//! report of these captures must find.

use std::net::Ipv4Addr;
use std::time::Duration;

use etherparse::PacketBuilder;

use crate::scenarios::TuyaDevice;
use crate::{Capture, Host};

pub const START: u64 = 1_704_067_200; // 2024-01-01 00:00:00 UTC
pub const HOURS: u64 = 6;
pub const DISCOVERY_PERIOD: f64 = 5.0;
pub const DHCP_PERIOD: f64 = 300.0;
pub const MQTT_KEEPALIVE: f64 = 60.0;
pub const LOG_UPLOAD_PERIOD: f64 = 1800.0;
pub const CONTROL_PERIOD: f64 = 1500.0;
pub const NTP_PERIOD: f64 = 28.0;
pub const GSLB_DNS_PERIOD: f64 = 600.0;
pub const BURST_HOUR: u64 = 3;

pub const DEVICE_MAC: [u8; 6] = [0x64, 0x90, 0xc1, 0x1d, 0x24, 0xc4];
pub const ROUTER_MAC: [u8; 6] = [0x00, 0x0c, 0x42, 0xcf, 0x36, 0x20];
pub const LAPTOP_MAC: [u8; 6] = [0x18, 0xc0, 0x4d, 0x3b, 0x66, 0xd2];
pub const M2: [[u8; 4]; 3] = [[3, 67, 242, 33], [35, 156, 44, 172], [18, 184, 31, 90]];
pub const A2: [[u8; 4]; 3] = [[3, 125, 199, 146], [35, 157, 101, 18], [3, 125, 234, 101]];
pub const AWSDE0: [[u8; 4]; 3] = [[18, 184, 67, 79], [3, 124, 106, 160], [52, 28, 1, 106]];
pub const AWSDE0_CNAME: &str = "lb-hadoop-fds-awsde0-eco-tcp-825301548.eu-central-1.elb.amazonaws.com";
pub const NTP_SERVER: [u8; 4] = [61, 164, 36, 105];
pub const HARDCODED_RESOLVER: [u8; 4] = [114, 114, 114, 114];

pub fn device() -> Host {
    Host::new(DEVICE_MAC, [10, 10, 10, 8])
}

pub fn router() -> Host {
    Host::new(ROUTER_MAC, [10, 10, 10, 1])
}

/// An Internet host, reached through the router.
fn internet(ip: [u8; 4]) -> Host {
    Host::new(ROUTER_MAC, ip)
}

pub fn tuya() -> TuyaDevice {
    TuyaDevice { host: device(), gw_id: "bf7e9b4aacf4f733d8o3zz", product_key: "mjae49buaskri74f", version: "3.3" }
}

/// Deterministic jitter in [-amount, amount].
struct Jitter(u64);

impl Jitter {
    fn next(&mut self, amount: f64) -> f64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) * amount
    }
}

/// What happens at one moment.
#[derive(Clone, Debug)]
enum Event {
    Discovery,
    Dhcp,
    MqttConnect(usize),
    MqttPing,
    MqttStatus,
    LogUpload(usize),
    Control(usize),
    Ntp,
    GslbDns,
    LaptopSsh,
    Arp,
}

/// The six hourly captures, in order.
pub fn captures() -> Vec<Capture> {
    let mut j = Jitter(4);
    let mut events: Vec<(f64, Event)> = Vec::new();
    let end = (HOURS * 3600) as f64;
    let every = |events: &mut Vec<(f64, Event)>, j: &mut Jitter, first: f64, period: f64, jitter: f64, make: &dyn Fn(usize) -> Event| {
        let mut i = 0;
        while first + i as f64 * period < end - 2.0 {
            let t = (first + i as f64 * period + j.next(jitter)).max(0.0);
            events.push((t, make(i)));
            i += 1;
        }
    };
    every(&mut events, &mut j, 0.5, DISCOVERY_PERIOD, 0.05, &|_| Event::Discovery);
    every(&mut events, &mut j, 30.0, DHCP_PERIOD, 0.5, &|_| Event::Dhcp);
    every(&mut events, &mut j, 400.0, LOG_UPLOAD_PERIOD, 2.0, &|i| Event::LogUpload(i));
    every(&mut events, &mut j, 200.0, CONTROL_PERIOD, 2.0, &|i| Event::Control(i));
    every(&mut events, &mut j, 11.0, NTP_PERIOD, 0.3, &|_| Event::Ntp);
    every(&mut events, &mut j, 100.0, GSLB_DNS_PERIOD, 1.0, &|_| Event::GslbDns);
    every(&mut events, &mut j, 50.0, 3600.0, 0.0, &|_| Event::Arp);
    let reconnect = (BURST_HOUR * 3600) as f64;
    events.push((2.0, Event::MqttConnect(0)));
    events.push((reconnect, Event::MqttConnect(1)));
    every(&mut events, &mut j, 62.0, MQTT_KEEPALIVE, 0.2, &|_| Event::MqttPing);
    // The 3am burst: a status message every 0.5 s for ten minutes.
    for i in 0..1200 {
        events.push((reconnect + 5.0 + i as f64 * 0.5, Event::MqttStatus));
    }
    events.push((3600.0 + 900.0, Event::LaptopSsh));
    events.sort_by(|a, b| a.0.total_cmp(&b.0));

    let mut caps: Vec<Capture> = (0..HOURS)
        .map(|h| {
            let mut c = Capture::new();
            c.now = Duration::from_secs(START + h * 3600);
            c
        })
        .collect();
    let mut mqtt: Option<Conn> = None;
    for (t, event) in events {
        let hour = ((t / 3600.0) as usize).min(HOURS as usize - 1);
        let cap = &mut caps[hour];
        let at = Duration::from_secs_f64(START as f64 + t);
        if cap.now < at {
            cap.now = at;
        }
        let dev = device();
        match event {
            Event::Discovery => {
                let (port, frame) = tuya().discovery_frame();
                cap.udp(dev, 49154, Host::broadcast(), port, &frame);
            }
            Event::Dhcp => {
                cap.udp(dev, 68, router(), 67, &dhcp(false));
                cap.udp(router(), 67, dev, 68, &dhcp(true));
            }
            Event::MqttConnect(n) => {
                dns_exchange(cap, router(), "m2.tuyaeu.com", None, &M2);
                let mut c = Conn::open(cap, dev, 40_100 + n as u16, internet(M2[n]), 8883);
                c.send(cap, 0, &client_hello("m2.tuyaeu.com"));
                c.send(cap, 1, &tls_data(90));
                mqtt = Some(c);
            }
            Event::MqttPing => {
                if let Some(c) = mqtt.as_mut() {
                    c.send(cap, 0, &tls_data(2));
                    c.send(cap, 1, &tls_data(2));
                }
            }
            Event::MqttStatus => {
                if let Some(c) = mqtt.as_mut() {
                    c.send(cap, 0, &tls_data(200));
                }
            }
            Event::LogUpload(i) => {
                dns_exchange(cap, router(), "awsde0.fds.api.xiaomi.com", Some(AWSDE0_CNAME), &AWSDE0);
                let mut c = Conn::open(cap, dev, 41_000 + i as u16, internet(AWSDE0[i % 3]), 443);
                c.send(cap, 0, &client_hello("awsde0.fds.api.xiaomi.com"));
                c.send(cap, 1, &tls_data(1200));
                for _ in 0..4 {
                    c.send(cap, 0, &tls_data(1400));
                }
                c.send(cap, 1, &tls_data(60));
            }
            Event::Control(i) => {
                dns_exchange(cap, router(), "a2.tuyaeu.com", None, &A2);
                let mut c = Conn::open(cap, dev, 42_000 + i as u16, internet(A2[i % 3]), 443);
                c.send(cap, 0, &client_hello("a2.tuyaeu.com"));
                c.send(cap, 1, &tls_data(1500));
                c.send(cap, 0, &tls_data(300));
                c.send(cap, 1, &tls_data(100));
            }
            Event::Ntp => {
                cap.udp(dev, 123, internet(NTP_SERVER), 123, &ntp_request());
            }
            Event::GslbDns => {
                let resolver = internet(HARDCODED_RESOLVER);
                dns_exchange(cap, resolver, "ot.io.mi.com", None, &[[110, 43, 0, 83]]);
            }
            Event::LaptopSsh => {
                let laptop = Host::new(LAPTOP_MAC, [10, 10, 10, 9]);
                let mut c = Conn::open(cap, laptop, 50_022, dev, 22);
                c.send(cap, 0, b"SSH-2.0-OpenSSH_9.2\r\n");
                c.send(cap, 1, b"SSH-2.0-dropbear\r\n");
            }
            Event::Arp => {
                cap.push_frame(arp_reply(dev, router()));
            }
        }
    }
    caps
}

/// A TCP connection that outlives one event (the builder's `TcpFlow`
/// borrows the capture for its lifetime). End 0 is the client.
struct Conn {
    ends: [(Host, u16, u32); 2],
}

impl Conn {
    fn open(cap: &mut Capture, client: Host, cport: u16, server: Host, sport: u16) -> Conn {
        let mut c = Conn { ends: [(client, cport, 7_000), (server, sport, 900_000)] };
        c.segment(cap, 0, &[], true);
        c.segment(cap, 1, &[], true);
        c.segment(cap, 0, &[], false);
        c
    }

    fn send(&mut self, cap: &mut Capture, from: usize, data: &[u8]) {
        self.segment(cap, from, data, false);
        self.segment(cap, 1 - from, &[], false);
    }

    fn segment(&mut self, cap: &mut Capture, from: usize, payload: &[u8], syn: bool) {
        let (src, sport, seq) = self.ends[from];
        let (dst, dport, peer_seq) = self.ends[1 - from];
        let mut b = PacketBuilder::ethernet2(src.mac, dst.mac).ipv4(src.ip.octets(), dst.ip.octets(), 64).tcp(sport, dport, seq, 65_535);
        let first_syn = syn && from == 0;
        if syn {
            b = b.syn();
        }
        if !first_syn {
            b = b.ack(peer_seq);
        }
        if !payload.is_empty() {
            b = b.psh();
        }
        let mut out = Vec::with_capacity(b.size(payload.len()));
        b.write(&mut out, payload).expect("write to a Vec");
        cap.push_frame(out);
        self.ends[from].2 = seq.wrapping_add(payload.len() as u32 + u32::from(syn));
    }
}

/// A question from the device and the resolver's answer (optionally via a CNAME).
fn dns_exchange(cap: &mut Capture, resolver: Host, name: &str, cname: Option<&str>, addrs: &[[u8; 4]]) {
    let id = (cap.len() & 0xffff) as u16;
    let port = 30_000 + (cap.len() % 20_000) as u16;
    cap.udp(device(), port, resolver, 53, &dns_message(id, name, None));
    cap.udp(resolver, 53, device(), port, &dns_message(id, name, Some((cname, addrs))));
}

fn labels(out: &mut Vec<u8>, name: &str) {
    for label in name.split('.') {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
}

/// A DNS query for `name` (type A), or with `answer` the response.
pub fn dns_message(id: u16, name: &str, answer: Option<(Option<&str>, &[[u8; 4]])>) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&id.to_be_bytes());
    let ancount = answer.map_or(0, |(c, a)| a.len() + usize::from(c.is_some()));
    m.extend_from_slice(if answer.is_some() { &[0x81, 0x80] } else { &[0x01, 0x00] });
    m.extend_from_slice(&[0, 1]);
    m.extend_from_slice(&(ancount as u16).to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0]);
    labels(&mut m, name);
    m.extend_from_slice(&[0, 1, 0, 1]);
    if let Some((cname, addrs)) = answer {
        let mut owner: u16 = 0xc000 | 12;
        if let Some(target) = cname {
            m.extend_from_slice(&owner.to_be_bytes());
            m.extend_from_slice(&[0, 5, 0, 1, 0, 0, 0, 60]);
            let mut rdata = Vec::new();
            labels(&mut rdata, target);
            m.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
            owner = 0xc000 | m.len() as u16;
            m.extend_from_slice(&rdata);
        }
        for a in addrs {
            m.extend_from_slice(&owner.to_be_bytes());
            m.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
            m.extend_from_slice(a);
        }
    }
    m
}

/// A DHCPREQUEST renewal from the device, or the router's DHCPACK (which
/// offers the router as DNS server).
fn dhcp(ack: bool) -> Vec<u8> {
    let mut m = vec![if ack { 2 } else { 1 }, 1, 6, 0, 0x3d, 0x1d, 0x24, 0xc4, 0, 0, 0, 0];
    m.extend_from_slice(&[10, 10, 10, 8]); // ciaddr
    m.extend_from_slice(&if ack { [10, 10, 10, 8] } else { [0; 4] }); // yiaddr
    m.extend_from_slice(&[0; 8]); // siaddr, giaddr
    m.extend_from_slice(&DEVICE_MAC);
    m.extend_from_slice(&[0; 10 + 64 + 128]);
    m.extend_from_slice(&[0x63, 0x82, 0x53, 0x63]);
    m.extend_from_slice(&[53, 1, if ack { 5 } else { 3 }]);
    if ack {
        m.extend_from_slice(&[54, 4, 10, 10, 10, 1, 51, 4, 0, 0, 0x02, 0x58, 1, 4, 255, 255, 255, 0, 3, 4, 10, 10, 10, 1, 6, 4, 10, 10, 10, 1]);
    }
    m.push(255);
    m
}

/// A TLS 1.2 ClientHello carrying `sni`.
pub fn client_hello(sni: &str) -> Vec<u8> {
    let name = sni.as_bytes();
    let mut ext = Vec::new();
    ext.extend_from_slice(&[0, 0]);
    ext.extend_from_slice(&((name.len() + 5) as u16).to_be_bytes());
    ext.extend_from_slice(&((name.len() + 3) as u16).to_be_bytes());
    ext.push(0);
    ext.extend_from_slice(&(name.len() as u16).to_be_bytes());
    ext.extend_from_slice(name);
    let mut body = vec![3, 3];
    body.extend_from_slice(&[0x5a; 32]);
    body.push(0);
    body.extend_from_slice(&[0, 2, 0xc0, 0x2f, 1, 0]);
    body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    body.extend_from_slice(&ext);
    let mut hs = vec![1];
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(&body);
    let mut rec = vec![0x16, 3, 1];
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend_from_slice(&hs);
    rec
}

/// A TLS application-data record of `len` opaque bytes.
fn tls_data(len: usize) -> Vec<u8> {
    let mut rec = vec![0x17, 3, 3];
    rec.extend_from_slice(&(len as u16).to_be_bytes());
    rec.extend((0..len).map(|i| (i * 37 % 251) as u8));
    rec
}

fn ntp_request() -> Vec<u8> {
    let mut m = vec![0u8; 48];
    m[0] = 0x23; // version 4, client
    m
}

fn arp_reply(from: Host, to: Host) -> Vec<u8> {
    let mut f = Vec::with_capacity(42);
    f.extend_from_slice(&to.mac);
    f.extend_from_slice(&from.mac);
    f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 2]);
    f.extend_from_slice(&from.mac);
    f.extend_from_slice(&from.ip.octets());
    f.extend_from_slice(&to.mac);
    f.extend_from_slice(&to.ip.octets());
    f
}

/// The addresses of `ips` as text.
pub fn dotted(ips: &[[u8; 4]]) -> Vec<String> {
    ips.iter().map(|a| Ipv4Addr::from(*a).to_string()).collect()
}
