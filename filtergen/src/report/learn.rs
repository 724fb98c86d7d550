//! `filtergen learn`: a draft profile from what a device did. The report's
//! endpoint rows (named by DNS, SNI, HTTP Host) become `expected` rules,
//! one per name (or `*.domain` when three or more names share a domain),
//! with their ports; a name's addresses are listed only when there are few
//! (`--resolve-from` matches the rest). The draft is validated by the
//! profile loader before it is written.
//!
//! The draft is written as YAML text, not a serialized `Profile`: it keeps
//! a comment above each rule (what the device did there) and short inline
//! lists, which a YAML serializer drops or spreads over lines. Every value
//! is written JSON-quoted (valid YAML, nothing a name could inject), and
//! loading it back is what makes the text a `Profile`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::error::Error;
use crate::report::observe::Observations;
use crate::report::model::Endpoint;
use crate::profile::rules::{MacPattern, Name, Profile};
use crate::wellknown::{self, Transport};

/// A name with more addresses than this is written as the name alone.
pub const MAX_ADDRESSES: usize = 4;
/// This many names under one domain become `*.domain`.
pub const WILDCARD_NAMES: usize = 3;

/// One rule of the draft.
#[derive(Debug, Default)]
struct Draft {
    hosts: BTreeSet<String>,
    tcp: BTreeSet<u16>,
    udp: BTreeSet<u16>,
    protocols: BTreeSet<String>,
    comments: Vec<String>,
}

/// The domain names are grouped under: the last two labels, three when the
/// second-level label is short (`com.cn`, `co.uk`).
fn domain_of(name: &str) -> String {
    let labels: Vec<&str> = name.split('.').collect();
    let keep = if labels.len() >= 3 && labels[labels.len() - 2].len() <= 3 && labels[labels.len() - 1].len() == 2 { 3 } else { 2 };
    labels[labels.len().saturating_sub(keep)..].join(".")
}

/// The longest common label suffix of `names` (at least the domain).
fn common_suffix(names: &[&String]) -> String {
    let split: Vec<Vec<&str>> = names.iter().map(|n| n.split('.').rev().collect()).collect();
    let mut common = Vec::new();
    for i in 0.. {
        let Some(label) = split[0].get(i) else { break };
        if split.iter().all(|s| s.get(i) == Some(label)) && split.iter().all(|s| s.len() > i + 1) {
            common.push(*label);
        } else {
            break;
        }
    }
    common.reverse();
    common.join(".")
}

/// The profile text for the device at `mac`, from report rows.
pub fn draft(mac: &MacPattern, profile_name: &Name, rows: &[Endpoint], o: &Observations, captures: usize) -> String {
    // Names under a domain shared by enough names become one wildcard.
    let names: BTreeSet<&String> = rows.iter().filter_map(|e| e.name.as_ref()).collect();
    let mut by_domain: BTreeMap<String, Vec<&String>> = BTreeMap::new();
    for n in &names {
        by_domain.entry(domain_of(n)).or_default().push(n);
    }
    let mut host_of: BTreeMap<&String, String> = BTreeMap::new();
    for group in by_domain.values() {
        let wildcard = (group.len() >= WILDCARD_NAMES).then(|| format!("*.{}", common_suffix(group)));
        for n in group {
            host_of.insert(n, wildcard.clone().unwrap_or_else(|| (*n).clone()));
        }
    }
    let mut expected: BTreeMap<String, Draft> = BTreeMap::new();
    let mut ignore: BTreeMap<String, Draft> = BTreeMap::new();
    for e in rows {
        // DNS and DHCP over UDP are drafted as one rule each, whoever the server.
        let udp_service = e.port.filter(|_| e.transport == "udp").and_then(|p| wellknown::at(Transport::Udp, p)).map(|p| p.protocol);
        let (key, rules) = match (&e.name, udp_service, e.port) {
            (Some(n), _, _) => (host_of[n].clone(), &mut expected),
            (None, Some(s @ ("dns" | "dhcp")), _) => (s.to_string(), &mut expected),
            (None, _, Some(_)) => (e.addresses.join(","), &mut expected),
            (None, _, None) => (e.transport.clone(), &mut ignore),
        };
        let d = rules.entry(key.clone()).or_default();
        match (&e.name, e.port) {
            (Some(_), _) => {
                d.hosts.insert(key.clone());
                if e.addresses.len() <= MAX_ADDRESSES {
                    d.hosts.extend(e.addresses.iter().cloned());
                } else {
                    d.comments.push(format!("{} addresses of {} left out: add --resolve-from CAPTURE to match them", e.addresses.len(), e.label()));
                }
            }
            (None, Some(_)) if key == "dns" || key == "dhcp" => {}
            (None, Some(_)) => d.hosts.extend(e.addresses.iter().cloned()),
            (None, None) => {
                d.protocols.insert(e.transport.clone());
            }
        }
        if let Some(p) = e.port {
            if e.transport == "tcp" { d.tcp.insert(p) } else { d.udp.insert(p) };
        }
        d.comments.push(format!(
            "{} {} {}: {} packets out, {} in, {}",
            e.label(),
            e.port_text(),
            e.direction,
            e.packets_out,
            e.packets_in,
            e.repeats
        ));
    }
    let q = |s: &str| serde_json::to_string(s).expect("a string serializes");
    let mut y = String::new();
    y.push_str(&format!("# Drafted by `filtergen learn` from {captures} capture(s), {} packets of the device.\n", o.device_packets));
    y.push_str("# Review every rule before committing: this is what the device did, not what it should do.\n");
    y.push_str(&format!("name: {}\n", q(&profile_name.0)));
    y.push_str(&format!("description: {}\n", q(&format!("drafted from captures of {mac}"))));
    y.push_str(&format!("device:\n  mac: [{}]\n", q(&mac.to_string())));
    let ips: Vec<String> = o.device_ips.iter().filter(|a| !a.is_multicast()).map(|a| q(&a.to_string())).collect();
    if !ips.is_empty() {
        y.push_str(&format!("  ip: [{}]\n", ips.join(", ")));
    }
    let mut used = BTreeSet::new();
    for (section, rules) in [("ignore", &ignore), ("expected", &expected)] {
        if rules.is_empty() {
            continue;
        }
        y.push_str(&format!("{section}:\n"));
        for (key, d) in rules {
            for c in &d.comments {
                y.push_str(&format!("  # {}\n", c.replace(|ch: char| ch.is_control(), " ")));
            }
            y.push_str(&format!("  - name: {}\n", q(&rule_name(key, &mut used))));
            let list = |items: Vec<String>| items.join(", ");
            if !d.hosts.is_empty() {
                y.push_str(&format!("    host: [{}]\n", list(d.hosts.iter().map(|h| q(h)).collect())));
            }
            if !d.tcp.is_empty() {
                y.push_str(&format!("    tcp: [{}]\n", list(d.tcp.iter().map(u16::to_string).collect())));
            }
            if !d.udp.is_empty() {
                y.push_str(&format!("    udp: [{}]\n", list(d.udp.iter().map(u16::to_string).collect())));
            }
            if !d.protocols.is_empty() {
                y.push_str(&format!("    protocols: [{}]\n", list(d.protocols.iter().map(|p| q(p)).collect())));
            }
        }
    }
    y
}

/// A valid, unique rule name from a host, address list or protocol.
fn rule_name(key: &str, used: &mut BTreeSet<String>) -> String {
    let cleaned: String = key.trim_start_matches("*.").chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' { c } else { '-' }).collect();
    let base: String = cleaned.trim_start_matches(|c: char| !c.is_ascii_alphanumeric()).chars().take(56).collect();
    let base = if base.is_empty() { "rule".to_string() } else { base };
    let mut name = base.clone();
    let mut n = 2;
    while !used.insert(name.clone()) {
        name = format!("{base}-{n}");
        n += 1;
    }
    name
}

/// Checks the draft with the profile loader (a draft that does not load is
/// our bug, reported as such).
pub fn validate(text: &str, catalog: Option<&crate::profile::protocols::Catalog>) -> Result<Profile, Error> {
    crate::profile::load::parse(text, Path::new("<learned profile>"), catalog).map_err(|e| Error::Usage(format!("internal error: the drafted profile does not load: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_and_wildcards() {
        assert_eq!(domain_of("xx.ott.io.mi.com"), "mi.com");
        assert_eq!(domain_of("a.b.example.com.cn"), "example.com.cn");
        let names = ["1.ott.io.mi.com".to_string(), "2.ot.io.mi.com".to_string(), "dns.io.mi.com".to_string()];
        let refs: Vec<&String> = names.iter().collect();
        assert_eq!(common_suffix(&refs), "io.mi.com");
        let mut used = BTreeSet::new();
        assert_eq!(rule_name("*.io.mi.com", &mut used), "io.mi.com");
        assert_eq!(rule_name("io.mi.com", &mut used), "io.mi.com-2");
        assert_eq!(rule_name("3.67.242.33,35.1.1.1", &mut used), "3.67.242.33-35.1.1.1");
    }
}
