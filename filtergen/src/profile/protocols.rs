//! The set of Wireshark protocol names a profile may use, read from
//! `tshark -G protocols`, plus the phonehome plugin's own protocols (which
//! tshark only lists when the plugin is loaded).

use std::cell::RefCell;
use std::collections::BTreeSet;

use crate::error::Error;
use crate::plugin;
use crate::tshark;
use crate::wellknown;

/// Link, network and transport protocols of every Wireshark 4.x.
const HEADERS: [&str; 13] = ["eth", "vlan", "arp", "stp", "cdp", "lldp", "ip", "ipv6", "tcp", "udp", "icmp", "icmpv6", "igmp"];

/// Whether `name` is a protocol every tshark knows: a header protocol, a
/// well-known one (every Wireshark 4.x has their dissectors) or the
/// plugin's. A profile naming only these needs no `tshark -G protocols`.
pub fn always_known(name: &str) -> bool {
    HEADERS.contains(&name) || wellknown::has_ports(name) || plugin::protocol_names().any(|p| p == name)
}

#[derive(Clone, Debug, Default)]
pub struct Catalog {
    names: BTreeSet<String>,
}

impl Catalog {
    /// Asks the installed tshark for its protocol list.
    pub fn from_tshark() -> Result<Catalog, Error> {
        Ok(Catalog::from_listing(&tshark::protocol_listing()?))
    }

    /// Parses `tshark -G protocols` output: name, short name, filter name, tab-separated.
    pub fn from_listing(text: &str) -> Catalog {
        let mut names: BTreeSet<String> =
            text.lines().filter_map(|l| l.split('\t').nth(2)).map(str::to_string).collect();
        names.extend(plugin::protocol_names().map(str::to_string));
        Catalog { names }
    }

    pub fn contains(&self, name: &str) -> bool {
        self.names.contains(name)
    }
}

thread_local! {
    static ACTIVE: RefCell<Option<Catalog>> = const { RefCell::new(None) };
}

/// Runs `f` (a profile parse) with `catalog` checking protocol names, so an
/// unknown name is reported at its position in the YAML. With `None`, names
/// are only checked for their form.
pub fn with_catalog<T>(catalog: Option<&Catalog>, f: impl FnOnce() -> T) -> T {
    let previous = ACTIVE.with(|a| a.replace(catalog.cloned()));
    let result = f();
    ACTIVE.with(|a| *a.borrow_mut() = previous);
    result
}

pub(crate) fn check_known(name: &str) -> Result<(), String> {
    ACTIVE.with(|a| match &*a.borrow() {
        Some(catalog) if !catalog.contains(name) => {
            Err(format!("unknown protocol {name:?} (not in `tshark -G protocols` nor a phonehome plugin protocol)"))
        }
        _ => Ok(()),
    })
}
