//! The packets tshark keeps with filtergen's display filter (and tcpdump with
//! its BPF) are exactly those the profile's rules describe, computed here
//! independently from each packet's known facts, for every mode; the capture
//! has non-IP frames (ARP, STP, CDP, LLDP), IPv4, IPv6 and 802.1Q frames.

mod common;

use std::collections::BTreeSet;
use std::net::IpAddr;

use common::*;

const DEVICE: &str = "64:90:c1:1d:24:c4";
const ROUTER: &str = "00:0c:42:cf:36:20";
const LAPTOP: &str = "18:c0:4d:3b:66:d2";
const OTHER: &str = "aa:bb:cc:00:00:01";
const BCAST: &str = "ff:ff:ff:ff:ff:ff";

const PROFILE: &str = r#"
name: equivalence
include: [noise/l2-discovery]
device:
  mac: [64:90:c1:1d:24:c4]
  ip: [10.10.10.8, "2001:db8::8"]
ignore:
  - name: laptop-vendor
    mac: [18:c0:4d]
  - name: zerotier-nets
    host: [195.181.173.0/24, "2a02:6ea0:c024::/48"]
  - name: zerotier-ports
    udp: [9990-9999]
expected:
  - name: mqtt
    host: [m2.tuyaeu.com, 3.67.242.33]
    tcp: [8883]
  - name: tuya-names
    host: ["*.tuyaeu.com"]
  - name: marked
    filter: ip.ttl == 42
  - name: ntp
    host: [61.164.36.0/24]
    udp: [123]
"#;

fn in_net(ip: IpAddr, net: &str) -> bool {
    let (base, len) = net.split_once('/').unwrap();
    let len: u32 = len.parse().unwrap();
    match (ip, base.parse::<IpAddr>().unwrap()) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            u32::from(a) & mask == u32::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let mask = if len == 0 { 0 } else { u128::MAX << (128 - len) };
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

fn has_mac_prefix(p: &Packet, prefix: &[u8]) -> bool {
    p.src.starts_with(prefix) || p.dst.starts_with(prefix)
}

fn below(name: &str, domain: &str) -> bool {
    name.to_ascii_lowercase().ends_with(&format!(".{domain}"))
}

/// The profile above, restated as predicates over packet facts.
fn is_device(p: &Packet) -> bool {
    has_mac_prefix(p, &mac(DEVICE)) || p.ips().iter().any(|ip| ["10.10.10.8", "2001:db8::8"].contains(&ip.to_string().as_str()))
}

fn is_ignored(p: &Packet) -> bool {
    let noise = ["stp", "cdp", "lldp", "mndp", "arp", "ssdp", "dhcp", "mdns", "llmnr"];
    p.protocols.iter().any(|proto| noise.contains(proto))
        || has_mac_prefix(p, &[0x18, 0xc0, 0x4d])
        || p.ips().iter().any(|&ip| in_net(ip, "195.181.173.0/24") || in_net(ip, "2a02:6ea0:c024::/48"))
        || p.udp_ports().iter().any(|port| (9990..=9999).contains(port))
}

fn is_expected(p: &Packet) -> bool {
    let mqtt_host = p.ips().iter().any(|ip| ip.to_string() == "3.67.242.33") || p.names.iter().any(|n| n == "m2.tuyaeu.com");
    let mqtt = mqtt_host && p.tcp_ports().contains(&8883);
    let names = p.names.iter().any(|n| below(n, "tuyaeu.com"));
    let marked = p.ttl() == Some(42);
    let ntp = p.ips().iter().any(|&ip| in_net(ip, "61.164.36.0/24")) && p.udp_ports().contains(&123);
    mqtt || names || marked || ntp
}

fn packets() -> Vec<Packet> {
    let dev = |ip| (mac(DEVICE), ip);
    let router = |ip| (mac(ROUTER), ip);
    let laptop = |ip| (mac(LAPTOP), ip);
    let other = |ip| (mac(OTHER), ip);
    let switch = mac("60:a4:b7:7a:b0:c3");
    let mut ssdp = Packet::udp(dev("10.10.10.8"), (mac("01:00:5e:7f:ff:fa"), "239.255.255.250"), 50000, 1900);
    if let Body::Ip { l4: L4::Udp { payload, .. }, .. } = &mut ssdp.body {
        *payload = b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n".to_vec();
    }
    let mut mdns = Packet::udp(dev("10.10.10.8"), (mac("01:00:5e:00:00:fb"), "224.0.0.251"), 5353, 5353);
    if let Body::Ip { l4: L4::Udp { payload, .. }, .. } = &mut mdns.body {
        *payload = dns_query("printer.local");
    }
    let mut mndp = Packet::udp(dev("10.10.10.8"), (mac(BCAST), "255.255.255.255"), 5678, 5678);
    if let Body::Ip { l4: L4::Udp { payload, .. }, .. } = &mut mndp.body {
        // header (u16 0, u16 sequence), then TLV type 1 (MAC address), length 6
        *payload = [&[0u8, 0, 0, 1, 0, 1, 0, 6][..], &mac(DEVICE)[..]].concat();
    }
    vec![
        Packet::l2(mac(DEVICE), mac(BCAST), Body::Arp, "arp"),
        Packet::l2(switch, mac("01:80:c2:00:00:00"), Body::Stp, "stp"),
        Packet::l2(mac(DEVICE), mac("01:80:c2:00:00:0e"), Body::Lldp, "lldp"),
        Packet::l2(switch, mac("01:00:0c:cc:cc:cc"), Body::Cdp, "cdp"),
        Packet::l2(mac(ROUTER), mac(DEVICE), Body::Arp, "arp").tagged(10),
        Packet::tcp(dev("10.10.10.8"), router("3.67.242.33"), 50123, 8883),
        Packet::tcp(router("52.1.1.1"), dev("10.10.10.8"), 443, 50124),
        Packet::dns_query(dev("10.10.10.8"), router("10.10.10.1"), "m2.tuyaeu.com"),
        Packet::dns_query(dev("10.10.10.8"), router("10.10.10.1"), "evil.example.com"),
        Packet::udp(dev("10.10.10.8"), router("61.164.36.105"), 123, 123).tagged(10),
        Packet::dns_query(dev("10.10.10.8"), router("8.8.8.8"), "example.org").tagged(20),
        Packet::udp(dev("2001:db8::8"), router("2a02:6ea0:c024::1"), 40000, 9993),
        Packet::tcp(dev("2001:db8::8"), router("2001:db8:1::1"), 40001, 22),
        Packet::tcp(laptop("10.10.10.9"), dev("10.10.10.8"), 40002, 22),
        Packet::tcp(laptop("10.10.10.9"), other("10.10.10.50"), 40003, 22),
        Packet::tcp(dev("10.10.10.8"), router("195.181.173.159"), 40004, 443),
        Packet::udp(dev("10.10.10.8"), router("1.1.1.1"), 40005, 9995),
        Packet::udp(dev("10.10.10.8"), router("9.9.9.9"), 40006, 5000).with_ttl(42),
        Packet::udp(other("10.10.10.50"), router("9.9.9.9"), 40007, 5000),
        mndp.with_protocol("mndp"),
        Packet::http(dev("10.10.10.8"), router("3.3.3.3"), "x.tuyaeu.com"),
        Packet::http(dev("10.10.10.8"), router("3.3.3.4"), "tuyaeu.com.evil.net"),
        ssdp.with_protocol("ssdp"),
        mdns.with_protocol("mdns"),
        Packet::ip(dev("10.10.10.8"), router("8.8.8.8"), L4::Icmp),
        Packet::ip(dev("2001:db8::8"), router("2001:4860::8888"), L4::Icmp).tagged(30),
        Packet::udp(other("10.10.10.50"), router("10.10.10.8"), 40008, 6667),
        Packet::tcp(other("2001:db8::50"), router("2001:db8:2::2"), 40009, 8883),
    ]
}

fn model(packets: &[Packet], keep: impl Fn(&Packet) -> bool) -> BTreeSet<usize> {
    packets.iter().enumerate().filter(|(_, p)| keep(p)).map(|(i, _)| i + 1).collect()
}

fn setup() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf, Vec<Packet>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("noise")).unwrap();
    std::fs::copy(repo_root().join("profiles/noise/l2-discovery.yaml"), dir.path().join("noise/l2-discovery.yaml")).unwrap();
    let profile = dir.path().join("equivalence.yaml");
    std::fs::write(&profile, PROFILE).unwrap();
    let capture = dir.path().join("mixed.pcap");
    let packets = packets();
    write_capture(&capture, &packets);
    (dir, profile, capture, packets)
}

#[test]
fn display_filter_keeps_exactly_what_the_rules_describe_in_every_mode() {
    let (_dir, profile, capture, packets) = setup();
    let expected = [
        ("device", model(&packets, is_device)),
        ("clean", model(&packets, |p| is_device(p) && !is_ignored(p))),
        ("unexpected", model(&packets, |p| is_device(p) && !is_ignored(p) && !is_expected(p))),
    ];
    for (mode, want) in expected {
        let (code, filter, stderr) = run(&["filter", profile.to_str().unwrap(), "--mode", mode]);
        assert_eq!(code, 0, "{stderr}");
        let got = tshark_keeps(&capture, filter.trim(), &[], &[]);
        assert_eq!(got, want, "mode {mode}: filter\n{filter}");
        assert!(!want.is_empty());
    }
}

#[test]
fn capture_filter_keeps_the_same_packets_as_the_model() {
    let (_dir, profile, capture, packets) = setup();
    let expected = [
        ("device", model(&packets, is_device)),
        ("clean", model(&packets, |p| is_device(p) && !is_ignored(p))),
    ];
    for (mode, want) in expected {
        let (code, expr, stderr) = run(&["bpf", profile.to_str().unwrap(), "--mode", mode]);
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(tcpdump_keeps(&capture, expr.trim()), want, "mode {mode}: bpf\n{expr}");
    }
    // unexpected needs host names and a raw filter: no BPF, exit 1 naming the rule
    let (code, _, stderr) = run(&["bpf", profile.to_str().unwrap(), "--mode", "unexpected"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("rule mqtt (equivalence expected[0]): host name m2.tuyaeu.com has no BPF equivalent"), "{stderr}");
}

#[test]
fn resolve_from_adds_the_addresses_dns_answered() {
    let (dir, profile, capture, _) = setup();
    // A capture with one DNS answer: a.tuyaeu.com -> 3.125.199.146
    let answer = dir.path().join("dns.pcap");
    let mut response = dns_query("a.tuyaeu.com");
    response[2] = 0x81;
    response[3] = 0x80;
    response[7] = 1; // one answer
    response.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 3, 125, 199, 146]);
    let router = (mac(ROUTER), "10.10.10.1");
    let dev = (mac(DEVICE), "10.10.10.8");
    write_capture(&answer, &[Packet::ip(router, dev, L4::Udp { sport: 53, dport: 40000, payload: response })]);
    let traffic = dir.path().join("traffic.pcap");
    write_capture(&traffic, &[Packet::tcp(dev, (mac(ROUTER), "3.125.199.146"), 40000, 443)]);
    let p = profile.to_str().unwrap();
    let (_, without, _) = run(&["filter", p, "--mode", "unexpected"]);
    let (code, with, stderr) = run(&["filter", p, "--mode", "unexpected", "--resolve-from", answer.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(with.contains("3.125.199.146"), "{with}");
    assert_eq!(tshark_keeps(&traffic, without.trim(), &[], &[]), BTreeSet::from([1]));
    assert_eq!(tshark_keeps(&traffic, with.trim(), &[], &[]), BTreeSet::new());
    let _ = capture;
}
