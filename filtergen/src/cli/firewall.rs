//! `filtergen firewall`: writes the router rules (nftables or an OpenWrt
//! fw4 include) and the dnsmasq nftset lines for profiles.

use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use super::{Context, ProfilesOpts};
use crate::emit::firewall::{check, country_blocks, dnsmasq, generate, Action, Blocklist, DnsPin, Format, Options};
use crate::error::Error;
use crate::report::country::Country;
use crate::report::geoip;

pub(super) const HELP: &str = "Examples:
  filtergen firewall profiles/roborock-tuya.yaml -o phonehome.nft --check && nft -f phonehome.nft
  filtergen firewall profiles/wyze-base.yaml --dns-pin 192.0.2.1 --action reject -o phonehome.nft
  filtergen firewall profiles/*.yaml --format openwrt -o 50-phonehome.nft --resolve-from day1.pcapng
  filtergen firewall profiles/wyze-base.yaml --block-country CN -o phonehome.nft

Per device (its MACs and IPs), forwarded traffic an expected rule matches is accepted, as are DHCP and DNS to the router and replies (conntrack); the rest takes --action. Host names are filled in by dnsmasq (nftset lines written beside -o). Protocols map to their well-known ports (dns, ntp, dhcp, mdns, ssdp, ...) or IP protocol (icmp, igmp); a rule with no firewall equivalent (a dissected protocol such as tuya, a raw filter, a peer MAC) exits 1 naming it, writing nothing.

--block-country keeps the device (not the rest of the network) from the blocks registered to those countries: per device, one interval set per country and IP version, checked before the expected rules and rejected (dropped with --action drop; with --action log, logged too). The embedded registry data has IPv4 blocks; add --geoip FILE.mmdb (a country database) for IPv6 blocks and that database's IPv4 blocks.";

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub profiles: ProfilesOpts,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = Format::Nft)]
    pub format: Format,
    /// What happens to traffic no expected rule allows: `log` audits (logs, counts, lets it through).
    #[arg(long, short, value_enum, default_value_t = Action::Log)]
    pub action: Action,
    /// Redirect the devices' DNS to this resolver (one IPv4 and/or one IPv6 address; repeatable), block DNS over TLS.
    #[arg(long, value_name = "ADDR")]
    pub dns_pin: Vec<IpAddr>,
    /// Keep the devices from the blocks registered to these countries (ISO codes, comma-separated or repeated).
    #[arg(long, value_name = "CC", value_delimiter = ',')]
    pub block_country: Vec<Country>,
    /// A country database (.mmdb, MaxMind or DB-IP) whose blocks join the embedded ones (IPv6 included), for --block-country and `country` rules.
    #[arg(long, value_name = "FILE.mmdb")]
    pub geoip: Option<PathBuf>,
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

/// Writes the ruleset and the dnsmasq lines; returns the exit code.
pub(super) fn run(ctx: &Context, args: Args, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, Error> {
    let profiles = args.profiles.load_all(ctx)?;
    let profiles = &profiles[..];
    let resolved = args.profiles.resolve.resolved()?;
    let geoip = args.geoip.as_deref().map(geoip::Countries::open).transpose()?;
    let blocklists = country_blocklists(&args.block_country, geoip.as_ref())?;
    let opts = Options { action: args.action, dns_pin: DnsPin::from_addrs(&args.dns_pin)?, resolved: &resolved, blocklists, geoip: geoip.as_ref() };
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

/// One blocklist per country (`country-cn`), so each has its own counter.
fn country_blocklists(countries: &[Country], geoip: Option<&geoip::Countries>) -> Result<Vec<Blocklist>, Error> {
    let mut seen = Vec::new();
    let mut lists = Vec::new();
    for &c in countries {
        if seen.contains(&c) {
            continue;
        }
        seen.push(c);
        let name = format!("country-{}", c.as_str().to_ascii_lowercase()).parse().map_err(Error::Usage)?;
        lists.push(Blocklist { name, nets: country_blocks(&[c], geoip) });
    }
    Ok(lists)
}

/// `rules.nft` → `rules.dnsmasq.conf`, in the same folder.
fn beside(path: &Path) -> PathBuf {
    let stem = path.file_stem().map_or_else(|| "phonehome".into(), |s| s.to_string_lossy().into_owned());
    path.with_file_name(format!("{stem}.dnsmasq.conf"))
}

