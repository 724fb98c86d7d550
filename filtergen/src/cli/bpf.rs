//! `filtergen bpf`: prints the capture filter (BPF) of a profile and mode.

use std::io::Write;
use std::path::PathBuf;

use super::{stdout_error, Context};
use crate::compile::bpf;
use crate::error::Error;
use crate::profile::rules::Mode;

#[derive(clap::Args, Debug)]
pub struct Args {
    pub profile: PathBuf,
    #[arg(long, short, value_enum, default_value_t = Mode::Clean)]
    pub mode: Mode,
}

pub(super) fn run(ctx: &Context, args: Args, out: &mut dyn Write) -> Result<i32, Error> {
    let Args { profile, mode } = args;
    let profile = ctx.load(&profile)?;
    let expr = if profile.device.is_some() {
        bpf::compile(&profile, mode)?
    } else {
        bpf::compile_ignore(&profile)?.ok_or_else(|| Error::Usage("profile has neither device nor ignore rules".into()))?
    };
    writeln!(out, "{expr}").map_err(stdout_error)?;
    Ok(0)
}
