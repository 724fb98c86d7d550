//! `filtergen firewall` loaded by the real nft and dnsmasq, in a network the
//! test builds: a `device`, a `router` (the ruleset, dnsmasq as the local
//! resolver) and an `internet` namespace (stand-in servers and an upstream
//! resolver), joined by veth pairs. Only documentation addresses
//! (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) and fd00::/8 are used;
//! every connection has a short timeout and the namespaces, with the
//! processes in them, are removed by a guard even when the test fails.
//!
//! Needs root (network namespaces). Outside CI a non-root run says it
//! skipped; with `CI` set it fails instead.

mod common;

use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::netns::Netns;
use common::run;

const DEVICE_MAC: &str = "02:00:00:00:00:10";
const ROUTER_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const ROUTER_V6: &str = "fd00:1::1";
/// Expected server, unexpected server, a host name's address, a host name
/// not in the profile, the upstream resolver, a "hard-coded" resolver.
const EXPECTED: u8 = 10;
const UNEXPECTED: u8 = 20;
const NAMED: u8 = 30;
const OTHER_NAMED: u8 = 40;
const UPSTREAM: u8 = 53;
const HARDCODED: u8 = 114;
const CONNECT_TIMEOUT: Duration = Duration::from_millis(700);

const PROFILE: &str = "name: lab-device
description: stand-in device of the firewall namespace test
device:
  mac: [02:00:00:00:00:10]
  ip: [192.0.2.10, \"fd00:1::10\"]
expected:
  - name: mqtt
    host: [203.0.113.10, \"fd00:3::10\"]
    tcp: [8883]
  - name: cloud
    host: [allowed.phonehome.test]
    tcp: [443]
  - name: time
    protocols: [ntp]
";

fn v4(host: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(203, 0, 113, host))
}

fn v6(host: u8) -> IpAddr {
    IpAddr::V6(format!("fd00:3::{host}").parse().unwrap())
}

fn may_run() -> bool {
    common::root_or_skip("firewall_netns")
}

/// The test network; dropping it stops its processes, then its namespaces go.
struct Lab {
    device: Netns,
    router: Netns,
    internet: Netns,
    dir: tempfile::TempDir,
    children: Vec<Child>,
    /// The router's dnsmasq, restarted with each ruleset.
    router_dns: Option<Child>,
    stop: Arc<AtomicBool>,
    servers: Vec<std::thread::JoinHandle<()>>,
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for child in self.children.iter_mut().chain(self.router_dns.as_mut()) {
            let _ = child.kill();
            let _ = child.wait();
        }
        for server in self.servers.drain(..) {
            let _ = server.join();
        }
    }
}

impl Lab {
    fn new() -> Lab {
        let mut lab = Lab {
            device: Netns::new(),
            router: Netns::new(),
            internet: Netns::new(),
            dir: tempfile::tempdir().unwrap(),
            children: Vec::new(),
            router_dns: None,
            stop: Arc::new(AtomicBool::new(false)),
            servers: Vec::new(),
        };
        let (d, r, i) = (&lab.device, &lab.router, &lab.internet);
        r.run(&["ip", "link", "add", "lan0", "type", "veth", "peer", "name", "eth0", "netns", &d.pid()]);
        r.run(&["ip", "link", "add", "wan0", "type", "veth", "peer", "name", "eth0", "netns", &i.pid()]);
        d.run(&["ip", "link", "set", "eth0", "address", DEVICE_MAC]);
        let addr = |ns: &Netns, a: &str, dev: &str| {
            let mut args = vec!["ip", "addr", "add", a, "dev", dev];
            if a.contains(':') {
                args.push("nodad");
            }
            ns.run(&args);
        };
        addr(d, "192.0.2.10/24", "eth0");
        addr(d, "fd00:1::10/64", "eth0");
        addr(r, "192.0.2.1/24", "lan0");
        addr(r, "fd00:1::1/64", "lan0");
        addr(r, "198.51.100.1/24", "wan0");
        addr(r, "fd00:2::1/64", "wan0");
        addr(i, "198.51.100.2/24", "eth0");
        addr(i, "fd00:2::2/64", "eth0");
        for host in [EXPECTED, UNEXPECTED, NAMED, OTHER_NAMED, UPSTREAM, HARDCODED] {
            addr(i, &format!("{}/32", v4(host)), "lo");
            addr(i, &format!("{}/128", v6(host)), "lo");
        }
        for (ns, dev) in [(d, "eth0"), (r, "lan0"), (r, "wan0"), (i, "eth0")] {
            ns.run(&["ip", "link", "set", dev, "up"]);
        }
        // Link-local addresses still run duplicate address detection; until it
        // ends, IPv6 neighbour discovery (and the first connection) stalls.
        for (name, ns) in [("device", d), ("router", r), ("internet", i)] {
            let settled = (0..50).any(|_| {
                let out = ns.command("ip").args(["-6", "addr", "show", "tentative"]).output().expect("ip");
                let done = out.status.success() && out.stdout.is_empty();
                if !done {
                    std::thread::sleep(Duration::from_millis(100));
                }
                done
            });
            assert!(settled, "{name}: IPv6 addresses still tentative after 5 s");
        }
        d.run(&["ip", "route", "add", "default", "via", "192.0.2.1"]);
        d.run(&["ip", "-6", "route", "add", "default", "via", ROUTER_V6]);
        r.run(&["ip", "route", "add", "203.0.113.0/24", "via", "198.51.100.2"]);
        r.run(&["ip", "-6", "route", "add", "fd00:3::/64", "via", "fd00:2::2"]);
        i.run(&["ip", "route", "add", "default", "via", "198.51.100.1"]);
        i.run(&["ip", "-6", "route", "add", "default", "via", "fd00:2::1"]);
        // /proc/sys/net is the opening thread's namespace's.
        r.enter(|| {
            for knob in ["/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/ipv6/conf/all/forwarding"] {
                std::fs::write(knob, "1").unwrap_or_else(|e| panic!("{knob}: {e}"));
            }
        });
        lab.start_servers();
        // The upstream resolver: answers the two test names, TTL 0 (nothing cached).
        let upstream_log = lab.path("upstream.log");
        let mut upstream = dnsmasq(&lab.internet, &[&v4(UPSTREAM).to_string(), &v6(UPSTREAM).to_string()], &upstream_log);
        for (name, host) in [("allowed.phonehome.test", NAMED), ("other.phonehome.test", OTHER_NAMED)] {
            upstream.arg(format!("--address=/{name}/{}", v4(host)));
            upstream.arg(format!("--address=/{name}/{}", v6(host)));
        }
        lab.spawn(upstream);
        lab.wait_for_dns(&lab.internet, SocketAddr::new(v4(UPSTREAM), 53));
        lab
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn spawn(&mut self, mut cmd: Command) {
        let child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn");
        self.children.push(child);
    }

    /// TCP listeners on every internet address (dual-stack), drained until the lab stops.
    fn start_servers(&mut self) {
        let listeners: Vec<TcpListener> = self.internet.enter(|| {
            [8883u16, 443, 853]
                .iter()
                .map(|p| {
                    let l = TcpListener::bind(("::", *p)).expect("bind stand-in server");
                    l.set_nonblocking(true).unwrap();
                    l
                })
                .collect()
        });
        for listener in listeners {
            let stop = self.stop.clone();
            self.servers.push(std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok(_) => {}
                        Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(20)),
                        Err(_) => break,
                    }
                }
            }));
        }
    }

    /// Waits (bounded) until a resolver in `ns` answers. It asks for the
    /// name the profile does not have: asking for the other would put its
    /// address into the device's set before the device resolved it.
    fn wait_for_dns(&self, ns: &Netns, server: SocketAddr) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if ns.enter(move || resolve(server, "other.phonehome.test", false)).is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let logs: String = std::fs::read_dir(self.dir.path())
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
            .map(|e| format!("{}:\n{}", e.path().display(), std::fs::read_to_string(e.path()).unwrap_or_default()))
            .collect();
        panic!("the resolver at {server} did not answer within 5 s\n{logs}");
    }

    fn nft(&self, args: &[&str]) -> String {
        let mut all = vec!["nft"];
        all.extend_from_slice(args);
        self.router.run(&all)
    }

    fn connect(&self, addr: IpAddr, port: u16) -> Outcome {
        self.device.enter(move || {
            match TcpStream::connect_timeout(&SocketAddr::new(addr, port), CONNECT_TIMEOUT) {
                Ok(_) => Outcome::Connected,
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => Outcome::Refused,
                Err(e) if e.kind() == ErrorKind::TimedOut || e.kind() == ErrorKind::WouldBlock => Outcome::TimedOut,
                Err(e) => Outcome::Other(e.to_string()),
            }
        })
    }

    fn resolve(&self, server: IpAddr, name: &'static str, aaaa: bool) -> Option<Vec<IpAddr>> {
        self.device.enter(move || resolve(SocketAddr::new(server, 53), name, aaaa))
    }
}

/// dnsmasq in the foreground in `ns`, only on `addrs`, logging queries to `log`.
fn dnsmasq(ns: &Netns, addrs: &[&str], log: &Path) -> Command {
    let mut cmd = ns.command("dnsmasq");
    cmd.args(["--keep-in-foreground", "--no-resolv", "--no-hosts", "--bind-interfaces"]);
    cmd.arg(format!("--listen-address={}", addrs.join(",")));
    cmd.args(["--pid-file=", "--log-queries", "--conf-file=/dev/null"]);
    cmd.arg(format!("--log-facility={}", log.display()));
    cmd
}

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Connected,
    Refused,
    TimedOut,
    Other(String),
}

/// One A or AAAA question over UDP (three tries, 700 ms each); the
/// addresses answered, None without an answer.
fn resolve(server: SocketAddr, name: &str, aaaa: bool) -> Option<Vec<IpAddr>> {
    // A source port of its own for every question: a tuple seen before
    // would reuse its conntrack entry (and NAT decision) from an earlier
    // ruleset instead of meeting the one under test.
    static NEXT_PORT: AtomicUsize = AtomicUsize::new(0);
    let port = 20_000 + (std::process::id() as usize % 64) * 256 + NEXT_PORT.fetch_add(1, Ordering::SeqCst) % 256;
    let bind: SocketAddr = if server.is_ipv4() { "0.0.0.0:0".parse().unwrap() } else { "[::]:0".parse().unwrap() };
    let socket = UdpSocket::bind(SocketAddr::new(bind.ip(), port as u16)).or_else(|_| UdpSocket::bind(bind)).ok()?;
    socket.set_read_timeout(Some(CONNECT_TIMEOUT)).ok()?;
    let id: u16 = 0x5048;
    let mut query = id.to_be_bytes().to_vec();
    query.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.') {
        query.push(label.len() as u8);
        query.extend_from_slice(label.as_bytes());
    }
    // Root label, type A (1) or AAAA (28), class IN.
    query.extend_from_slice(&[0, 0, if aaaa { 28 } else { 1 }, 0, 1]);
    let mut buf = [0u8; 1500];
    for _ in 0..3 {
        socket.send_to(&query, server).ok()?;
        if let Ok((n, _)) = socket.recv_from(&mut buf) {
            if n >= 12 && buf[..2] == id.to_be_bytes() {
                return Some(answers(&buf[..n]));
            }
        }
    }
    None
}

/// The A/AAAA records of a DNS response.
fn answers(m: &[u8]) -> Vec<IpAddr> {
    let count = |i: usize| usize::from(u16::from_be_bytes([m[i], m[i + 1]]));
    let skip_name = |mut at: usize| -> Option<usize> {
        loop {
            let len = *m.get(at)?;
            if len & 0xc0 == 0xc0 {
                return Some(at + 2);
            }
            if len == 0 {
                return Some(at + 1);
            }
            at += 1 + usize::from(len);
        }
    };
    let mut out = Vec::new();
    let Some(mut at) = skip_name(12).map(|a| a + 4) else { return out };
    for _ in 0..count(6) {
        let Some(rr) = skip_name(at) else { break };
        let Some(head) = m.get(rr..rr + 10) else { break };
        let kind = u16::from_be_bytes([head[0], head[1]]);
        let len = usize::from(u16::from_be_bytes([head[8], head[9]]));
        let Some(data) = m.get(rr + 10..rr + 10 + len) else { break };
        match (kind, len) {
            (1, 4) => out.push(IpAddr::V4(Ipv4Addr::new(data[0], data[1], data[2], data[3]))),
            (28, 16) => out.push(IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(data).unwrap()))),
            _ => {}
        }
        at = rr + 10 + len;
    }
    out
}

/// The counter of the rule in `listing` whose comment is `comment` (summed
/// over the rules carrying it).
fn counter(listing: &str, comment: &str) -> u64 {
    let tag = format!("comment \"{comment}\"");
    listing
        .lines()
        .filter(|l| l.contains(&tag))
        .filter_map(|l| l.split("counter packets ").nth(1)?.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// What an unexpected connection does under `action`.
fn blocked(action: &str) -> Outcome {
    match action {
        "log" => Outcome::Connected,
        "reject" => Outcome::Refused,
        _ => Outcome::TimedOut,
    }
}

/// Generates the ruleset for `format`/`action` into the lab's folder.
fn generate(lab: &Lab, format: &str, action: &str) -> (PathBuf, PathBuf) {
    let profile = lab.path("lab-device.yaml");
    std::fs::write(&profile, PROFILE).unwrap();
    let rules = lab.path(&format!("{format}-{action}.nft"));
    let args = [
        "firewall",
        profile.to_str().unwrap(),
        "--format",
        format,
        "--action",
        action,
        "--dns-pin",
        "192.0.2.1",
        "--dns-pin",
        ROUTER_V6,
        "--check",
        "-o",
        rules.to_str().unwrap(),
    ];
    let (code, _, stderr) = run(&args);
    assert_eq!(code, 0, "filtergen firewall {format} {action}: {stderr}");
    (rules.clone(), lab.path(&format!("{format}-{action}.dnsmasq.conf")))
}

/// The router's resolver with the generated nftset lines (restarted for each
/// ruleset, as the generated header tells users to).
fn start_router_dns(lab: &mut Lab, conf: &Path) {
    if let Some(mut old) = lab.router_dns.take() {
        let _ = old.kill();
        let _ = old.wait();
    }
    let log = lab.path("router-dnsmasq.log");
    let mut cmd = dnsmasq(&lab.router, &["192.0.2.1", ROUTER_V6], &log);
    cmd.arg(format!("--server={}", v4(UPSTREAM)));
    cmd.arg(format!("--conf-file={}", conf.display()));
    lab.router_dns = Some(cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn dnsmasq"));
    let server = SocketAddr::new(IpAddr::V4(ROUTER_V4), 53);
    lab.wait_for_dns(&lab.router, server);
}

/// Everything the issue asks of one loaded ruleset.
fn check_behaviour(lab: &Lab, action: &str, table: &str, chain: &str) {
    let unexpected = blocked(action);
    // Expected address and port, both IP versions.
    for addr in [v4(EXPECTED), v6(EXPECTED)] {
        assert_eq!(lab.connect(addr, 8883), Outcome::Connected, "{action}: expected {addr}:8883");
    }
    // Unexpected address; unexpected port of an expected address.
    for addr in [v4(UNEXPECTED), v6(UNEXPECTED)] {
        assert_eq!(lab.connect(addr, 8883), unexpected, "{action}: unexpected {addr}:8883");
        assert_eq!(lab.connect(addr, 443), unexpected, "{action}: unexpected {addr}:443");
    }
    // A host name in the profile: blocked until the device resolves it through the router.
    for addr in [v4(NAMED), v6(NAMED)] {
        assert_eq!(lab.connect(addr, 443), unexpected, "{action}: {addr} before resolving");
    }
    let router_v6: IpAddr = ROUTER_V6.parse().unwrap();
    assert_eq!(lab.resolve(IpAddr::V4(ROUTER_V4), "allowed.phonehome.test", false), Some(vec![v4(NAMED)]));
    assert_eq!(lab.resolve(router_v6, "allowed.phonehome.test", true), Some(vec![v6(NAMED)]));
    for addr in [v4(NAMED), v6(NAMED)] {
        assert_eq!(lab.connect(addr, 443), Outcome::Connected, "{action}: {addr} after resolving");
        assert_eq!(lab.connect(addr, 8883), unexpected, "{action}: {addr} on a port its rule does not allow");
    }
    // A name not in the profile stays blocked after resolving.
    assert_eq!(lab.resolve(IpAddr::V4(ROUTER_V4), "other.phonehome.test", false), Some(vec![v4(OTHER_NAMED)]));
    assert_eq!(lab.resolve(router_v6, "other.phonehome.test", true), Some(vec![v6(OTHER_NAMED)]));
    for addr in [v4(OTHER_NAMED), v6(OTHER_NAMED)] {
        assert_eq!(lab.connect(addr, 443), unexpected, "{action}: {addr}, a name not in the profile");
    }
    // --dns-pin: a "hard-coded" resolver (nothing listens there) is answered by the router's dnsmasq.
    let log_before = std::fs::read_to_string(lab.path("router-dnsmasq.log")).unwrap_or_default().len();
    assert_eq!(lab.resolve(v4(HARDCODED), "allowed.phonehome.test", false), Some(vec![v4(NAMED)]), "{action}: pinned IPv4 DNS");
    assert_eq!(lab.resolve(v6(HARDCODED), "allowed.phonehome.test", true), Some(vec![v6(NAMED)]), "{action}: pinned IPv6 DNS");
    let log = std::fs::read_to_string(lab.path("router-dnsmasq.log")).unwrap();
    assert!(log[log_before..].contains("query[A] allowed.phonehome.test from 192.0.2.10"), "{action}: router dnsmasq log:\n{log}");
    assert!(log[log_before..].contains("query[AAAA] allowed.phonehome.test from fd00:1::10"), "{action}: router dnsmasq log:\n{log}");
    // DNS over TLS is refused whatever the action.
    assert_eq!(lab.connect(v4(EXPECTED), 853), Outcome::Refused, "{action}: DNS over TLS");
    assert_eq!(lab.connect(v6(EXPECTED), 853), Outcome::Refused, "{action}: DNS over TLS (IPv6)");

    let listing = lab.nft(&["list", "chain", "inet", table, chain]);
    // Unexpected: 2 addresses x 2 ports, 2 before resolving, 2 on the wrong port, 2 other names.
    // In drop mode a SYN is retransmitted within the timeout at most once more.
    let counted = counter(&listing, "unexpected");
    assert!((10..=20).contains(&counted), "{action}: unexpected counter {counted}:\n{listing}");
    assert_eq!(counter(&listing, "expected[0] mqtt"), 2, "{listing}");
    assert_eq!(counter(&listing, "expected[1] cloud"), 2, "{listing}");
    assert_eq!(counter(&listing, "dns over tls blocked"), 2, "{listing}");
    if action == "log" {
        assert!(listing.contains("log prefix \"phonehome lab-device unexpected: \""), "{listing}");
    }
    let dstnat = lab.nft(&["list", "chain", "inet", table, &chain.replace("dev_lab_device", "dev_lab_device_dns")]);
    assert_eq!(counter(&dstnat, "dns pinned to 192.0.2.1"), 1, "{dstnat}");
    assert_eq!(counter(&dstnat, "dns pinned to fd00:1::1"), 1, "{dstnat}");
}

#[test]
fn nft_table_enforces_the_profile() {
    if !may_run() {
        return;
    }
    let mut lab = Lab::new();
    for action in ["log", "reject", "drop"] {
        let (rules, conf) = generate(&lab, "nft", action);
        let rules = rules.to_str().unwrap().to_string();
        // Loaded twice: still one table (replaced, not appended to).
        lab.nft(&["-f", &rules]);
        lab.nft(&["-f", &rules]);
        let tables = lab.nft(&["list", "tables"]);
        assert_eq!(tables.matches("table inet phonehome").count(), 1, "{tables}");
        let chain = lab.nft(&["list", "chain", "inet", "phonehome", "dev_lab_device"]);
        assert_eq!(chain.matches("expected[0] mqtt").count(), 2, "one copy of each rule:\n{chain}");
        start_router_dns(&mut lab, &conf);
        check_behaviour(&lab, action, "phonehome", "dev_lab_device");
    }
}

/// fw4's table as OpenWrt builds it, reduced to what matters here: base
/// chains with policy drop that let the LAN out, and the include.
fn fw4_table(include: &Path) -> String {
    format!(
        "table inet fw4\ndelete table inet fw4\ntable inet fw4 {{
	chain input {{
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		iifname \"lo\" accept
		iifname \"lan0\" accept
		meta l4proto icmpv6 accept
	}}
	chain forward {{
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		iifname \"lan0\" oifname \"wan0\" accept
	}}
	chain output {{
		type filter hook output priority filter; policy accept;
	}}
	chain dstnat {{
		type nat hook prerouting priority dstnat; policy accept;
	}}
	chain srcnat {{
		type nat hook postrouting priority srcnat; policy accept;
	}}
	include \"{}\"
}}\n",
        include.display()
    )
}

#[test]
fn openwrt_include_enforces_the_profile_inside_fw4() {
    if !may_run() {
        return;
    }
    let mut lab = Lab::new();
    for action in ["log", "reject", "drop"] {
        let (rules, conf) = generate(&lab, "openwrt", action);
        let dnsmasq_lines = std::fs::read_to_string(&conf).unwrap();
        assert!(dnsmasq_lines.contains("#inet#fw4#phonehome_lab_device_1_cloud_dns4"), "{dnsmasq_lines}");
        let fw4 = lab.path("fw4.nft");
        std::fs::write(&fw4, fw4_table(&rules)).unwrap();
        lab.nft(&["-f", fw4.to_str().unwrap()]);
        lab.nft(&["-f", fw4.to_str().unwrap()]);
        let tables = lab.nft(&["list", "tables"]);
        assert_eq!(tables.trim(), "table inet fw4", "{tables}");
        start_router_dns(&mut lab, &conf);
        check_behaviour(&lab, action, "fw4", "phonehome_dev_lab_device");
    }
}
