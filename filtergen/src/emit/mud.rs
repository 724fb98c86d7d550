//! A profile's `expected` rules as an RFC 8520
//! Manufacturer Usage Description: an `ietf-mud:mud` container pointing at
//! one from-device and one to-device access list per IP version, and the
//! `ietf-access-control-list:acls` holding them (RFC 8519), with host names
//! as `ietf-acldns` dnsname matches, ports as RFC 8519 port operators and
//! TCP direction as `ietf-mud:direction-initiated`.
//!
//! What MUD cannot say is left out and listed: `*.domain` wildcards (a
//! dnsname is one exact name), MAC, protocol and raw-filter rules.

use serde_json::{json, Map, Value};

use crate::profile::rules::{Host, PortRange, Profile, Rule};

/// The MUD file and the parts of the profile it could not express.
pub struct Mud {
    pub json: Value,
    pub left_out: Vec<String>,
}

pub struct Options {
    pub mud_url: String,
    pub last_update: String,
    pub cache_validity_hours: u32,
}

/// One match target: a DNS name or a network, in one IP version.
#[derive(Clone)]
enum Target {
    Name(String),
    Net(ipnet::IpNet),
    Any,
}

#[derive(Clone, Copy, PartialEq)]
enum Version {
    V4,
    V6,
}

impl Version {
    fn container(self) -> &'static str {
        match self {
            Version::V4 => "ipv4",
            Version::V6 => "ipv6",
        }
    }
    fn acl_type(self) -> &'static str {
        match self {
            Version::V4 => "ipv4-acl-type",
            Version::V6 => "ipv6-acl-type",
        }
    }
    fn suffix(self) -> &'static str {
        match self {
            Version::V4 => "v4",
            Version::V6 => "v6",
        }
    }
}

fn port_match(r: &PortRange) -> Value {
    if r.first == r.last {
        json!({"operator": "eq", "port": r.first})
    } else {
        json!({"lower-port": r.first, "upper-port": r.last})
    }
}

/// The access-control entry for traffic from the device (`to_device` false)
/// or to it, for one target and one transport port range.
fn ace(name: String, version: Version, target: &Target, transport: Option<(u8, &PortRange)>, to_device: bool) -> Value {
    let mut ip = Map::new();
    match target {
        Target::Name(n) => {
            let key = if to_device { "ietf-acldns:src-dnsname" } else { "ietf-acldns:dst-dnsname" };
            ip.insert(key.into(), json!(n));
        }
        Target::Net(net) => {
            let key = match (version, to_device) {
                (Version::V4, false) => "destination-ipv4-network",
                (Version::V4, true) => "source-ipv4-network",
                (Version::V6, false) => "destination-ipv6-network",
                (Version::V6, true) => "source-ipv6-network",
            };
            ip.insert(key.into(), json!(net.to_string()));
        }
        Target::Any => {}
    }
    let mut matches = Map::new();
    if let Some((protocol, ports)) = transport {
        ip.insert("protocol".into(), json!(protocol));
        let mut l4 = Map::new();
        // The remote's port: destination from the device, source to it.
        l4.insert(if to_device { "source-port" } else { "destination-port" }.into(), port_match(ports));
        if protocol == 6 {
            l4.insert("ietf-mud:direction-initiated".into(), json!("from-device"));
        }
        matches.insert(version.container().into(), Value::Object(ip));
        matches.insert(if protocol == 6 { "tcp" } else { "udp" }.into(), Value::Object(l4));
    } else {
        matches.insert(version.container().into(), Value::Object(ip));
    }
    json!({"name": name, "matches": matches, "actions": {"forwarding": "accept"}})
}

/// Builds the MUD file for `profile`.
pub fn build(profile: &Profile, opts: &Options) -> Mud {
    let mut left_out = Vec::new();
    let mut aces: Vec<(Version, bool, Value)> = Vec::new();
    for (i, rule) in profile.expected.iter().enumerate() {
        // ACE names are at most 64 characters (RFC 8519).
        let label: String = rule.name.as_ref().map_or_else(|| format!("rule{i}"), |n| n.to_string()).chars().take(48).collect();
        if !rule.mac.is_empty() || !rule.protocols.is_empty() || rule.filter.is_some() {
            left_out.push(format!("{}: mac, protocols and filter keys have no MUD equivalent; rule left out", rule.label()));
            continue;
        }
        for (version, target) in targets(rule, &mut left_out) {
            let transports: Vec<(u8, &PortRange)> = rule.tcp.iter().map(|p| (6, p)).chain(rule.udp.iter().map(|p| (17, p))).collect();
            let transports: Vec<Option<(u8, &PortRange)>> = if transports.is_empty() { vec![None] } else { transports.into_iter().map(Some).collect() };
            for t in transports {
                for to_device in [false, true] {
                    let n = aces.iter().filter(|(v, d, _)| *v == version && *d == to_device).count();
                    let name = format!("{label}-{}{n}", if to_device { "todev" } else { "frdev" });
                    aces.push((version, to_device, ace(name, version, &target, t, to_device)));
                }
            }
        }
    }
    let base: String = format!("mud-{}", profile.name).chars().take(56).collect();
    let mut acls = Vec::new();
    let mut from_policy = Vec::new();
    let mut to_policy = Vec::new();
    for version in [Version::V4, Version::V6] {
        for to_device in [false, true] {
            let entries: Vec<Value> = aces.iter().filter(|(v, d, _)| *v == version && *d == to_device).map(|(_, _, a)| a.clone()).collect();
            if entries.is_empty() {
                continue;
            }
            let name = format!("{base}-{}{}", version.suffix(), if to_device { "to" } else { "fr" });
            acls.push(json!({"name": name, "type": version.acl_type(), "aces": {"ace": entries}}));
            if to_device { to_policy.push(json!({"name": name})) } else { from_policy.push(json!({"name": name})) };
        }
    }
    let mut mud = Map::new();
    mud.insert("mud-version".into(), json!(1));
    mud.insert("mud-url".into(), json!(opts.mud_url));
    mud.insert("last-update".into(), json!(opts.last_update));
    mud.insert("cache-validity".into(), json!(opts.cache_validity_hours));
    mud.insert("is-supported".into(), json!(true));
    let info = profile.description.as_ref().map_or_else(|| profile.name.to_string(), |d| d.0.clone());
    mud.insert("systeminfo".into(), json!(info.chars().take(64).collect::<String>()));
    if !from_policy.is_empty() {
        mud.insert("from-device-policy".into(), json!({"access-lists": {"access-list": from_policy}}));
    }
    if !to_policy.is_empty() {
        mud.insert("to-device-policy".into(), json!({"access-lists": {"access-list": to_policy}}));
    }
    let json = json!({"ietf-mud:mud": mud, "ietf-access-control-list:acls": {"acl": acls}});
    Mud { json, left_out }
}

/// The rule's hosts as (IP version, target); names go into both versions.
fn targets(rule: &Rule, left_out: &mut Vec<String>) -> Vec<(Version, Target)> {
    if rule.host.is_empty() {
        return vec![(Version::V4, Target::Any), (Version::V6, Target::Any)];
    }
    let mut out = Vec::new();
    for h in &rule.host {
        match h {
            Host::Name(n) if n.wildcard => left_out.push(format!("{}: {n}: a MUD dnsname is one exact name, wildcards cannot be expressed", rule.label())),
            Host::Name(n) => {
                out.push((Version::V4, Target::Name(n.domain.clone())));
                out.push((Version::V6, Target::Name(n.domain.clone())));
            }
            Host::Net(net @ ipnet::IpNet::V4(_)) => out.push((Version::V4, Target::Net(*net))),
            Host::Net(net @ ipnet::IpNet::V6(_)) => out.push((Version::V6, Target::Net(*net))),
        }
    }
    out
}
