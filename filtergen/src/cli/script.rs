//! `filtergen script`: renders a POSIX sh batch script from a template.

use std::io::Write;
use std::path::PathBuf;

use super::{deliver_macros, stdout_error, Context, FilterOpts, WiresharkOpts};
use crate::atomic;
use crate::compile::delivery::ModeFilter;
use crate::emit::script;
use crate::error::Error;

#[derive(clap::Args, Debug)]
pub struct Args {
    pub profile: PathBuf,
    /// A handlebars template replacing the built-in one.
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,
    /// Write the script here (mode 0755) instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub filter: FilterOpts,
    #[command(flatten)]
    pub wireshark: WiresharkOpts,
}

pub(super) fn run(ctx: &Context, args: Args, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, Error> {
    let Args { profile, template, output, filter, wireshark } = args;
    let profile = ctx.load(&profile)?;
    let resolved = filter.resolve.resolved()?;
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
