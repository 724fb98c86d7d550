//! Where an address is registered, with no file to download: the Regional
//! Internet Registries' delegation data embedded by the `iptocc` crate, and
//! (from the same data, walked by build.rs) the IPv4 blocks of a country for
//! geo-blocking. Addresses no registry hands out (private, link-local,
//! multicast, documentation, ...) get a scope label instead of a country.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ipnet::{IpNet, Ipv4Net, Ipv4Subnets};

use crate::report::model::Geo;

/// What the embedded data is, for report footers and `--help`.
pub const SOURCE: &str = "countries from the Regional Internet Registries' delegation data (embedded): the country a block is \
     registered to, which agrees with commercial geolocation databases for about 95% of IPv4 addresses; \
     --geoip FILE.mmdb overrides it";

/// An ISO 3166-1 alpha-2 country code as the registries write it (`CN`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Country([u8; 2]);

impl Country {
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("ASCII letters")
    }

    /// Whether the embedded data has any IPv4 block registered to it.
    pub fn is_known(&self) -> bool {
        ipv4_table().any(|(_, _, cc)| cc == self.0)
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Country {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let b = s.as_bytes();
        if b.len() != 2 || !b.iter().all(u8::is_ascii_alphabetic) {
            return Err(format!("bad country {s:?}: want a two-letter ISO 3166-1 code such as DE, US or CN"));
        }
        let c = Country([b[0].to_ascii_uppercase(), b[1].to_ascii_uppercase()]);
        if !c.is_known() {
            return Err(format!("country {s:?}: no registry has a block registered to {c} (want an ISO 3166-1 code such as DE, US or CN)"));
        }
        Ok(c)
    }
}

/// The registration country of a public address, from the embedded data.
pub fn code(addr: IpAddr) -> Option<&'static str> {
    match scope(addr) {
        Some(_) => None,
        None => iptocc::country_code(addr),
    }
}

/// The label of an address that belongs to no country: `private`,
/// `loopback`, `link-local`, `multicast`, `documentation`, `shared (CGNAT)`,
/// `broadcast`, `unspecified`, `benchmarking` or `reserved`; `None` for a
/// public address.
pub fn scope(addr: IpAddr) -> Option<&'static str> {
    match addr {
        IpAddr::V4(a) => scope_v4(a),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => scope_v4(v4),
            None => scope_v6(a),
        },
    }
}

fn scope_v4(a: Ipv4Addr) -> Option<&'static str> {
    let o = a.octets();
    let within = |net: &str| net.parse::<Ipv4Net>().is_ok_and(|n| n.contains(&a));
    Some(if a.is_unspecified() {
        "unspecified"
    } else if a.is_broadcast() {
        "broadcast"
    } else if a.is_loopback() {
        "loopback"
    } else if a.is_private() {
        "private"
    } else if a.is_link_local() {
        "link-local"
    } else if a.is_multicast() {
        "multicast"
    } else if a.is_documentation() {
        "documentation"
    } else if within("100.64.0.0/10") {
        "shared (CGNAT)"
    } else if within("198.18.0.0/15") {
        "benchmarking"
    } else if o[0] == 0 || o[0] >= 240 || within("192.0.0.0/24") {
        "reserved"
    } else {
        return None;
    })
}

fn scope_v6(a: Ipv6Addr) -> Option<&'static str> {
    let s = a.segments();
    Some(if a.is_unspecified() {
        "unspecified"
    } else if a.is_loopback() {
        "loopback"
    } else if a.is_multicast() {
        "multicast"
    } else if s[0] & 0xffc0 == 0xfe80 {
        "link-local"
    } else if s[0] & 0xfe00 == 0xfc00 {
        "private"
    } else if s[0] == 0x2001 && s[1] == 0x0db8 || s[0] == 0x3fff && s[1] & 0xf000 == 0 {
        "documentation"
    } else if s[0] & 0xe000 != 0x2000 {
        // Outside 2000::/3, the only global unicast space handed out.
        "reserved"
    } else {
        return None;
    })
}

/// The embedded lookup as a report source (no network owner).
pub struct Embedded;

impl Geo for Embedded {
    fn country(&self, addr: IpAddr) -> Option<String> {
        code(addr).map(str::to_string)
    }
}

/// The IPv4 ranges and their countries, written by build.rs.
static IPV4: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/ipv4_countries.bin"));

/// `(first, last, country)` for every range, `--` where no registry delegated.
fn ipv4_table() -> impl Iterator<Item = (u32, u32, [u8; 2])> {
    let records: Vec<&[u8]> = IPV4.chunks_exact(6).collect();
    (0..records.len()).map(move |i| {
        let start = u32::from_be_bytes([records[i][0], records[i][1], records[i][2], records[i][3]]);
        let end = records.get(i + 1).map_or(u32::MAX, |next| u32::from_be_bytes([next[0], next[1], next[2], next[3]]) - 1);
        (start, end, [records[i][4], records[i][5]])
    })
}

/// A country's IPv4 blocks, CIDR-collapsed (the fewest prefixes covering
/// exactly its ranges), sorted.
pub fn ipv4_blocks(country: Country) -> Vec<Ipv4Net> {
    let mut out: Vec<Ipv4Net> = Vec::new();
    for (first, last, cc) in ipv4_table() {
        if cc == country.0 {
            out.extend(Ipv4Subnets::new(Ipv4Addr::from(first), Ipv4Addr::from(last), 0));
        }
    }
    Ipv4Net::aggregate(&out)
}

/// The blocks of several countries, IPv4 then IPv6, collapsed together.
/// The embedded data yields IPv4 only; `extra` adds blocks from another
/// source (a `--geoip` database, which has both families).
pub fn blocks(countries: &[Country], extra: &[IpNet]) -> Vec<IpNet> {
    let mut all: Vec<IpNet> = countries.iter().flat_map(|&c| ipv4_blocks(c)).map(IpNet::V4).collect();
    all.extend_from_slice(extra);
    IpNet::aggregate(&all)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn seed_addresses_have_their_registration_country() {
        assert_eq!(code(ip("114.114.114.114")), Some("CN"), "the Wyze base station's hard-coded resolver");
        assert_eq!(code(ip("61.164.36.105")), Some("CN"), "the MiLight bridge's NTP server");
        assert_eq!(code(ip("8.8.8.8")), Some("US"));
        assert_eq!(code(ip("10.10.10.1")), None);
        assert_eq!(code(ip("2001:db8::1")), None);
    }

    #[test]
    fn the_iotc_master_servers_are_where_the_seed_table_says() {
        // The smart plug story's table of ThroughTek Kalay master servers (IP, NetName, Country).
        for (addr, country) in [
            ("50.19.254.134", "US"),
            ("122.248.234.207", "SG"),
            ("46.137.188.54", "IE"),
            ("122.226.84.253", "CN"),
            ("61.188.37.216", "CN"),
            ("220.181.111.147", "CN"),
            ("120.24.59.150", "CN"),
            ("114.215.137.159", "CN"),
            ("175.41.238.100", "JP"),
        ] {
            assert_eq!(code(ip(addr)), Some(country), "{addr}");
        }
        // Registration is not location: AWS Frankfurt (the Tuya EU cloud) is registered to the US.
        assert_eq!(code(ip("3.67.242.33")), Some("US"));
        assert_eq!(code(ip("2400:3200::1")), Some("CN"), "IPv6 too");
    }

    #[test]
    fn non_public_addresses_are_labelled() {
        for (a, label) in [
            ("10.0.0.1", "private"),
            ("192.168.1.1", "private"),
            ("169.254.3.4", "link-local"),
            ("224.0.0.251", "multicast"),
            ("239.255.255.250", "multicast"),
            ("255.255.255.255", "broadcast"),
            ("192.0.2.7", "documentation"),
            ("203.0.113.9", "documentation"),
            ("100.64.1.1", "shared (CGNAT)"),
            ("127.0.0.1", "loopback"),
            ("fe80::1", "link-local"),
            ("fd00::1", "private"),
            ("ff02::fb", "multicast"),
            ("2001:db8::1", "documentation"),
            ("::ffff:192.168.0.1", "private"),
        ] {
            assert_eq!(scope(ip(a)), Some(label), "{a}");
        }
        assert_eq!(scope(ip("114.114.114.114")), None);
        assert_eq!(scope(ip("2a00:1450::1")), None);
    }

    #[test]
    fn country_blocks_agree_with_the_lookup() {
        let cn: Country = "cn".parse().unwrap();
        let blocks = ipv4_blocks(cn);
        assert!(blocks.len() > 1000, "CN has thousands of IPv4 blocks, got {}", blocks.len());
        let has = |a: &str| blocks.iter().any(|b| b.contains(&a.parse::<Ipv4Addr>().unwrap()));
        assert!(has("114.114.114.114") && has("61.164.36.105"));
        assert!(!has("8.8.8.8") && !has("10.0.0.1"));
        // Every block's first and last address are CN, and blocks are disjoint and collapsed.
        for b in &blocks {
            assert_eq!(iptocc::country_code(b.network()), Some("CN"), "{b}");
            assert_eq!(iptocc::country_code(b.broadcast()), Some("CN"), "{b}");
        }
        assert_eq!(Ipv4Net::aggregate(&blocks), blocks);
    }

    #[test]
    fn country_codes_are_checked() {
        assert_eq!("de".parse::<Country>().unwrap().to_string(), "DE");
        assert!("XQ".parse::<Country>().is_err());
        assert!("DEU".parse::<Country>().is_err());
        assert!("1A".parse::<Country>().is_err());
    }
}
