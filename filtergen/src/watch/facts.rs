//! The facts `watch` speaks up about, read off the running report (so an
//! endpoint is UNEXPECTED by the same rules as in `filtergen report`), and
//! how to recognise a packet that shows each one (to name its frame).
//! A fact is new when none of its keys was alerted before.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;

use serde::Serialize;

use crate::plugin;
use crate::report::country;
use crate::report::model::{Endpoint, Geo, Report};
use crate::report::observe::PacketView;
use crate::tshark::fields::AGGREGATOR;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// An endpoint no ignore or expected rule explains.
    UnexpectedEndpoint,
    /// A DNS question to a resolver the network did not offer.
    NonLocalResolver,
    /// A miIO token given away in a hello reply.
    LeakedToken,
    /// A Kalay/PPPP UID sent to a peer it was not sent to before.
    UidExposed,
    /// An endpoint (not expected or ignored) contacted at a regular period.
    Periodic,
    /// Traffic to a country the device had not sent to.
    NewCountry,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::UnexpectedEndpoint => "unexpected-endpoint",
            Kind::NonLocalResolver => "non-local-resolver",
            Kind::LeakedToken => "leaked-token",
            Kind::UidExposed => "uid-exposed",
            Kind::Periodic => "periodic",
            Kind::NewCountry => "new-country",
        }
    }
}

/// A packet that shows a fact.
#[derive(Clone, Debug)]
pub enum Evidence {
    /// Traffic between the device and one of these remotes (addresses or
    /// MACs as the report writes them), on this transport and service port.
    Endpoint { remotes: Vec<String>, transport: String, port: Option<u16> },
    /// A DNS question from the device to this resolver.
    Question(IpAddr),
    /// A packet carrying this value of this field.
    Field(&'static str, String),
    /// A packet to or from this peer carrying one of the UID fields.
    Uid { peer: IpAddr, port: Option<u16> },
    /// Traffic with a public address registered to this country.
    Country(String),
}

/// Something new the device did.
#[derive(Clone, Debug)]
pub struct Fact {
    pub kind: Kind,
    pub what: String,
    /// What makes it the same fact later (all remembered once alerted).
    pub keys: Vec<String>,
    pub evidence: Evidence,
}

/// A period is said once this many gaps were measured, this share of them regular
/// (stricter than the report's `every N s`: an alert should not take it back).
const PERIODIC_GAPS: usize = 4;
const PERIODIC_SHARE: f64 = 0.75;

/// The facts of `report` none of whose keys is in `known`.
pub fn new_facts(report: &Report, known: &HashSet<String>) -> Vec<Fact> {
    let mut facts = Vec::new();
    let fresh = |keys: &[String]| !keys.iter().any(|k| known.contains(k));
    for e in &report.endpoints {
        if e.status != "unexpected" {
            continue;
        }
        let keys = endpoint_keys("endpoint", e);
        if fresh(&keys) {
            facts.push(Fact { kind: Kind::UnexpectedEndpoint, what: describe(e), keys, evidence: endpoint_evidence(e) });
        }
    }
    for e in &report.endpoints {
        let Some(period) = e.period.as_ref().filter(|p| p.gaps >= PERIODIC_GAPS && p.regular >= PERIODIC_SHARE) else { continue };
        if e.status != "unexpected" {
            continue;
        }
        let keys = endpoint_keys("period", e);
        if fresh(&keys) {
            let what = format!("{}: {} ({})", describe(e), period.summary(), period.detail());
            facts.push(Fact { kind: Kind::Periodic, what, keys, evidence: endpoint_evidence(e) });
        }
    }
    for r in report.resolvers.iter().filter(|r| !r.local) {
        let Ok(addr) = r.address.parse::<IpAddr>() else { continue };
        // A resolver the profile expects (or ignores) is not hard-coded behaviour to report.
        let allowed = report.endpoints.iter().any(|e| e.status != "unexpected" && e.port == Some(53) && e.addresses.contains(&r.address));
        let keys = vec![format!("resolver {addr}")];
        if !allowed && fresh(&keys) {
            let place = r.country.as_deref().or(r.scope.as_deref()).unwrap_or("unknown");
            let what = format!("asked resolver {addr} ({place}), not one the network offered");
            facts.push(Fact { kind: Kind::NonLocalResolver, what, keys, evidence: Evidence::Question(addr) });
        }
    }
    let token = plugin::leaked_token_field();
    for row in report.iot.iter().filter(|r| r.field == token) {
        let keys = vec![format!("token {}", row.value)];
        if fresh(&keys) {
            let what = format!("gave away its miIO token {} in a hello reply", row.value);
            facts.push(Fact { kind: Kind::LeakedToken, what, keys, evidence: Evidence::Field(token, row.value.clone()) });
        }
    }
    for (protocol, _) in plugin::uid_fields() {
        for r in report.iot_remotes.iter().filter(|r| r.protocol == protocol) {
            let Some((peer, port)) = peer(&r.remote) else { continue };
            let keys = vec![format!("uid {protocol} {}", r.remote)];
            if fresh(&keys) {
                let what = format!("{protocol} peer {}", r.remote);
                facts.push(Fact { kind: Kind::UidExposed, what, keys, evidence: Evidence::Uid { peer, port } });
            }
        }
    }
    // Countries of the endpoints not ignored (ignored traffic is noise the profile chose not to see).
    let mut countries: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for e in report.endpoints.iter().filter(|e| e.status != "ignored") {
        for c in e.country.iter().flat_map(|c| c.split(", ")) {
            countries.entry(c).or_default().push(e.label());
        }
    }
    for (code, labels) in countries {
        let keys = vec![format!("country {code}")];
        if fresh(&keys) {
            let what = format!("first traffic to {code} ({})", labels.join(", "));
            facts.push(Fact { kind: Kind::NewCountry, what, keys, evidence: Evidence::Country(code.to_string()) });
        }
    }
    facts
}

fn endpoint_keys(kind: &str, e: &Endpoint) -> Vec<String> {
    e.addresses.iter().map(|a| format!("{kind} {a} {} {}", e.port_text(), e.direction)).collect()
}

fn endpoint_evidence(e: &Endpoint) -> Evidence {
    Evidence::Endpoint { remotes: e.addresses.clone(), transport: e.transport.clone(), port: e.port }
}

fn describe(e: &Endpoint) -> String {
    let place = e.country.as_deref().or(e.scope.as_deref()).map(|p| format!(", {p}")).unwrap_or_default();
    let label = match &e.name {
        Some(n) => format!("{n} [{}]", e.addresses.join(", ")),
        None => e.addresses.join(", "),
    };
    format!("{label} {} {}{place}", e.port_text(), e.direction)
}

/// `192.0.2.5:32100` or `fd00::5:32100` (the port after the last colon).
fn peer(remote: &str) -> Option<(IpAddr, Option<u16>)> {
    if let Ok(a) = remote.parse() {
        return Some((a, None));
    }
    let (addr, port) = remote.rsplit_once(':')?;
    Some((addr.parse().ok()?, Some(port.parse().ok()?)))
}

/// One packet as the evidence tests see it: which end is the device, and
/// the pass's row of field values.
pub struct Seen<'a, 'v> {
    pub view: &'a PacketView<'v>,
    pub values: &'a [Option<&'v str>],
    pub fields: &'a [&'static str],
    /// Index of the device's end in `view` (0 source, 1 destination).
    pub device_end: usize,
}

impl Seen<'_, '_> {
    fn remote(&self) -> Option<String> {
        let theirs = 1 - self.device_end;
        match (self.view.ip[theirs], self.view.eth[theirs]) {
            (Some(a), _) => Some(a.to_string()),
            (None, Some(m)) => Some(m.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")),
            _ => None,
        }
    }

    fn remote_port(&self) -> Option<u16> {
        self.view.tcp.or(self.view.udp).map(|p| p[1 - self.device_end])
    }

    /// The values of a field in this packet.
    pub fn field(&self, name: &str) -> impl Iterator<Item = &str> {
        let i = self.fields.iter().position(|f| *f == name);
        i.and_then(|i| self.values.get(i).copied().flatten()).into_iter().flat_map(|v| v.split(AGGREGATOR))
    }

    fn ports(&self, transport: &str) -> Option<[u16; 2]> {
        match transport {
            "tcp" => self.view.tcp,
            "udp" => self.view.udp,
            _ => None,
        }
    }
}

impl Evidence {
    /// Whether this packet shows the fact.
    pub fn shown_by(&self, p: &Seen, geo: &dyn Geo) -> bool {
        match self {
            Evidence::Endpoint { remotes, transport, port } => {
                p.remote().is_some_and(|r| remotes.contains(&r))
                    && match port {
                        Some(port) => p.ports(transport).is_some_and(|ports| ports.contains(port)),
                        None => true,
                    }
            }
            Evidence::Question(resolver) => {
                p.device_end == 0 && p.view.ip[1] == Some(*resolver) && p.field("dns.qry.name").next().is_some()
            }
            Evidence::Field(field, value) => p.field(field).any(|v| v == value),
            Evidence::Uid { peer, port } => {
                p.view.ip[1 - p.device_end] == Some(*peer)
                    && port.is_none_or(|port| p.remote_port() == Some(port))
                    && plugin::uid_fields().iter().any(|(_, f)| p.field(f).next().is_some())
            }
            Evidence::Country(code) => p.view.ip[1 - p.device_end].is_some_and(|a| {
                country::scope(a).is_none() && geo.country(a).as_deref() == Some(code.as_str())
            }),
        }
    }

    /// What the evidence packet adds to the fact's description (the UID itself).
    pub fn detail(&self, p: &Seen) -> Option<String> {
        match self {
            Evidence::Uid { .. } => {
                let uids: Vec<&str> = plugin::uid_fields().iter().flat_map(|(_, f)| p.field(f)).collect();
                (!uids.is_empty()).then(|| format!("UID {}", uids.join(", ")))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::UtcOffset;
    use crate::report::country::Embedded;
    use crate::report::model::{build, Inputs};
    use crate::report::observe::{EndpointKey, Flow, Observations, Remote};

    fn flow(obs: &mut Observations, addr: &str, transport: &str, port: u16, bursts: &[f64]) {
        let key = EndpointKey { remote: Remote::Ip(addr.parse().unwrap()), transport: transport.to_string().into(), port: Some(port), device_serves: false };
        let flow = Flow { packets: [bursts.len() as u64, 0], bytes: [100, 0], first: bursts[0], last: *bursts.last().unwrap(), bursts: bursts.to_vec(), ..Flow::default() };
        obs.flows.insert(key, flow);
    }

    #[test]
    fn facts_of_a_report_once_each() {
        let profile = crate::profile::load::parse(
            "name: t\ndevice: {ip: [192.0.2.10]}\nexpected:\n  - name: mqtt\n    host: [3.67.242.33]\n    tcp: [8883]\n",
            std::path::Path::new("t.yaml"),
            None,
        )
        .unwrap();
        let mut obs = Observations::default();
        flow(&mut obs, "3.67.242.33", "tcp", 8883, &[0.0, 10.0, 20.0, 30.0]);
        flow(&mut obs, "114.114.114.114", "udp", 53, &[5.0]);
        flow(&mut obs, "192.0.2.40", "udp", 9999, &[0.0, 10.0, 20.0, 30.0, 40.0]);
        let name = obs.dns.entry("example.test".into()).or_default();
        name.asked.push(5.0);
        name.resolvers.insert("114.114.114.114".parse().unwrap(), 1);
        let report = build(Inputs { profile: &profile, observations: &obs, captures: vec![], plugin: true, notes: vec![], offset: UtcOffset(0), geo: &Embedded, country_source: String::new() });
        let mut known = HashSet::new();
        let facts = new_facts(&report, &known);
        let said = |kind: Kind, start: &str| facts.iter().filter(|f| f.kind == kind && f.what.starts_with(start)).count();
        assert_eq!(said(Kind::UnexpectedEndpoint, "114.114.114.114 udp/53"), 1, "{facts:#?}");
        assert_eq!(said(Kind::UnexpectedEndpoint, "192.0.2.40 udp/9999"), 1, "{facts:#?}");
        assert!(facts.iter().any(|f| f.kind == Kind::Periodic && f.what.starts_with("192.0.2.40 udp/9999 outbound") && f.what.contains("every 10 s")), "{facts:#?}");
        assert_eq!(said(Kind::NonLocalResolver, "asked resolver 114.114.114.114 (CN)"), 1, "{facts:#?}");
        assert_eq!(said(Kind::NewCountry, "first traffic to CN (114.114.114.114)"), 1, "{facts:#?}");
        // The expected broker: its country, nothing else.
        assert!(!facts.iter().any(|f| f.kind != Kind::NewCountry && f.what.contains("3.67.242.33")), "{facts:#?}");
        assert_eq!(facts.iter().filter(|f| f.kind == Kind::NewCountry).count(), 2, "{facts:#?}");
        assert_eq!(facts.len(), 6, "{facts:#?}");
        for f in facts {
            known.extend(f.keys);
        }
        assert!(new_facts(&report, &known).is_empty());
    }
}
