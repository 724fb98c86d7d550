//! The capture-filter (BPF, libpcap syntax) compiler. Not every rule has an
//! equivalent: host names and raw display filters need dissection, and so do
//! protocols other than those mapped in `protocol_bpf`.

use ipnet::IpNet;

use crate::compile::dfilter::net_literal;
use crate::error::Error;
use crate::compile::expr::BPF;
use crate::profile::rules::{MacPattern, Mode, PortRange, Profile, Rule};
use crate::wellknown::{self, Transport};

/// The capture filter for `mode`; VLAN-tagged frames are matched too.
pub fn compile(profile: &Profile, mode: Mode) -> Result<String, Error> {
    let Some(device) = &profile.device else {
        return Err(Error::Usage(format!("profile {} has no device: only its ignore rules can be compiled", profile.name)));
    };
    let mut parts = Vec::new();
    if !device.mac.is_empty() {
        parts.push(macs(&device.mac));
    }
    let nets: Vec<IpNet> = device.ip.iter().map(|&a| IpNet::from(a)).collect();
    parts.extend(addresses(&nets));
    let device = BPF.any(&parts);
    let rules: Vec<&Rule> = match mode {
        Mode::Device => vec![],
        Mode::Clean => profile.ignore.iter().collect(),
        Mode::Unexpected => profile.ignore.iter().chain(&profile.expected).collect(),
    };
    let rules = rules.into_iter().map(rule).collect::<Result<Vec<_>, _>>()?;
    Ok(with_vlan(&BPF.minus(&format!("({device})"), &rules)))
}

/// What the ignore rules match, for profiles without a device.
pub fn compile_ignore(profile: &Profile) -> Result<Option<String>, Error> {
    let rules = profile.ignore.iter().map(rule).collect::<Result<Vec<_>, _>>()?;
    Ok((!rules.is_empty()).then(|| with_vlan(&BPF.any(&rules))))
}

/// libpcap's `vlan` keyword shifts the offsets of everything after it, so the
/// expression is repeated for 802.1Q-tagged frames; the untagged branch tests
/// the ethertype bytes directly (`not vlan` would shift the offsets too), else
/// a tagged ARP frame would pass `not arp` there.
fn with_vlan(expr: &str) -> String {
    format!("(ether[12:2] != 0x8100 and ({expr})) or (vlan and ({expr}))")
}

pub fn rule(rule: &Rule) -> Result<String, Error> {
    let no_equivalent = |what: String| {
        Error::NoEquivalent(format!("rule {}: {what} has no BPF equivalent (it needs dissection; use the display filter)", rule.label()))
    };
    if let Some(name) = rule.names().next() {
        return Err(no_equivalent(format!("host name {name}")));
    }
    if rule.filter.is_some() {
        return Err(no_equivalent("`filter`".into()));
    }
    if let Some(c) = rule.country.first() {
        return Err(Error::NoEquivalent(format!(
            "rule {}: country {c} has no BPF equivalent (libpcap knows no registration countries; use `filtergen run`)",
            rule.label()
        )));
    }
    let mut keys = Vec::new();
    if !rule.mac.is_empty() {
        keys.push(macs(&rule.mac));
    }
    let nets: Vec<IpNet> = rule.nets().collect();
    if !nets.is_empty() {
        keys.push(BPF.any(&addresses(&nets)));
    }
    if rule.has_ports() {
        let mut ports: Vec<String> = rule.tcp.iter().map(|p| port("tcp", p)).collect();
        ports.extend(rule.udp.iter().map(|p| port("udp", p)));
        keys.push(BPF.any(&ports));
    }
    if !rule.protocols.is_empty() {
        let protocols = rule
            .protocols
            .iter()
            .map(|p| protocol_bpf(&p.0).ok_or_else(|| no_equivalent(format!("protocol {}", p.0))))
            .collect::<Result<Vec<_>, _>>()?;
        keys.push(BPF.any(&protocols));
    }
    Ok(BPF.all(&keys))
}

/// The capture filters standing in for Wireshark protocols (by their usual
/// ethertype, LLC/SNAP id or, for those a port tells, their ports).
pub fn protocol_bpf(name: &str) -> Option<String> {
    if wellknown::by_port(name) {
        let ports: Vec<String> = [Transport::Udp, Transport::Tcp]
            .into_iter()
            .flat_map(|t| wellknown::ranges(name, t).flat_map(|r| r.first..=r.last).map(move |p| format!("{} port {p}", t.as_str())))
            .collect();
        return Some(ports.join(" or "));
    }
    Some(match name {
        "arp" => "arp",
        "rarp" => "rarp",
        "stp" => "stp",
        "lldp" => "ether proto 0x88cc",
        "cdp" => "ether dst 01:00:0c:cc:cc:cc and ether[20:2] == 0x2000",
        "icmp" => "icmp",
        "icmpv6" => "icmp6",
        "igmp" => "igmp",
        "ip" => "ip",
        "ipv6" => "ip6",
        "tcp" => "tcp",
        "udp" => "udp",
        _ => return None,
    }
    .to_string())
}

fn port(proto: &str, p: &PortRange) -> String {
    if p.first == p.last {
        format!("{proto} port {}", p.first)
    } else {
        format!("{proto} portrange {}-{}", p.first, p.last)
    }
}

fn macs(macs: &[MacPattern]) -> String {
    let parts: Vec<String> = macs
        .iter()
        .flat_map(|m| if m.is_full() { vec![format!("ether host {m}")] } else { vec![prefix_at(m, 6), prefix_at(m, 0)] })
        .collect();
    BPF.any(&parts)
}

/// A vendor prefix compared byte by byte at the source (6) or destination (0) offset.
fn prefix_at(prefix: &MacPattern, offset: usize) -> String {
    let bytes: Vec<String> =
        prefix.0.iter().enumerate().map(|(i, b)| format!("ether[{}] == 0x{b:02x}", offset + i)).collect();
    bytes.join(" and ")
}

/// `ip host`/`ip net` and `ip6 …` (plain `host` would also match ARP).
fn addresses(nets: &[IpNet]) -> Vec<String> {
    IpNet::aggregate(&nets.to_vec())
        .iter()
        .map(|net| {
            let family = if matches!(net, IpNet::V4(_)) { "ip" } else { "ip6" };
            let kind = if net.prefix_len() == net.max_prefix_len() { "host" } else { "net" };
            format!("{family} {kind} {}", net_literal(net))
        })
        .collect()
}
