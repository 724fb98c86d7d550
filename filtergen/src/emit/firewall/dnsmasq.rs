//! dnsmasq `nftset=` lines: as the device resolves a profile's host names
//! through the router's dnsmasq, each answer is added to the rule's
//! address sets. Host names are validated (letters, digits, `-`, `_`, `.`),
//! so they cannot carry dnsmasq's separators `/`, `#` or `,`.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::nft::Target;
use super::plan::Plan;

/// One line per name pattern, naming every set it feeds: dnsmasq uses one
/// `nftset` entry per domain, so a name two devices expect must be one line.
pub fn render(plan: &Plan, target: Target, header: &str) -> String {
    let mut by_pattern: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for device in &plan.devices {
        for feed in &device.feeds {
            for name in &feed.names {
                // `/name/` is the name and everything below it, `/*.name/`
                // only what is below it.
                let sets = by_pattern.entry(name.to_string()).or_default();
                for (version, set) in [("4", &feed.v4_set), ("6", &feed.v6_set)] {
                    let spec = format!("{version}#{}#{}#{}{set}", target.family, target.table, target.prefix);
                    if !sets.contains(&spec) {
                        sets.push(spec);
                    }
                }
            }
        }
    }
    let mut out = String::from(header);
    for (pattern, sets) in &by_pattern {
        let _ = writeln!(out, "nftset=/{pattern}/{}", sets.join(","));
    }
    out
}

/// Whether any host name needs dnsmasq.
pub fn needed(plan: &Plan) -> bool {
    plan.devices.iter().any(|d| !d.feeds.is_empty())
}
