//! `report --eve`: Suricata's EVE JSON (flow, dns, tls, http, dhcp and
//! alert events; plain or gzip; any number of files) read line by line into
//! the same [`Observations`] a tshark pass gives, so one report model
//! serves both. Memory grows with endpoints and DNS questions, never with
//! the file: each line is parsed, folded in, and dropped.
//!
//! What EVE cannot carry (see README, "Reports from Suricata's EVE logs"):
//! packet times inside a flow (a flow is one event with its start and end,
//! so periods are those of connections and DNS questions, not of
//! keep-alives inside one session), non-IP frames (ARP, LLDP, STP), MAC
//! addresses (the device is matched by its IP addresses), the phonehome
//! plugin's IoT fields, and DHCP-offered resolvers (stock `dhcp` logging is
//! not extended).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::wellknown;
use crate::error::Error;
use crate::report::observe::{merge_bursts, normalize_name, remote_serves, DeviceMatch, EndpointKey, Observations, Remote};

/// What the EVE files gave.
pub struct EveGathered {
    pub observations: Observations,
    pub files: Vec<PathBuf>,
    /// `file:line: reason` for lines that could not be read (at most
    /// [`MAX_PROBLEMS`] listed, then a count).
    pub problems: Vec<String>,
    /// Alerts of phonehome signatures: message to count.
    pub alerts: BTreeMap<String, u64>,
    pub events: u64,
}

pub const MAX_PROBLEMS: usize = 20;
/// A longer line is refused (and skipped) without being kept in memory whole.
pub const MAX_LINE: usize = 1 << 20;

#[derive(Deserialize)]
struct Event {
    timestamp: Option<String>,
    event_type: String,
    src_ip: Option<IpAddr>,
    dest_ip: Option<IpAddr>,
    src_port: Option<u16>,
    dest_port: Option<u16>,
    proto: Option<String>,
    app_proto: Option<String>,
    flow: Option<FlowInfo>,
    tcp: Option<TcpInfo>,
    dns: Option<Dns>,
    tls: Option<Tls>,
    http: Option<Http>,
    dhcp: Option<Dhcp>,
    alert: Option<Alert>,
}

#[derive(Deserialize)]
struct FlowInfo {
    #[serde(default)]
    pkts_toserver: u64,
    #[serde(default)]
    pkts_toclient: u64,
    #[serde(default)]
    bytes_toserver: u64,
    #[serde(default)]
    bytes_toclient: u64,
    start: Option<String>,
    end: Option<String>,
}

#[derive(Deserialize)]
struct TcpInfo {
    #[serde(default)]
    syn: bool,
}

/// Both EVE DNS layouts: version 2 (Suricata 7: one event per question or
/// answer, `rrname` at the top) and version 3 (Suricata 8: `queries`).
#[derive(Deserialize)]
struct Dns {
    #[serde(rename = "type")]
    kind: Option<String>,
    rrname: Option<String>,
    #[serde(default)]
    queries: Vec<Query>,
    #[serde(default)]
    answers: Vec<Answer>,
    grouped: Option<BTreeMap<String, Vec<serde_json::Value>>>,
}

#[derive(Deserialize)]
struct Query {
    rrname: Option<String>,
}

#[derive(Deserialize)]
struct Answer {
    rrtype: Option<String>,
    rdata: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Tls {
    sni: Option<String>,
}

#[derive(Deserialize)]
struct Http {
    hostname: Option<String>,
}

#[derive(Deserialize)]
struct Dhcp {
    #[serde(default)]
    dns_servers: Vec<IpAddr>,
}

#[derive(Deserialize)]
struct Alert {
    signature: Option<String>,
}

/// Reads every file in order; a file that cannot be opened is an error, a
/// line that cannot be parsed a problem.
pub fn gather(files: &[PathBuf], device: &DeviceMatch) -> Result<EveGathered, Error> {
    if device.ips.is_empty() {
        return Err(Error::Usage("report --eve matches the device by address: give the profile a device.ip (EVE logs no MACs by default)".into()));
    }
    let mut g = EveGathered { observations: Observations::default(), files: files.to_vec(), problems: Vec::new(), alerts: BTreeMap::new(), events: 0 };
    let mut problems = 0usize;
    for file in files {
        let reader = open(file)?;
        let mut reader = BufReader::with_capacity(1 << 16, reader);
        let mut line = Vec::new();
        let mut number = 0usize;
        loop {
            line.clear();
            number += 1;
            let (n, too_long) = read_line(&mut reader, &mut line).map_err(|e| Error::io(file, e))?;
            if n == 0 {
                break;
            }
            let problem = if too_long {
                Some(format!("longer than {MAX_LINE} bytes, skipped"))
            } else if line.iter().all(u8::is_ascii_whitespace) {
                None
            } else {
                match serde_json::from_slice::<Event>(&line) {
                    Ok(event) => {
                        g.events += 1;
                        g.add(device, event);
                        None
                    }
                    Err(e) => Some(format!("not an EVE event: {e}")),
                }
            };
            if let Some(p) = problem {
                problems += 1;
                if g.problems.len() < MAX_PROBLEMS {
                    g.problems.push(format!("{}:{number}: {p}", file.display()));
                }
            }
        }
    }
    if problems > g.problems.len() {
        g.problems.push(format!("{} more lines could not be read", problems - g.problems.len()));
    }
    for flow in g.observations.flows.values_mut() {
        flow.bursts = merge_bursts(&[&flow.bursts]);
    }
    for d in g.observations.dns.values_mut() {
        d.asked.sort_by(f64::total_cmp);
    }
    Ok(g)
}

/// Plain or gzip (by its magic bytes, whatever the name).
fn open(path: &Path) -> Result<Box<dyn Read>, Error> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut magic = [0u8; 2];
    let n = file.read(&mut magic).map_err(|e| Error::io(path, e))?;
    let head = std::io::Cursor::new(magic[..n].to_vec());
    let whole = head.chain(file);
    if n == 2 && magic == [0x1f, 0x8b] {
        Ok(Box::new(flate2::read::MultiGzDecoder::new(whole)))
    } else {
        Ok(Box::new(whole))
    }
}

/// One line into `buf` (without keeping more than [`MAX_LINE`] bytes);
/// returns bytes consumed and whether the line was cut.
fn read_line(reader: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<(usize, bool)> {
    let mut consumed = 0;
    let mut too_long = false;
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok((consumed, too_long));
        }
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        if buf.len() + take <= MAX_LINE {
            buf.extend_from_slice(&chunk[..take]);
        } else {
            too_long = true;
            buf.clear();
        }
        reader.consume(take);
        consumed += take;
        if done {
            return Ok((consumed, too_long));
        }
    }
}

/// EVE's `2024-01-01T00:00:05.123456+0000` as seconds since the epoch.
pub fn parse_time(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d, h, mi, sec) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &s[19..];
    let mut frac = 0.0;
    if let Some(r) = rest.strip_prefix('.') {
        let digits = r.bytes().take_while(u8::is_ascii_digit).count();
        frac = format!("0.{}", &r[..digits]).parse().ok()?;
        rest = &r[digits..];
    }
    let offset = match rest.as_bytes().first() {
        None | Some(b'Z') => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let digits: String = rest[1..].chars().filter(char::is_ascii_digit).collect();
            let (oh, om) = (digits.get(0..2)?.parse::<i64>().ok()?, digits.get(2..4).unwrap_or("0").parse::<i64>().ok()?);
            (if sign == b'-' { -1 } else { 1 }) * (oh * 3600 + om * 60)
        }
        _ => return None,
    };
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + h * 3600 + mi * 60 + sec - offset) as f64 + frac)
}

/// Suricata's protocol names as Wireshark's layer names.
fn transport_name(proto: &str) -> String {
    match proto {
        "IPv6-ICMP" => "icmpv6".into(),
        p => p.to_ascii_lowercase(),
    }
}

fn is_broadcast(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(a) => a.is_broadcast() || a.is_multicast(),
        IpAddr::V6(a) => a.is_multicast(),
    }
}

/// Which side is the device: Some((device is src, remote address)).
fn sides(device: &DeviceMatch, src: Option<IpAddr>, dst: Option<IpAddr>) -> Option<(bool, IpAddr)> {
    let (src, dst) = (src?, dst?);
    if device.ips.contains(&src) {
        Some((true, dst))
    } else if device.ips.contains(&dst) {
        Some((false, src))
    } else {
        None
    }
}

impl EveGathered {
    fn add(&mut self, device: &DeviceMatch, e: Event) {
        let ts = e.timestamp.as_deref().and_then(parse_time);
        if let Some(t) = ts {
            self.seen(t);
        }
        match e.event_type.as_str() {
            "flow" => self.flow(device, &e),
            "dns" => self.dns(device, &e, ts),
            "tls" => {
                let name = e.tls.as_ref().and_then(|t| t.sni.clone());
                self.name(device, &e, name, ts);
            }
            "http" => {
                let name = e.http.as_ref().and_then(|h| h.hostname.clone());
                self.name(device, &e, name, ts);
            }
            "dhcp" => {
                if sides(device, e.src_ip, e.dest_ip).is_some_and(|(from_device, _)| !from_device) {
                    let servers = e.dhcp.map(|d| d.dns_servers).unwrap_or_default();
                    self.observations.dhcp_resolvers.extend(servers);
                }
            }
            "alert" => {
                if let Some(sig) = e.alert.and_then(|a| a.signature) {
                    if sig.starts_with("phonehome") {
                        *self.alerts.entry(sig).or_default() += 1;
                    }
                }
            }
            _ => {}
        }
    }

    fn seen(&mut self, t: f64) {
        let o = &mut self.observations;
        o.first = Some(o.first.map_or(t, |f| f.min(t)));
        o.last = Some(o.last.map_or(t, |l| l.max(t)));
        o.covered_hours.insert((t / 3600.0).floor() as i64);
    }

    /// The endpoint key of a flow-carrying event, and whether the device is Suricata's client.
    fn key(device: &DeviceMatch, e: &Event, syn: bool) -> Option<(EndpointKey, bool)> {
        let (device_is_src, remote) = sides(device, e.src_ip, e.dest_ip)?;
        let transport = transport_name(e.proto.as_deref()?);
        let (dport, rport) = if device_is_src { (e.src_port, e.dest_port) } else { (e.dest_port, e.src_port) };
        let (port, device_serves) = match (transport.as_str(), dport, rport) {
            ("tcp", Some(d), Some(r)) => {
                // Suricata's client is the side that sent the SYN; without one, guess as report does.
                let serves = if syn { !device_is_src } else { !remote_serves(d, r) };
                (Some(if serves { d } else { r }), serves)
            }
            ("udp", Some(d), Some(r)) => {
                let serves = !remote_serves(d, r);
                (Some(if serves { d } else { r }), serves)
            }
            _ => (None, false),
        };
        Some((EndpointKey { remote: Remote::Ip(remote), transport: transport.into(), port, device_serves }, device_is_src))
    }

    fn flow(&mut self, device: &DeviceMatch, e: &Event) {
        let Some(info) = &e.flow else { return };
        let start = info.start.as_deref().and_then(parse_time);
        let end = info.end.as_deref().and_then(parse_time).or(start);
        let (Some(start), Some(end)) = (start, end) else { return };
        self.seen(start);
        self.seen(end);
        let total = info.pkts_toserver + info.pkts_toclient;
        self.observations.packets += total;
        let syn = e.tcp.as_ref().is_some_and(|t| t.syn);
        let Some((key, device_is_src)) = Self::key(device, e, syn) else { return };
        let o = &mut self.observations;
        o.device_packets += total;
        let (out_p, in_p, out_b, in_b) = if device_is_src {
            (info.pkts_toserver, info.pkts_toclient, info.bytes_toserver, info.bytes_toclient)
        } else {
            (info.pkts_toclient, info.pkts_toserver, info.bytes_toclient, info.bytes_toserver)
        };
        if device_is_src && info.pkts_toserver > 0 {
            if let Some(a) = e.src_ip {
                o.device_ips.insert(a);
            }
        }
        let Remote::Ip(remote) = key.remote else { return };
        let broadcast = is_broadcast(if device_is_src { remote } else { e.dest_ip.unwrap_or(remote) });
        if !broadcast {
            spread_hourly(&mut o.hourly, start, end, total);
        }
        let mut layers = vec![if remote.is_ipv4() { "ip".to_string() } else { "ipv6".to_string() }, key.transport.to_string()];
        let app = e.app_proto.as_deref().filter(|a| !matches!(*a, "failed" | "unknown"));
        if let Some(a) = app {
            layers.push(a.to_string());
        }
        // Layers Wireshark names by port (ssdp, mdns, tuya, …), from the generator's table.
        if let Some(p) = key.port {
            layers.extend(port_layers(&key.transport, p));
        }
        let flow = o.flows.entry(key).or_default();
        if flow.packets == [0, 0] {
            flow.first = start;
            flow.last = end;
        }
        flow.first = flow.first.min(start);
        flow.last = flow.last.max(end);
        flow.bursts.push(start);
        flow.packets[0] += out_p;
        flow.packets[1] += in_p;
        flow.bytes[0] += out_b;
        flow.bytes[1] += in_b;
        if let Some(a) = app {
            *flow.protocols.entry(a.to_string()).or_default() += total;
        }
        flow.layers.extend(layers);
        flow.broadcast |= broadcast;
    }

    /// A TLS SNI or HTTP Host on its flow's endpoint.
    fn name(&mut self, device: &DeviceMatch, e: &Event, name: Option<String>, ts: Option<f64>) {
        let Some(name) = name.filter(|n| !n.is_empty()) else { return };
        let Some((key, _)) = Self::key(device, e, true) else { return };
        let flow = self.observations.flows.entry(key).or_default();
        if flow.packets == [0, 0] {
            // Until its flow event comes (a flow is logged when it ends).
            flow.first = ts.unwrap_or(0.0);
            flow.last = flow.first;
        }
        flow.names.insert(normalize_name(&name));
    }

    fn dns(&mut self, device: &DeviceMatch, e: &Event, ts: Option<f64>) {
        let (Some(dns), Some(ts)) = (&e.dns, ts) else { return };
        let Some((device_is_src, other)) = sides(device, e.src_ip, e.dest_ip) else { return };
        let qname = dns.rrname.clone().or_else(|| dns.queries.first().and_then(|q| q.rrname.clone()));
        let Some(qname) = qname.map(|n| normalize_name(&n)) else { return };
        let o = &mut self.observations;
        match dns.kind.as_deref() {
            Some("query" | "request") => {
                // The question goes from the device to its resolver.
                if device_is_src {
                    let entry = o.dns.entry(qname).or_default();
                    entry.asked.push(ts);
                    *entry.resolvers.entry(other).or_default() += 1;
                }
            }
            Some("answer" | "response") => {
                let mut addrs: Vec<IpAddr> = Vec::new();
                let mut cnames: Vec<String> = Vec::new();
                for a in &dns.answers {
                    let data = a.rdata.as_ref().and_then(|d| d.as_str());
                    match (a.rrtype.as_deref(), data) {
                        (Some("A" | "AAAA"), Some(d)) => addrs.extend(d.parse::<IpAddr>().ok()),
                        (Some("CNAME"), Some(d)) => cnames.push(normalize_name(d)),
                        _ => {}
                    }
                }
                if dns.answers.is_empty() {
                    if let Some(g) = &dns.grouped {
                        let strings = |k: &str| g.get(k).into_iter().flatten().filter_map(|v| v.as_str().map(str::to_string)).collect::<Vec<_>>();
                        addrs.extend(strings("A").iter().chain(&strings("AAAA")).filter_map(|a| a.parse::<IpAddr>().ok()));
                        cnames.extend(strings("CNAME").iter().map(|c| normalize_name(c)));
                    }
                }
                for a in &addrs {
                    o.answered.entry(*a).or_default().insert(qname.clone());
                }
                let entry = o.dns.entry(qname).or_default();
                entry.addresses.extend(addrs);
                entry.cnames.extend(cnames);
            }
            _ => {}
        }
    }
}

/// The Wireshark layer name a port brings, from [`wellknown`].
fn port_layers(transport: &str, port: u16) -> Vec<String> {
    wellknown::at_named(transport, port).map(|p| p.protocol.to_string()).into_iter().collect()
}

/// A flow's packets spread over the hours it spans, in proportion to time.
fn spread_hourly(hourly: &mut BTreeMap<i64, u64>, start: f64, end: f64, packets: u64) {
    let (h0, h1) = ((start / 3600.0).floor() as i64, (end / 3600.0).floor() as i64);
    if h0 == h1 || end <= start {
        *hourly.entry(h0).or_default() += packets;
        return;
    }
    let span = end - start;
    let mut given = 0u64;
    for h in h0..=h1 {
        let from = start.max(h as f64 * 3600.0);
        let to = end.min((h + 1) as f64 * 3600.0);
        let share = if h == h1 { packets - given } else { ((to - from) / span * packets as f64).round() as u64 };
        let share = share.min(packets - given);
        given += share;
        if share > 0 {
            *hourly.entry(h).or_default() += share;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn device() -> DeviceMatch {
        DeviceMatch { macs: vec![], ips: vec!["10.10.10.8".parse().unwrap()] }
    }

    const LINES: &str = r#"{"timestamp":"2024-01-01T00:00:05.000000+0000","event_type":"dns","src_ip":"10.10.10.8","src_port":40000,"dest_ip":"114.114.114.114","dest_port":53,"proto":"UDP","dns":{"type":"query","id":1,"rrname":"ot.io.mi.com","rrtype":"A","tx_id":0}}
{"timestamp":"2024-01-01T00:00:05.100000+0000","event_type":"dns","src_ip":"114.114.114.114","src_port":53,"dest_ip":"10.10.10.8","dest_port":40000,"proto":"UDP","dns":{"version":2,"type":"answer","id":1,"rrname":"ot.io.mi.com","rrtype":"A","answers":[{"rrname":"ot.io.mi.com","rrtype":"CNAME","rdata":"ot.lb.mi.com"},{"rrname":"ot.lb.mi.com","rrtype":"A","rdata":"110.43.0.83"}]}}
{"timestamp":"2024-01-01T00:10:05.000000+0000","event_type":"dns","src_ip":"10.10.10.8","src_port":40001,"dest_ip":"114.114.114.114","dest_port":53,"proto":"UDP","dns":{"version":3,"type":"request","id":2,"queries":[{"rrname":"ot.io.mi.com","rrtype":"A"}]}}
{"timestamp":"2024-01-01T00:10:06.000000+0000","event_type":"tls","src_ip":"10.10.10.8","src_port":50000,"dest_ip":"3.67.242.33","dest_port":8883,"proto":"TCP","tls":{"sni":"M2.tuyaeu.com"}}
{"timestamp":"2024-01-01T01:10:00.000000+0000","event_type":"flow","src_ip":"10.10.10.8","src_port":50000,"dest_ip":"3.67.242.33","dest_port":8883,"proto":"TCP","app_proto":"tls","flow":{"pkts_toserver":10,"pkts_toclient":8,"bytes_toserver":1000,"bytes_toclient":800,"start":"2024-01-01T00:10:05.000000+0000","end":"2024-01-01T01:10:00.000000+0000"},"tcp":{"syn":true}}
{"timestamp":"2024-01-01T01:10:00.000000+0000","event_type":"alert","src_ip":"10.10.10.8","dest_ip":"114.114.114.114","alert":{"signature":"phonehome robo: hard-coded resolver"}}
"#;

    #[test]
    fn reads_both_dns_layouts_names_and_flows() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("eve.json");
        std::fs::write(&plain, LINES).unwrap();
        let g = gather(&[plain], &device()).unwrap();
        assert!(g.problems.is_empty(), "{:?}", g.problems);
        let o = &g.observations;
        let q = &o.dns["ot.io.mi.com"];
        assert_eq!(q.asked.len(), 2);
        assert_eq!(q.resolvers.keys().map(|a| a.to_string()).collect::<Vec<_>>(), ["114.114.114.114"]);
        assert!(q.cnames.contains("ot.lb.mi.com"));
        assert!(o.answered.contains_key(&"110.43.0.83".parse().unwrap()));
        let (key, flow) = o.flows.iter().next().unwrap();
        assert_eq!((key.port, key.device_serves, &*key.transport), (Some(8883), false, "tcp"));
        assert_eq!((flow.packets, flow.bytes), ([10, 8], [1000, 800]));
        assert!(flow.names.contains("m2.tuyaeu.com") && flow.layers.contains("tls"));
        assert_eq!(o.hourly.values().sum::<u64>(), 18);
        assert_eq!(o.hourly.len(), 2, "an hour-spanning flow counts in both hours");
        assert_eq!(g.alerts["phonehome robo: hard-coded resolver"], 1);
    }

    #[test]
    fn gzip_many_files_and_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let gz = dir.path().join("eve.1");
        let mut enc = flate2::write::GzEncoder::new(std::fs::File::create(&gz).unwrap(), flate2::Compression::fast());
        enc.write_all(LINES.as_bytes()).unwrap();
        enc.finish().unwrap();
        let bad = dir.path().join("eve.2");
        std::fs::write(&bad, "{\"event_type\":\"flow\"}\nnot json\n\n{\"timestamp\":\"x\",\"event_type\":\"stats\"}\n").unwrap();
        let g = gather(&[gz, bad.clone()], &device()).unwrap();
        assert_eq!(g.observations.dns["ot.io.mi.com"].asked.len(), 2);
        assert_eq!(g.problems.len(), 1, "{:?}", g.problems);
        assert!(g.problems[0].starts_with(&format!("{}:2: not an EVE event", bad.display())), "{:?}", g.problems);
        assert!(matches!(gather(&[dir.path().join("missing")], &device()), Err(Error::Io { .. })));
        let no_ip = DeviceMatch { macs: vec!["64:90:c1".parse().unwrap()], ips: vec![] };
        assert!(gather(&[bad], &no_ip).is_err());
    }

    #[test]
    fn long_lines_are_skipped_without_being_held() {
        let mut text = vec![b'x'; MAX_LINE * 3];
        text.push(b'\n');
        text.extend_from_slice(LINES.as_bytes());
        let mut reader = BufReader::with_capacity(4096, &text[..]);
        let mut buf = Vec::new();
        let (n, cut) = read_line(&mut reader, &mut buf).unwrap();
        assert!(cut && n == MAX_LINE * 3 + 1 && buf.capacity() <= MAX_LINE + 4096 * 2);
        buf.clear();
        let (_, cut) = read_line(&mut reader, &mut buf).unwrap();
        assert!(!cut && buf.starts_with(b"{\"timestamp\""));
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("2024-01-01T00:00:00.000000+0000"), Some(1_704_067_200.0));
        assert_eq!(parse_time("2024-01-01T11:00:00.5+1100"), Some(1_704_067_200.5));
        assert_eq!(parse_time("2024-03-01T00:00:00Z"), Some(1_709_251_200.0));
        assert_eq!(parse_time("2024-13-01T00:00:00Z"), None);
        assert_eq!(parse_time("yesterday"), None);
    }
}
