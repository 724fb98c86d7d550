//! `phonehome-bench capture PATH [FRAMES]`: writes the benchmark capture,
//! at least FRAMES frames (default 1 000 000): every sample capture of the
//! corpus (Tuya discovery and 3.3/3.4/3.5 sessions, Kalay, PPPP, miIO),
//! repeated with the app's address changed each round so every round is
//! new conversations, mixed with ordinary traffic (DNS, HTTP, and UDP
//! datagrams of random bytes to random ports, which the heuristics see).
//!
//! `phonehome-bench keys`: the tshark options that configure every key.
//!
//! `phonehome-bench throughput [SECONDS]`: pure-Rust dissection throughput
//! per protocol in MB/s on one core, and Tuya 3.3 frame parse + CRC + AES
//! decrypt on its own.

use std::fs::File;
use std::io::BufWriter;
use std::net::Ipv4Addr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use phonehome::tree::Tree;
use phonehome::{Packet, Slot, State};
use phonehome_samples::{corpus, pcap_writer, Capture, Host};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["capture", path] => write_capture(path, 1_000_000),
        ["capture", path, n] => match n.parse() {
            Ok(n) => write_capture(path, n),
            Err(_) => Err(format!("not a frame count: {n}")),
        },
        ["keys"] => {
            corpus::tshark_key_options().iter().for_each(|o| println!("{o}"));
            Ok(())
        }
        ["throughput"] => throughput(Duration::from_secs(2)),
        ["throughput", s] => match s.parse() {
            Ok(s) => throughput(Duration::from_secs_f64(s)),
            Err(_) => Err(format!("not a number of seconds: {s}")),
        },
        _ => Err("usage: phonehome-bench capture PATH [FRAMES] | keys | throughput [SECONDS]".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("phonehome-bench: {e}");
            ExitCode::from(2)
        }
    }
}

/// The apps (clients) of the samples: replaced by a new address each round.
fn app_addresses() -> Vec<Ipv4Addr> {
    vec![
        phonehome_samples::tuya_sessions::app().ip,
        phonehome_samples::p2p::APP.ip,
        phonehome_samples::miio::demo_app().ip,
    ]
}

/// Replaces IPv4 address `from` with `to` in an Ethernet/IPv4 frame (the
/// IP and UDP/TCP checksums go stale; Wireshark does not check them by
/// default).
fn readdress(frame: &mut [u8], from: Ipv4Addr, to: Ipv4Addr) {
    if frame.len() < 34 || frame[12..14] != [0x08, 0x00] {
        return;
    }
    for at in [26, 30] {
        if frame[at..at + 4] == from.octets() {
            frame[at..at + 4].copy_from_slice(&to.octets());
        }
    }
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// A DNS query for `name` (id, RD, one question, type A).
fn dns_query(id: u16, name: &str) -> Vec<u8> {
    let mut q = id.to_be_bytes().to_vec();
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    q
}

/// Ordinary traffic of round `round`: 10 DNS queries, 30 datagrams of
/// random bytes to random high ports, one HTTP exchange.
fn ordinary(cap: &mut Capture, round: u32, rng: &mut Rng) {
    let host = |n: u32| Host::new([2, 0, 0, 0x0a, (n >> 8) as u8, n as u8], [10, 200, (n >> 8) as u8, n as u8]);
    let resolver = Host::new([2, 0, 0, 0, 0, 0x53], [192, 168, 1, 1]);
    let web = Host::new([2, 0, 0, 0, 0, 0x80], [93, 184, 216, 34]);
    for i in 0..10u32 {
        let client = host(round * 7 + i);
        cap.udp(client, 33_000 + (i as u16), resolver, 53, &dns_query(round as u16 ^ i as u16, "cloud.example.com"));
    }
    for i in 0..30u32 {
        let len = 20 + (rng.next() % 400) as usize;
        let payload: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let sport = 1024 + (rng.next() % 60_000) as u16;
        let dport = 1024 + (rng.next() % 60_000) as u16;
        cap.udp(host(round * 11 + i), sport, host(round * 13 + i + 1), dport, &payload);
    }
    let request = b"GET /api/v1/status HTTP/1.1\r\nHost: cloud.example.com\r\nAccept: */*\r\n\r\n";
    let response = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"status\":\"ok\"}";
    cap.tcp(host(round), 45_000 + (round % 10_000) as u16, web, 80).client(request).server(response);
}

fn write_capture(path: &str, frames: usize) -> Result<(), String> {
    let samples = corpus::samples();
    let apps = app_addresses();
    let file = File::create(path).map_err(|e| format!("{path}: {e}"))?;
    let mut w = pcap_writer(BufWriter::new(file)).map_err(|e| e.to_string())?;
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let (mut written, mut round, mut plugin_frames) = (0usize, 0u32, 0usize);
    while written < frames {
        let mut cap = Capture::new();
        cap.wait(Duration::from_secs(round as u64));
        ordinary(&mut cap, round, &mut rng);
        cap.write_frames(&mut w).map_err(|e| e.to_string())?;
        written += cap.len();
        for s in &samples {
            let mut frames: Vec<Vec<u8>> = s.capture.frames().map(<[u8]>::to_vec).collect();
            for (k, app) in apps.iter().enumerate() {
                let to = Ipv4Addr::new(172, 16 + k as u8, (round >> 8) as u8, round as u8);
                frames.iter_mut().for_each(|f| readdress(f, *app, to));
            }
            let mut copy = Capture::new();
            copy.wait(Duration::from_secs(round as u64));
            frames.into_iter().for_each(|f| copy.push_frame(f));
            copy.write_frames(&mut w).map_err(|e| e.to_string())?;
            written += copy.len();
            plugin_frames += copy.len();
        }
        round += 1;
    }
    println!("{path}: {written} frames ({plugin_frames} from the sample captures), {round} rounds");
    Ok(())
}

/// Dissects `packets` over and over for `time`, one conversation per pass
/// (so sessions are negotiated and decrypted each pass); returns MB/s.
fn rate(protocol: &str, packets: &[(Packet, Vec<u8>)], time: Duration) -> (f64, usize) {
    let d = corpus::protocol(protocol).expect("registered");
    let mut capture = Slot::default();
    let (mut bytes, mut n) = (0usize, 0usize);
    let start = Instant::now();
    while start.elapsed() < time {
        let mut conversation = Slot::default();
        for (pkt, p) in packets {
            let mut t = Tree::new();
            d.dissect(pkt, p, &mut State { conversation: &mut conversation, capture: &mut capture }, &mut t);
            std::hint::black_box(&t);
            bytes += p.len();
            n += 1;
        }
    }
    (bytes as f64 / start.elapsed().as_secs_f64() / 1e6, n)
}

fn throughput(time: Duration) -> Result<(), String> {
    corpus::configure_dissectors();
    println!("{:<34} {:>10} {:>12} {:>10}", "protocol (pure Rust, one core)", "MB/s", "PDUs/s", "avg bytes");
    for s in corpus::samples() {
        let packets = s.capture.packets();
        let (mbs, n) = rate(s.protocol, &packets, time);
        let avg = packets.iter().map(|(_, p)| p.len()).sum::<usize>() / packets.len().max(1);
        let pdus = n as f64 / time.as_secs_f64();
        println!("{:<34} {mbs:>10.1} {pdus:>12.0} {avg:>10}", format!("{} ({})", s.protocol, s.name));
    }
    // Tuya 3.3: frame parse + CRC + AES-128-ECB decrypt, the work that
    // grows with the frame, on frames of 1 KiB and 16 KiB.
    use phonehome::tuya::frame;
    let key = *b"k33k33k33k33k33!";
    for size in [1024usize, 16 * 1024] {
        let json = format!("{{\"dps\":{{\"1\":\"{}\"}}}}", "x".repeat(size - 20));
        let ct = phonehome::crypto::ecb_encrypt(&key, json.as_bytes());
        let f = frame::encode_55aa_crc(1, 8, Some(0), &ct);
        let start = Instant::now();
        let mut bytes = 0usize;
        while start.elapsed() < time {
            for _ in 0..64 {
                let parsed = frame::parse(&f).map_err(|e| e.to_string())?;
                let ok = frame::crc_matches(&f, &parsed);
                let inner = parsed.inner(&f);
                let plain = phonehome::crypto::ecb_decrypt(&key, &inner[4..inner.len() - frame::CRC_LEN])
                    .map_err(|e| e.to_string())?;
                std::hint::black_box((ok, plain));
                bytes += f.len();
            }
        }
        let mbs = bytes as f64 / start.elapsed().as_secs_f64() / 1e6;
        println!("{:<34} {mbs:>10.1} {:>12.0} {:>10}", format!("tuya 3.3 parse+CRC+decrypt {}K", size / 1024), mbs * 1e6 / f.len() as f64, f.len());
    }
    Ok(())
}
