//! `filtergen suricata`: a profile's rules as Suricata signatures.
//!
//! Per device (its `device.ip` addresses):
//! - every `ignore`/`expected` rule becomes silent (`noalert`) signatures
//!   setting the flowbit `phonehome.PROFILE.ok` on the flows it describes:
//!   by address and port in the packet header, and by name where the flow
//!   carries one (TLS SNI, HTTP Host, DNS question);
//! - catch-all signatures raise `phonehome PROFILE: unexpected destination`
//!   once per flow (flowbit `phonehome.PROFILE.alerted`) on a flow without
//!   the `ok` bit. TCP flows on ports where a rule names hosts wait until
//!   Suricata knows the application protocol, so the name had its chance;
//! - `phonehome PROFILE: hard-coded resolver` on DNS to a resolver that is
//!   neither private, nor a host the profile allows on port 53, nor given
//!   with `--local-resolver`.
//!
//! Both alerts look at a flow's first minute only (a `flow.age`
//! prefilter): every flow is sorted by then, and the long-lived flows a
//! device keeps open cost no signature work after it.
//!
//! Everything lives inline in one rules file (no address variables, no
//! datasets), so `suricata -S DIR/phonehome.rules` with a stock
//! `suricata.yaml` loads it. Every value written is one of the typed
//! values of [`crate::rules`], and passes [`quote`] or [`check_token`]
//! again on the way out.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;

pub mod signatures;
use crate::error::Error;
use crate::profile::resolve::Resolved;
use crate::profile::rules::{HostName, PortRange, Profile, Rule};
use crate::wellknown::{self, Transport};

/// The rules file `-o DIR` writes.
pub const RULES_FILE: &str = "phonehome.rules";
/// The `suricata.yaml` snippet `-o DIR` writes beside it.
pub const SNIPPET_FILE: &str = "suricata-phonehome.yaml";

/// sids of the profile signatures: `PROFILE_SID_BASE + slot * SIDS_PER_PROFILE + n`.
pub const PROFILE_SID_BASE: u32 = 1_800_000;
pub const SIDS_PER_PROFILE: u32 = 1000;
pub const PROFILE_SLOTS: u32 = 200;
/// Offsets within a profile's range: alerts below, silent rules from here.
const FIRST_ALLOW_SID: u32 = 100;

/// The alerting signatures look at a flow's first seconds only. A flow is
/// sorted by then: by its addresses and ports (first packet), its DNS
/// question, TLS SNI or HTTP Host (first data), or, on other TCP, by the
/// application protocol Suricata detects (first data both ways). As a
/// prefilter (`flow.age`, Suricata 7 and 8) it keeps the long-lived flows
/// a device keeps open from running these signatures on every packet.
const DECIDE_WITHIN_SECONDS: u32 = 60;

/// `flow.age:<N; prefilter;`: the window above, as the signature's prefilter.
fn decide_window() -> String {
    format!("flow.age:<{DECIDE_WITHIN_SECONDS}; prefilter; ")
}

/// What `generate` needs besides the profiles.
#[derive(Default)]
pub struct Options {
    pub resolved: Resolved,
    pub local_resolvers: Vec<IpAddr>,
}

/// The rules text and what could not be expressed.
#[derive(Debug)]
pub struct Generated {
    pub rules: String,
    pub warnings: Vec<String>,
    pub signatures: usize,
}

/// How to load the rules from a sensor's own `suricata.yaml`.
pub(crate) fn snippet(rules: &Path) -> String {
    let absolute = std::path::absolute(rules).unwrap_or_else(|_| rules.to_path_buf());
    format!(
        "# phonehome: add this rules file to the sensor's suricata.yaml (or run\n\
         # `suricata -S {0}` to load it alone). It needs nothing else: addresses\n\
         # are inline, flowbits are its own (phonehome.*), classtypes are stock.\n\
         rule-files:\n  - {0}\n",
        absolute.display()
    )
}

/// The rules file for these profiles.
pub fn generate(profiles: &[Profile], options: &Options) -> Result<Generated, Error> {
    let mut text = String::new();
    let mut warnings = Vec::new();
    let names: Vec<&str> = profiles.iter().map(|p| p.name.0.as_str()).collect();
    let slots = slots(&names)?;
    text.push_str("# phonehome rules for Suricata, written by `filtergen suricata`.\n");
    text.push_str("# Load with: suricata -S phonehome.rules (or list this file under rule-files).\n");
    let _ = writeln!(text, "# Signatures that need no profile: sids {}-{}.", signatures::SID_FIRST, signatures::SID_LAST);
    let mut count = 0;
    for sig in signatures::all() {
        text.push_str(&sig);
        text.push('\n');
        count += 1;
    }
    for (profile, slot) in profiles.iter().zip(slots) {
        let mut p = ProfileRules::new(profile, slot)?;
        p.emit(options, &mut warnings)?;
        let _ = writeln!(text, "\n# profile {} (sids {}-{})", p.name, p.base, p.base + SIDS_PER_PROFILE - 1);
        count += p.lines.len();
        for line in p.lines {
            text.push_str(&line);
            text.push('\n');
        }
    }
    Ok(Generated { rules: text, warnings, signatures: count })
}

/// A stable slot per profile name: FNV-1a of the name, the next free slot on
/// a collision (profiles taken in name order, so the same set of profiles
/// always gets the same sids).
fn slots(names: &[&str]) -> Result<Vec<u32>, Error> {
    if names.len() > PROFILE_SLOTS as usize {
        return Err(Error::Usage(format!("at most {PROFILE_SLOTS} profiles in one rules file")));
    }
    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by_key(|&i| names[i]);
    let mut taken = BTreeSet::new();
    let mut out = vec![0; names.len()];
    for i in order {
        if names[..i].contains(&names[i]) {
            return Err(Error::Usage(format!("profile {} given twice", names[i])));
        }
        let hash = names[i].bytes().fold(0x811c_9dc5u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
        let mut slot = hash % PROFILE_SLOTS;
        while !taken.insert(slot) {
            slot = (slot + 1) % PROFILE_SLOTS;
        }
        out[i] = slot;
    }
    Ok(out)
}

/// Wireshark protocol names a profile's `protocols` key may use, as
/// Suricata can see them. One table for the generator and `report --eve`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    /// Any IP traffic.
    AnyIp,
    /// This IP protocol number.
    IpProto(u8),
    /// TCP and/or UDP on these ports (either side).
    Ports { tcp: Vec<PortRange>, udp: Vec<PortRange> },
    /// Not IP (ARP, STP, …): Suricata's signatures never see it.
    NotIp,
}

/// How Suricata sees a Wireshark protocol, if we know. Ports are those
/// the protocol runs on (Wireshark's and the phonehome plugin's
/// registrations, and usual ports), from [`wellknown`].
pub fn seen_as(protocol: &str) -> Option<Seen> {
    let ranges = |t: Transport| wellknown::ranges(protocol, t).map(PortRange::from).collect();
    match protocol {
        "ip" | "ipv6" => Some(Seen::AnyIp),
        "tcp" => Some(Seen::IpProto(6)),
        "udp" => Some(Seen::IpProto(17)),
        "icmp" => Some(Seen::IpProto(1)),
        "igmp" => Some(Seen::IpProto(2)),
        "icmpv6" => Some(Seen::IpProto(58)),
        _ if wellknown::has_ports(protocol) => Some(Seen::Ports { tcp: ranges(Transport::Tcp), udp: ranges(Transport::Udp) }),
        "eth" | "arp" | "stp" | "cdp" | "lldp" | "llc" | "vlan" | "eapol" | "lacp" | "loop" | "ethertype" => {
            Some(Seen::NotIp)
        }
        _ => None,
    }
}

/// One condition of a rule besides its hosts.
#[derive(Clone, Debug)]
enum Cond {
    Any,
    IpProto(u8),
    /// `tcp` or `udp` with its ports (empty: any port).
    Transport(&'static str, Vec<PortRange>),
}

struct ProfileRules<'a> {
    profile: &'a Profile,
    name: String,
    base: u32,
    device: String,
    lines: Vec<String>,
    next_allow: u32,
    ok: String,
    alerted: String,
}

impl<'a> ProfileRules<'a> {
    fn new(profile: &'a Profile, slot: u32) -> Result<Self, Error> {
        let name = check_token(&profile.name.0)?.to_string();
        let ips = profile.device.as_ref().map(|d| d.ip.clone()).unwrap_or_default();
        if ips.is_empty() {
            return Err(Error::NoEquivalent(format!(
                "profile {name}: Suricata matches devices by address; give device.ip (the MAC alone cannot be matched)"
            )));
        }
        let device = address_list(&ips.iter().map(|a| IpNet::from(*a)).collect::<Vec<_>>());
        Ok(ProfileRules {
            profile,
            base: PROFILE_SID_BASE + slot * SIDS_PER_PROFILE,
            device,
            lines: Vec::new(),
            next_allow: FIRST_ALLOW_SID,
            ok: format!("phonehome.{name}.ok"),
            alerted: format!("phonehome.{name}.alerted"),
            name,
        })
    }

    fn push(&mut self, action_header: &str, options: &str, sid_offset: u32) {
        self.lines.push(format!("{action_header} ({options} sid:{}; rev:1;)", self.base + sid_offset));
    }

    fn emit(&mut self, options: &Options, warnings: &mut Vec<String>) -> Result<(), Error> {
        let mut name_ports: Option<Vec<PortRange>> = None; // TCP ports where a rule names hosts
        let mut any_name_port = false;
        let rules: Vec<&Rule> = self.profile.ignore.iter().chain(&self.profile.expected).collect();
        for rule in rules {
            let label = rule_label(rule);
            let Some(conds) = self.conditions(rule, warnings) else { continue };
            let names: Vec<&HostName> = rule.names().collect();
            let mut nets: Vec<IpNet> = rule.nets().collect();
            for n in &names {
                nets.extend(options.resolved.addresses_for(n).into_iter().map(IpNet::from));
            }
            nets.sort();
            nets.dedup();
            let hosts = if rule.host.is_empty() { Some("any".to_string()) } else if nets.is_empty() { None } else { Some(address_list(&nets)) };
            let meta = format!("metadata:phonehome_profile {}, phonehome_rule {};", self.name, label);
            let set = format!("flowbits:set,{}; flowbits:noalert; noalert;", self.ok);
            let dev = self.device.clone();
            for cond in &conds {
                if let Some(hosts) = &hosts {
                    match cond {
                        Cond::Any => self.allow(&format!("alert ip {dev} any <> {hosts} any"), &format!("{set} {meta}"))?,
                        Cond::IpProto(n) => self.allow(&format!("alert ip {dev} any <> {hosts} any"), &format!("ip_proto:{n}; {set} {meta}"))?,
                        Cond::Transport(t, ports) if ports.is_empty() => {
                            self.allow(&format!("alert {t} {dev} any <> {hosts} any"), &format!("{set} {meta}"))?
                        }
                        Cond::Transport(t, ports) => {
                            let p = port_list(ports);
                            // The remote serves the port, or the device does.
                            self.allow(&format!("alert {t} {dev} any <> {hosts} {p}"), &format!("{set} {meta}"))?;
                            self.allow(&format!("alert {t} {dev} {p} <> {hosts} any"), &format!("{set} {meta}"))?;
                        }
                    }
                }
                if names.is_empty() {
                    continue;
                }
                let (tcp, udp) = match cond {
                    Cond::Any => (Some("any".to_string()), Some("any".to_string())),
                    Cond::IpProto(6) => (Some("any".to_string()), None),
                    Cond::IpProto(17) => (None, Some("any".to_string())),
                    Cond::IpProto(_) => (None, None),
                    Cond::Transport("tcp", ports) => (Some(port_spec(ports)), None),
                    Cond::Transport(_, ports) => (None, Some(port_spec(ports))),
                };
                if let Some(p) = &tcp {
                    match cond {
                        Cond::Transport(_, ports) if !ports.is_empty() => name_ports.get_or_insert_with(Vec::new).extend(ports),
                        _ => any_name_port = true,
                    }
                    for n in &names {
                        let (sni, host) = (name_match(n, true)?, name_match(n, false)?);
                        self.allow(&format!("alert tls {dev} any -> any {p}"), &format!("tls.sni; {sni} {set} {meta}"))?;
                        self.allow(&format!("alert http {dev} any -> any {p}"), &format!("http.host; {host} {set} {meta}"))?;
                    }
                }
                if let Some(p) = &udp {
                    for n in &names {
                        let m = name_match(n, true)?;
                        self.allow(&format!("alert dns {dev} any -> any {p}"), &format!("dns.query; {m} {set} {meta}"))?;
                    }
                }
            }
        }
        let late = if any_name_port { Some("any".to_string()) } else { name_ports.map(|p| port_list(&p)) };
        self.catch_all(late.as_deref());
        self.resolver(options)?;
        Ok(())
    }

    /// The conditions a rule's ports and protocols make, or None (with a
    /// warning) when Suricata cannot evaluate the rule.
    fn conditions(&self, rule: &Rule, warnings: &mut Vec<String>) -> Option<Vec<Cond>> {
        let label = format!("profile {}, rule {}", self.name, rule.label());
        if rule.filter.is_some() {
            warnings.push(format!("{label}: a raw display filter has no Suricata equivalent; rule left out (report does not evaluate it either)"));
            return None;
        }
        if !rule.mac.is_empty() {
            warnings.push(format!("{label}: Suricata signatures cannot match MAC addresses; rule left out"));
            return None;
        }
        if !rule.country.is_empty() {
            warnings.push(format!(
                "{label}: `country` is not translated (Suricata's geoip keyword needs a GeoIP2 database in suricata.yaml); rule left out"
            ));
            return None;
        }
        if rule.has_ports() && !rule.protocols.is_empty() {
            warnings.push(format!("{label}: ports together with protocols are not translated; rule left out"));
            return None;
        }
        let mut conds = Vec::new();
        if rule.has_ports() {
            if !rule.tcp.is_empty() {
                conds.push(Cond::Transport("tcp", rule.tcp.clone()));
            }
            if !rule.udp.is_empty() {
                conds.push(Cond::Transport("udp", rule.udp.clone()));
            }
            return Some(conds);
        }
        if rule.protocols.is_empty() {
            return Some(vec![Cond::Any]);
        }
        for p in &rule.protocols {
            match seen_as(&p.0) {
                Some(Seen::AnyIp) => conds.push(Cond::Any),
                Some(Seen::IpProto(n)) => conds.push(Cond::IpProto(n)),
                Some(Seen::Ports { tcp, udp }) => {
                    if !tcp.is_empty() {
                        conds.push(Cond::Transport("tcp", tcp));
                    }
                    if !udp.is_empty() {
                        conds.push(Cond::Transport("udp", udp));
                    }
                }
                Some(Seen::NotIp) => {} // never IP traffic: nothing for Suricata to pass
                None => warnings.push(format!("{label}: protocol {} has no Suricata equivalent here; left out", p.0)),
            }
        }
        Some(conds)
    }

    fn allow(&mut self, header: &str, options: &str) -> Result<(), Error> {
        if self.next_allow >= SIDS_PER_PROFILE {
            return Err(Error::NoEquivalent(format!(
                "profile {}: more than {} signatures; split the profile",
                self.name,
                SIDS_PER_PROFILE - FIRST_ALLOW_SID
            )));
        }
        let sid = self.next_allow;
        self.next_allow += 1;
        self.push(header, options, sid);
        Ok(())
    }

    /// One alert per flow without the `ok` bit. `late`: TCP ports where a
    /// name may still make the flow expected once the application
    /// protocol is known.
    fn catch_all(&mut self, late: Option<&str>) {
        let dev = self.device.clone();
        let msg = quote(&format!("phonehome {}: unexpected destination", self.name));
        let once = format!(
            "flowbits:isnotset,{ok}; flowbits:isnotset,{al}; flowbits:set,{al}; metadata:phonehome_profile {n}, phonehome_rule unexpected-destination; classtype:policy-violation;",
            ok = self.ok,
            al = self.alerted,
            n = self.name
        );
        let window = decide_window();
        let opts = |extra: &str| format!("msg:{msg}; {window}{extra}{once}");
        self.push(&format!("alert ip {dev} any -> any any"), &opts("ip_proto:!6; "), 0);
        self.push(&format!("alert ip any any -> {dev} any"), &opts("ip_proto:!6; "), 1);
        match late {
            None => {
                self.push(&format!("alert tcp {dev} any -> any any"), &opts(""), 2);
                self.push(&format!("alert tcp any any -> {dev} any"), &opts(""), 3);
            }
            Some(ports) => {
                if ports != "any" {
                    self.push(&format!("alert tcp {dev} any -> any !{ports}"), &opts(""), 2);
                    self.push(&format!("alert tcp any !{ports} -> {dev} any"), &opts(""), 3);
                }
                self.push(&format!("alert tls {dev} any -> any {ports}"), &opts("flow:to_server; "), 4);
                self.push(&format!("alert http {dev} any -> any {ports}"), &opts("flow:to_server; "), 5);
                self.push(
                    &format!("alert tcp {dev} any -> any {ports}"),
                    &opts("flow:to_server; app-layer-protocol:!tls; app-layer-protocol:!http; "),
                    6,
                );
                self.push(&format!("alert tcp any {ports} -> {dev} any"), &opts("flow:to_server; "), 7);
            }
        }
    }

    /// DNS to a resolver that is not allowed.
    fn resolver(&mut self, options: &Options) -> Result<(), Error> {
        let mut allowed: Vec<IpNet> = PRIVATE.iter().map(|n| n.parse().expect("constant")).collect();
        allowed.extend(options.local_resolvers.iter().map(|a| IpNet::from(*a)));
        for rule in self.profile.ignore.iter().chain(&self.profile.expected) {
            let dns = rule.tcp.iter().chain(&rule.udp).any(|p| p.contains(wellknown::DNS_PORT)) || rule.protocols.iter().any(|p| p.0 == "dns");
            if dns {
                allowed.extend(rule.nets());
                for n in rule.names() {
                    allowed.extend(options.resolved.addresses_for(n).into_iter().map(IpNet::from));
                }
            }
        }
        allowed.sort();
        allowed.dedup();
        let dev = self.device.clone();
        let msg = quote(&format!("phonehome {}: hard-coded resolver", self.name));
        let bit = format!("phonehome.{}.resolver", self.name);
        let opts = format!(
            "msg:{msg}; {}flow:to_server; flowbits:isnotset,{bit}; flowbits:set,{bit}; metadata:phonehome_profile {}, phonehome_rule hard-coded-resolver; classtype:policy-violation;",
            decide_window(),
            self.name
        );
        self.push(&format!("alert dns {dev} any -> !{} any", address_list(&allowed)), &opts, 10);
        Ok(())
    }
}

/// Addresses a resolver may have without being "hard-coded": private,
/// link-local, loopback (as `report` calls a resolver local).
const PRIVATE: [&str; 8] =
    ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "127.0.0.0/8", "fc00::/7", "fe80::/10", "::1/128"];

/// A rule's name for metadata: its `name`, else its place (`expected-3`).
fn rule_label(rule: &Rule) -> String {
    let raw = match &rule.name {
        Some(n) => n.0.clone(),
        None => rule.origin.rsplit(' ').next().unwrap_or("rule").replace(['[', ']'], "-").trim_end_matches('-').to_string(),
    };
    let clean: String = raw.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '-' }).collect();
    if clean.is_empty() {
        "rule".into()
    } else {
        clean
    }
}

/// A sticky-buffer match for a host name: exact, or a `*.` wildcard's
/// suffix with at least one character before the dot. `nocase` where the
/// buffer keeps the sender's case (SNI, DNS); `http.host` is lower-cased
/// by Suricata, and Suricata refuses `nocase` there.
fn name_match(n: &HostName, nocase: bool) -> Result<String, Error> {
    check_hostname(&n.domain)?;
    let nocase = if nocase { " nocase;" } else { "" };
    Ok(if n.wildcard {
        let suffix = format!(".{}", n.domain);
        format!("content:{};{nocase} endswith; bsize:>{};", quote(&suffix), suffix.len())
    } else {
        format!("content:{};{nocase} bsize:{};", quote(&n.domain), n.domain.len())
    })
}

/// `[a,b/24]` (Suricata address list).
fn address_list(nets: &[IpNet]) -> String {
    let items: Vec<String> = nets
        .iter()
        .map(|n| if n.prefix_len() == n.max_prefix_len() { n.addr().to_string() } else { n.to_string() })
        .collect();
    format!("[{}]", items.join(","))
}

fn port_spec(ports: &[PortRange]) -> String {
    if ports.is_empty() {
        "any".into()
    } else {
        port_list(ports)
    }
}

/// `[80,8000:8004]` (Suricata port list).
fn port_list(ports: &[PortRange]) -> String {
    let mut sorted = ports.to_vec();
    sorted.sort();
    sorted.dedup();
    let items: Vec<String> =
        sorted.iter().map(|p| if p.first == p.last { p.first.to_string() } else { format!("{}:{}", p.first, p.last) }).collect();
    format!("[{}]", items.join(","))
}

/// A double-quoted rule string: `"`, `;` and `\` escaped, control
/// characters refused by [`check_text`] beforehand (they never reach here
/// from a profile; a message of ours has none).
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | ';' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A bare token (flowbit part, metadata value): letters, digits, `.`, `_`, `-`.
fn check_token(s: &str) -> Result<&str, Error> {
    let ok = !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(s)
    } else {
        Err(Error::Usage(format!("{s:?} cannot be written into a Suricata rule: use letters, digits, '.', '_' and '-'")))
    }
}

fn check_hostname(s: &str) -> Result<(), Error> {
    let ok = !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(Error::Usage(format!("host name {s:?} cannot be written into a Suricata rule")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(text: &str) -> Profile {
        crate::profile::load::parse(text, Path::new("t.yaml"), None).unwrap()
    }

    const ROBOROCK: &str = "name: robo\ndevice: {ip: [10.10.10.8]}\nexpected:\n  - name: dns\n    udp: [53]\n  - name: mqtt\n    host: [m2.tuyaeu.com, 3.67.242.33, \"*.io.mi.com\"]\n    tcp: [8883]\n  - name: ping\n    protocols: [icmp, arp]\n";

    #[test]
    fn expected_rules_set_the_ok_bit_and_one_catch_all_alerts() {
        let mut resolved = Resolved::none();
        resolved.add("m2.tuyaeu.com", "35.156.44.172".parse().unwrap());
        let g = generate(&[profile(ROBOROCK)], &Options { resolved, local_resolvers: vec![] }).unwrap();
        let r = &g.rules;
        assert!(r.contains("alert udp [10.10.10.8] any <> any [53] (flowbits:set,phonehome.robo.ok;"), "{r}");
        assert!(r.contains("<> [3.67.242.33,35.156.44.172] [8883]"), "resolved address joins the literal one: {r}");
        assert!(r.contains("tls.sni; content:\"m2.tuyaeu.com\"; nocase; bsize:13;"), "{r}");
        assert!(r.contains("tls.sni; content:\".io.mi.com\"; nocase; endswith; bsize:>10;"), "{r}");
        assert!(r.contains("alert ip [10.10.10.8] any <> any any (ip_proto:1;"), "{r}");
        // 8883 waits for the application protocol; other TCP does not.
        assert!(r.contains("alert tcp [10.10.10.8] any -> any ![8883] (msg:\"phonehome robo: unexpected destination\""), "{r}");
        assert!(r.contains("alert tls [10.10.10.8] any -> any [8883] (msg:"), "{r}");
        assert!(r.contains("alert dns [10.10.10.8] any -> ![10.0.0.0/8,"), "{r}");
        assert!(r.lines().filter(|l| l.contains("phonehome robo: unexpected destination")).all(|l| l.contains("flowbits:isnotset,phonehome.robo.ok;")));
        // Every alerting signature is prefiltered to a flow's first minute.
        let alerting: Vec<&str> = r.lines().filter(|l| l.contains("(msg:\"phonehome robo:")).collect();
        assert_eq!(alerting.len(), 9, "{r}"); // eight catch-alls and the resolver
        assert!(alerting.iter().all(|l| l.contains(&format!("; {}", decide_window()))), "{r}");
        let sids: BTreeSet<&str> = r.lines().filter_map(|l| l.split("sid:").nth(1)).collect();
        assert_eq!(sids.len(), r.lines().filter(|l| l.contains("sid:")).count(), "sids are unique");
    }

    #[test]
    fn allowed_resolvers_are_private_profile_and_local() {
        let p = profile("name: w\ndevice: {ip: [192.0.2.30]}\nexpected:\n  - host: [192.0.2.1]\n    udp: [53]\n");
        let g = generate(&[p], &Options { resolved: Resolved::none(), local_resolvers: vec!["198.51.100.53".parse().unwrap()] }).unwrap();
        let line = g.rules.lines().find(|l| l.contains("hard-coded resolver")).unwrap();
        assert!(line.contains("192.0.2.1,") && line.contains("198.51.100.53") && !line.contains("114.114"), "{line}");
        assert!(g.rules.contains("phonehome_rule expected-0"), "{}", g.rules);
    }

    #[test]
    fn what_suricata_cannot_see_is_said() {
        let p = profile("name: m\ndevice: {ip: [192.0.2.9]}\nignore:\n  - mac: [18:c0:4d:3b:66:d2]\n  - filter: ip.ttl == 1\n  - protocols: [nosuchproto]\n  - country: [CN]\n");
        let g = generate(&[p], &Options::default()).unwrap();
        assert_eq!(g.warnings.len(), 4, "{:?}", g.warnings);
        assert!(g.warnings[3].contains("`country` is not translated"), "{:?}", g.warnings);
        let no_ip = profile("name: n\ndevice: {mac: [64:90:c1]}\n");
        assert!(matches!(generate(&[no_ip], &Options::default()), Err(Error::NoEquivalent(_))));
    }

    #[test]
    fn hostile_values_cannot_leave_their_field() {
        // The profile loader refuses them first ...
        for host in ["\"a.com\\\"; sid:1; alert ip any any -> any any (msg:\\\"x\"", "\"a;b.com\"", "\"a)b.com\""] {
            let text = format!("name: h\ndevice: {{ip: [192.0.2.9]}}\nexpected:\n  - host: [{host}]\n");
            assert!(crate::profile::load::parse(&text, Path::new("t.yaml"), None).is_err(), "{host}");
        }
        assert!("x; sid:1".parse::<crate::profile::rules::Name>().is_err());
        // ... and the writer checks again.
        assert_eq!(quote("a\"b;c\\d\n"), "\"a\\\"b\\;c\\\\d \"");
        assert!(check_token("p; sid:1").is_err());
        assert!(check_hostname("a\"b").is_err());
        let mut resolved = Resolved::none();
        resolved.add("evil.example", "203.0.113.7".parse().unwrap());
        let p = profile("name: h.1_x-y\ndevice: {ip: [192.0.2.9, \"fd00::9\"]}\nexpected:\n  - host: [evil.example]\n");
        let g = generate(&[p], &Options { resolved, local_resolvers: vec![] }).unwrap();
        for line in g.rules.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
            assert!(line.ends_with("rev:1;)"), "{line}");
            assert_eq!(line.matches("sid:").count(), 1, "{line}");
            assert!(line.starts_with("alert ") || line.starts_with("pass "), "{line}");
        }
    }

    #[test]
    fn slots_are_stable_and_distinct() {
        let a = slots(&["a", "b", "c"]).unwrap();
        let b = slots(&["c", "a", "b"]).unwrap();
        assert_eq!((a[0], a[1], a[2]), (b[1], b[2], b[0]));
        assert!(slots(&["a", "a"]).is_err());
        let many: Vec<String> = (0..PROFILE_SLOTS).map(|i| format!("p{i}")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        let s: BTreeSet<u32> = slots(&refs).unwrap().into_iter().collect();
        assert_eq!(s.len(), PROFILE_SLOTS as usize);
    }
}
