//! `filtergen watch`: arguments, the shared capture filter of the profiles,
//! the checks made before anything starts, then the watch (or its unit file).

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{stdout_error, Context};
use crate::clock::UtcOffset;
use crate::compile::bpf;
use crate::error::Error;
use crate::profile::rules::{Mode, Profile};
use crate::report::country;
use crate::report::model::{Geo, Layered};
use crate::watch::{self, dumpcap::{Plan, Ring}};

pub const HELP: &str = "Examples:
  filtergen watch profiles/wyze-base.yaml profiles/roborock-tuya.yaml -i br-lan --dir /srv/watch --duration 24h --alerts /srv/watch/alerts.jsonl --report-every 10m
  filtergen watch profiles/wyze-base.yaml -i eth1 --ring 48:600 --max-disk 4G --systemd-unit > /etc/systemd/system/phonehome-watch.service

dumpcap captures the profiles' devices (their `device` capture filters ORed) into a ring of FILES pcapng files in DIR. As each file closes it is read by the native report pass and folded into running state (bounded; the report's notes say what a bound left out). One alert per new fact, printed and appended to --alerts: an UNEXPECTED endpoint, a question to a resolver the network did not offer, a leaked miIO token, a Kalay/PPPP UID sent to a new peer, an unexpected endpoint contacted at a regular period, the first traffic to a country. Each names the first packet's time, ring file and frame; that file is moved to DIR/evidence/ so the rotation keeps it. SIGINT/SIGTERM (or --duration) stops dumpcap, analyses the last file and writes DIR/PROFILE.report.json and .html. Checked before anything starts: the interface, capture permission, the filter, DIR writable (exit 2). Exit 1 when dumpcap failed (e.g. a full disk) after the final report.";

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Device profiles (each needs a device); one dumpcap captures all of them.
    #[arg(required = true, value_name = "PROFILE")]
    pub profiles: Vec<PathBuf>,
    /// The interface to capture on (an Ethernet one: a router's LAN bridge, a mirror port).
    #[arg(long, short, value_name = "IFACE")]
    pub interface: String,
    /// Ring files, reports (PROFILE.report.json/.html) and evidence/ go here.
    #[arg(long, value_name = "DIR", default_value = "phonehome-watch")]
    pub dir: PathBuf,
    /// Ring buffer: at most FILES files, a new one every SECONDS (alerts come when a file closes).
    #[arg(long, value_name = "FILES:SECONDS", default_value = "24:300")]
    pub ring: Ring,
    /// Disk the ring may use (e.g. 2G, 500M): each file is capped at SIZE/FILES. Evidence files kept aside come on top.
    #[arg(long, value_name = "SIZE")]
    pub max_disk: Option<Size>,
    /// Append each alert to FILE as one JSON object per line.
    #[arg(long, value_name = "FILE")]
    pub alerts: Option<PathBuf>,
    /// Rewrite the reports this often while running (e.g. 10m); they are always written at the end.
    #[arg(long, value_name = "DURATION")]
    pub report_every: Option<Span>,
    /// Stop after this long (e.g. 24h) as on SIGTERM.
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<Span>,
    /// A MaxMind or DB-IP database (.mmdb), repeatable, as for `report`.
    #[arg(long, value_name = "FILE")]
    pub geoip: Vec<PathBuf>,
    /// Local time for alerts and reports, e.g. +11:00.
    #[arg(long, value_name = "OFFSET", default_value = "0", allow_hyphen_values = true)]
    pub utc_offset: UtcOffset,
    /// Print a systemd unit running this watch as a service, instead of watching.
    #[arg(long)]
    pub systemd_unit: bool,
}

/// A duration as given (`90`, `30s`, `10m`, `24h`, `7d`), kept as written for the unit file.
#[derive(Clone, Debug)]
pub struct Span {
    text: String,
    duration: Duration,
}

impl std::str::FromStr for Span {
    type Err = String;
    fn from_str(s: &str) -> Result<Span, String> {
        let bad = || format!("bad duration {s:?}: want a number with s, m, h or d, e.g. 30s, 10m, 24h");
        let (n, unit) = number_and_unit(s).ok_or_else(bad)?;
        let secs = match unit {
            "" | "s" => n,
            "m" => n * 60,
            "h" => n * 3600,
            "d" => n * 86_400,
            _ => return Err(bad()),
        };
        if secs == 0 {
            return Err(bad());
        }
        Ok(Span { text: s.to_string(), duration: Duration::from_secs(secs) })
    }
}

/// `24h` as (24, "h").
fn number_and_unit(s: &str) -> Option<(u64, &str)> {
    let (n, unit) = s.find(|c: char| !c.is_ascii_digit()).map_or((s, ""), |i| s.split_at(i));
    Some((n.parse().ok()?, unit))
}

/// A size as given (`500M`, `2G`, `800k`, bytes without a suffix; powers of 1024).
#[derive(Clone, Debug)]
pub struct Size {
    text: String,
    bytes: u64,
}

impl std::str::FromStr for Size {
    type Err = String;
    fn from_str(s: &str) -> Result<Size, String> {
        let bad = || format!("bad size {s:?}: want e.g. 500M or 2G");
        let (n, unit) = number_and_unit(s).ok_or_else(bad)?;
        let shift = match unit.to_ascii_uppercase().trim_end_matches('B').trim_end_matches('I') {
            "" => 0,
            "K" => 10,
            "M" => 20,
            "G" => 30,
            "T" => 40,
            _ => return Err(bad()),
        };
        Ok(Size { text: s.to_string(), bytes: n.checked_shl(shift).filter(|b| b >> shift == n).ok_or_else(bad)? })
    }
}

/// dumpcap's smallest sensible file: below this a ring file holds too little to be read.
const MIN_FILE_KB: u64 = 64;

pub(super) fn run(ctx: &Context, args: Args, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, Error> {
    let profiles = args.profiles.iter().map(|p| ctx.load(p)).collect::<Result<Vec<Profile>, Error>>()?;
    let filters = profiles
        .iter()
        .map(|p| {
            if p.device.is_none() {
                return Err(Error::Usage(format!("profile {} has no device: watch needs the device's MAC or IP", p.name)));
            }
            bpf::compile(p, Mode::Device)
        })
        .collect::<Result<Vec<String>, Error>>()?;
    let filter = if filters.len() == 1 { filters[0].clone() } else { filters.iter().map(|f| format!("({f})")).collect::<Vec<_>>().join(" or ") };
    let file_kb = match &args.max_disk {
        Some(size) => {
            let kb = size.bytes / u64::from(args.ring.files) / 1024;
            if kb < MIN_FILE_KB {
                return Err(Error::Usage(format!(
                    "--max-disk {} over {} ring files is {kb} KiB a file: give at least {} KiB a file",
                    size.text, args.ring.files, MIN_FILE_KB
                )));
            }
            Some(kb)
        }
        None => None,
    };
    let plan = Plan { interface: args.interface.clone(), filter, dir: args.dir.clone(), ring: args.ring, file_kb };
    if args.systemd_unit {
        let exe = std::env::current_exe().map_err(|e| Error::io("<current executable>", e))?;
        let dir = absolute(&args.dir)?;
        out.write_all(watch::unit::text(&exe, &unit_args(&args)?, &args.interface, &dir).as_bytes()).map_err(stdout_error)?;
        return Ok(0);
    }
    watch::check(&plan)?;
    let databases = args.geoip.iter().map(|p| crate::report::geoip::Countries::open(p)).collect::<Result<Vec<_>, _>>()?;
    let geo = Layered(databases.iter().map(|d| d as &dyn Geo).chain([&country::Embedded as &dyn Geo]).collect());
    let w = watch::Watch {
        profiles: &profiles,
        plan,
        alerts: args.alerts,
        report_every: args.report_every.map(|s| s.duration),
        duration: args.duration.map(|s| s.duration),
        offset: args.utc_offset,
        geo: &geo,
        country_source: super::report::country_source(&args.geoip),
    };
    watch::run(&w, out, err)
}

fn absolute(p: &Path) -> Result<PathBuf, Error> {
    std::path::absolute(p).map_err(|e| Error::io(p, e))
}

/// This watch's arguments again, paths absolute (a service starts in another folder).
fn unit_args(args: &Args) -> Result<Vec<OsString>, Error> {
    let mut v: Vec<OsString> = vec!["watch".into()];
    for p in &args.profiles {
        v.push(absolute(p)?.into());
    }
    v.extend(["--interface".into(), args.interface.clone().into(), "--dir".into(), absolute(&args.dir)?.into()]);
    v.extend(["--ring".into(), format!("{}:{}", args.ring.files, args.ring.seconds).into()]);
    let mut opt = |name: &str, value: Option<OsString>| {
        if let Some(value) = value {
            v.extend([name.into(), value]);
        }
    };
    opt("--max-disk", args.max_disk.as_ref().map(|s| s.text.clone().into()));
    opt("--alerts", args.alerts.as_deref().map(absolute).transpose()?.map(Into::into));
    opt("--report-every", args.report_every.as_ref().map(|s| s.text.clone().into()));
    opt("--duration", args.duration.as_ref().map(|s| s.text.clone().into()));
    opt("--utc-offset", (args.utc_offset != UtcOffset(0)).then(|| args.utc_offset.to_string().trim_start_matches("UTC").to_string().into()));
    for g in &args.geoip {
        v.extend(["--geoip".into(), absolute(g)?.into()]);
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_sizes() {
        assert_eq!("24h".parse::<Span>().unwrap().duration, Duration::from_secs(86_400));
        assert_eq!("90".parse::<Span>().unwrap().duration, Duration::from_secs(90));
        assert!("10x".parse::<Span>().is_err());
        assert!("0s".parse::<Span>().is_err());
        assert_eq!("2G".parse::<Size>().unwrap().bytes, 2 << 30);
        assert_eq!("500MiB".parse::<Size>().unwrap().bytes, 500 << 20);
        assert!("lots".parse::<Size>().is_err());
    }
}
