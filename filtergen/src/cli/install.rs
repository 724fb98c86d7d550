//! `filtergen install`: writes a Wireshark configuration profile.

use std::io::Write;

use super::{config_dir, stdout_error, Context, ProfilesOpts, WiresharkOpts};
use crate::compile::delivery::ModeFilter;
use crate::emit::wsprofile;
use crate::error::Error;
use crate::profile::rules::Name;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub profiles: ProfilesOpts,
    #[command(flatten)]
    pub wireshark: WiresharkOpts,
}

pub(super) fn run(ctx: &Context, args: Args, out: &mut dyn Write) -> Result<i32, Error> {
    let Args { profiles, wireshark } = args;
    let resolved = profiles.resolve.resolved()?;
    let mut contents = wsprofile::Contents::default();
    for path in &profiles.profiles {
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
