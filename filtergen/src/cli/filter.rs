//! `filtergen filter`: prints the display filter of a profile and mode.

use std::io::Write;
use std::path::PathBuf;

use super::{deliver_macros, stdout_error, Context, FilterOpts, WiresharkOpts};
use crate::compile::delivery::ModeFilter;
use crate::error::Error;

#[derive(clap::Args, Debug)]
pub struct Args {
    pub profile: PathBuf,
    #[command(flatten)]
    pub filter: FilterOpts,
    #[command(flatten)]
    pub wireshark: WiresharkOpts,
}

pub(super) fn run(ctx: &Context, args: Args, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, Error> {
    let Args { profile, filter, wireshark } = args;
    let profile = ctx.load(&profile)?;
    let resolved = filter.resolve.resolved()?;
    let compiled = ModeFilter::compile(&profile, filter.mode, &resolved)?;
    deliver_macros(std::slice::from_ref(&compiled), &wireshark, err)?;
    writeln!(out, "{}", compiled.argument()).map_err(stdout_error)?;
    Ok(0)
}
