//! Command-line interface: argument parsing and dispatch; each command
//! (its arguments and what it does) is in its own file.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{CommandFactory, Parser, Subcommand};

use crate::compile::delivery::{ModeFilter, DEFAULT_WIRESHARK_PROFILE};
use crate::emit::wsprofile;
use crate::error::Error;
use crate::profile;
use crate::profile::protocols::Catalog;
use crate::profile::resolve::Resolved;
use crate::profile::rules::{Mode, Name, Profile};

mod bpf;
mod check;
mod command;
mod filter;
mod firewall;
mod install;
mod learn;
mod manpages;
mod mud;
mod report;
mod run;
mod script;
mod suricata;
mod watch;

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
    #[command(flatten)]
    pub resolve: ResolveOpts,
}

/// Captures whose DNS answers give the profiles' host names their addresses.
#[derive(clap::Args, Debug)]
pub struct ResolveOpts {
    /// Addresses DNS answers in these captures gave for the profiles' host names count as those names (the firewall seeds its host-name sets with them).
    #[arg(long, num_args = 1.., value_name = "CAPTURE")]
    pub resolve_from: Vec<PathBuf>,
}

impl ResolveOpts {
    fn resolved(&self) -> Result<Resolved, Error> {
        if self.resolve_from.is_empty() {
            Ok(Resolved::none())
        } else {
            Resolved::from_captures(&self.resolve_from)
        }
    }
}

/// The device profiles a command reads, and captures resolving their host names.
#[derive(clap::Args, Debug)]
pub struct ProfilesOpts {
    /// Device profiles (YAML).
    #[arg(required = true, value_name = "PROFILE")]
    pub profiles: Vec<PathBuf>,
    #[command(flatten)]
    pub resolve: ResolveOpts,
}

impl ProfilesOpts {
    /// Every profile, or the first error.
    fn load_all(&self, ctx: &Context) -> Result<Vec<Profile>, Error> {
        self.profiles.iter().map(|p| ctx.load(p)).collect()
    }
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
    Filter(filter::Args),
    /// Print the equivalent capture filter (BPF) for dumpcap/tcpdump.
    #[command(after_help = "Examples:\n  filtergen bpf profiles/wyze-base.yaml --mode device\n  dumpcap -i eth1 -f \"$(filtergen bpf profiles/supra-plug.yaml --mode clean)\" -w plug.pcapng\n\nExits 1 naming the rule when a rule (host name, raw filter, a dissected protocol) has no BPF equivalent.")]
    Bpf(bpf::Args),
    /// Print the tshark command lines that write NAME.MODE.pcapng beside each capture.
    #[command(after_help = "Examples:\n  filtergen command profiles/roborock-tuya.yaml captures/ --mode clean | sh\n  filtergen command profiles/milight-bridge.yaml a.pcap b.pcapng.gz --mode unexpected\n\nDirectories are searched recursively; outputs of earlier runs (*.device|clean|unexpected.pcapng) are skipped, and an output that would overwrite an input is refused.")]
    Command(command::Args),
    /// Render a POSIX sh batch script (shell-quoted, shellcheck-clean) from a handlebars template.
    #[command(after_help = "Examples:\n  filtergen script profiles/roborock-tuya.yaml -o clean.sh && sh clean.sh captures/\n  filtergen script profiles/wyze-base.yaml --mode unexpected --template my.sh.hbs\n\nTemplate values: profile, description, mode, filter, suffix, wireshark_profile. {{value}} is shell-quoted, {{{value}}} raw.")]
    Script(script::Args),
    /// Validate profiles and compile every generated filter with tshark and libpcap.
    #[command(after_help = "Examples:\n  filtergen check profiles/*.yaml profiles/noise/*.yaml\n\nExits 0 only if every profile validates and every generated filter compiles.")]
    Check(check::Args),
    /// Write a Wireshark configuration profile: filter buttons, saved filters, macros and key tables.
    #[command(after_help = "Examples:\n  filtergen install profiles/roborock-tuya.yaml profiles/wyze-base.yaml\n  wireshark -C phonehome\n  tshark -C phonehome -r cap.pcapng -Y '${phonehome_roborock_tuya_unexpected}'")]
    Install(install::Args),
    /// Tell what the device talks to: endpoints with periods, DNS, resolvers, NTP, broadcasts, busy hours, IoT ids.
    #[command(after_help = "Examples:\n  filtergen report profiles/roborock-tuya.yaml captures/\n  filtergen report profiles/milight-bridge.yaml day1.pcapng.gz --format html -o report.html --geoip dbip-country-lite.mmdb\n  filtergen report profiles/roborock-tuya.yaml captures/ --utc-offset +11:00 --format markdown\n  filtergen report profiles/roborock-tuya.yaml --eve /var/log/suricata/eve.json sensor2/eve.json.1.gz\n\nOne tshark pass per capture (with the phonehome plugin when it is installed), captures read in parallel. With --eve, Suricata's EVE JSON logs (flow, dns, tls, http, dhcp, alert; plain or gzip) are read line by line instead; periods are then those of connections and DNS questions. Exit 1 when a capture or log could not be read completely.")]
    Report(report::ReportArgs),
    /// Draft a profile from what a device did in captures (review it before committing).
    #[command(after_help = "Examples:\n  filtergen learn captures/ --device 64:90:c1:1d:24:c4 -o profiles/my-vacuum.yaml\n  filtergen filter profiles/my-vacuum.yaml --mode unexpected --resolve-from captures/day1.pcapng")]
    Learn(learn::LearnArgs),
    /// Export a profile's expected rules as an RFC 8520 MUD file (JSON).
    #[command(after_help = "Examples:\n  filtergen mud profiles/roborock-tuya.yaml --mud-url https://example.com/roborock.json -o roborock.json\n\nExits 1 (after writing) when a rule could not be expressed: wildcards, MAC, protocol and raw-filter rules.")]
    Mud(mud::MudArgs),
    /// Filter captures into NAME.MODE.pcapng: natively where headers decide, tshark only where dissection is needed.
    #[command(after_help = "Examples:\n  filtergen run profiles/roborock-tuya.yaml captures/ --mode clean\n  filtergen run profiles/wyze-base.yaml day1.pcapng.gz day2.pcap --out cleaned/ --jobs 2 --resume\n\nInputs: pcap, pcapng, gzip-compressed; directories are searched recursively. Outputs are written as OUT.part and renamed when complete; a damaged input is reported (file, offset, reason), its readable packets kept, and the batch goes on. Exit 1 if any input had a problem.")]
    Run(run::Args),
    /// Write Suricata signatures: unexpected destinations, hard-coded resolvers, key-free IoT signatures.
    #[command(after_help = "Examples:\n  filtergen suricata profiles/roborock-tuya.yaml profiles/wyze-base.yaml -o rules/\n  suricata -S rules/phonehome.rules -r day1.pcap -l eve/\n  filtergen suricata profiles/roborock-tuya.yaml --resolve-from day1.pcap --local-resolver 10.10.10.1\n\nOne alert per flow the profile does not expect (`phonehome PROFILE: unexpected destination`), DNS to a resolver it does not allow (`phonehome PROFILE: hard-coded resolver`), and signatures that need no profile (sids 1770000-1770099). Profile sids: 1800000 + 1000 per profile. Rules Suricata cannot evaluate (MAC, raw filter) are left out with a warning.")]
    Suricata(suricata::Args),
    /// Run tshark with the phonehome plugin loaded, even as root (tshark then runs as `nobody`).
    #[command(after_help = "Examples:\n  filtergen tshark -- -r day1.pcapng -Y tuya -T fields -e tuya.dev_id\n  filtergen tshark -- -G fields | grep -P '\\tmiio\\.'\n\nThe plugin is PHONEHOME_PLUGIN, else the one `make install` put in the per-user plugin folder. tshark runs in a private HOME (no personal preferences); the capture given with -r is fed on standard input. Exits with tshark's status.")]
    Tshark {
        /// Arguments for tshark (after `--`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "ARGS")]
        args: Vec<std::ffi::OsString>,
    },
    /// Turn profiles into router rules (nftables, OpenWrt fw4) and dnsmasq nftset lines: expected traffic passes, the rest is logged, rejected or dropped.
    #[command(after_help = firewall::HELP)]
    Firewall(firewall::Args),
    /// Capture for hours or months with dumpcap into a bounded ring, and alert the moment a device does something new.
    #[command(after_help = watch::HELP)]
    Watch(watch::Args),
    /// Print a shell completion script.
    #[command(after_help = "Examples:\n  filtergen completions bash > /etc/bash_completion.d/filtergen")]
    Completions { shell: clap_complete::Shell },
    /// Write the man pages (filtergen.1 and filtergen-COMMAND.1) into DIR.
    #[command(hide = true)]
    Manpages { dir: PathBuf },
}

/// Runs the parsed command; returns the exit code.
pub fn run(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, Error> {
    // Firewall rules and MUD files translate only the protocols they know
    // and name any other rule in an error: they need no list of tshark's
    // protocols. Other commands check every rule's names, whether the mode
    // uses the rule or not (Suricata passes unknown names on with a warning).
    let check_names = !matches!(cli.command, Cmd::Firewall(_) | Cmd::Mud(_));
    let ctx = Context { check_names, ..Context::default() };
    let result = command(cli, &ctx, out, err);
    // A tshark that could not list its protocols (asked only when needed).
    for warning in ctx.warnings.take() {
        writeln!(err, "filtergen: warning: {warning}; protocol names are not checked").map_err(stdout_error)?;
    }
    result
}

fn command(cli: Cli, ctx: &Context, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, Error> {
    match cli.command {
        Cmd::Filter(args) => filter::run(ctx, args, out, err),
        Cmd::Bpf(args) => bpf::run(ctx, args, out),
        Cmd::Command(args) => command::run(ctx, args, out, err),
        Cmd::Script(args) => script::run(ctx, args, out, err),
        Cmd::Check(args) => check::run(ctx, args, out),
        Cmd::Install(args) => install::run(ctx, args, out),
        Cmd::Report(args) => {
            let profile = ctx.load(&args.profile)?;
            report::run(args, &profile, out, err)
        }
        Cmd::Learn(args) => learn::learn(args, ctx, out, err),
        Cmd::Mud(args) => {
            let profile = ctx.load(&args.profile)?;
            mud::run(args, &profile, out, err)
        }
        Cmd::Run(args) => run::run(ctx, args, out, err),
        Cmd::Suricata(args) => suricata::run(ctx, args, out, err),
        Cmd::Firewall(args) => firewall::run(ctx, args, out, err),
        Cmd::Watch(args) => watch::run(ctx, args, out, err),
        Cmd::Tshark { args } => crate::tshark::run_with_plugin(&args),
        Cmd::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "filtergen", out);
            Ok(0)
        }
        Cmd::Manpages { dir } => {
            manpages::write(&dir)?;
            Ok(0)
        }
    }
}

/// `tshark -G protocols` is asked (once) only when the command checks
/// protocol names and a profile names one that every Wireshark does not
/// have anyway.
#[derive(Default)]
struct Context {
    check_names: bool,
    catalog: std::cell::OnceCell<Option<Catalog>>,
    warnings: std::cell::RefCell<Vec<String>>,
}

impl Context {
    fn catalog(&self) -> Option<&Catalog> {
        self.catalog
            .get_or_init(|| Catalog::from_tshark().map_err(|e| self.warnings.borrow_mut().push(e.to_string())).ok())
            .as_ref()
    }

    /// Runs `parse` with names checked for their form only, then, if the
    /// profile names a protocol not every tshark has, with tshark's list.
    fn checked(&self, parse: impl Fn(Option<&Catalog>) -> Result<Profile, Error>) -> Result<Profile, Error> {
        let profile = parse(None)?;
        let rules = profile.ignore.iter().chain(&profile.expected);
        if !self.check_names || rules.flat_map(|r| &r.protocols).all(|p| crate::profile::protocols::always_known(&p.0)) {
            return Ok(profile);
        }
        parse(self.catalog())
    }

    fn load(&self, path: &Path) -> Result<Profile, Error> {
        self.checked(|catalog| profile::load(path, catalog))
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
