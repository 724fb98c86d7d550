//! `filtergen firewall`: profiles as router rules. What a device's
//! `expected` rules allow passes; the rest is logged (audit), rejected or
//! dropped. Host names become dnsmasq `nftset=` lines; `--dns-pin`
//! redirects the device's DNS to one resolver.
//!
//! [`plan`] decides, [`nft`] and [`dnsmasq`] render, [`check`] hands the
//! result to the real `nft -c` and `dnsmasq --test`.

pub mod check;
pub mod dnsmasq;
pub mod nft;
pub mod plan;

use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::resolve::Resolved;
use crate::rules::Profile;
pub use plan::{Action, Blocklist, DnsPin, Options, Plan};

pub const HELP: &str = "Examples:
  filtergen firewall profiles/roborock-tuya.yaml -o phonehome.nft --check && nft -f phonehome.nft
  filtergen firewall profiles/wyze-base.yaml --dns-pin 192.0.2.1 --action reject -o phonehome.nft
  filtergen firewall profiles/*.yaml --format openwrt -o 50-phonehome.nft --resolve-from day1.pcapng

Per device (its MACs and IPs), forwarded traffic an expected rule matches is accepted, as are DHCP and DNS to the router and replies (conntrack); the rest takes --action. Host names are filled in by dnsmasq (nftset lines written beside -o). Protocols map to their well-known ports (dns, ntp, dhcp, mdns, ssdp, ...) or IP protocol (icmp, igmp); a rule with no firewall equivalent (a dissected protocol such as tuya, a raw filter, a peer MAC) exits 1 naming it, writing nothing.";

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

#[derive(clap::Args, Debug)]
pub struct FirewallArgs {
    #[arg(required = true, value_name = "PROFILE")]
    pub profiles: Vec<PathBuf>,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = Format::Nft)]
    pub format: Format,
    /// What happens to traffic no expected rule allows: `log` audits (logs, counts, lets it through).
    #[arg(long, short, value_enum, default_value_t = Action::Log)]
    pub action: Action,
    /// Redirect the devices' DNS to this resolver (one IPv4 and/or one IPv6 address; repeatable), block DNS over TLS.
    #[arg(long, value_name = "ADDR")]
    pub dns_pin: Vec<IpAddr>,
    /// Seed the host-name sets with the addresses DNS answers in these captures gave.
    #[arg(long, num_args = 1.., value_name = "CAPTURE")]
    pub resolve_from: Vec<PathBuf>,
    /// Write the ruleset here (atomically) instead of standard output; the dnsmasq lines go beside it as NAME.dnsmasq.conf.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Write the dnsmasq lines here [default: beside --output].
    #[arg(long, value_name = "FILE")]
    pub dnsmasq: Option<PathBuf>,
    /// Validate the output with `nft -c` and `dnsmasq --test` (needs root) before writing it.
    #[arg(long)]
    pub check: bool,
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

/// Runs the command for already loaded profiles; returns the exit code.
pub fn run(args: FirewallArgs, profiles: &[Profile], out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, Error> {
    let resolved = if args.resolve_from.is_empty() { Resolved::none() } else { Resolved::from_captures(&args.resolve_from)? };
    let opts = Options { action: args.action, dns_pin: DnsPin::from_addrs(&args.dns_pin)?, resolved: &resolved, blocklists: Vec::new() };
    let generated = generate(profiles, args.format, &opts)?;
    let note = |e: std::io::Error| Error::io("<stderr>", e);
    for p in profiles {
        if let Some(note_text) = p.device.as_ref().and_then(|d| d.placeholder.as_ref()) {
            writeln!(err, "filtergen: warning: {}: device values are placeholders: {}", p.path.display(), note_text.0).map_err(note)?;
        }
    }
    if args.check {
        let report = check::check(&generated, args.format)?;
        writeln!(err, "filtergen: check: {report}").map_err(note)?;
    }
    let needs_dnsmasq = dnsmasq::needed(&generated.plan);
    let dnsmasq_path = args.dnsmasq.clone().or_else(|| args.output.as_deref().map(beside));
    match &args.output {
        Some(path) => crate::atomic::write(path, generated.ruleset.as_bytes())?,
        None => out.write_all(generated.ruleset.as_bytes()).map_err(|e| Error::io("<stdout>", e))?,
    }
    match &dnsmasq_path {
        Some(path) => crate::atomic::write(path, generated.dnsmasq.as_bytes())?,
        None if needs_dnsmasq => {
            writeln!(err, "filtergen: warning: host names need dnsmasq nftset lines: pass --dnsmasq FILE or -o FILE to write them").map_err(note)?
        }
        None => {}
    }
    let sets: usize = generated.plan.devices.iter().map(|d| d.sets.len()).sum();
    let accepts: usize = generated.plan.devices.iter().map(|d| d.accepts.len()).sum();
    if let Some(path) = &args.output {
        writeln!(
            err,
            "filtergen: wrote {} ({} device(s), {sets} set(s), {accepts} accept rule(s), action {})",
            path.display(),
            generated.plan.devices.len(),
            args.action.as_str()
        )
        .map_err(note)?;
    }
    if let (Some(path), true) = (&dnsmasq_path, needs_dnsmasq) {
        writeln!(err, "filtergen: wrote {} (dnsmasq nftset lines)", path.display()).map_err(note)?;
    }
    Ok(0)
}

/// `rules.nft` → `rules.dnsmasq.conf`, in the same folder.
fn beside(path: &Path) -> PathBuf {
    let stem = path.file_stem().map_or_else(|| "phonehome".into(), |s| s.to_string_lossy().into_owned());
    path.with_file_name(format!("{stem}.dnsmasq.conf"))
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
