//! What the firewall enforces, independent of the output format: per
//! device, the address sets and the accept rules its `expected` rules
//! become, the host names dnsmasq must feed into those sets, and the
//! verdict for everything else.
//!
//! Every value here comes from a typed profile value (addresses, ports,
//! validated names) or is an identifier made of `[a-z0-9_]` by
//! [`identifier`], so the renderers never quote user text.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use crate::error::Error;
use crate::profile::resolve::Resolved;
use crate::profile::rules::{HostName, MacPattern, Name, PortRange, Profile, Rule};
use crate::report::country::{self, Country};
use crate::report::geoip::Countries;
use crate::wellknown;

/// What happens to a device's traffic that no expected rule allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Action {
    /// Audit: log it (prefix naming the profile), count it, let it through.
    Log,
    /// Refuse it: TCP reset, ICMP administratively prohibited otherwise.
    Reject,
    /// Drop it silently.
    Drop,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Log => "log",
            Action::Reject => "reject",
            Action::Drop => "drop",
        }
    }

    /// What a blocklist (`--block-country`) does: it blocks whatever the
    /// action for unexpected traffic (an audit still logs it, see nft.rs).
    pub fn blocking(self) -> Action {
        match self {
            Action::Drop => Action::Drop,
            Action::Log | Action::Reject => Action::Reject,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn of(addr: &IpAddr) -> Family {
        if addr.is_ipv4() { Family::V4 } else { Family::V6 }
    }
    pub fn of_net(net: &IpNet) -> Family {
        if matches!(net, IpNet::V4(_)) { Family::V4 } else { Family::V6 }
    }
    pub fn suffix(self) -> &'static str {
        match self {
            Family::V4 => "4",
            Family::V6 => "6",
        }
    }
}

pub use crate::wellknown::Transport;

/// The layer-4 part of an accept rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum L4 {
    /// Any protocol.
    Any,
    /// Only this IP version (the `ip` and `ipv6` protocols).
    Family(Family),
    /// An IP protocol without ports (icmp, igmp, tcp, udp), by its nft name,
    /// and the IP version it exists in (None: both).
    Protocol { name: &'static str, family: Option<Family> },
    /// Destination ports of one transport, in one IP version (None: both).
    Ports { transport: Transport, ranges: Vec<PortRange>, family: Option<Family> },
}

impl L4 {
    /// The part both match (None: they cannot both match).
    fn intersect(&self, other: &L4) -> Option<L4> {
        use L4::*;
        match (self, other) {
            (Any, x) | (x, Any) => Some(x.clone()),
            (Family(a), Family(b)) => (a == b).then(|| Family(*a)),
            (Family(f), Protocol { name, family }) | (Protocol { name, family }, Family(f)) => {
                family.is_none_or(|g| g == *f).then_some(Protocol { name, family: Some(*f) })
            }
            (Family(f), Ports { transport, ranges, family }) | (Ports { transport, ranges, family }, Family(f)) => {
                family.is_none_or(|g| g == *f).then(|| Ports { transport: *transport, ranges: ranges.clone(), family: Some(*f) })
            }
            (Protocol { name: a, family: fa }, Protocol { name: b, family: fb }) => {
                (a == b).then(|| Protocol { name: a, family: fa.or(*fb) })
            }
            (Protocol { name, .. }, p @ Ports { transport, .. }) | (p @ Ports { transport, .. }, Protocol { name, .. }) => {
                (*name == transport.as_str()).then(|| p.clone())
            }
            (Ports { transport: ta, ranges: ra, family: fa }, Ports { transport: tb, ranges: rb, family: fb }) => {
                if ta != tb || matches!((fa, fb), (Some(a), Some(b)) if a != b) {
                    return None;
                }
                let ranges: Vec<PortRange> = ra
                    .iter()
                    .flat_map(|a| rb.iter().map(move |b| (a.first.max(b.first), a.last.min(b.last))))
                    .filter(|(first, last)| first <= last)
                    .map(|(first, last)| PortRange { first, last })
                    .collect();
                (!ranges.is_empty()).then_some(Ports { transport: *ta, ranges, family: fa.or(*fb) })
            }
        }
    }

    /// Whether this can match traffic of `family`.
    pub fn fits(&self, family: Family) -> bool {
        match self {
            L4::Family(f) => *f == family,
            L4::Protocol { family: Some(f), .. } | L4::Ports { family: Some(f), .. } => *f == family,
            _ => true,
        }
    }
}

/// The firewall meaning of a Wireshark protocol name: the well-known ports
/// it runs on, or the IP protocol it is. Link-layer and dissected protocols
/// (arp, stp, tuya, …) have none: a router sees no ports or IP protocol
/// number that identifies them.
pub fn protocol_l4(name: &str) -> Option<Vec<L4>> {
    if wellknown::told_by_port(name).is_some() {
        let ports = [Transport::Udp, Transport::Tcp].into_iter().filter_map(|transport| {
            let ranges: Vec<PortRange> = wellknown::ranges(name, transport).map(PortRange::from).collect();
            (!ranges.is_empty()).then_some(L4::Ports { transport, ranges, family: None })
        });
        return Some(ports.collect());
    }
    // nft's own names: "ipv6-icmp" would need /etc/protocols, which a
    // minimal system (a container, a fresh chroot) does not have.
    Some(match name {
        "icmp" => vec![L4::Protocol { name: "icmp", family: Some(Family::V4) }],
        "icmpv6" => vec![L4::Protocol { name: "icmpv6", family: Some(Family::V6) }],
        "igmp" => vec![L4::Protocol { name: "igmp", family: Some(Family::V4) }],
        "tcp" => vec![L4::Protocol { name: "tcp", family: None }],
        "udp" => vec![L4::Protocol { name: "udp", family: None }],
        "ip" => vec![L4::Family(Family::V4)],
        "ipv6" => vec![L4::Family(Family::V6)],
        _ => return None,
    })
}

/// A named set of destination addresses of one IP version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddrSet {
    pub name: String,
    pub family: Family,
    /// Static addresses and CIDR blocks (`flags interval`); otherwise the
    /// set holds single addresses that dnsmasq adds as names resolve.
    pub interval: bool,
    pub elements: Vec<IpNet>,
}

/// Where an accept rule lets traffic go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dest {
    Any,
    /// The set of this name in the device's `sets`.
    Set(String, Family),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accept {
    pub dest: Dest,
    /// A second set the destination must also be in (a `country` rule's
    /// blocks, of the destination set's IP version).
    pub within: Option<String>,
    pub l4: L4,
    /// The expected rule it comes from, e.g. `expected[2] tuya-mqtt`.
    pub comment: String,
}

/// Host names (as dnsmasq patterns) whose answers go into these sets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameFeed {
    pub names: Vec<HostName>,
    pub v4_set: String,
    pub v6_set: String,
}

/// A list of networks a device must not reach (e.g. a country's blocks),
/// checked before the expected rules and given the plan's action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blocklist {
    /// Names its sets and counters, e.g. `country-cn`.
    pub name: Name,
    pub nets: Vec<IpNet>,
}

/// A blocklist's sets for one device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub label: String,
    pub sets: Vec<(String, Family)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DevicePlan {
    pub profile: Name,
    /// `[a-z0-9_]` identifier, unique in the plan.
    pub ident: String,
    pub macs: Vec<MacPattern>,
    pub ips: Vec<IpAddr>,
    pub sets: Vec<AddrSet>,
    pub blocks: Vec<Block>,
    pub accepts: Vec<Accept>,
    pub feeds: Vec<NameFeed>,
}

/// `--dns-pin`: the resolver a device's DNS is redirected to, per IP version.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DnsPin {
    pub v4: Option<Ipv4Addr>,
    pub v6: Option<Ipv6Addr>,
}

impl DnsPin {
    pub fn from_addrs(addrs: &[IpAddr]) -> Result<DnsPin, Error> {
        let mut pin = DnsPin::default();
        for addr in addrs {
            let taken = match addr {
                IpAddr::V4(a) => pin.v4.replace(*a).is_some(),
                IpAddr::V6(a) => pin.v6.replace(*a).is_some(),
            };
            if taken {
                return Err(Error::Usage("--dns-pin: give at most one IPv4 and one IPv6 address".into()));
            }
            if addr.is_unspecified() || addr.is_multicast() {
                return Err(Error::Usage(format!("--dns-pin {addr}: want a resolver's unicast address")));
            }
        }
        Ok(pin)
    }

    pub fn is_set(&self) -> bool {
        self.v4.is_some() || self.v6.is_some()
    }
}

/// Everything the renderers need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub devices: Vec<DevicePlan>,
    pub action: Action,
    pub dns_pin: DnsPin,
}

/// The inputs of [`build`] besides the profiles.
#[derive(Clone)]
pub struct Options<'a> {
    pub action: Action,
    pub dns_pin: DnsPin,
    /// DNS answers seen in captures, seeding the host-name sets.
    pub resolved: &'a Resolved,
    /// Networks every device is kept from (per-device sets).
    pub blocklists: Vec<Blocklist>,
    /// A `--geoip` database whose blocks join the embedded ones for `country` rules.
    pub geoip: Option<&'a Countries>,
}

/// The blocks registered to `countries`: the embedded (IPv4) data, plus a
/// `--geoip` database's of both versions.
pub fn country_blocks(countries: &[Country], geoip: Option<&Countries>) -> Vec<IpNet> {
    let extra: Vec<IpNet> = geoip.map(|db| countries.iter().flat_map(|&c| db.blocks(c)).collect()).unwrap_or_default();
    country::blocks(countries, &extra)
}

/// Builds the plan; a rule with no firewall equivalent is an
/// [`Error::NoEquivalent`] naming it.
pub fn build(profiles: &[Profile], opts: &Options) -> Result<Plan, Error> {
    let mut idents = BTreeSet::new();
    let mut devices = Vec::new();
    for profile in profiles {
        let Some(device) = &profile.device else {
            return Err(Error::Usage(format!("{}: profile {} has no device: a firewall needs its MAC or IP", profile.path.display(), profile.name)));
        };
        if device.mac.is_empty() && device.ip.is_empty() {
            return Err(Error::Usage(format!("{}: device has neither mac nor ip", profile.path.display())));
        }
        let ident = unique(identifier(&profile.name.0), &mut idents);
        let mut plan = DevicePlan {
            profile: profile.name.clone(),
            ident,
            macs: device.mac.clone(),
            ips: device.ip.clone(),
            sets: Vec::new(),
            blocks: Vec::new(),
            accepts: Vec::new(),
            feeds: Vec::new(),
        };
        for list in &opts.blocklists {
            add_block(&mut plan, list);
        }
        for (i, rule) in profile.expected.iter().enumerate() {
            add_rule(&mut plan, i, rule, opts)?;
        }
        devices.push(plan);
    }
    Ok(Plan { devices, action: opts.action, dns_pin: opts.dns_pin })
}

fn add_block(plan: &mut DevicePlan, list: &Blocklist) {
    let base = format!("{}_block_{}", plan.ident, identifier(&list.name.0));
    let mut sets = Vec::new();
    for family in [Family::V4, Family::V6] {
        let elements: Vec<IpNet> = list.nets.iter().filter(|n| Family::of_net(n) == family).copied().collect();
        if elements.is_empty() {
            continue;
        }
        let name = format!("{base}_{}", family.suffix());
        plan.sets.push(AddrSet { name: name.clone(), family, interval: true, elements: IpNet::aggregate(&elements) });
        sets.push((name, family));
    }
    plan.blocks.push(Block { label: format!("block {}", list.name), sets });
}

fn add_rule(plan: &mut DevicePlan, index: usize, rule: &Rule, opts: &Options) -> Result<(), Error> {
    let resolved = opts.resolved;
    let no_equivalent = |what: String| Error::NoEquivalent(format!("rule {}: {what} has no firewall equivalent", rule.label()));
    if let Some(filter) = &rule.filter {
        return Err(no_equivalent(format!("display filter {:?}", filter.0)));
    }
    if !rule.mac.is_empty() {
        return Err(no_equivalent("`mac` (a router matches the device, not its peers, by MAC)".into()));
    }
    let mut l4 = vec![L4::Any];
    if rule.has_ports() {
        l4 = rule
            .tcp
            .iter()
            .map(|p| L4::Ports { transport: Transport::Tcp, ranges: vec![*p], family: None })
            .chain(rule.udp.iter().map(|p| L4::Ports { transport: Transport::Udp, ranges: vec![*p], family: None }))
            .collect();
    }
    if !rule.protocols.is_empty() {
        let mut by_protocol = Vec::new();
        for p in &rule.protocols {
            let mapped = protocol_l4(&p.0).ok_or_else(|| no_equivalent(format!("protocol {} (no well-known port or IP protocol)", p.0)))?;
            by_protocol.extend(mapped);
        }
        l4 = l4.iter().flat_map(|a| by_protocol.iter().filter_map(move |b| a.intersect(b))).collect();
        if l4.is_empty() {
            return Err(no_equivalent("its protocols and ports never match together: it".into()));
        }
    }
    let l4 = merge_ports(l4);
    let label = match &rule.name {
        Some(n) => format!("expected[{index}] {n}"),
        None => format!("expected[{index}]"),
    };
    let base = format!("{}_{index}{}", plan.ident, rule.name.as_ref().map_or(String::new(), |n| format!("_{}", identifier(&n.0))));

    let mut dests = Vec::new();
    if rule.host.is_empty() {
        dests.push(Dest::Any);
    }
    for family in [Family::V4, Family::V6] {
        let nets: Vec<IpNet> = rule.nets().filter(|n| Family::of_net(n) == family).collect();
        if !nets.is_empty() {
            let name = format!("{base}_net{}", family.suffix());
            plan.sets.push(AddrSet { name: name.clone(), family, interval: true, elements: IpNet::aggregate(&nets) });
            dests.push(Dest::Set(name, family));
        }
    }
    let names: Vec<HostName> = rule.names().cloned().collect();
    if !names.is_empty() {
        let mut set_names = Vec::new();
        for family in [Family::V4, Family::V6] {
            let name = format!("{base}_dns{}", family.suffix());
            let seeds: BTreeSet<IpNet> = names
                .iter()
                .flat_map(|n| resolved.addresses_for(n))
                .filter(|a| Family::of(a) == family)
                .map(IpNet::from)
                .collect();
            plan.sets.push(AddrSet { name: name.clone(), family, interval: false, elements: seeds.into_iter().collect() });
            dests.push(Dest::Set(name.clone(), family));
            set_names.push(name);
        }
        let v6_set = set_names.pop().expect("two sets");
        let v4_set = set_names.pop().expect("two sets");
        plan.feeds.push(NameFeed { names, v4_set, v6_set });
    }
    // `country`: the destination must also be in the countries' blocks. An
    // IP version with no blocks (the embedded data has IPv4 only) accepts nothing.
    let mut within: Vec<(Family, String)> = Vec::new();
    if !rule.country.is_empty() {
        let blocks = country_blocks(&rule.country, opts.geoip);
        for family in [Family::V4, Family::V6] {
            let nets: Vec<IpNet> = blocks.iter().filter(|n| Family::of_net(n) == family).copied().collect();
            if !nets.is_empty() {
                let name = format!("{base}_cc{}", family.suffix());
                plan.sets.push(AddrSet { name: name.clone(), family, interval: true, elements: nets });
                within.push((family, name));
            }
        }
    }
    let targets: Vec<(Dest, Option<String>)> = if rule.country.is_empty() {
        dests.into_iter().map(|d| (d, None)).collect()
    } else {
        dests
            .into_iter()
            .flat_map(|d| match d {
                Dest::Any => within.iter().map(|(f, n)| (Dest::Set(n.clone(), *f), None)).collect::<Vec<_>>(),
                Dest::Set(name, f) => {
                    within.iter().filter(|(wf, _)| *wf == f).map(|(_, w)| (Dest::Set(name.clone(), f), Some(w.clone()))).collect()
                }
            })
            .collect()
    };
    for (dest, within) in &targets {
        for l4 in &l4 {
            let fits = match dest {
                Dest::Any => true,
                Dest::Set(_, family) => l4.fits(*family),
            };
            if fits {
                plan.accepts.push(Accept { dest: dest.clone(), within: within.clone(), l4: l4.clone(), comment: label.clone() });
            }
        }
    }
    Ok(())
}

/// One `Ports` per transport and IP version (nft matches a port set in one rule).
fn merge_ports(l4: Vec<L4>) -> Vec<L4> {
    let mut out: Vec<L4> = Vec::new();
    for item in l4 {
        if let L4::Ports { transport, ranges, family } = &item {
            if let Some(L4::Ports { ranges: existing, .. }) =
                out.iter_mut().find(|o| matches!(o, L4::Ports { transport: t, family: f, .. } if t == transport && f == family))
            {
                for r in ranges {
                    if !existing.contains(r) {
                        existing.push(*r);
                    }
                }
                continue;
            }
        }
        if !out.contains(&item) {
            out.push(item);
        }
    }
    for item in &mut out {
        if let L4::Ports { ranges, .. } = item {
            *ranges = merge_ranges(ranges);
        }
    }
    out
}

/// Sorted, with overlapping and adjacent ranges joined (nft refuses
/// overlapping elements in one set).
fn merge_ranges(ranges: &[PortRange]) -> Vec<PortRange> {
    let mut sorted = ranges.to_vec();
    sorted.sort();
    let mut out: Vec<PortRange> = Vec::new();
    for r in sorted {
        match out.last_mut() {
            Some(last) if u32::from(r.first) <= u32::from(last.last) + 1 => last.last = last.last.max(r.last),
            _ => out.push(r),
        }
    }
    out
}

/// An nft/dnsmasq-safe identifier: lower-case letters, digits and `_`,
/// starting with a letter.
pub fn identifier(name: &str) -> String {
    let mut id: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    if !id.starts_with(|c: char| c.is_ascii_lowercase()) {
        id.insert_str(0, "d_");
    }
    id
}

fn unique(id: String, taken: &mut BTreeSet<String>) -> String {
    let mut candidate = id.clone();
    let mut n = 2;
    while !taken.insert(candidate.clone()) {
        candidate = format!("{id}_{n}");
        n += 1;
    }
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_safe_and_unique() {
        assert_eq!(identifier("roborock-tuya"), "roborock_tuya");
        assert_eq!(identifier("0day.Cam"), "d_0day_cam");
        let mut taken = BTreeSet::new();
        assert_eq!(unique("a_b".into(), &mut taken), "a_b");
        assert_eq!(unique("a_b".into(), &mut taken), "a_b_2");
    }

    #[test]
    fn protocols_and_ports_intersect() {
        let dns = protocol_l4("dns").unwrap();
        let udp53 = L4::Ports { transport: Transport::Udp, ranges: vec![PortRange { first: 50, last: 60 }], family: None };
        let both: Vec<L4> = dns.iter().filter_map(|d| d.intersect(&udp53)).collect();
        assert_eq!(both, vec![L4::Ports { transport: Transport::Udp, ranges: vec![PortRange { first: 53, last: 53 }], family: None }]);
        // `protocols: [ipv6]` with a port keeps the port to IPv6.
        let v6 = protocol_l4("ipv6").unwrap();
        let v6_53: Vec<L4> = v6.iter().filter_map(|f| f.intersect(&udp53)).collect();
        assert!(v6_53.iter().all(|l| !l.fits(Family::V4) && l.fits(Family::V6)), "{v6_53:?}");
        assert!(protocol_l4("tuya").is_none());
        assert!(protocol_l4("arp").is_none());
    }

    #[test]
    fn ranges_merge() {
        let r = |first, last| PortRange { first, last };
        assert_eq!(merge_ranges(&[r(10, 20), r(5, 9), r(30, 30), r(15, 25)]), vec![r(5, 25), r(30, 30)]);
    }
}
