//! `filtergen report`: gather, build, render, write.

use std::io::Write;
use std::path::PathBuf;

use crate::clock::UtcOffset;
use crate::error::Error;
use crate::report::gather;
use crate::report::observe::DeviceMatch;
use crate::report::model::{self, Geo, Inputs, Layered};
use crate::profile::rules::Profile;
use crate::atomic;
use crate::report::country;
use crate::report::{html as report_html, text as report_text};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
    Markdown,
    Html,
}

#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    pub profile: PathBuf,
    /// Capture files or directories (searched recursively): pcap, pcapng, gzip-compressed.
    #[arg(required_unless_present = "eve", conflicts_with = "eve", value_name = "CAPTURE")]
    pub captures: Vec<PathBuf>,
    /// Read Suricata EVE JSON logs (plain or gzip, any number) instead of captures.
    #[arg(long, num_args = 1.., value_name = "FILE")]
    pub eve: Vec<PathBuf>,
    #[arg(long, short, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write the report here (atomically) instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// A MaxMind or DB-IP database (.mmdb), repeatable: a country database overrides the embedded
    /// registry countries, an ASN database adds each network's owner.
    #[arg(long, value_name = "FILE")]
    pub geoip: Vec<PathBuf>,
    /// Local time for timestamps and the hour-of-day histogram, e.g. +11:00.
    #[arg(long, value_name = "OFFSET", default_value = "0", allow_hyphen_values = true)]
    pub utc_offset: UtcOffset,
    /// Captures read at once [default: all cores].
    #[arg(long, short, value_name = "N")]
    pub jobs: Option<usize>,
    /// What reads the captures: filtergen itself, or tshark (the reference).
    #[arg(long, value_enum, default_value_t = gather::Engine::Native)]
    pub engine: gather::Engine,
    /// Exit 1 when an endpoint matches no ignore or expected rule.
    #[arg(long)]
    pub fail_on_unexpected: bool,
}

/// Runs the command; 1 when a capture could not be read completely (or,
/// with --fail-on-unexpected, when something is UNEXPECTED).
pub fn run(args: ReportArgs, profile: &Profile, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, Error> {
    let device = DeviceMatch::from_profile(profile)
        .ok_or_else(|| Error::Usage(format!("profile {} has no device: report needs the device's MAC or IP", profile.name)))?;
    let databases = args.geoip.iter().map(|p| crate::report::geoip::Countries::open(p)).collect::<Result<Vec<_>, _>>()?;
    let geo = Layered(databases.iter().map(|d| d as &dyn Geo).chain([&country::Embedded as &dyn Geo]).collect());
    if !args.eve.is_empty() {
        return run_eve(&args, profile, &device, &geo, out, err);
    }
    let gathered = gather::gather(&args.captures, &device, args.jobs.unwrap_or_else(gather::default_jobs), args.engine)?;
    let io = |e: std::io::Error| Error::io("<stderr>", e);
    for s in &gathered.skipped {
        writeln!(err, "filtergen: skipping {}: an output of filtergen", s.display()).map_err(io)?;
    }
    for p in &gathered.problems {
        writeln!(err, "filtergen: {p}").map_err(io)?;
    }
    let mut notes: Vec<String> = gathered.problems.iter().map(|p| format!("incomplete: {p}")).collect();
    if gathered.plugin && !gathered.missing_fields.is_empty() {
        notes.push(format!("this plugin does not provide {}", gathered.missing_fields.join(", ")));
    }
    let report = model::build(Inputs {
        profile,
        observations: &gathered.observations,
        captures: gathered.captures.iter().map(|c| c.display().to_string()).collect(),
        plugin: gathered.plugin,
        notes,
        offset: args.utc_offset,
        geo: &geo,
        country_source: country_source(&args.geoip),
    });
    render(&args, &report, out)?;
    let unexpected = report.endpoints.iter().any(|e| e.status == "unexpected");
    Ok(i32::from(!gathered.problems.is_empty() || (args.fail_on_unexpected && unexpected)))
}

fn render(args: &ReportArgs, report: &model::Report, out: &mut dyn Write) -> Result<(), Error> {
    let text = match args.format {
        Format::Table => report_text::table(report),
        Format::Csv => report_text::csv(report),
        Format::Json => report_text::json(report),
        Format::Markdown => report_text::markdown(report),
        Format::Html => report_html::html(report),
    };
    match &args.output {
        Some(path) => atomic::write(path, text.as_bytes()),
        None => out.write_all(text.as_bytes()).map_err(|e| Error::io("<stdout>", e)),
    }
}

/// The same report from Suricata's EVE logs.
fn run_eve(
    args: &ReportArgs,
    profile: &Profile,
    device: &DeviceMatch,
    geo: &dyn Geo,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<i32, Error> {
    let gathered = crate::report::eve::gather(&args.eve, device)?;
    for p in &gathered.problems {
        writeln!(err, "filtergen: {p}").map_err(|e| Error::io("<stderr>", e))?;
    }
    let mut notes: Vec<String> = gathered.problems.iter().map(|p| format!("incomplete: {p}")).collect();
    notes.push(format!(
        "read from {} Suricata EVE events: periods are those of connections and DNS questions (EVE logs a flow once, not its packets); no non-IP frames, MACs or IoT fields",
        gathered.events
    ));
    notes.extend(gathered.alerts.iter().map(|(sig, n)| format!("Suricata alert {n}x: {sig}")));
    let report = model::build(Inputs {
        profile,
        observations: &gathered.observations,
        captures: gathered.files.iter().map(|c| c.display().to_string()).collect(),
        plugin: false,
        notes,
        offset: args.utc_offset,
        geo,
        country_source: country_source(&args.geoip),
    });
    render(args, &report, out)?;
    let unexpected = report.endpoints.iter().any(|e| e.status == "unexpected");
    Ok(i32::from(!gathered.problems.is_empty() || (args.fail_on_unexpected && unexpected)))
}

/// The footer's word on where countries come from.
pub(super) fn country_source(databases: &[PathBuf]) -> String {
    if databases.is_empty() {
        return country::SOURCE.to_string();
    }
    let names: Vec<String> = databases.iter().map(|d| d.file_name().map_or_else(|| d.display().to_string(), |n| n.to_string_lossy().into_owned())).collect();
    format!("countries and network owners from {} where it has the address, else {}", names.join(", "), country::SOURCE)
}
