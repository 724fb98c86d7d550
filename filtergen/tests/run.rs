//! `filtergen run` keeps exactly the packets of the tshark-only path
//! (`tshark -r IN -Y "$(filtergen filter …)" -w OUT`), for every shipped
//! profile in every mode, on a capture built from the profile's own values
//! plus frames the header decoder must not settle alone (ICMP errors quoting
//! the device, VXLAN carrying it, IP fragments, DHCP/SSDP/mDNS/DNS, names);
//! and the batch behaviour: outputs, --out, --resume, gzip, damaged inputs.

mod common;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use filtergen::{Host, Mode, Profile};

const ROUTER: &str = "00:0c:42:cf:36:20";
const OTHER: &str = "aa:bb:cc:00:00:01";
const OTHER2: &str = "aa:bb:cc:00:00:02";
const BCAST: &str = "ff:ff:ff:ff:ff:ff";

/// A packet as (timestamp in ns, original length, bytes): what "the same
/// packets" means, whatever the file's timestamp resolution.
type Seen = (u128, u32, Vec<u8>);

fn read_packets(path: &Path) -> Vec<Seen> {
    use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
    use pcap_file::pcapng::{Block, PcapNgReader};
    let mut reader = PcapNgReader::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut resol: Vec<u32> = Vec::new();
    let mut out = Vec::new();
    while let Some(block) = reader.next_block() {
        match block.unwrap() {
            Block::SectionHeader(_) => resol.clear(),
            Block::InterfaceDescription(idb) => {
                let r = idb.options.iter().find_map(|o| match o {
                    InterfaceDescriptionOption::IfTsResol(r) => Some(*r as u32),
                    _ => None,
                });
                resol.push(r.unwrap_or(6));
            }
            Block::EnhancedPacket(p) => {
                let r = resol[p.interface_id as usize];
                let ns = p.timestamp.as_nanos() * 10u128.pow(9 - r);
                out.push((ns, p.original_len, p.data.to_vec()));
            }
            _ => {}
        }
    }
    out
}

fn load(path: &str) -> Profile {
    filtergen::load_profile(Path::new(path), None).unwrap()
}

fn device_of(p: &Profile) -> (Mac, String) {
    let d = p.device.as_ref().unwrap();
    let mut m = [0x02, 0, 0, 0, 0, 0x99];
    if let Some(pattern) = d.mac.first() {
        m[..pattern.0.len()].copy_from_slice(&pattern.0);
    }
    let ip = d.ip.iter().find(|a| a.is_ipv4()).map(|a| a.to_string()).unwrap_or("192.0.2.99".into());
    (m, ip)
}

fn dhcp_payload() -> Vec<u8> {
    let mut b = vec![1, 1, 6, 0, 0x12, 0x34, 0x56, 0x78];
    b.resize(236, 0);
    b.extend_from_slice(&[99, 130, 83, 99, 53, 1, 1, 255]);
    b
}

/// An ICMP "port unreachable" from the router to `to`, quoting a UDP
/// datagram `quoted_src` -> `quoted_dst` (so tshark sees those addresses too).
fn icmp_error(to: (Mac, &str), quoted_src: &str, quoted_dst: &str) -> Vec<u8> {
    let mut quoted = Vec::new();
    etherparse::PacketBuilder::ipv4(ip4(quoted_src), ip4(quoted_dst), 64).udp(40000, 443).write(&mut quoted, b"q").unwrap();
    let mut frame = Vec::new();
    etherparse::PacketBuilder::ethernet2(mac(ROUTER), to.0)
        .ipv4(ip4("10.10.10.1"), ip4(to.1), 64)
        .icmpv4(etherparse::Icmpv4Type::DestinationUnreachable(etherparse::icmpv4::DestUnreachableHeader::Port))
        .write(&mut frame, &quoted)
        .unwrap();
    frame
}

/// VXLAN between two other hosts, carrying a frame of the device.
fn vxlan(inner: &[u8]) -> Vec<u8> {
    let mut payload = vec![0x08, 0, 0, 0, 0, 0, 0x01, 0];
    payload.extend_from_slice(inner);
    let mut frame = Vec::new();
    etherparse::PacketBuilder::ethernet2(mac(OTHER), mac(OTHER2))
        .ipv4([172, 16, 0, 1], [172, 16, 0, 2], 64)
        .udp(50000, 4789)
        .write(&mut frame, &payload)
        .unwrap();
    frame
}

/// The first fragment of a UDP datagram (more-fragments set).
fn fragment(from: (Mac, &str), to: (Mac, &str), dport: u16) -> Vec<u8> {
    let mut frame = Vec::new();
    etherparse::PacketBuilder::ethernet2(from.0, to.0).ipv4(ip4(from.1), ip4(to.1), 64).udp(40001, dport).write(&mut frame, &[7u8; 64]).unwrap();
    frame[14 + 6] |= 0x20;
    let mut ip = etherparse::Ipv4HeaderSlice::from_slice(&frame[14..]).unwrap().to_header();
    ip.more_fragments = true;
    let sum = ip.calc_header_checksum();
    frame[14 + 10..14 + 12].copy_from_slice(&sum.to_be_bytes());
    frame
}

fn ip4(s: &str) -> [u8; 4] {
    s.parse::<std::net::Ipv4Addr>().unwrap().octets()
}

/// Frames from the profile's values and from the hard cases, as raw bytes.
fn frames_for(p: &Profile) -> Vec<Vec<u8>> {
    let (dmac, dip) = device_of(p);
    let dev = (dmac, dip.as_str());
    let router = |ip: &'static str| (mac(ROUTER), ip);
    let mut packets: Vec<Packet> = Vec::new();
    let rules: Vec<_> = p.ignore.iter().chain(&p.expected).collect();
    for r in &rules {
        let v4: Vec<String> = r
            .host
            .iter()
            .filter_map(|h| match h {
                Host::Net(n) => Some(n.addr()).filter(IpAddr::is_ipv4).map(|a| a.to_string()),
                Host::Name(_) => None,
            })
            .collect();
        let peer = v4.first().cloned().unwrap_or("198.51.100.7".into());
        let peer: &'static str = Box::leak(peer.into_boxed_str());
        let tcp: Vec<u16> = r.tcp.iter().map(|x| x.first).chain([443]).collect();
        let udp: Vec<u16> = r.udp.iter().map(|x| x.last).chain([6667]).collect();
        for &port in &tcp {
            packets.push(Packet::tcp(dev, router(peer), 50000, port));
            packets.push(Packet::tcp(router(peer), dev, port, 50000));
            packets.push(Packet::tcp(dev, router("198.51.100.9"), 50001, port));
        }
        for &port in &udp {
            packets.push(Packet::udp(dev, router(peer), 40000, port));
            packets.push(Packet::udp(router(peer), dev, port, 40000));
        }
        for m in &r.mac {
            let mut other = [0x02, 0, 0, 0, 0, 0x42];
            other[..m.0.len()].copy_from_slice(&m.0);
            packets.push(Packet::tcp((other, "10.10.10.77"), dev, 40000, 22));
            packets.push(Packet::tcp(dev, (other, "10.10.10.77"), 22, 40000));
        }
        for name in r.names() {
            let n = if name.wildcard { format!("x.{}", name.domain) } else { name.domain.clone() };
            packets.push(Packet::dns_query(dev, router("10.10.10.1"), &n));
            packets.push(Packet::http(dev, router("198.51.100.10"), &n));
        }
    }
    packets.extend([
        Packet::dns_query(dev, router("114.114.114.114"), "unlisted.example.com"),
        Packet::http(dev, router("198.51.100.11"), "unlisted.example.com"),
        Packet::l2(mac(ROUTER), mac("01:80:c2:00:00:00"), Body::Stp, "stp"),
        Packet::l2(mac(ROUTER), mac("01:00:0c:cc:cc:cc"), Body::Cdp, "cdp"),
        Packet::l2(mac(ROUTER), mac("01:80:c2:00:00:0e"), Body::Lldp, "lldp"),
        Packet::l2(dmac, mac(BCAST), Body::Arp, "arp"),
        Packet::l2(dmac, mac(BCAST), Body::Arp, "arp").tagged(10),
        Packet::tcp(dev, router("3.67.242.33"), 50002, 8883).tagged(10),
        Packet::ip(dev, router("10.10.10.1"), L4::Udp { sport: 68, dport: 67, payload: dhcp_payload() }),
        Packet::ip(dev, (mac("01:00:5e:7f:ff:fa"), "239.255.255.250"), L4::Udp { sport: 50003, dport: 1900, payload: b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n\r\n".to_vec() }),
        Packet::dns_query(dev, (mac("01:00:5e:00:00:fb"), "224.0.0.251"), "printer.local"),
        Packet::ip(dev, (mac(BCAST), "255.255.255.255"), L4::Udp { sport: 6667, dport: 6667, payload: vec![0, 0, 0x55, 0xaa, 0, 0, 0, 0, 0, 0, 0, 0x13] }),
        Packet::ip(dev, router("8.8.8.8"), L4::Icmp),
        Packet::udp(dev, router("195.181.173.159"), 9993, 9993),
        Packet::tcp((mac(OTHER), "10.10.10.50"), (mac(OTHER2), "10.10.10.51"), 40000, 443),
        Packet::ip((mac(OTHER), "2001:db8::50"), (dmac, "2001:db8::8"), L4::Udp { sport: 5353, dport: 5353, payload: dns_query("x.local") }),
    ]);
    let mut frames: Vec<Vec<u8>> = packets.iter().map(Packet::frame).collect();
    let inner = Packet::tcp(dev, router("198.51.100.12"), 50004, 443).frame();
    frames.push(vxlan(&inner));
    frames.push(icmp_error((mac(OTHER), "10.10.10.50"), &dip, "198.51.100.13"));
    frames.push(icmp_error((dmac, &dip), &dip, "61.164.36.105"));
    frames.push(fragment(dev, router("198.51.100.14"), 443));
    frames.push(fragment(dev, router("3.67.242.33"), 8883));
    frames
}

fn write_frames(path: &Path, frames: &[Vec<u8>]) {
    use pcap_file::pcap::{PcapPacket, PcapWriter};
    let mut w = PcapWriter::new(std::fs::File::create(path).unwrap()).unwrap();
    for (i, f) in frames.iter().enumerate() {
        let t = std::time::Duration::from_micros(1_704_067_200_000_000 + i as u64 * 1_000_250);
        w.write_packet(&PcapPacket::new(t, f.len() as u32, f)).unwrap();
    }
}

fn tshark_reference(capture: &Path, profile: &str, mode: Mode, out: &Path) -> Vec<Seen> {
    require_tool("tshark", "tshark");
    let (code, filter, stderr) = run(&["filter", profile, "--mode", mode.as_str()]);
    assert_eq!(code, 0, "{stderr}");
    let status = Command::new("tshark").arg("-n").arg("-r").arg(capture).args(["-Y", filter.trim(), "-F", "pcapng", "-w"]).arg(out).output().unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    read_packets(out)
}

fn shipped_profiles() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(repo_root().join("profiles"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    v.sort();
    assert!(v.len() >= 5, "the shipped device profiles");
    v
}

#[test]
fn run_keeps_the_packets_of_the_tshark_only_path_for_every_shipped_profile_and_mode() {
    let dir = tempfile::tempdir().unwrap();
    let mut native_only = 0;
    for profile in shipped_profiles() {
        let p = load(&profile);
        let capture = dir.path().join(format!("{}.pcap", p.name));
        write_frames(&capture, &frames_for(&p));
        for mode in Mode::ALL {
            let out = dir.path().join(format!("out-{}-{mode}", p.name));
            let (code, stdout, stderr) = run(&["run", &profile, capture.to_str().unwrap(), "--mode", mode.as_str(), "--out", out.to_str().unwrap()]);
            assert_eq!(code, 0, "{profile} {mode}: {stdout}{stderr}");
            assert!(!stderr.contains("differently"), "{profile} {mode}: native and tshark disagreed: {stderr}");
            native_only += stdout.contains("(native,") as usize;
            let ours = read_packets(&out.join(format!("{}.{mode}.pcapng", p.name)));
            let reference = tshark_reference(&capture, &profile, mode, &dir.path().join("ref.pcapng"));
            assert!(!reference.is_empty(), "{profile} {mode}: the capture should keep something");
            assert_eq!(ours.len(), reference.len(), "{profile} {mode}: {stdout}");
            assert!(ours == reference, "{profile} {mode}: same count, different packets");
        }
    }
    assert_eq!(native_only, 0, "these captures hold frames only tshark can settle in every mode");
}

#[test]
fn header_only_profile_runs_natively_and_matches_tshark_and_tcpdump() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("plain.yaml");
    std::fs::write(
        &profile,
        "name: plain\ndevice:\n  mac: [64:90:c1:1d:24:c4]\n  ip: [10.10.10.8]\nignore:\n  - protocols: [arp, stp, lldp, cdp]\n  - mac: [18:c0:4d]\n  - host: [195.181.173.0/24]\n    udp: [9993]\nexpected:\n  - host: [3.64.0.0/14]\n    tcp: [8883]\n  - udp: [6667]\n",
    )
    .unwrap();
    let p = load(profile.to_str().unwrap());
    let (dmac, dip) = device_of(&p);
    let dev = (dmac, dip.as_str());
    let laptop = (mac("18:c0:4d:3b:66:d2"), "10.10.10.9");
    let packets = vec![
        Packet::tcp(dev, (mac(ROUTER), "3.67.242.33"), 50000, 8883),
        Packet::tcp((mac(ROUTER), "3.67.242.33"), dev, 8883, 50000),
        Packet::tcp(dev, (mac(ROUTER), "3.68.0.1"), 50000, 8883),
        Packet::tcp(dev, (mac(ROUTER), "3.66.0.1"), 50000, 443),
        Packet::udp(dev, (mac(BCAST), "255.255.255.255"), 6667, 6667),
        Packet::udp(dev, (mac(ROUTER), "195.181.173.159"), 9993, 9993),
        Packet::udp(dev, (mac(ROUTER), "195.181.174.1"), 9993, 9993),
        Packet::tcp(laptop, dev, 40000, 22),
        Packet::l2(dmac, mac(BCAST), Body::Arp, "arp"),
        Packet::l2(mac(ROUTER), mac("01:80:c2:00:00:00"), Body::Stp, "stp"),
        Packet::tcp(dev, (mac(ROUTER), "3.67.242.33"), 50000, 8883).tagged(5),
        Packet::tcp((mac(OTHER), "10.10.10.50"), (mac(OTHER2), "10.10.10.51"), 1, 2),
    ];
    let capture = dir.path().join("plain.pcap");
    write_capture(&capture, &packets);
    for mode in Mode::ALL {
        let (code, stdout, stderr) = run(&["run", profile.to_str().unwrap(), capture.to_str().unwrap(), "--mode", mode.as_str()]);
        assert_eq!(code, 0, "{stderr}");
        assert!(stdout.contains("(native,"), "every packet decided from headers: {stdout}");
        let ours = read_packets(&dir.path().join(format!("plain.{mode}.pcapng")));
        let reference = tshark_reference(&capture, profile.to_str().unwrap(), mode, &dir.path().join("ref.pcapng"));
        assert!(ours == reference, "{mode}: {} vs {} packets", ours.len(), reference.len());
        let (_, bpf, _) = run(&["bpf", profile.to_str().unwrap(), "--mode", mode.as_str()]);
        let by_tcpdump = tcpdump_keeps(&capture, bpf.trim());
        assert_eq!(ours.len(), by_tcpdump.len(), "{mode}");
    }
    // An independent expectation for clean mode: device traffic minus ARP,
    // STP, the laptop and ZeroTier 195.181.173.159/udp 9993.
    let clean = read_packets(&dir.path().join("plain.clean.pcapng"));
    assert_eq!(clean.len(), 7);
    let unexpected = read_packets(&dir.path().join("plain.unexpected.pcapng"));
    assert_eq!(unexpected.len(), 3, "3.68.0.1:8883 is outside 3.64.0.0/14; 443; ZeroTier port from an unlisted address");
}

#[test]
fn batch_outputs_resume_gzip_and_damaged_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let captures = dir.path().join("captures");
    std::fs::create_dir_all(captures.join("day2")).unwrap();
    let profile = profile_path("roborock-tuya.yaml");
    let p = load(&profile);
    let frames = frames_for(&p);
    write_frames(&captures.join("a.pcap"), &frames);
    write_frames(&captures.join("day2").join("a.pcap"), &frames[..10]);
    // gzip: the same capture compressed.
    let raw = std::fs::read(captures.join("a.pcap")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &raw).unwrap();
    std::fs::write(captures.join("b.pcap.gz"), gz.finish().unwrap()).unwrap();
    // Damaged: cut in the middle of the 6th packet record.
    let cut = 24 + (0..5).map(|i| 16 + frames[i].len()).sum::<usize>() + 20;
    std::fs::write(captures.join("cut.pcap"), &raw[..cut]).unwrap();
    std::fs::write(captures.join("junk.pcap"), b"this is not a capture").unwrap();
    let before: Vec<Vec<u8>> = ["a.pcap", "cut.pcap"].iter().map(|n| std::fs::read(captures.join(n)).unwrap()).collect();

    let out = dir.path().join("out");
    let args = ["run", &profile, captures.to_str().unwrap(), "--out", out.to_str().unwrap(), "--jobs", "2"];
    let (code, stdout, stderr) = run(&args);
    assert_eq!(code, 1, "damaged inputs make the exit status 1: {stdout}{stderr}");
    assert!(stderr.contains(&format!("cut.pcap: offset {}", 24 + (0..5).map(|i| 16 + frames[i].len()).sum::<usize>())), "{stderr}");
    assert!(stderr.contains("junk.pcap: offset 0: not a pcap or pcapng capture"), "{stderr}");
    let full = read_packets(&out.join("a.clean.pcapng"));
    assert_eq!(read_packets(&out.join("b.clean.pcapng")), full, "gzip gives the same result");
    let day2 = tshark_reference(&captures.join("day2").join("a.pcap"), &profile, Mode::Clean, &dir.path().join("ref.pcapng"));
    assert!(read_packets(&out.join("day2/a.clean.pcapng")) == day2, "a directory's inputs keep their relative path under --out");
    let cut_kept = read_packets(&out.join("cut.clean.pcapng"));
    assert!(cut_kept.iter().all(|p| frames[..5].contains(&p.2)) && !cut_kept.is_empty(), "the 5 readable packets were filtered");
    for (name, bytes) in ["a.pcap", "cut.pcap"].iter().zip(&before) {
        assert_eq!(&std::fs::read(captures.join(name)).unwrap(), bytes, "inputs untouched");
    }
    assert!(walk(&out).iter().all(|p| !p.to_string_lossy().ends_with(".part")), "no temporary file left");

    // --resume skips the complete outputs; beside-the-input outputs are not re-read.
    let (code, stdout, _) = run(&[&args[..], &["--resume"]].concat());
    assert_eq!(code, 0, "damaged inputs were reported by the first run; their outputs are complete");
    assert_eq!(stdout.matches("up to date").count(), 5, "{stdout}");
    std::fs::remove_file(out.join("b.clean.pcapng")).unwrap();
    let (_, stdout, _) = run(&[&args[..], &["--resume"]].concat());
    assert_eq!(stdout.matches("up to date").count(), 4, "{stdout}");
    assert!(stdout.contains("b.pcap.gz ->"), "{stdout}");
    let (code, stdout, stderr) = run(&["run", &profile, captures.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    assert!(captures.join("a.clean.pcapng").is_file());
    let (_, stdout2, stderr2) = run(&["run", &profile, captures.to_str().unwrap(), "--resume"]);
    assert!(stderr2.contains("skipping") && stderr2.contains("a.clean.pcapng: an output of filtergen"), "{stderr2}");
    assert!(!stdout2.contains("clean.clean"), "{stdout}{stdout2}");
}

#[test]
fn usage_errors_exit_2() {
    let (code, _, stderr) = run(&["run", &profile_path("roborock-tuya.yaml"), "/nonexistent/x.pcap"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("/nonexistent/x.pcap"));
    let (code, _, stderr) = run(&["run", &profile_path("noise/zerotier.yaml"), "/tmp"]);
    assert_eq!(code, 2, "a profile without a device: {stderr}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
