//! `filtergen firewall`: profiles as router rules. What a device's
//! `expected` rules allow passes; the rest is logged (audit), rejected or
//! dropped. Host names become dnsmasq `nftset=` lines; `--dns-pin`
//! redirects the device's DNS to one resolver.
//!
//! [`plan`] decides, [`nft`] and [`dnsmasq`] render, [`check`] hands the
//! result to the real `nft -c` and `dnsmasq --test`; the command itself is
//! `cli/firewall.rs`.

pub(crate) mod check;
pub(crate) mod dnsmasq;
pub(crate) mod nft;
pub(crate) mod plan;

use crate::error::Error;
use crate::profile::rules::Profile;
pub(crate) use plan::{country_blocks, Action, Blocklist, DnsPin, Options, Plan};

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table of phonehome's own (`inet phonehome`), replaced atomically by `nft -f`.
    Nft,
    /// An /etc/nftables.d/ include that OpenWrt's fw4 loads into its `inet fw4` table.
    Openwrt,
}

impl Format {
    pub fn target(self) -> nft::Target {
        match self {
            Format::Nft => nft::OWN_TABLE,
            Format::Openwrt => nft::FW4_INCLUDE,
        }
    }
}

/// The generated files' text.
pub struct Generated {
    pub ruleset: String,
    pub dnsmasq: String,
    pub plan: Plan,
}

/// Builds and renders the firewall for loaded profiles.
pub fn generate(profiles: &[Profile], format: Format, opts: &Options) -> Result<Generated, Error> {
    let plan = plan::build(profiles, opts)?;
    let target = format.target();
    let ruleset = nft::render(&plan, target, &ruleset_header(&plan, format, profiles));
    let dnsmasq = dnsmasq::render(&plan, target, &dnsmasq_header(format));
    Ok(Generated { ruleset, dnsmasq, plan })
}

fn ruleset_header(plan: &Plan, format: Format, profiles: &[Profile]) -> String {
    let names: Vec<String> = profiles.iter().map(|p| p.name.to_string()).collect();
    let mut h = format!(
        "# phonehome firewall for {} (filtergen firewall --format {} --action {})\n",
        names.join(", "),
        match format {
            Format::Nft => "nft",
            Format::Openwrt => "openwrt",
        },
        plan.action.as_str()
    );
    match format {
        Format::Nft => h.push_str(
            "# Load with `nft -f FILE` (again after every change: the table is replaced as a whole).\n\
             # Counters: `nft list table inet phonehome`. Log lines start with \"phonehome PROFILE\".\n\
             # After loading, restart dnsmasq: answers from its cache do not refill the sets.\n\n",
        ),
        Format::Openwrt => h.push_str(
            "# OpenWrt (fw4): copy to /etc/nftables.d/50-phonehome.nft, then `fw4 reload`\n\
             # (fw4 reads the file into its `inet fw4` table; every name here starts with phonehome_).\n\
             # The dnsmasq lines go to /etc/dnsmasq.d/phonehome.conf (needs the dnsmasq-full package).\n\
             # Counters: `nft list table inet fw4`. Log lines start with \"phonehome PROFILE\".\n\n",
        ),
    }
    h
}

fn dnsmasq_header(format: Format) -> String {
    let mut h = String::from(
        "# phonehome: dnsmasq adds each answer for these names to the sets of the rule expecting them.\n\
         # /name/ matches the name and the names below it (dnsmasq has no exact match), /*.name/ only those below.\n",
    );
    match format {
        Format::Nft => h.push_str("# Include with conf-file=THIS or copy it into dnsmasq's conf-dir (/etc/dnsmasq.d), then restart dnsmasq.\n"),
        Format::Openwrt => h.push_str(
            "# OpenWrt: copy to /etc/dnsmasq.d/phonehome.conf, run\n\
             #   uci set dhcp.@dnsmasq[0].confdir=/etc/dnsmasq.d && uci commit dhcp && /etc/init.d/dnsmasq restart\n\
             # (nftset needs dnsmasq-full: opkg install dnsmasq-full).\n",
        ),
    }
    h
}
