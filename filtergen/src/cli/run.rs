//! `filtergen run`: filters captures into NAME.MODE.pcapng.

use std::io::Write;
use std::path::PathBuf;

use super::{deliver_macros, stdout_error, Context, FilterOpts, WiresharkOpts};
use crate::compile::delivery::ModeFilter;
use crate::error::Error;
use crate::run::{self, engine};

#[derive(clap::Args, Debug)]
pub struct Args {
    pub profile: PathBuf,
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    #[command(flatten)]
    pub filter: FilterOpts,
    /// Write the outputs under this folder (inputs found in a directory keep their relative path).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Files filtered at once [default: all cores].
    #[arg(long, short, value_name = "N")]
    pub jobs: Option<usize>,
    /// Skip inputs whose output is already complete (and not older than the input).
    #[arg(long)]
    pub resume: bool,
    #[command(flatten)]
    pub wireshark: WiresharkOpts,
}

pub(super) fn run(ctx: &Context, args: Args, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, Error> {
    let Args { profile, inputs, filter, out: out_dir, jobs, resume, wireshark } = args;
    let profile = ctx.load(&profile)?;
    let resolved = filter.resolve.resolved()?;
    let compiled = ModeFilter::compile_for_run(&profile, filter.mode, &resolved)?;
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
