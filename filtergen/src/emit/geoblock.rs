//! Geo-blocking building block: the blocks of one or more countries as
//! nftables interval sets (one per address family), for a firewall to
//! match a device's traffic against (`ip daddr @NAME_v4 drop`).

use std::fmt::Write;

use ipnet::IpNet;

use crate::report::country::{self, Country};

/// The blocks of some countries, ready to be written as sets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CountrySet {
    /// Set name stem: the sets are `{name}_v4` and `{name}_v6`.
    pub name: String,
    pub countries: Vec<Country>,
    pub blocks: Vec<IpNet>,
}

impl CountrySet {
    /// The embedded IPv4 blocks of `countries`, plus `extra` (e.g. a
    /// `--geoip` database's blocks of both families), CIDR-collapsed.
    /// `name` must be a valid nft identifier stem (letters, digits, `_`).
    pub fn new(name: &str, countries: &[Country], extra: &[IpNet]) -> Result<CountrySet, String> {
        let ok = !name.is_empty()
            && name.len() <= 29
            && name.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !ok {
            return Err(format!("bad set name {name:?}: letters, digits and '_', starting with a letter, at most 29"));
        }
        Ok(CountrySet { name: name.to_string(), countries: countries.to_vec(), blocks: country::blocks(countries, extra) })
    }

    pub fn v4_name(&self) -> String {
        format!("{}_v4", self.name)
    }

    pub fn v6_name(&self) -> String {
        format!("{}_v6", self.name)
    }

    /// The two `set` declarations, to be placed inside a `table inet …` (or
    /// `ip`/`ip6` for one family) block; a family with no blocks gets an
    /// empty set, so rules naming it still load.
    pub fn nft_sets(&self, indent: &str) -> String {
        let countries: Vec<String> = self.countries.iter().map(|c| c.to_string()).collect();
        let mut out = String::new();
        for (name, kind, v4) in [(self.v4_name(), "ipv4_addr", true), (self.v6_name(), "ipv6_addr", false)] {
            let elements: Vec<String> = self.blocks.iter().filter(|b| matches!(b, IpNet::V4(_)) == v4).map(|b| b.to_string()).collect();
            let _ = writeln!(out, "{indent}# {}: {} block(s) registered to {}", name, elements.len(), countries.join(", "));
            let _ = writeln!(out, "{indent}set {name} {{");
            let _ = writeln!(out, "{indent}    type {kind}");
            let _ = writeln!(out, "{indent}    flags interval");
            // A line per 8 elements keeps the file readable and diffable.
            for (i, chunk) in elements.chunks(8).enumerate() {
                let head = if i == 0 { "elements = { " } else { "             " };
                let tail = if (i + 1) * 8 >= elements.len() { " }" } else { "," };
                let _ = writeln!(out, "{indent}    {head}{}{tail}", chunk.join(", "));
            }
            let _ = writeln!(out, "{indent}}}");
        }
        out
    }

    /// A complete nft script defining `table inet TABLE` with the two sets
    /// (and nothing else: rules referring to them come from the firewall).
    pub fn nft_table(&self, table: &str) -> String {
        format!("table inet {table} {{\n{}}}\n", self.nft_sets("    "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_list_collapsed_blocks() {
        let cn: Country = "CN".parse().unwrap();
        let extra = ["2001:db8::/32".parse().unwrap()];
        let set = CountrySet::new("block_cn", &[cn], &extra).unwrap();
        let text = set.nft_table("t");
        assert!(text.contains("set block_cn_v4 {") && text.contains("type ipv4_addr") && text.contains("flags interval"));
        let wyze_dns: IpNet = "114.114.114.114/32".parse().unwrap();
        let block = set.blocks.iter().find(|b| b.contains(&wyze_dns)).expect("a CN block holds 114.114.114.114");
        assert!(text.contains(&format!(" {block},")) || text.contains(&format!(" {block} }}")), "{block}");
        assert!(text.contains("set block_cn_v6 {") && text.contains("2001:db8::/32 }"));
        assert!(CountrySet::new("1bad", &[cn], &[]).is_err());
        assert!(CountrySet::new("bad-name", &[cn], &[]).is_err());
    }
}
