//! The display-filter compiler: a profile and a mode to one Wireshark 4.x
//! display filter. Sets use commas, negations are `!(…)` (so non-IP frames
//! are not silently dropped), every fragment is parenthesized.

use ipnet::IpNet;

use crate::error::Error;
use crate::compile::expr::DFILTER;
use crate::profile::resolve::Resolved;
use crate::profile::rules::{Device, HostName, MacPattern, Mode, PortRange, Profile, Rule};

/// Fields that carry a host name: DNS question and answer names, TLS SNI, HTTP Host.
pub const NAME_FIELDS: [&str; 4] =
    ["dns.qry.name", "dns.resp.name", "tls.handshake.extensions_server_name", "http.host"];

/// The display filter for `mode`.
pub fn compile(profile: &Profile, mode: Mode, resolved: &Resolved) -> Result<String, Error> {
    let device = device(profile)?;
    let ignore: Vec<String> = profile.ignore.iter().map(|r| rule(r, resolved)).collect();
    let expected: Vec<String> = profile.expected.iter().map(|r| rule(r, resolved)).collect();
    Ok(match mode {
        Mode::Device => format!("({device})"),
        Mode::Clean => DFILTER.minus(&device, &ignore),
        Mode::Unexpected => DFILTER.minus(&device, &[ignore, expected].concat()),
    })
}

/// What the profile's ignore rules match (the noise alone), for profiles
/// without a device such as `noise/zerotier`.
pub fn compile_ignore(profile: &Profile, resolved: &Resolved) -> Option<String> {
    let ignore: Vec<String> = profile.ignore.iter().map(|r| rule(r, resolved)).collect();
    (!ignore.is_empty()).then(|| DFILTER.any(&ignore))
}

fn device(profile: &Profile) -> Result<String, Error> {
    let Some(Device { mac, ip, .. }) = &profile.device else {
        return Err(Error::Usage(format!("profile {} has no device: only its ignore rules can be compiled", profile.name)));
    };
    let mut parts = Vec::new();
    if !mac.is_empty() {
        parts.push(macs(mac));
    }
    let nets: Vec<IpNet> = ip.iter().map(|&a| IpNet::from(a)).collect();
    parts.extend(addresses(&nets));
    if parts.is_empty() {
        return Err(Error::Usage(format!("profile {}: device has neither mac nor ip", profile.name)));
    }
    Ok(DFILTER.any(&parts))
}

/// One rule: its keys ANDed.
pub fn rule(rule: &Rule, resolved: &Resolved) -> String {
    let mut keys = Vec::new();
    if !rule.mac.is_empty() {
        keys.push(macs(&rule.mac));
    }
    if !rule.host.is_empty() {
        keys.push(hosts(rule, resolved));
    }
    if rule.has_ports() {
        let mut ports = Vec::new();
        if !rule.tcp.is_empty() {
            ports.push(membership("tcp.port", &port_items(&rule.tcp)));
        }
        if !rule.udp.is_empty() {
            ports.push(membership("udp.port", &port_items(&rule.udp)));
        }
        keys.push(DFILTER.any(&ports));
    }
    if !rule.protocols.is_empty() {
        let names: Vec<String> = rule.protocols.iter().map(|p| p.0.clone()).collect();
        keys.push(DFILTER.any(&names));
    }
    if let Some(filter) = &rule.filter {
        keys.push(format!("({})", filter.0));
    }
    DFILTER.all(&keys)
}

fn macs(macs: &[MacPattern]) -> String {
    let full: Vec<String> = macs.iter().filter(|m| m.is_full()).map(|m| m.to_string()).collect();
    let mut parts = Vec::new();
    if !full.is_empty() {
        parts.push(membership("eth.addr", &full));
    }
    for prefix in macs.iter().filter(|m| !m.is_full()) {
        let n = prefix.0.len();
        parts.push(format!("eth.src[0:{n}] == {prefix}"));
        parts.push(format!("eth.dst[0:{n}] == {prefix}"));
    }
    DFILTER.any(&parts)
}

fn hosts(rule: &Rule, resolved: &Resolved) -> String {
    let names: Vec<&HostName> = rule.names().collect();
    let mut nets: Vec<IpNet> = rule.nets().collect();
    nets.extend(names.iter().flat_map(|n| resolved.addresses_for(n)).map(IpNet::from));
    let mut parts = addresses(&nets);
    if !names.is_empty() {
        let regex = name_regex(&names);
        parts.extend(NAME_FIELDS.iter().map(|f| format!("{f} matches \"{regex}\"")));
    }
    DFILTER.any(&parts)
}

/// `ip.addr in {…}` and `ipv6.addr in {…}` over the CIDR-aggregated nets.
fn addresses(nets: &[IpNet]) -> Vec<String> {
    let nets = IpNet::aggregate(&nets.to_vec());
    let (v4, v6): (Vec<IpNet>, Vec<IpNet>) = nets.into_iter().partition(|n| matches!(n, IpNet::V4(_)));
    let mut parts = Vec::new();
    for (field, nets) in [("ip.addr", v4), ("ipv6.addr", v6)] {
        if !nets.is_empty() {
            let items: Vec<String> = nets.iter().map(net_literal).collect();
            parts.push(membership(field, &items));
        }
    }
    parts
}

/// An address alone for a /32 or /128, else the CIDR block.
pub fn net_literal(net: &IpNet) -> String {
    if net.prefix_len() == net.max_prefix_len() {
        net.addr().to_string()
    } else {
        net.to_string()
    }
}

fn port_items(ports: &[PortRange]) -> Vec<String> {
    ports.iter().map(|p| if p.first == p.last { p.first.to_string() } else { format!("{}..{}", p.first, p.last) }).collect()
}

/// `field == x` for one plain item, else the set `field in {a, b..c}` (commas: Wireshark 4.x).
fn membership(field: &str, items: &[String]) -> String {
    match items {
        [one] if !one.contains("..") => format!("{field} == {one}"),
        _ => format!("{field} in {{{}}}", items.join(", ")),
    }
}

/// A case-insensitive regex matching any of the names (and `name:port`, as
/// HTTP Host may carry), as the body of a display-filter string: names hold
/// only letters, digits, `-`, `_` and `.`, so `.` is the only character to escape.
fn name_regex(names: &[&HostName]) -> String {
    let alternatives: Vec<String> = names
        .iter()
        .map(|n| {
            let escaped = n.domain.replace('.', "\\\\.");
            if n.wildcard { format!(".+\\\\.{escaped}") } else { escaped }
        })
        .collect();
    format!("(?i)^({})\\\\.?(:[0-9]+)?$", alternatives.join("|"))
}
