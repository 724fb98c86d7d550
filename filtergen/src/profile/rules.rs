//! The typed rule model: every value in a profile is parsed into one of these
//! types when the YAML is read, so a value that is here is known to be safe to
//! put into a display filter, a BPF expression or a shell script.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use crate::profile::protocols;
use crate::report::country::Country;

/// The three views of a device's traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum Mode {
    /// All traffic to or from the device.
    Device,
    /// `device` minus everything `ignore` matches.
    Clean,
    /// `clean` minus everything `expected` matches.
    Unexpected,
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::Device, Mode::Clean, Mode::Unexpected];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Device => "device",
            Mode::Clean => "clean",
            Mode::Unexpected => "unexpected",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A full MAC address or a vendor prefix (3 to 5 leading octets, e.g. an OUI).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacPattern(pub Vec<u8>);

impl MacPattern {
    pub fn is_full(&self) -> bool {
        self.0.len() == 6
    }
}

impl fmt::Display for MacPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|b| format!("{b:02x}")).collect();
        f.write_str(&parts.join(":"))
    }
}

impl FromStr for MacPattern {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("bad MAC address or vendor prefix {s:?} (want e.g. 64:90:c1:1d:24:c4 or 64:90:c1)");
        let octets: Vec<&str> = s.split([':', '-']).collect();
        if octets.len() < 3 || octets.len() > 6 {
            return Err(bad());
        }
        let mut bytes = Vec::with_capacity(6);
        for octet in octets {
            if octet.len() != 2 {
                return Err(bad());
            }
            bytes.push(u8::from_str_radix(octet, 16).map_err(|_| bad())?);
        }
        Ok(MacPattern(bytes))
    }
}

/// A DNS name, optionally a `*.` wildcard matching any name below a domain.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostName {
    /// Lower-case name without the `*.` prefix.
    pub domain: String,
    pub wildcard: bool,
}

impl fmt::Display for HostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.wildcard {
            f.write_str("*.")?;
        }
        f.write_str(&self.domain)
    }
}

impl HostName {
    /// Whether `name` (as seen in a packet) is this name or, for a wildcard, below it.
    pub fn matches(&self, name: &str) -> bool {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if self.wildcard {
            name.len() > self.domain.len() + 1
                && name.ends_with(&self.domain)
                && name.as_bytes()[name.len() - self.domain.len() - 1] == b'.'
        } else {
            name == self.domain
        }
    }

    fn parse(s: &str) -> Result<Self, String> {
        let (wildcard, rest) = match s.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let rest = rest.trim_end_matches('.');
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if rest.is_empty() || rest.len() > 253 || !rest.split('.').all(label_ok) {
            return Err(format!(
                "bad host {s:?}: want an IPv4/IPv6 address, a CIDR block, a host name or a *.domain wildcard"
            ));
        }
        Ok(HostName { domain: rest.to_ascii_lowercase(), wildcard })
    }
}

/// One item of a `host` list.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Host {
    /// An address or CIDR block (a single address is a /32 or /128).
    Net(IpNet),
    Name(HostName),
}

impl FromStr for Host {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(Host::Net(IpNet::from(ip)));
        }
        if s.contains('/') {
            let net: IpNet = s.parse().map_err(|_| format!("bad CIDR block {s:?}"))?;
            if net.trunc() != net {
                return Err(format!("CIDR block {s:?} has host bits set (did you mean {}?)", net.trunc()));
            }
            return Ok(Host::Net(net));
        }
        if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') || s.contains(':') {
            return Err(format!("bad IP address {s:?}"));
        }
        HostName::parse(s).map(Host::Name)
    }
}

/// A TCP or UDP port or an inclusive range of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
}

impl PortRange {
    pub fn contains(&self, port: u16) -> bool {
        (self.first..=self.last).contains(&port)
    }
}

impl From<phonehome::spec::PortRange> for PortRange {
    fn from(r: phonehome::spec::PortRange) -> PortRange {
        PortRange { first: r.first, last: r.last }
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

impl FromStr for PortRange {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("bad port or port range {s:?} (want 1-65535, or a range such as 8000-8004)");
        let port = |p: &str| p.trim().parse::<u16>().ok().filter(|&p| p != 0).ok_or_else(bad);
        let (first, last) = match s.split_once('-') {
            Some((a, b)) => (port(a)?, port(b)?),
            None => (port(s)?, port(s)?),
        };
        if first > last {
            return Err(bad());
        }
        Ok(PortRange { first, last })
    }
}

/// A Wireshark protocol (display-filter) name such as `stp` or `tuya`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Protocol(pub String);

impl FromStr for Protocol {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let well_formed = !s.is_empty()
            && s.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
        if !well_formed {
            return Err(format!("bad protocol name {s:?}"));
        }
        protocols::check_known(s)?;
        Ok(Protocol(s.to_string()))
    }
}

/// A raw display-filter fragment (the `filter` escape hatch). It must be one
/// line with balanced parentheses outside string literals, so that wrapping it
/// in `( … )` cannot change the meaning of the rest of the filter.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RawFilter(pub String);

impl FromStr for RawFilter {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.trim().is_empty() {
            return Err("empty filter".into());
        }
        check_text(s)?;
        let mut depth = 0i32;
        let mut in_string = false;
        let mut escaped = false;
        for c in s.chars() {
            match (in_string, escaped, c) {
                (true, true, _) => escaped = false,
                (true, false, '\\') => escaped = true,
                (true, false, '"') => in_string = false,
                (true, false, _) => {}
                (false, _, '"') => in_string = true,
                (false, _, '(') => depth += 1,
                (false, _, ')') => {
                    depth -= 1;
                    if depth < 0 {
                        return Err(format!("filter {s:?} closes a parenthesis it did not open"));
                    }
                }
                _ => {}
            }
        }
        if in_string || depth != 0 {
            return Err(format!("filter {s:?} has an unclosed string or parenthesis"));
        }
        Ok(RawFilter(s.to_string()))
    }
}

/// A name (profile, rule, Wireshark profile): letters, digits, `.`, `_`, `-`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(pub String);

impl FromStr for Name {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-');
        if ok {
            Ok(Name(s.to_string()))
        } else {
            Err(format!("bad name {s:?}: use letters, digits, '.', '_' and '-' (at most 64)"))
        }
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Free text (descriptions, notes): one line, no control characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Text(pub String);

impl FromStr for Text {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        check_text(s)?;
        Ok(Text(s.to_string()))
    }
}

fn check_text(s: &str) -> Result<(), String> {
    match s.chars().find(|c| c.is_control()) {
        Some(c) => Err(format!("{s:?} contains the control character {c:?}; use one line of text")),
        None => Ok(()),
    }
}

/// Deserializes any of the types above from a YAML scalar (string or number),
/// reporting the parse error at the value's position.
macro_rules! deserialize_from_scalar {
    ($($ty:ty),*) => {$(
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = d.deserialize_any(ScalarText)?;
                text.parse().map_err(de::Error::custom)
            }
        }
    )*};
}
deserialize_from_scalar!(MacPattern, Host, PortRange, Protocol, RawFilter, Name, Text, Country);

/// Accepts a YAML string or number as text.
pub(crate) struct ScalarText;

impl Visitor<'_> for ScalarText {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string or number (quote a value that ends in a colon, such as the IPv6 address \"2a02:6ea0:c024::\")")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }
}

/// One `ignore` or `expected` entry: its match keys are ANDed, each key's list
/// items ORed (`tcp` and `udp` together form one "port" key: either matches).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Rule {
    pub name: Option<Name>,
    pub note: Option<Text>,
    pub mac: Vec<MacPattern>,
    pub host: Vec<Host>,
    pub tcp: Vec<PortRange>,
    pub udp: Vec<PortRange>,
    pub protocols: Vec<Protocol>,
    /// Registration countries of the remote address (ISO codes).
    pub country: Vec<Country>,
    pub filter: Option<RawFilter>,
    /// Where the rule came from, e.g. `noise/zerotier.yaml ignore[0]`.
    pub origin: String,
}

impl Rule {
    pub fn has_ports(&self) -> bool {
        !self.tcp.is_empty() || !self.udp.is_empty()
    }

    pub fn names(&self) -> impl Iterator<Item = &HostName> {
        self.host.iter().filter_map(|h| match h {
            Host::Name(n) => Some(n),
            Host::Net(_) => None,
        })
    }

    pub fn nets(&self) -> impl Iterator<Item = IpNet> + '_ {
        self.host.iter().filter_map(|h| match h {
            Host::Net(n) => Some(*n),
            Host::Name(_) => None,
        })
    }

    /// A label for messages: the rule's name, or where it came from.
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) => format!("{} ({})", n, self.origin),
            None => self.origin.clone(),
        }
    }
}

/// The device a profile describes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Device {
    pub mac: Vec<MacPattern>,
    pub ip: Vec<IpAddr>,
    /// Set when the MAC/IP are stand-ins the user must fill in.
    pub placeholder: Option<Text>,
}

/// A Tuya device's local key, for the plugin's `tuya_keys` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TuyaKey {
    pub dev_id: String,
    pub local_key: String,
}

/// A miIO device's token, for the plugin's `miio_tokens` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MiioToken {
    pub device_id: u32,
    pub token: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Keys {
    pub tuya: Vec<TuyaKey>,
    pub miio: Vec<MiioToken>,
}

/// A loaded profile with its includes' `ignore` rules merged in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    pub name: Name,
    pub description: Option<Text>,
    pub device: Option<Device>,
    pub ignore: Vec<Rule>,
    pub expected: Vec<Rule>,
    pub keys: Keys,
    /// The file it was read from.
    pub path: std::path::PathBuf,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_values() {
        assert_eq!("64:90:C1".parse::<MacPattern>().unwrap().to_string(), "64:90:c1");
        assert!("64:90:c1:1d:24:c4:00".parse::<MacPattern>().is_err());
        assert!("64:9:c1".parse::<MacPattern>().is_err());
        assert_eq!("8000-8004".parse::<PortRange>().unwrap(), PortRange { first: 8000, last: 8004 });
        assert!("0".parse::<PortRange>().is_err());
        assert!("9-3".parse::<PortRange>().is_err());
        assert!("70000".parse::<PortRange>().is_err());
        assert!(matches!("10.0.0.0/8".parse::<Host>(), Ok(Host::Net(_))));
        assert!("10.0.0.1/8".parse::<Host>().is_err());
        assert!("300.1.1.1".parse::<Host>().is_err());
        assert!(matches!("*.TuyaEU.com".parse::<Host>(), Ok(Host::Name(HostName { wildcard: true, .. }))));
        for hostile in ["a\"b.com", "$(reboot).com", "a b", "x.com\n", "`id`.com", "*.*.com"] {
            assert!(hostile.parse::<Host>().is_err(), "{hostile}");
        }
    }

    #[test]
    fn wildcard_matching() {
        let HostName { .. } = HostName::parse("*.tuyaeu.com").unwrap();
        let w = HostName::parse("*.tuyaeu.com").unwrap();
        assert!(w.matches("m2.TUYAEU.com."));
        assert!(!w.matches("tuyaeu.com"));
        assert!(!w.matches("xtuyaeu.com"));
    }

    #[test]
    fn raw_filter_must_be_balanced() {
        assert!("tcp.port == 1".parse::<RawFilter>().is_ok());
        assert!("frame contains \")\"".parse::<RawFilter>().is_ok());
        assert!("a) || (b".parse::<RawFilter>().is_err());
        assert!("(a".parse::<RawFilter>().is_err());
        assert!("a\nb".parse::<RawFilter>().is_err());
    }
}
