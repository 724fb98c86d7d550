//! `--resolve-from CAPTURE…`: the addresses that DNS answers inside captures
//! returned for each question name, so a rule's host names also match the
//! traffic to those addresses.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::Path;

use crate::error::Error;
use crate::profile::rules::HostName;
use crate::tshark::{self, fields};

/// Question name (lower case, no trailing dot) to the addresses answered for it.
#[derive(Clone, Debug, Default)]
pub struct Resolved {
    answers: BTreeMap<String, BTreeSet<IpAddr>>,
}

impl Resolved {
    pub fn none() -> Resolved {
        Resolved::default()
    }

    pub fn add(&mut self, name: &str, addr: IpAddr) {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        self.answers.entry(name).or_default().insert(addr);
    }

    /// Every address answered for a name `host` matches (a CNAME chain's
    /// addresses count for the name that was asked).
    pub fn addresses_for(&self, host: &HostName) -> Vec<IpAddr> {
        self.answers.iter().filter(|(name, _)| host.matches(name)).flat_map(|(_, addrs)| addrs.iter().copied()).collect()
    }

    /// Reads the DNS responses of each capture with tshark.
    pub fn from_captures(captures: &[impl AsRef<Path>]) -> Result<Resolved, Error> {
        let mut resolved = Resolved::default();
        for capture in captures {
            let capture = capture.as_ref();
            if !capture.is_file() {
                return Err(Error::Usage(format!("--resolve-from {}: no such capture file", capture.display())));
            }
            resolved.add_tshark_fields(&tshark::dns_responses(capture)?);
        }
        Ok(resolved)
    }

    /// Lines of `qname<TAB>a|a<TAB>aaaa|aaaa`.
    fn add_tshark_fields(&mut self, text: &str) {
        for line in text.lines() {
            let mut columns = line.split('\t');
            let Some(names) = columns.next() else { continue };
            let (a, aaaa) = (columns.next(), columns.next());
            let addrs: Vec<IpAddr> = tshark::dns_answer(a, aaaa).collect();
            for name in fields::values(Some(names)) {
                for &addr in &addrs {
                    self.add(name, addr);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tshark_fields() {
        let mut r = Resolved::default();
        r.add_tshark_fields("m2.tuyaeu.com\t3.67.242.33|35.156.44.172\t\nexample.org\t\t2001:db8::1\n");
        let host = HostName { domain: "tuyaeu.com".into(), wildcard: true };
        assert_eq!(r.addresses_for(&host).len(), 2);
    }
}
