//! Renders a [`Plan`] as nftables: a table of phonehome's own (format
//! `nft`) or chains and sets for an include that fw4 reads into its own
//! table (format `openwrt`). Names come from [`Target`], so both formats
//! are the same rules.

use std::fmt::Write;

use ipnet::IpNet;

use super::plan::{Accept, Action, Dest, DevicePlan, Family, L4, Plan};
use crate::profile::rules::{MacPattern, PortRange};
use crate::wellknown::{DHCPV6_SERVER_PORT, DHCP_SERVER_PORT, DNS_OVER_TLS_PORT, DNS_PORT};

/// Where the rules live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    /// nftables table family and name, e.g. `inet` `phonehome`.
    pub family: &'static str,
    pub table: &'static str,
    /// Put in front of every chain and set name (empty in our own table).
    pub prefix: &'static str,
    /// Whether the output declares (and atomically replaces) the table.
    pub own_table: bool,
}

/// `filtergen firewall --format nft`.
pub const OWN_TABLE: Target = Target { family: "inet", table: "phonehome", prefix: "", own_table: true };
/// `--format openwrt`: an /etc/nftables.d/ include inside fw4's table.
pub const FW4_INCLUDE: Target = Target { family: "inet", table: "fw4", prefix: "phonehome_", own_table: false };

/// Base chain priorities: before the usual `filter` and `dstnat` chains, so
/// a table shaped like fw4's (policy drop) still sees our verdicts first.
const FILTER_PRIORITY: &str = "filter - 5";
const DSTNAT_PRIORITY: &str = "dstnat - 5";

/// ICMPv6 a device needs to reach its router at all (neighbour discovery,
/// multicast listener reports).
const NEIGHBOUR_DISCOVERY: &str = "nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert, mld-listener-report, mld2-listener-report";

pub fn render(plan: &Plan, target: Target, header: &str) -> String {
    let mut body = String::new();
    let p = target.prefix;
    let ind = if target.own_table { "\t" } else { "" };
    for device in &plan.devices {
        for set in &device.sets {
            let _ = writeln!(body, "{ind}set {p}{} {{", set.name);
            let kind = match set.family {
                Family::V4 => "ipv4_addr",
                Family::V6 => "ipv6_addr",
            };
            let _ = writeln!(body, "{ind}\ttype {kind}");
            if set.interval {
                let _ = writeln!(body, "{ind}\tflags interval");
            }
            if !set.elements.is_empty() {
                let elements: Vec<String> = set.elements.iter().map(net).collect();
                let _ = writeln!(body, "{ind}\telements = {{ {} }}", elements.join(", "));
            }
            let _ = writeln!(body, "{ind}}}\n");
        }
    }
    // Dispatch: the first of a device's MACs/addresses that matches decides
    // (`goto`: no second pass for a device matched by MAC and by IP).
    let dispatch = |chain_of: &dyn Fn(&DevicePlan) -> String| -> Vec<String> {
        plan.devices.iter().flat_map(|d| device_matches(d).into_iter().map(move |m| format!("{m} goto {}", chain_of(d)))).collect()
    };
    chain(&mut body, ind, &format!("{p}forward"), Some(("filter", "forward", FILTER_PRIORITY)), &dispatch(&|d| format!("{p}dev_{}", d.ident)));
    chain(&mut body, ind, &format!("{p}input"), Some(("filter", "input", FILTER_PRIORITY)), &dispatch(&|d| format!("{p}dev_{}_router", d.ident)));
    if plan.dns_pin.is_set() {
        chain(&mut body, ind, &format!("{p}dstnat"), Some(("nat", "prerouting", DSTNAT_PRIORITY)), &dispatch(&|d| format!("{p}dev_{}_dns", d.ident)));
    }
    for device in &plan.devices {
        chain(&mut body, ind, &format!("{p}dev_{}_router", device.ident), None, &router_rules(device, p));
        chain(&mut body, ind, &format!("{p}dev_{}", device.ident), None, &device_rules(plan, device, p));
        if plan.dns_pin.is_set() {
            chain(&mut body, ind, &format!("{p}dev_{}_dns", device.ident), None, &pin_rules(plan, device));
        }
    }
    let mut out = String::from(header);
    if target.own_table {
        let t = format!("{} {}", target.family, target.table);
        // Declaring then deleting in one transaction makes the load replace
        // the table whether or not it existed: `nft -f` twice gives one copy.
        let _ = write!(out, "table {t}\ndelete table {t}\n\ntable {t} {{\n{}}}\n", body.trim_end_matches('\n').to_string() + "\n");
    } else {
        out.push_str(&body);
    }
    out
}

fn chain(out: &mut String, ind: &str, name: &str, hook: Option<(&str, &str, &str)>, rules: &[String]) {
    let _ = writeln!(out, "{ind}chain {name} {{");
    if let Some((kind, hook, priority)) = hook {
        let _ = writeln!(out, "{ind}\ttype {kind} hook {hook} priority {priority}; policy accept;");
    }
    for r in rules {
        let _ = writeln!(out, "{ind}\t{r}");
    }
    let _ = writeln!(out, "{ind}}}\n");
}

/// The matches selecting traffic from the device.
fn device_matches(d: &DevicePlan) -> Vec<String> {
    let mut out = Vec::new();
    let full: Vec<String> = d.macs.iter().filter(|m| m.is_full()).map(|m| m.to_string()).collect();
    if !full.is_empty() {
        out.push(format!("ether saddr {}", anonymous_set(&full)));
    }
    for prefix in d.macs.iter().filter(|m| !m.is_full()) {
        let (mask, value) = mac_prefix(prefix);
        out.push(format!("ether saddr & {mask} == {value}"));
    }
    for family in [Family::V4, Family::V6] {
        let addrs: Vec<String> = d.ips.iter().filter(|a| Family::of(a) == family).map(|a| a.to_string()).collect();
        if !addrs.is_empty() {
            out.push(format!("{} saddr {}", ip_keyword(family), anonymous_set(&addrs)));
        }
    }
    out
}

/// A vendor prefix as a mask and a value over the whole address.
fn mac_prefix(prefix: &MacPattern) -> (String, String) {
    let mut mask = [0u8; 6];
    let mut value = [0u8; 6];
    for (i, b) in prefix.0.iter().enumerate() {
        mask[i] = 0xff;
        value[i] = *b;
    }
    let hex = |bytes: [u8; 6]| bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":");
    (hex(mask), hex(value))
}

/// What the device may ask the router itself: DHCP, DNS and neighbour
/// discovery; then its expected rules and the verdict, as for forwarding.
fn router_rules(d: &DevicePlan, p: &str) -> Vec<String> {
    vec![
        "ct state established,related accept".into(),
        format!("udp dport {{ {DHCP_SERVER_PORT}, {DHCPV6_SERVER_PORT} }} counter accept comment \"dhcp to the router\""),
        format!("meta l4proto {{ tcp, udp }} th dport {DNS_PORT} counter accept comment \"dns to the router\""),
        format!("icmpv6 type {{ {NEIGHBOUR_DISCOVERY} }} accept"),
        format!("goto {p}dev_{}", d.ident),
    ]
}

fn device_rules(plan: &Plan, d: &DevicePlan, p: &str) -> Vec<String> {
    let mut rules = vec!["ct state established,related accept".to_string()];
    let pin = plan.dns_pin;
    if pin.is_set() {
        if let Some(a) = pin.v4 {
            rules.push(format!("ip daddr {a} meta l4proto {{ tcp, udp }} th dport {DNS_PORT} counter accept comment \"pinned resolver\""));
        }
        if let Some(a) = pin.v6 {
            rules.push(format!("ip6 daddr {a} meta l4proto {{ tcp, udp }} th dport {DNS_PORT} counter accept comment \"pinned resolver\""));
        }
        // A version without a pinned address cannot be redirected: refuse it,
        // so the device retries over the version that can.
        if pin.v4.is_none() {
            rules.push(format!("meta nfproto ipv4 meta l4proto {{ tcp, udp }} th dport {DNS_PORT} counter reject comment \"dns, no IPv4 pinned resolver\""));
        }
        if pin.v6.is_none() {
            rules.push(format!("meta nfproto ipv6 meta l4proto {{ tcp, udp }} th dport {DNS_PORT} counter reject comment \"dns, no IPv6 pinned resolver\""));
        }
        rules.push(format!("tcp dport {DNS_OVER_TLS_PORT} counter reject with tcp reset comment \"dns over tls blocked\""));
        // DNS over QUIC (RFC 9250) uses the DNS-over-TLS port number on UDP.
        rules.push(format!("udp dport {DNS_OVER_TLS_PORT} counter reject comment \"dns over quic blocked\""));
    }
    for block in &d.blocks {
        for (set, family) in &block.sets {
            if plan.action == Action::Log {
                // Logged (rate-limited, no verdict), then blocked below.
                rules.push(format!(
                    "{} daddr @{p}{set} limit rate 10/second burst 20 packets log prefix \"phonehome {} {}: \" comment \"{}\"",
                    ip_keyword(*family),
                    d.profile.0,
                    block.label,
                    block.label
                ));
            }
            for verdict in verdicts(plan.action.blocking(), &d.profile.0, &block.label) {
                rules.push(format!("{} daddr @{p}{set} {verdict}", ip_keyword(*family)));
            }
        }
    }
    rules.extend(d.accepts.iter().map(|a| accept(a, p)));
    rules.extend(verdicts(plan.action, &d.profile.0, "unexpected"));
    rules
}

/// The statements for traffic no rule allowed (`what` names the reason).
fn verdicts(action: Action, profile: &str, what: &str) -> Vec<String> {
    let comment = format!("comment \"{what}\"");
    match action {
        // Logged once per connection (established traffic was accepted
        // above), at most 10 lines a second; counted always.
        Action::Log => vec![format!("counter limit rate 10/second burst 20 packets log prefix \"phonehome {profile} {what}: \" {comment}")],
        Action::Reject => vec![
            format!("meta l4proto tcp counter reject with tcp reset {comment}"),
            format!("counter reject with icmpx admin-prohibited {comment}"),
        ],
        Action::Drop => vec![format!("counter drop {comment}")],
    }
}

fn accept(a: &Accept, p: &str) -> String {
    let mut parts = Vec::new();
    if let Dest::Set(name, family) = &a.dest {
        parts.push(format!("{} daddr @{p}{name}", ip_keyword(*family)));
        if let Some(within) = &a.within {
            parts.push(format!("{} daddr @{p}{within}", ip_keyword(*family)));
        }
    }
    match &a.l4 {
        L4::Any => {}
        L4::Family(f) => parts.push(format!("meta nfproto {}", nfproto(*f))),
        L4::Protocol { name, family } => {
            if let (Some(f), Dest::Any) = (family, &a.dest) {
                parts.push(format!("meta nfproto {}", nfproto(*f)));
            }
            parts.push(format!("meta l4proto {name}"));
        }
        L4::Ports { transport, ranges, family } => {
            if let (Some(f), Dest::Any) = (family, &a.dest) {
                parts.push(format!("meta nfproto {}", nfproto(*f)));
            }
            let ports: Vec<String> = ranges.iter().map(port).collect();
            parts.push(format!("{} dport {}", transport.as_str(), anonymous_set(&ports)));
        }
    }
    parts.push(format!("counter accept comment \"{}\"", a.comment));
    parts.join(" ")
}

/// `--dns-pin`: DNS to any other resolver is logged (the log line's DST is
/// the resolver the device tried) and redirected.
fn pin_rules(plan: &Plan, d: &DevicePlan) -> Vec<String> {
    let mut rules = Vec::new();
    let prefix = format!("phonehome {} dns redirected: ", d.profile);
    if let Some(a) = plan.dns_pin.v4 {
        rules.push(format!(
            "ip daddr != {a} meta l4proto {{ tcp, udp }} th dport {DNS_PORT} counter log prefix \"{prefix}\" dnat ip to {a} comment \"dns pinned to {a}\""
        ));
    }
    if let Some(a) = plan.dns_pin.v6 {
        rules.push(format!(
            "ip6 daddr != {a} meta l4proto {{ tcp, udp }} th dport {DNS_PORT} counter log prefix \"{prefix}\" dnat ip6 to {a} comment \"dns pinned to {a}\""
        ));
    }
    rules
}

fn ip_keyword(f: Family) -> &'static str {
    match f {
        Family::V4 => "ip",
        Family::V6 => "ip6",
    }
}

fn nfproto(f: Family) -> &'static str {
    match f {
        Family::V4 => "ipv4",
        Family::V6 => "ipv6",
    }
}

fn anonymous_set(items: &[String]) -> String {
    match items {
        [one] => one.clone(),
        _ => format!("{{ {} }}", items.join(", ")),
    }
}

fn port(r: &PortRange) -> String {
    r.to_string()
}

fn net(n: &IpNet) -> String {
    if n.prefix_len() == n.max_prefix_len() { n.addr().to_string() } else { n.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emit::firewall::plan::{build, Blocklist, DnsPin, Options};
    use crate::profile::resolve::Resolved;

    #[test]
    fn blocklists_become_per_device_interval_sets_checked_before_expected_rules() {
        let profile = crate::profile::load::parse(
            "name: cam\ndevice:\n  ip: [192.0.2.5]\nexpected:\n  - {name: ntp, protocols: [ntp]}\n  - {name: web, protocols: [ipv6], tcp: [443]}\n",
            std::path::Path::new("cam.yaml"),
            None,
        )
        .unwrap();
        let resolved = Resolved::none();
        let nets = ["203.0.113.0/25", "203.0.113.128/25", "fd00:5::/48"].iter().map(|n| n.parse().unwrap()).collect();
        let opts = Options {
            action: Action::Drop,
            dns_pin: DnsPin::default(),
            resolved: &resolved,
            blocklists: vec![Blocklist { name: "country-xx".parse().unwrap(), nets }],
            geoip: None,
        };
        let text = render(&build(&[profile], &opts).unwrap(), OWN_TABLE, "");
        assert!(text.contains("set cam_block_country_xx_4 {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = { 203.0.113.0/24 }"), "{text}");
        assert!(text.contains("set cam_block_country_xx_6 {"), "{text}");
        let block = text.find("ip daddr @cam_block_country_xx_4 counter drop comment \"block country-xx\"").expect("block rule");
        let ntp = text.find("comment \"expected[0] ntp\"").expect("ntp rule");
        assert!(block < ntp, "{text}");
        assert!(text.contains("meta nfproto ipv6 tcp dport 443 counter accept comment \"expected[1] web\""), "{text}");

        // An audit (--action log) still blocks a blocklist, and logs it first.
        let opts = Options { action: Action::Log, ..opts };
        let text = render(&build(&[profile_again()], &opts).unwrap(), OWN_TABLE, "");
        let log = text.find("ip daddr @cam_block_country_xx_4 limit rate 10/second burst 20 packets log prefix \"phonehome cam block country-xx: \"").expect("log rule");
        let reject = text.find("ip daddr @cam_block_country_xx_4 counter reject with icmpx admin-prohibited comment \"block country-xx\"").expect("reject rule");
        assert!(log < reject, "{text}");
        assert!(text.contains("log prefix \"phonehome cam unexpected: \""), "unexpected traffic is still only audited:\n{text}");
    }

    #[test]
    fn a_country_rule_accepts_only_the_countries_blocks() {
        let profile = crate::profile::load::parse(
            "name: cam\ndevice:\n  ip: [192.0.2.5]\nexpected:\n  - {name: eu, country: [DE], tcp: [443]}\n  - {name: aws, country: [DE], host: [3.64.0.0/12, 2001:db8::/32]}\n",
            std::path::Path::new("cam.yaml"),
            None,
        )
        .unwrap();
        let resolved = Resolved::none();
        let opts = Options { action: Action::Reject, dns_pin: DnsPin::default(), resolved: &resolved, blocklists: Vec::new(), geoip: None };
        let plan = build(&[profile], &opts).unwrap();
        let de = plan.devices[0].sets.iter().find(|s| s.name == "cam_0_eu_cc4").expect("the DE set");
        assert!(de.interval && de.elements.len() > 100, "DE has many registered blocks");
        let inside = de.elements[0].addr();
        assert_eq!(crate::report::country::code(inside), Some("DE"), "{inside}");
        let text = render(&plan, OWN_TABLE, "");
        assert!(text.contains("ip daddr @cam_0_eu_cc4 tcp dport 443 counter accept comment \"expected[0] eu\""), "{text}");
        // Both keys: in the rule's networks and in the country's blocks.
        assert!(text.contains("ip daddr @cam_1_aws_net4 ip daddr @cam_1_aws_cc4 counter accept"), "{text}");
        // No IPv6 blocks embedded: the rule accepts no IPv6 (it never widens).
        assert!(!text.contains("ip6 daddr @cam_1_aws_net6 counter accept"), "{text}");
        assert!(!text.contains("tcp dport 443 counter accept comment \"expected[0] eu\"\n\t\tmeta"), "{text}");
        assert_eq!(text.matches("comment \"expected[0] eu\"").count(), 1, "{text}");
    }

    fn profile_again() -> crate::profile::rules::Profile {
        crate::profile::load::parse("name: cam\ndevice:\n  ip: [192.0.2.5]\n", std::path::Path::new("cam.yaml"), None).unwrap()
    }
}
