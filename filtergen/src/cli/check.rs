//! `filtergen check`: validates profiles and compiles every generated filter.

use std::io::Write;

use super::{stdout_error, Context, ProfilesOpts};
use crate::compile::check::{self, Compilers};
use crate::error::Error;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub profiles: ProfilesOpts,
}

pub(super) fn run(ctx: &Context, args: Args, out: &mut dyn Write) -> Result<i32, Error> {
    let Args { profiles } = args;
    let compilers = Compilers::new()?;
    let resolved = profiles.resolve.resolved()?;
    let mut failed = false;
    for path in &profiles.profiles {
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
