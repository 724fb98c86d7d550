//! `report --format json` from the native observation pass (the default)
//! equals the tshark pass's (`--engine tshark`, with the phonehome plugin)
//! field for field: on every demo capture (the device being each of its two
//! busiest MACs), on the six Roborock-like hours as one set with the shipped
//! profile, and on the real captures in ../shared/captures/. Hostile
//! captures (truncated, junk, mutated) give the same problems, never a panic.
//!
//! Needs tshark and the plugin (PHONEHOME_PLUGIN or `make install`).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

/// Where the two engines differ on purpose, and why.
/// (capture file name, JSON pointer, explanation with the frame).
const DIFFERENCES: &[(&str, &str, &str)] = &[
    // Frame 26 (the GET to port 80): the plugin registers miIO's cloud
    // channel on TCP port 80 and, for a stream that is not miIO, hands it
    // to HTTP from inside its own handle, so tshark shows
    // `tcp:miio:http` and the endpoint's protocol becomes "miio" (and a
    // miio remote is counted). The native pass shows `tcp:http`: the
    // stream carries no miIO frame.
    ("edge-cases.pcap", "/endpoints/2/protocol", MIIO_ON_HTTP),
    ("edge-cases.pcap", "/endpoints/2/rule", MIIO_ON_HTTP),
    ("edge-cases.pcap", "/endpoints/2/status", MIIO_ON_HTTP),
    ("edge-cases.pcap", "/endpoints/1/protocol", MIIO_ON_HTTP),
    ("edge-cases.pcap", "/endpoints/1/rule", MIIO_ON_HTTP),
    ("edge-cases.pcap", "/endpoints/1/status", MIIO_ON_HTTP),
    ("edge-cases.pcap", "/iot_remotes", MIIO_ON_HTTP),
];
const MIIO_ON_HTTP: &str = "HTTP on port 80 is shown as miio by the plugin's shared-port glue";

fn report(engine: &str, profile: &Path, captures: &[&Path]) -> (i32, String, String) {
    let mut args: Vec<String> = vec!["report".into(), profile.display().to_string()];
    args.extend(captures.iter().map(|c| c.display().to_string()));
    args.extend(["--format", "json", "--engine", engine, "--jobs", "1"].map(String::from));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    run(&refs)
}

/// Every JSON pointer where `a` and `b` differ.
fn differences(a: &Value, b: &Value, at: String, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                differences(x.get(k).unwrap_or(&Value::Null), y.get(k).unwrap_or(&Value::Null), format!("{at}/{k}"), out);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                differences(p, q, format!("{at}/{i}"), out);
            }
        }
        _ if a != b => out.push(format!("{at}: native {a} / tshark {b}")),
        _ => {}
    }
}

/// Compares both engines on `captures` with `profile`; returns the unexplained differences.
fn compare(label: &str, profile: &Path, captures: &[&Path]) -> Vec<String> {
    let (code_n, native, err_n) = report("native", profile, captures);
    let (code_t, tshark, err_t) = report("tshark", profile, captures);
    assert!(!err_n.contains("panicked"), "{label}: {err_n}");
    let mut found = Vec::new();
    if code_n != code_t {
        found.push(format!("{label}: exit code native {code_n} ({err_n}) / tshark {code_t} ({err_t})"));
    }
    let (Ok(n), Ok(t)) = (serde_json::from_str::<Value>(&native), serde_json::from_str::<Value>(&tshark)) else {
        return vec![format!("{label}: not JSON:\n{native}\n{err_n}\n{tshark}\n{err_t}")];
    };
    assert_eq!(t["plugin"], true, "the tshark pass needs the phonehome plugin (PHONEHOME_PLUGIN or make install)");
    let mut diffs = Vec::new();
    differences(&n, &t, String::new(), &mut diffs);
    let name = captures.first().and_then(|c| c.file_name()).map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    for d in diffs {
        let explained = DIFFERENCES.iter().any(|(file, pointer, _)| *file == name && d.starts_with(&format!("{pointer}:")));
        if !explained {
            found.push(format!("{label}: {d}"));
        }
    }
    found
}

/// A DHCP offer from `server` naming two resolvers (option 6).
fn dhcp_offer() -> Vec<u8> {
    let mut m = vec![2u8, 1, 6, 0];
    m.extend_from_slice(&[0x39, 0x03, 0xf3, 0x26]);
    m.extend_from_slice(&[0; 8]);
    m.extend_from_slice(&[0, 0, 0, 0, 192, 0, 2, 8, 192, 0, 2, 1, 0, 0, 0, 0]);
    m.extend_from_slice(&[0x64, 0x90, 0xc1, 0x1d, 0x24, 0xc4]);
    m.extend_from_slice(&[0; 10 + 64 + 128]);
    m.extend_from_slice(&[99, 130, 83, 99]);
    m.extend_from_slice(&[53, 1, 2, 54, 4, 192, 0, 2, 1, 6, 8, 192, 0, 2, 53, 198, 51, 100, 53, 255]);
    m
}

/// Traffic the demo captures lack: a ClientHello split over three
/// segments, TLS application data records split and joined across
/// segments, an HTTP request, a DHCP offer, DNS over TCP, mDNS, SSDP, NTP,
/// ICMP, ARP and a Tuya PDU split over two segments.
fn edge_cases() -> phonehome_samples::Capture {
    use phonehome_samples::roborock_hours::{client_hello, dns_message};
    use phonehome_samples::{Capture, Host};
    let device = Host::new([0x64, 0x90, 0xc1, 0x1d, 0x24, 0xc4], [192, 0, 2, 8]);
    let router = Host::new([0x00, 0x0c, 0x42, 0xcf, 0x36, 0x20], [192, 0, 2, 1]);
    let cloud = Host::new([0x00, 0x0c, 0x42, 0xcf, 0x36, 0x20], [203, 0, 113, 7]);
    let mut cap = Capture::new();
    cap.udp(router, 67, Host::broadcast(), 68, &dhcp_offer());
    cap.udp(device, 40000, router, 53, &dns_message(7, "split.example.com", None));
    cap.udp(router, 53, device, 40000, &dns_message(7, "split.example.com", Some((Some("cdn.example.net"), &[[203, 0, 113, 7]]))));
    let hello = client_hello("split.example.com");
    let mut appdata = vec![23, 3, 3, 0, 40];
    appdata.extend_from_slice(&[0xab; 40]);
    appdata.extend_from_slice(&[23, 3, 3, 0, 10]);
    appdata.extend_from_slice(&[0xcd; 10]);
    cap.tcp(device, 50001, cloud, 443).send(0, &hello, &[3, 60]).send(1, &appdata, &[20, 47, 52]).send(0, &appdata, &[]);
    cap.tcp(device, 50002, cloud, 80).client(b"GET /gslb?tver=2 HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: x\r\n\r\n").server(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    let mut tcp_dns = dns_message(9, "tcp.example.com", None);
    tcp_dns.splice(0..0, (tcp_dns.len() as u16).to_be_bytes());
    cap.tcp(device, 50003, router, 53).client(&tcp_dns);
    cap.udp(device, 5353, Host::new([0x01, 0x00, 0x5e, 0, 0, 0xfb], [224, 0, 0, 251]), 5353, &dns_message(0, "_hap._tcp.local", None));
    cap.udp(device, 50004, Host::new([0x01, 0x00, 0x5e, 0x7f, 0xff, 0xfa], [239, 255, 255, 250]), 1900, b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n");
    let mut ntp = vec![0x23u8];
    ntp.extend_from_slice(&[0; 47]);
    cap.udp(device, 123, cloud, 123, &ntp);
    let (_, tuya) = phonehome_samples::roborock_hours::tuya().discovery_frame();
    cap.tcp(device, 50005, router, 6668).send(0, &tuya, &[20]);
    let echo = etherparse::PacketBuilder::ethernet2(device.mac, cloud.mac).ipv4([192, 0, 2, 8], [203, 0, 113, 7], 64).icmpv4_echo_request(1, 1);
    let mut frame = Vec::new();
    echo.write(&mut frame, b"ping").unwrap();
    cap.push_frame(frame);
    let mut arp = vec![0xff; 6];
    arp.extend_from_slice(&device.mac);
    arp.extend_from_slice(&[0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1]);
    arp.extend_from_slice(&device.mac);
    arp.extend_from_slice(&[192, 0, 2, 8, 0, 0, 0, 0, 0, 0, 192, 0, 2, 1]);
    cap.push_frame(arp);
    cap
}

/// Source MACs of a pcap's Ethernet frames, busiest first.
fn busiest_macs(capture: &Path) -> Vec<String> {
    let file = std::fs::File::open(capture).unwrap();
    let mut reader = pcap_file::pcap::PcapReader::new(file).unwrap();
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    while let Some(Ok(p)) = reader.next_packet() {
        if p.data.len() >= 14 && p.data[6] & 1 == 0 {
            let m = p.data[6..12].iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":");
            *count.entry(m).or_default() += 1;
        }
    }
    let mut macs: Vec<(usize, String)> = count.into_iter().map(|(m, n)| (n, m)).collect();
    macs.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    macs.into_iter().map(|(_, m)| m).collect()
}

/// A profile for device `mac` with a few rules of each kind (so verdicts,
/// names and protocol rules are compared too).
fn device_profile(dir: &Path, mac: &str) -> PathBuf {
    let path = dir.join(format!("device-{}.yaml", mac.replace(':', "")));
    let text = format!(
        "name: equivalence\ndevice:\n  mac: [\"{mac}\"]\nignore:\n  - name: lan-discovery\n    protocols: [ssdp, mdns, arp, dhcp]\nexpected:\n  - name: tuya-cloud\n    host: [\"*.tuyaeu.com\", \"*.tuyacn.com\"]\n  - name: local-p2p\n    protocols: [tuya, miio, iotc, pppp]\n  - name: dns\n    udp: [53]\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn shared_captures() -> Vec<PathBuf> {
    let dir = std::env::var_os("PHONEHOME_SHARED").map(PathBuf::from).unwrap_or_else(|| repo_root().join("../shared")).join("captures");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.to_string_lossy().contains(".pcap")).collect())
        .unwrap_or_default();
    found.sort();
    if found.is_empty() {
        eprintln!("note: no captures in {} (set PHONEHOME_SHARED to the shared folder)", dir.display());
    }
    found
}

#[test]
fn native_and_tshark_reports_agree() {
    require_tool("tshark", "tshark");
    let dir = tempfile::tempdir().unwrap();
    let mut problems = Vec::new();
    let mut compared = 0;
    let mut singles: Vec<PathBuf> = Vec::new();
    let seed = dir.path().join("roborock");
    std::fs::create_dir_all(&seed).unwrap();
    for (name, capture) in phonehome_samples::demo_captures() {
        let path = if name.starts_with("roborock-hour") { seed.join(&name) } else { dir.path().join(&name) };
        capture.write(&path).unwrap();
        singles.push(path);
    }
    let edges = dir.path().join("edge-cases.pcap");
    edge_cases().write(&edges).unwrap();
    singles.push(edges);
    singles.extend(shared_captures());
    for capture in &singles {
        for mac in busiest_macs(capture).into_iter().take(2) {
            let profile = device_profile(dir.path(), &mac);
            problems.extend(compare(&format!("{} as {mac}", capture.display()), &profile, &[capture]));
            compared += 1;
        }
    }
    // The six hours as one set, with the shipped profile.
    let roborock = PathBuf::from(profile_path("roborock-tuya.yaml"));
    problems.extend(compare("roborock set", &roborock, &[&seed]));
    compared += 1;
    assert!(compared >= 20, "compared only {compared} reports");
    assert!(problems.is_empty(), "{} differences:\n{}", problems.len(), problems.join("\n"));
}

/// Lines of standard error naming a capture problem.
fn problems(stderr: &str) -> Vec<String> {
    let mut lines: Vec<String> = stderr.lines().filter(|l| l.starts_with("filtergen: ") && !l.contains("warning")).map(String::from).collect();
    lines.sort();
    lines
}

/// The file each problem line names (its text differs: tshark's reason or
/// the native reader's offset and reason).
fn named(problems: &[String]) -> Vec<String> {
    problems.iter().map(|p| p.trim_start_matches("filtergen: ").split(": ").next().unwrap_or("").to_string()).collect()
}

/// Deterministic xorshift for the mutants.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// Offsets of a pcap's record headers.
fn records(pcap: &[u8]) -> Vec<usize> {
    let mut at = 24;
    let mut out = Vec::new();
    while at + 16 <= pcap.len() {
        out.push(at);
        at += 16 + u32::from_le_bytes(pcap[at + 8..at + 12].try_into().unwrap()) as usize;
    }
    out
}

#[test]
fn hostile_captures_give_the_same_problems() {
    require_tool("tshark", "tshark");
    let dir = tempfile::tempdir().unwrap();
    let mut base = Vec::new();
    let (_, session) = phonehome_samples::demo_captures().into_iter().find(|(n, _)| n == "tuya-session-3.4.pcap").unwrap();
    session.write(&dir.path().join("base.pcap")).unwrap();
    base.extend(std::fs::read(dir.path().join("base.pcap")).unwrap());
    let profile = device_profile(dir.path(), "84:e3:42:11:22:33");
    let mut mutants: Vec<(String, Vec<u8>, bool)> = vec![
        ("empty.pcap".into(), Vec::new(), false),
        ("junk.pcap".into(), b"this is not a capture at all, just text".to_vec(), false),
        ("header-only.pcap".into(), base[..24].to_vec(), true),
        ("cut-in-header.pcap".into(), base[..12].to_vec(), false),
    ];
    let offsets = records(&base);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for i in 0..6 {
        let at = offsets[rng.below(offsets.len())];
        // At a record boundary, inside a record header, inside a frame.
        mutants.push((format!("cut-{i}-boundary.pcap"), base[..at].to_vec(), true));
        mutants.push((format!("cut-{i}-header.pcap"), base[..at + 1 + rng.below(14)].to_vec(), true));
        mutants.push((format!("cut-{i}-frame.pcap"), base[..(at + 17 + rng.below(40)).min(base.len())].to_vec(), true));
    }
    for i in 0..6 {
        let mut m = base.clone();
        for _ in 0..1 + rng.below(8) {
            let at = 24 + rng.below(m.len() - 24);
            m[at] = rng.below(256) as u8;
        }
        mutants.push((format!("corrupt-{i}.pcap"), m, false));
    }
    let mut huge = base.clone();
    huge[offsets[3] + 8..offsets[3] + 12].copy_from_slice(&0x7fff_fff0u32.to_le_bytes());
    mutants.push(("huge-record.pcap".into(), huge, true));
    let mut gz = Vec::new();
    {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(&mut gz, flate2::Compression::default());
        e.write_all(&base).unwrap();
        e.finish().unwrap();
    }
    mutants.push(("truncated.pcap.gz".into(), gz[..gz.len() * 2 / 3].to_vec(), true));

    let mut found = Vec::new();
    for (name, bytes, same_json) in &mutants {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let (code_n, out_n, err_n) = report("native", &profile, &[&path]);
        let (code_t, out_t, err_t) = report("tshark", &profile, &[&path]);
        assert!(!err_n.contains("panicked"), "{name}: {err_n}");
        assert_eq!(std::fs::read(&path).unwrap(), *bytes, "{name} was modified");
        let (pn, pt) = (problems(&err_n), problems(&err_t));
        if code_n != code_t || named(&pn) != named(&pt) {
            found.push(format!("{name}: native exit {code_n} {pn:?} / tshark exit {code_t} {pt:?}"));
            continue;
        }
        if *same_json {
            // Everything before the damage is read alike: the reports agree
            // but for the problem's wording in `notes`.
            let strip = |s: &str| serde_json::from_str::<Value>(s).ok().map(|mut v| {
                v["notes"] = Value::Null;
                v
            });
            let (n, t) = (strip(&out_n), strip(&out_t));
            let mut diffs = Vec::new();
            differences(&n.unwrap_or_default(), &t.unwrap_or_default(), String::new(), &mut diffs);
            found.extend(diffs.into_iter().map(|d| format!("{name}: {d}")));
        }
    }
    assert!(found.is_empty(), "{} differences:\n{}", found.len(), found.join("\n"));
}

/// A capture of another link type (raw IP here) is read by tshark even with
/// the native engine: the reports agree and see the device's DNS.
#[test]
fn non_ethernet_captures_go_through_tshark() {
    require_tool("tshark", "tshark");
    use phonehome_samples::roborock_hours::dns_message;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("raw-ip.pcap");
    let header = pcap_file::pcap::PcapHeader { datalink: pcap_file::DataLink::RAW, ..Default::default() };
    let mut w = pcap_file::pcap::PcapWriter::with_header(std::fs::File::create(&path).unwrap(), header).unwrap();
    for (i, (src, dst, sport, dport, msg)) in [
        ([192, 0, 2, 8], [192, 0, 2, 1], 40000, 53, dns_message(3, "raw.example.com", None)),
        ([192, 0, 2, 1], [192, 0, 2, 8], 53, 40000, dns_message(3, "raw.example.com", Some((None, &[[203, 0, 113, 9]])))),
    ]
    .into_iter()
    .enumerate()
    {
        let b = etherparse::PacketBuilder::ipv4(src, dst, 64).udp(sport, dport);
        let mut frame = Vec::new();
        b.write(&mut frame, &msg).unwrap();
        let packet = pcap_file::pcap::PcapPacket::new(std::time::Duration::from_secs(1_704_067_200 + i as u64), frame.len() as u32, &frame);
        w.write_packet(&packet).unwrap();
    }
    drop(w);
    let profile = dir.path().join("raw.yaml");
    std::fs::write(&profile, "name: raw\ndevice:\n  ip: [192.0.2.8]\n").unwrap();
    let problems = compare("raw IP", &profile, &[&path]);
    assert!(problems.is_empty(), "{problems:?}");
    let (code, out, err) = report("native", &profile, &[&path]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("raw.example.com"), "{out}");
}
