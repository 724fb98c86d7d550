//! The report model: observations of a device turned into the rows a person
//! reads (endpoints named and matched against the profile's rules, DNS,
//! resolvers, NTP, broadcast chatter, the hour-of-day histogram, IoT ids).
//! Renderers (`report_text`, `report_html`) only format this.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde::Serialize;

use crate::clock::UtcOffset;
use crate::report::observe::{merge_bursts, Flow, Observations, Remote};
use crate::report::period::{self, Period};
use crate::profile::rules::{Profile, Rule};
use crate::report::services;
use crate::report::country;
use crate::wellknown;

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub profile: String,
    pub description: Option<String>,
    pub captures: Vec<String>,
    pub packets: u64,
    pub device_packets: u64,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    pub timezone: String,
    /// The phonehome plugin was loaded (Tuya/miIO/Kalay/PPPP decoded).
    pub plugin: bool,
    /// Problems and limits worth knowing when reading the report.
    pub notes: Vec<String>,
    pub endpoints: Vec<Endpoint>,
    pub dns: Vec<DnsRow>,
    pub resolvers: Vec<Resolver>,
    pub hours: Hours,
    pub iot: Vec<IotRow>,
    pub iot_remotes: Vec<IotRemote>,
    /// Traffic per country (or scope, e.g. `private`), most bytes first.
    pub countries: Vec<CountryRow>,
    /// Where the countries came from, for the footer.
    pub country_source: String,
    /// Start and end of the captured time (seconds since the epoch).
    pub span: (f64, f64),
}

/// Traffic with one remote service: grouped by the name the addresses had
/// in the capture (or by address), transport, port and direction.
#[derive(Clone, Debug, Serialize)]
pub struct Endpoint {
    pub name: Option<String>,
    /// Where the name came from: `sni/http` (the traffic carried it) or `dns`.
    pub name_source: Option<String>,
    pub addresses: Vec<String>,
    pub transport: String,
    pub port: Option<u16>,
    pub service: Option<String>,
    pub protocol: Option<String>,
    /// `outbound` (the device is the client) or `inbound`.
    pub direction: String,
    pub packets_out: u64,
    pub bytes_out: u64,
    pub packets_in: u64,
    pub bytes_in: u64,
    pub first_seen: String,
    pub last_seen: String,
    pub bursts: usize,
    pub period: Option<Period>,
    /// `every 5 s`, `irregular`, or `once`/`N times`.
    pub repeats: String,
    /// `expected`, `ignored` or `unexpected`.
    pub status: String,
    /// The rule's label, or `UNEXPECTED`.
    pub rule: String,
    pub broadcast: bool,
    pub ntp: bool,
    /// The registration country (ISO code) of its public addresses.
    pub country: Option<String>,
    /// For addresses in no country: `private`, `multicast`, `link-local`, ...
    pub scope: Option<String>,
    /// The network owner (ASN / organisation) where a `--geoip` database has it.
    pub owner: Option<String>,
    /// Burst start times, for the timeline.
    #[serde(skip)]
    pub times: Vec<f64>,
}

impl Endpoint {
    /// The name, or the addresses.
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) => n.clone(),
            None => self.addresses.join(", "),
        }
    }

    pub fn port_text(&self) -> String {
        match self.port {
            Some(p) => format!("{}/{}", self.transport, p),
            None => self.transport.clone(),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct DnsRow {
    pub name: String,
    pub questions: usize,
    pub resolvers: Vec<String>,
    pub addresses: Vec<String>,
    pub cnames: Vec<String>,
    pub period: Option<Period>,
    pub repeats: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Resolver {
    pub address: String,
    pub questions: u64,
    /// Offered by DHCP, or (with no DHCP seen) a private address.
    pub local: bool,
    pub country: Option<String>,
    pub scope: Option<String>,
    pub owner: Option<String>,
}

/// The device's traffic with one country (or one scope such as `private`).
#[derive(Clone, Debug, Serialize)]
pub struct CountryRow {
    /// The ISO code, or the scope label, or `unknown` (a public address no source places).
    pub country: String,
    /// Internet traffic (a country or `unknown`), not a local scope.
    pub public: bool,
    pub packets_out: u64,
    pub bytes_out: u64,
    pub packets_in: u64,
    pub bytes_in: u64,
    /// The endpoints (names or addresses) behind it.
    pub endpoints: Vec<String>,
}

impl CountryRow {
    pub fn bytes(&self) -> u64 {
        self.bytes_out + self.bytes_in
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Hours {
    /// Mean unicast packets of the device per captured hour, by local hour of day.
    pub mean_packets: [f64; 24],
    /// How many captured hours fell on each hour of day.
    pub captured: [u32; 24],
    pub peak: Option<Peak>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Peak {
    pub hour: usize,
    /// Peak hour's mean over the median hour's.
    pub ratio: f64,
}

/// A peak this many times the median hour is reported.
pub const PEAK_RATIO: f64 = 2.0;

#[derive(Clone, Debug, Serialize)]
pub struct IotRow {
    pub field: String,
    pub value: String,
    pub packets: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct IotRemote {
    pub protocol: String,
    pub remote: String,
    pub packets: u64,
}

/// Something outside the report proper that can look an address up.
pub trait Geo {
    fn country(&self, addr: IpAddr) -> Option<String>;
    /// The network owner (`AS15169 Google LLC`), where known.
    fn owner(&self, _addr: IpAddr) -> Option<String> {
        None
    }
}

/// Sources asked in order: the first that knows an address answers.
pub struct Layered<'a>(pub Vec<&'a dyn Geo>);

impl Geo for Layered<'_> {
    fn country(&self, addr: IpAddr) -> Option<String> {
        self.0.iter().find_map(|g| g.country(addr))
    }
    fn owner(&self, addr: IpAddr) -> Option<String> {
        self.0.iter().find_map(|g| g.owner(addr))
    }
}

/// What the report says about one address's place.
struct Place {
    country: Option<String>,
    scope: Option<&'static str>,
    owner: Option<String>,
}

fn place(geo: &dyn Geo, addr: IpAddr) -> Place {
    let scope = country::scope(addr);
    let public = scope.is_none();
    Place {
        country: if public { geo.country(addr) } else { None },
        scope,
        owner: if public { geo.owner(addr) } else { None },
    }
}

pub struct Inputs<'a> {
    pub profile: &'a Profile,
    pub observations: &'a Observations,
    pub captures: Vec<String>,
    pub plugin: bool,
    pub notes: Vec<String>,
    pub offset: UtcOffset,
    pub geo: &'a dyn Geo,
    /// Where `geo`'s countries come from, for the footer.
    pub country_source: String,
}

/// Builds the report.
pub fn build(inputs: Inputs) -> Report {
    let Inputs { profile, observations: o, captures, plugin, mut notes, offset, geo, country_source } = inputs;
    let endpoints = endpoints(profile, o, offset, geo);
    if profile.ignore.iter().chain(&profile.expected).any(|r| r.filter.is_some()) {
        notes.push("rules with a raw `filter` are not evaluated by report: endpoints they alone explain show as UNEXPECTED".into());
    }
    let (dns, resolvers) = dns(o, geo);
    let countries = countries(o, geo);
    Report {
        profile: profile.name.to_string(),
        description: profile.description.as_ref().map(|d| d.0.clone()),
        captures,
        packets: o.packets,
        device_packets: o.device_packets,
        first_seen: o.first.map(|t| offset.format(t)),
        last_seen: o.last.map(|t| offset.format(t)),
        timezone: offset.to_string(),
        plugin,
        notes,
        endpoints,
        dns,
        resolvers,
        hours: hours(o, offset),
        iot: o.iot.iter().map(|((f, v), n)| IotRow { field: f.clone(), value: v.clone(), packets: *n }).collect(),
        iot_remotes: o.iot_remotes.iter().map(|((p, r), n)| IotRemote { protocol: p.clone(), remote: r.clone(), packets: *n }).collect(),
        countries,
        country_source,
        span: (o.first.unwrap_or(0.0), o.last.unwrap_or(0.0)),
    }
}

/// The names each address had: those its traffic carried (SNI, HTTP Host)
/// first, else the DNS questions whose answers returned it.
fn names(o: &Observations) -> BTreeMap<Remote, (Vec<String>, &'static str)> {
    let mut carried: BTreeMap<Remote, BTreeSet<String>> = BTreeMap::new();
    for (key, flow) in &o.flows {
        if !flow.names.is_empty() {
            carried.entry(key.remote.clone()).or_default().extend(flow.names.iter().cloned());
        }
    }
    let mut out = BTreeMap::new();
    for key in o.flows.keys() {
        let remote = &key.remote;
        if out.contains_key(remote) {
            continue;
        }
        if let Some(n) = carried.get(remote) {
            out.insert(remote.clone(), (n.iter().cloned().collect(), "sni/http"));
        } else if let Remote::Ip(a) = remote {
            if let Some(n) = o.answered.get(a) {
                out.insert(remote.clone(), (n.iter().cloned().collect(), "dns"));
            }
        }
    }
    out
}

/// Grouping key of a row.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct RowKey {
    label: String,
    transport: String,
    port: Option<u16>,
    device_serves: bool,
}

/// A row's remotes, flows, names and where the names came from.
type Group<'a> = (Vec<&'a Remote>, Vec<&'a Flow>, Vec<String>, Option<&'static str>);

fn endpoints(profile: &Profile, o: &Observations, offset: UtcOffset, geo: &dyn Geo) -> Vec<Endpoint> {
    let names = names(o);
    let mut groups: BTreeMap<RowKey, Group> = BTreeMap::new();
    for (key, flow) in &o.flows {
        let named = names.get(&key.remote);
        let label = named.map_or_else(|| key.remote.to_string(), |(n, _)| n[0].clone());
        let row = RowKey { label, transport: key.transport.to_string(), port: key.port, device_serves: key.device_serves };
        let entry = groups.entry(row).or_default();
        entry.0.push(&key.remote);
        entry.1.push(flow);
        if let Some((n, source)) = named {
            entry.2.extend(n.iter().cloned());
            // Names the traffic carried win over DNS, whatever the order.
            if entry.3 != Some("sni/http") {
                entry.3 = Some(source);
            }
        }
    }
    let mut rows: Vec<Endpoint> = groups
        .into_iter()
        .map(|(key, (remotes, flows, mut all_names, source))| {
            all_names.sort();
            all_names.dedup();
            let mut addresses: Vec<&Remote> = remotes;
            addresses.sort();
            addresses.dedup();
            let sum = |f: &dyn Fn(&Flow) -> u64| flows.iter().map(|fl| f(fl)).sum::<u64>();
            let first = flows.iter().map(|f| f.first).fold(f64::INFINITY, f64::min);
            let last = flows.iter().map(|f| f.last).fold(f64::NEG_INFINITY, f64::max);
            let bursts: Vec<&[f64]> = flows.iter().map(|f| f.bursts.as_slice()).collect();
            let times = merge_bursts(&bursts);
            let period = period::estimate(&times);
            let mut protocols: BTreeMap<&str, u64> = BTreeMap::new();
            for f in &flows {
                for (p, n) in &f.protocols {
                    *protocols.entry(p).or_default() += n;
                }
            }
            let protocol = protocols.iter().max_by_key(|(_, n)| **n).map(|(p, _)| p.to_string());
            let ips: Vec<IpAddr> = addresses.iter().filter_map(|r| if let Remote::Ip(a) = r { Some(*a) } else { None }).collect();
            let places: Vec<Place> = ips.iter().map(|a| place(geo, *a)).collect();
            let countries: BTreeSet<String> = places.iter().filter_map(|p| p.country.clone()).collect();
            let facts = Facts {
                addresses: &ips,
                countries: &countries,
                names: &all_names,
                macs: flows.iter().flat_map(|f| f.remote_macs.iter()).collect(),
                transport: &key.transport,
                port: key.port,
                layers: flows.iter().flat_map(|f| f.layers.iter()).map(String::as_str).collect(),
            };
            let (status, rule) = verdict(profile, &facts);
            let on_ntp_port = key.port.and_then(|p| wellknown::at_named(&key.transport, p)).is_some_and(|p| p.protocol == "ntp");
            let ntp = on_ntp_port || facts.layers.contains("ntp");
            Endpoint {
                name: source.map(|_| key.label.clone()),
                name_source: source.map(str::to_string),
                addresses: addresses.iter().map(|r| r.to_string()).collect(),
                service: key.port.and_then(|p| services::name(&key.transport, p)).map(str::to_string),
                transport: key.transport,
                port: key.port,
                protocol,
                direction: if key.device_serves { "inbound" } else { "outbound" }.into(),
                packets_out: sum(&|f| f.packets[0]),
                bytes_out: sum(&|f| f.bytes[0]),
                packets_in: sum(&|f| f.packets[1]),
                bytes_in: sum(&|f| f.bytes[1]),
                first_seen: offset.format(first),
                last_seen: offset.format(last),
                bursts: times.len(),
                repeats: repeats(period.as_ref(), times.len()),
                period,
                status: status.into(),
                rule,
                broadcast: flows.iter().any(|f| f.broadcast),
                ntp,
                country: (!countries.is_empty()).then(|| countries.iter().cloned().collect::<Vec<_>>().join(", ")),
                scope: places.iter().find_map(|p| p.scope).map(str::to_string),
                owner: joined(places.iter().filter_map(|p| p.owner.clone())),
                times,
            }
        })
        .collect();
    rows.sort_by(|a, b| (b.packets_out + b.packets_in).cmp(&(a.packets_out + a.packets_in)).then_with(|| a.label().cmp(&b.label())));
    rows
}

fn repeats(period: Option<&Period>, events: usize) -> String {
    match (period, events) {
        (Some(p), _) => p.summary(),
        (None, 1) => "once".into(),
        (None, n) => format!("{n} times"),
    }
}

/// Distinct values joined with `, `; `None` when there are none.
fn joined(values: impl Iterator<Item = String>) -> Option<String> {
    let set: BTreeSet<String> = values.collect();
    (!set.is_empty()).then(|| set.into_iter().collect::<Vec<_>>().join(", "))
}

/// Packets and bytes per country of the remote address (per scope for
/// addresses in none), with the endpoints behind each: countries first,
/// most bytes first, then the local scopes (private, multicast, ...).
fn countries(o: &Observations, geo: &dyn Geo) -> Vec<CountryRow> {
    let names = names(o);
    let mut rows: BTreeMap<String, (CountryRow, BTreeSet<String>)> = BTreeMap::new();
    for (key, flow) in &o.flows {
        let Remote::Ip(addr) = &key.remote else { continue };
        let p = place(geo, *addr);
        let public = p.scope.is_none();
        let label = p.country.or(p.scope.map(str::to_string)).unwrap_or_else(|| "unknown".into());
        let entry = rows.entry(label.clone()).or_insert_with(|| {
            let row = CountryRow { country: label, public, packets_out: 0, bytes_out: 0, packets_in: 0, bytes_in: 0, endpoints: Vec::new() };
            (row, BTreeSet::new())
        });
        entry.0.packets_out += flow.packets[0];
        entry.0.bytes_out += flow.bytes[0];
        entry.0.packets_in += flow.packets[1];
        entry.0.bytes_in += flow.bytes[1];
        entry.1.insert(names.get(&key.remote).map_or_else(|| addr.to_string(), |(n, _)| n[0].clone()));
    }
    let mut out: Vec<CountryRow> = rows.into_values().map(|(mut row, endpoints)| {
        row.endpoints = endpoints.into_iter().collect();
        row
    }).collect();
    out.sort_by(|a, b| b.public.cmp(&a.public).then_with(|| b.bytes().cmp(&a.bytes())).then_with(|| a.country.cmp(&b.country)));
    out
}

/// What the rules can test of an endpoint.
struct Facts<'a> {
    addresses: &'a [IpAddr],
    /// Registration countries of the public addresses.
    countries: &'a BTreeSet<String>,
    names: &'a [String],
    macs: BTreeSet<&'a String>,
    transport: &'a str,
    port: Option<u16>,
    layers: BTreeSet<&'a str>,
}

/// Ignore rules first (as mode `clean`), then expected ones.
fn verdict(profile: &Profile, facts: &Facts) -> (&'static str, String) {
    if let Some(r) = profile.ignore.iter().find(|r| rule_matches(r, facts)) {
        return ("ignored", rule_label(r));
    }
    if let Some(r) = profile.expected.iter().find(|r| rule_matches(r, facts)) {
        return ("expected", rule_label(r));
    }
    ("unexpected", "UNEXPECTED".into())
}

fn rule_label(r: &Rule) -> String {
    r.name.as_ref().map_or_else(|| r.origin.clone(), |n| n.to_string())
}

/// A rule's keys ANDed, each key's items ORed, over the endpoint's facts;
/// host names match the names the addresses had in the capture (as
/// `--resolve-from` does). A raw `filter` cannot be tested: no match.
fn rule_matches(rule: &Rule, f: &Facts) -> bool {
    if rule.filter.is_some() {
        return false;
    }
    let mac_ok = rule.mac.is_empty()
        || f.macs.iter().any(|m| {
            let bytes: Vec<u8> = m.split(':').filter_map(|b| u8::from_str_radix(b, 16).ok()).collect();
            rule.mac.iter().any(|p| bytes.starts_with(&p.0))
        });
    let host_ok = rule.host.is_empty()
        || rule.nets().any(|n| f.addresses.iter().any(|a| n.contains(a)))
        || rule.names().any(|h| f.names.iter().any(|n| h.matches(n)));
    let port_ok = !rule.has_ports()
        || f.port.is_some_and(|p| {
            let list = match f.transport {
                "tcp" => &rule.tcp,
                "udp" => &rule.udp,
                _ => return false,
            };
            list.iter().any(|r| r.contains(p))
        });
    let proto_ok = rule.protocols.is_empty() || rule.protocols.iter().any(|p| f.layers.contains(p.0.as_str()));
    let country_ok = rule.country.is_empty() || rule.country.iter().any(|c| f.countries.contains(c.as_str()));
    mac_ok && host_ok && port_ok && proto_ok && country_ok
}

fn dns(o: &Observations, geo: &dyn Geo) -> (Vec<DnsRow>, Vec<Resolver>) {
    let mut per_resolver: BTreeMap<IpAddr, u64> = BTreeMap::new();
    let rows = o
        .dns
        .iter()
        .filter(|(_, d)| !d.asked.is_empty())
        .map(|(name, d)| {
            for (r, n) in &d.resolvers {
                *per_resolver.entry(*r).or_default() += n;
            }
            // A and AAAA questions sent together are one event.
            let events = merge_bursts(&[&d.asked]);
            let period = period::estimate(&events);
            DnsRow {
                name: name.clone(),
                questions: d.asked.len(),
                resolvers: d.resolvers.keys().map(|r| r.to_string()).collect(),
                addresses: d.addresses.iter().map(|a| a.to_string()).collect(),
                cnames: d.cnames.iter().cloned().collect(),
                repeats: repeats(period.as_ref(), events.len()),
                period,
            }
        })
        .collect();
    let resolvers = per_resolver
        .into_iter()
        .map(|(r, n)| {
            let p = place(geo, r);
            Resolver {
                address: r.to_string(),
                questions: n,
                local: o.dhcp_resolvers.contains(&r) || (o.dhcp_resolvers.is_empty() && is_private(r)),
                country: p.country,
                scope: p.scope.map(str::to_string),
                owner: p.owner,
            }
        })
        .collect();
    (rows, resolvers)
}

fn is_private(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(a) => a.is_private() || a.is_link_local() || a.is_loopback(),
        IpAddr::V6(a) => (a.segments()[0] & 0xfe00) == 0xfc00 || (a.segments()[0] & 0xffc0) == 0xfe80 || a.is_loopback(),
    }
}

fn hours(o: &Observations, offset: UtcOffset) -> Hours {
    let mut total = [0u64; 24];
    let mut captured = [0u32; 24];
    for h in &o.covered_hours {
        captured[offset.hour_of_day(*h as f64 * 3600.0)] += 1;
    }
    for (h, n) in &o.hourly {
        total[offset.hour_of_day(*h as f64 * 3600.0)] += n;
    }
    let mut mean = [0f64; 24];
    for i in 0..24 {
        if captured[i] > 0 {
            mean[i] = total[i] as f64 / f64::from(captured[i]);
        }
    }
    let mut seen: Vec<f64> = (0..24).filter(|&i| captured[i] > 0).map(|i| mean[i]).collect();
    seen.sort_by(f64::total_cmp);
    let peak = (0..24).filter(|&i| captured[i] > 0).max_by(|&a, &b| mean[a].total_cmp(&mean[b])).and_then(|hour| {
        let median = *seen.get(seen.len() / 2)?;
        let ratio = if median > 0.0 { mean[hour] / median } else { f64::INFINITY };
        (seen.len() >= 3 && ratio >= PEAK_RATIO).then_some(Peak { hour, ratio })
    });
    Hours { mean_packets: mean, captured, peak }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn rules_match_endpoint_facts() {
        let p = crate::profile::load::parse(
            "name: t\ndevice: {mac: [64:90:c1]}\nignore:\n  - mac: [18:c0:4d:3b:66:d2]\nexpected:\n  - name: mqtt\n    host: [\"*.tuyaeu.com\"]\n    tcp: [8883]\n  - name: raw\n    filter: ip.ttl == 42\n",
            Path::new("t.yaml"),
            None,
        )
        .unwrap();
        let names = vec!["m2.tuyaeu.com".to_string()];
        let addrs = ["3.67.242.33".parse().unwrap()];
        let countries = BTreeSet::from(["DE".to_string()]);
        let mut f = Facts { addresses: &addrs, countries: &countries, names: &names, macs: BTreeSet::new(), transport: "tcp", port: Some(8883), layers: BTreeSet::new() };
        assert_eq!(verdict(&p, &f), ("expected", "mqtt".into()));
        f.port = Some(443);
        assert_eq!(verdict(&p, &f).0, "unexpected");
        f.transport = "udp";
        f.port = Some(8883);
        assert_eq!(verdict(&p, &f).0, "unexpected");
        let laptop = "18:c0:4d:3b:66:d2".to_string();
        f.macs.insert(&laptop);
        assert_eq!(verdict(&p, &f).0, "ignored");
    }
}
