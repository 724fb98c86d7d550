//! Command-line interface: argument parsing and one function per command.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{CommandFactory, Parser, Subcommand};

use crate::check::{self, Compilers};
use crate::delivery::{ModeFilter, DEFAULT_WIRESHARK_PROFILE};
use crate::error::Error;
use crate::protocols::Catalog;
use crate::resolve::Resolved;
use crate::rules::{Mode, Name, Profile};
use crate::{atomic, bpf, command, engine, jobs, profile, run, script, wsprofile};

const EXIT_CODES: &str = "Exit codes: 0 ok, 1 findings or a failed compile (no BPF equivalent, a filter tshark/libpcap rejects), 2 usage or input error.";

#[derive(Parser, Debug)]
#[command(name = "filtergen", version, about = "Compile phonehome device profiles into Wireshark display filters, capture filters, tshark commands, batch scripts and Wireshark profiles.", after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(clap::Args, Debug)]
pub struct FilterOpts {
    /// Which traffic to keep.
    #[arg(long, short, value_enum, default_value_t = Mode::Clean)]
    pub mode: Mode,
    /// Also match the addresses DNS answers in these captures returned for the profile's host names.
    #[arg(long, num_args = 1.., value_name = "CAPTURE")]
    pub resolve_from: Vec<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct WiresharkOpts {
    /// Wireshark configuration profile to write (macros for over-long filters, or everything for `install`).
    #[arg(long, value_name = "NAME", default_value = DEFAULT_WIRESHARK_PROFILE)]
    pub wireshark_profile: String,
    /// Wireshark personal configuration folder [default: $XDG_CONFIG_HOME/wireshark or ~/.config/wireshark].
    #[arg(long, value_name = "DIR")]
    pub config_dir: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Print the display filter for a profile.
    #[command(after_help = "Examples:\n  filtergen filter profiles/roborock-tuya.yaml --mode clean\n  tshark -r cap.pcapng -Y \"$(filtergen filter profiles/wyze-base.yaml --mode unexpected)\"\n  filtergen filter profiles/roborock-tuya.yaml --resolve-from day1.pcapng\n\nA filter over the 128 KiB argument limit is written as a macro into the Wireshark profile and printed as ${phonehome_NAME_MODE}; use it with `tshark -C PROFILE`.")]
    Filter {
        profile: PathBuf,
        #[command(flatten)]
        filter: FilterOpts,
        #[command(flatten)]
        wireshark: WiresharkOpts,
    },
    /// Print the equivalent capture filter (BPF) for dumpcap/tcpdump.
    #[command(after_help = "Examples:\n  filtergen bpf profiles/wyze-base.yaml --mode device\n  dumpcap -i eth1 -f \"$(filtergen bpf profiles/supra-plug.yaml --mode clean)\" -w plug.pcapng\n\nExits 1 naming the rule when a rule (host name, raw filter, a dissected protocol) has no BPF equivalent.")]
    Bpf {
        profile: PathBuf,
        #[arg(long, short, value_enum, default_value_t = Mode::Clean)]
        mode: Mode,
    },
    /// Print the tshark command lines that write NAME.MODE.pcapng beside each capture.
    #[command(after_help = "Examples:\n  filtergen command profiles/roborock-tuya.yaml captures/ --mode clean | sh\n  filtergen command profiles/milight-bridge.yaml a.pcap b.pcapng.gz --mode unexpected\n\nDirectories are searched recursively; outputs of earlier runs (*.device|clean|unexpected.pcapng) are skipped, and an output that would overwrite an input is refused.")]
    Command {
        profile: PathBuf,
        #[arg(required = true, value_name = "CAPTURE")]
        captures: Vec<PathBuf>,
        #[command(flatten)]
        filter: FilterOpts,
        #[command(flatten)]
        wireshark: WiresharkOpts,
    },
    /// Render a POSIX sh batch script (shell-quoted, shellcheck-clean) from a handlebars template.
    #[command(after_help = "Examples:\n  filtergen script profiles/roborock-tuya.yaml -o clean.sh && sh clean.sh captures/\n  filtergen script profiles/wyze-base.yaml --mode unexpected --template my.sh.hbs\n\nTemplate values: profile, description, mode, filter, suffix, wireshark_profile. {{value}} is shell-quoted, {{{value}}} raw.")]
    Script {
        profile: PathBuf,
        /// A handlebars template replacing the built-in one.
        #[arg(long, value_name = "FILE")]
        template: Option<PathBuf>,
        /// Write the script here (mode 0755) instead of standard output.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
        #[command(flatten)]
        filter: FilterOpts,
        #[command(flatten)]
        wireshark: WiresharkOpts,
    },
    /// Validate profiles and compile every generated filter with tshark and libpcap.
    #[command(after_help = "Examples:\n  filtergen check profiles/*.yaml profiles/noise/*.yaml\n\nExits 0 only if every profile validates and every generated filter compiles.")]
    Check {
        #[arg(required = true)]
        profiles: Vec<PathBuf>,
        /// Also match the addresses DNS answers in these captures returned.
        #[arg(long, num_args = 1.., value_name = "CAPTURE")]
        resolve_from: Vec<PathBuf>,
    },
    /// Write a Wireshark configuration profile: filter buttons, saved filters, macros and key tables.
    #[command(after_help = "Examples:\n  filtergen install profiles/roborock-tuya.yaml profiles/wyze-base.yaml\n  wireshark -C phonehome\n  tshark -C phonehome -r cap.pcapng -Y '${phonehome_roborock_tuya_unexpected}'")]
    Install {
        #[arg(required = true)]
        profiles: Vec<PathBuf>,
        /// Also match the addresses DNS answers in these captures returned.
        #[arg(long, num_args = 1.., value_name = "CAPTURE")]
        resolve_from: Vec<PathBuf>,
        #[command(flatten)]
        wireshark: WiresharkOpts,
    },
    /// Tell what the device talks to: endpoints with periods, DNS, resolvers, NTP, broadcasts, busy hours, IoT ids.
    #[command(after_help = "Examples:\n  filtergen report profiles/roborock-tuya.yaml captures/\n  filtergen report profiles/milight-bridge.yaml day1.pcapng.gz --format html -o report.html --geoip dbip-country-lite.mmdb\n  filtergen report profiles/roborock-tuya.yaml captures/ --utc-offset +11:00 --format markdown\n\nOne tshark pass per capture (with the phonehome plugin when it is installed), captures read in parallel. Exit 1 when a capture could not be read completely.")]
    Report(crate::report_cmd::ReportArgs),
    /// Draft a profile from what a device did in captures (review it before committing).
    #[command(after_help = "Examples:\n  filtergen learn captures/ --device 64:90:c1:1d:24:c4 -o profiles/my-vacuum.yaml\n  filtergen filter profiles/my-vacuum.yaml --mode unexpected --resolve-from captures/day1.pcapng")]
    Learn(crate::learn_cmd::LearnArgs),
    /// Export a profile's expected rules as an RFC 8520 MUD file (JSON).
    #[command(after_help = "Examples:\n  filtergen mud profiles/roborock-tuya.yaml --mud-url https://example.com/roborock.json -o roborock.json\n\nExits 1 (after writing) when a rule could not be expressed: wildcards, MAC, protocol and raw-filter rules.")]
    Mud(crate::mud::MudArgs),
    /// Filter captures into NAME.MODE.pcapng: natively where headers decide, tshark only where dissection is needed.
    #[command(after_help = "Examples:\n  filtergen run profiles/roborock-tuya.yaml captures/ --mode clean\n  filtergen run profiles/wyze-base.yaml day1.pcapng.gz day2.pcap --out cleaned/ --jobs 2 --resume\n\nInputs: pcap, pcapng, gzip-compressed; directories are searched recursively. Outputs are written as OUT.part and renamed when complete; a damaged input is reported (file, offset, reason), its readable packets kept, and the batch goes on. Exit 1 if any input had a problem.")]
    Run {
        profile: PathBuf,
        #[arg(required = true, value_name = "INPUT")]
        inputs: Vec<PathBuf>,
        #[command(flatten)]
        filter: FilterOpts,
        /// Write the outputs under this folder (inputs found in a directory keep their relative path).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Files filtered at once [default: all cores].
        #[arg(long, short, value_name = "N")]
        jobs: Option<usize>,
        /// Skip inputs whose output is already complete (and not older than the input).
        #[arg(long)]
        resume: bool,
        #[command(flatten)]
        wireshark: WiresharkOpts,
    },
    /// Turn profiles into router rules (nftables, OpenWrt fw4) and dnsmasq nftset lines: expected traffic passes, the rest is logged, rejected or dropped.
    #[command(after_help = crate::emit::firewall::HELP)]
    Firewall(crate::emit::firewall::FirewallArgs),
    /// Print a shell completion script.
    #[command(after_help = "Examples:\n  filtergen completions bash > /etc/bash_completion.d/filtergen")]
    Completions { shell: clap_complete::Shell },
    /// Write the man pages (filtergen.1 and filtergen-COMMAND.1) into DIR.
    #[command(hide = true)]
    Manpages { dir: PathBuf },
}

/// Runs the parsed command; returns the exit code.
pub fn run(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, Error> {
    let catalog = Catalog::from_tshark().map_err(|e| {
        let _ = writeln!(err, "filtergen: warning: {e}; protocol names are not checked");
    });
    let catalog = catalog.ok();
    let ctx = Context { catalog: catalog.as_ref() };
    match cli.command {
        Cmd::Filter { profile, filter, wireshark } => {
            let profile = ctx.load(&profile)?;
            let resolved = resolve(&filter.resolve_from)?;
            let compiled = ModeFilter::compile(&profile, filter.mode, &resolved)?;
            deliver_macros(std::slice::from_ref(&compiled), &wireshark, err)?;
            writeln!(out, "{}", compiled.argument()).map_err(stdout_error)?;
            Ok(0)
        }
        Cmd::Bpf { profile, mode } => {
            let profile = ctx.load(&profile)?;
            let expr = if profile.device.is_some() {
                bpf::compile(&profile, mode)?
            } else {
                bpf::compile_ignore(&profile)?.ok_or_else(|| Error::Usage("profile has neither device nor ignore rules".into()))?
            };
            writeln!(out, "{expr}").map_err(stdout_error)?;
            Ok(0)
        }
        Cmd::Command { profile, captures, filter, wireshark } => {
            let profile = ctx.load(&profile)?;
            let resolved = resolve(&filter.resolve_from)?;
            let compiled = ModeFilter::compile(&profile, filter.mode, &resolved)?;
            let (jobs, skipped) = jobs::plan(&captures, filter.mode)?;
            for path in skipped {
                writeln!(err, "filtergen: skipping {}: an output of filtergen", path.display()).map_err(stdout_error)?;
            }
            deliver_macros(std::slice::from_ref(&compiled), &wireshark, err)?;
            for job in &jobs {
                writeln!(out, "{}", command::tshark_line(job, &compiled, &wireshark.wireshark_profile)).map_err(stdout_error)?;
            }
            Ok(0)
        }
        Cmd::Script { profile, template, output, filter, wireshark } => {
            let profile = ctx.load(&profile)?;
            let resolved = resolve(&filter.resolve_from)?;
            let compiled = ModeFilter::compile(&profile, filter.mode, &resolved)?;
            deliver_macros(std::slice::from_ref(&compiled), &wireshark, err)?;
            let template = match &template {
                Some(path) => std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?,
                None => script::BUILTIN.to_string(),
            };
            let description = profile.description.as_ref().map(|d| d.0.as_str()).unwrap_or("");
            let data = script::ScriptData::new(&compiled, description, &wireshark.wireshark_profile);
            let text = script::render(&template, &data)?;
            match output {
                Some(path) => atomic::write_with_mode(&path, text.as_bytes(), 0o755)?,
                None => out.write_all(text.as_bytes()).map_err(stdout_error)?,
            }
            Ok(0)
        }
        Cmd::Check { profiles, resolve_from } => {
            let compilers = Compilers::new()?;
            let resolved = resolve(&resolve_from)?;
            let mut failed = false;
            for path in &profiles {
                let profile = match ctx.load(path) {
                    Ok(p) => p,
                    Err(e) => {
                        writeln!(out, "{}: FAILED\n  {e}", path.display()).map_err(stdout_error)?;
                        failed = true;
                        continue;
                    }
                };
                let outcomes = check::check_profile(&profile, &resolved, &compilers);
                let ok = outcomes.iter().all(|o| o.result.is_ok());
                failed |= !ok;
                writeln!(out, "{}: {}", path.display(), if ok { "ok" } else { "FAILED" }).map_err(stdout_error)?;
                if let Some(note) = profile.device.as_ref().and_then(|d| d.placeholder.as_ref()) {
                    writeln!(out, "  note: device values are placeholders: {}", note.0).map_err(stdout_error)?;
                }
                for o in outcomes {
                    let line = match &o.result {
                        Ok(detail) => format!("  {}: ok ({detail})", o.what),
                        Err(reason) => format!("  {}: FAILED: {reason}", o.what),
                    };
                    writeln!(out, "{line}").map_err(stdout_error)?;
                }
            }
            Ok(if failed { 1 } else { 0 })
        }
        Cmd::Install { profiles, resolve_from, wireshark } => {
            let resolved = resolve(&resolve_from)?;
            let mut contents = wsprofile::Contents::default();
            for path in &profiles {
                let profile = ctx.load(path)?;
                contents.filters.extend(ModeFilter::all(&profile, &resolved)?);
                contents.keys.tuya.extend(profile.keys.tuya);
                contents.keys.miio.extend(profile.keys.miio);
            }
            let name: Name = wireshark.wireshark_profile.parse().map_err(Error::Usage)?;
            let dir = wsprofile::install(&config_dir(&wireshark)?, &name, &contents)?;
            writeln!(out, "wrote Wireshark profile {} ({} filters): open it with `wireshark -C {}`", dir.display(), contents.filters.len(), name)
                .map_err(stdout_error)?;
            Ok(0)
        }
        Cmd::Report(args) => {
            let profile = ctx.load(&args.profile)?;
            crate::report_cmd::run(args, &profile, out, err)
        }
        Cmd::Learn(args) => crate::learn_cmd::learn(args, ctx.catalog, out, err),
        Cmd::Mud(args) => {
            let profile = ctx.load(&args.profile)?;
            crate::mud::run(args, &profile, out, err)
        }
        Cmd::Run { profile, inputs, filter, out: out_dir, jobs, resume, wireshark } => {
            let profile = ctx.load(&profile)?;
            let resolved = resolve(&filter.resolve_from)?;
            let compiled = ModeFilter::compile(&profile, filter.mode, &resolved)?;
            let jobs = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            let options = run::Options { out: out_dir, jobs, resume };
            let (planned, skipped) = run::plan(&inputs, filter.mode, &options)?;
            for path in skipped {
                writeln!(err, "filtergen: skipping {}: an output of filtergen", path.display()).map_err(stdout_error)?;
            }
            deliver_macros(std::slice::from_ref(&compiled), &wireshark, err)?;
            let engine = engine::Engine::new(&profile, &compiled, &resolved, &wireshark.wireshark_profile);
            run::run(&engine, planned, &options, out, err)
        }
        Cmd::Firewall(args) => {
            let profiles = args.profiles.iter().map(|p| ctx.load(p)).collect::<Result<Vec<_>, _>>()?;
            crate::emit::firewall::run(args, &profiles, out, err)
        }
        Cmd::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "filtergen", out);
            Ok(0)
        }
        Cmd::Manpages { dir } => {
            write_manpages(&dir)?;
            Ok(0)
        }
    }
}

/// One page for filtergen and one per visible command, as `man filtergen-report`.
fn write_manpages(dir: &Path) -> Result<(), Error> {
    let root = Cli::command();
    let mut pages = vec![("filtergen".to_string(), root.clone())];
    for sub in root.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("filtergen-{}", sub.get_name());
        pages.push((name.clone(), sub.clone().name(name).version(root.get_version().unwrap_or_default().to_string())));
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    for (name, cmd) in pages {
        let path = dir.join(format!("{name}.1"));
        let mut page = Vec::new();
        clap_mangen::Man::new(cmd).render(&mut page).map_err(|e| Error::io(&path, e))?;
        atomic::write(&path, &page)?;
    }
    Ok(())
}

struct Context<'a> {
    catalog: Option<&'a Catalog>,
}

impl Context<'_> {
    fn load(&self, path: &Path) -> Result<Profile, Error> {
        profile::load(path, self.catalog)
    }
}

fn resolve(captures: &[PathBuf]) -> Result<Resolved, Error> {
    if captures.is_empty() {
        Ok(Resolved::none())
    } else {
        Resolved::from_captures(captures)
    }
}

fn config_dir(wireshark: &WiresharkOpts) -> Result<PathBuf, Error> {
    match &wireshark.config_dir {
        Some(dir) => Ok(dir.clone()),
        None => wsprofile::config_dir(),
    }
}

/// Writes the macros of filters over the argument limit, and says so.
fn deliver_macros(filters: &[ModeFilter], wireshark: &WiresharkOpts, err: &mut dyn Write) -> Result<(), Error> {
    let long: Vec<ModeFilter> = filters.iter().filter(|f| !f.fits_argument()).cloned().collect();
    if long.is_empty() {
        return Ok(());
    }
    let name: Name = wireshark.wireshark_profile.parse().map_err(Error::Usage)?;
    let dir = wsprofile::install_macros(&config_dir(wireshark)?, &name, &long)?;
    for f in &long {
        writeln!(
            err,
            "filtergen: the {} filter is {} bytes, over the 128 KiB argument limit: written as macro ${{{}}} in {} (use tshark -C {})",
            f.label(),
            f.text.len(),
            f.macro_name(),
            dir.display(),
            name
        )
        .map_err(stdout_error)?;
    }
    Ok(())
}

fn stdout_error(e: std::io::Error) -> Error {
    Error::io("<stdout>", e)
}
