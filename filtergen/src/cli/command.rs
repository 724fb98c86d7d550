//! `filtergen command`: prints the tshark command lines that write
//! NAME.MODE.pcapng beside each capture.

use std::io::Write;
use std::path::PathBuf;

use super::{deliver_macros, stdout_error, Context, FilterOpts, WiresharkOpts};
use crate::compile::delivery::ModeFilter;
use crate::emit::command;
use crate::error::Error;
use crate::run::jobs;

#[derive(clap::Args, Debug)]
pub struct Args {
    pub profile: PathBuf,
    #[arg(required = true, value_name = "CAPTURE")]
    pub captures: Vec<PathBuf>,
    #[command(flatten)]
    pub filter: FilterOpts,
    #[command(flatten)]
    pub wireshark: WiresharkOpts,
}

pub(super) fn run(ctx: &Context, args: Args, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, Error> {
    let Args { profile, captures, filter, wireshark } = args;
    let profile = ctx.load(&profile)?;
    let resolved = filter.resolve.resolved()?;
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
