//! `filtergen learn`: gather the device's traffic, draft, validate, write.

use std::io::Write;
use std::path::PathBuf;

use super::Context;
use crate::clock::UtcOffset;
use crate::error::Error;
use crate::report::gather;
use crate::report::learn;
use crate::report::observe::DeviceMatch;
use crate::report::model::{self, Inputs};
use crate::profile::rules::{Device, Keys, MacPattern, Name, Profile};

#[derive(clap::Args, Debug)]
pub struct LearnArgs {
    /// Capture files or directories (searched recursively).
    #[arg(required = true, value_name = "CAPTURE")]
    pub captures: Vec<PathBuf>,
    /// The device's MAC address (or vendor prefix).
    #[arg(long, value_name = "MAC", value_parser = |s: &str| s.parse::<MacPattern>())]
    pub device: MacPattern,
    /// The profile's name [default: learned-MAC].
    #[arg(long, value_name = "NAME", value_parser = |s: &str| s.parse::<Name>())]
    pub name: Option<Name>,
    /// Write the profile here (refused if the file exists) instead of standard output.
    #[arg(long, short, value_name = "PROFILE")]
    pub output: Option<PathBuf>,
    /// Captures read at once [default: all cores].
    #[arg(long, short, value_name = "N")]
    pub jobs: Option<usize>,
    /// What reads the captures: filtergen itself, or tshark (the reference).
    #[arg(long, value_enum, default_value_t = gather::Engine::Native)]
    pub engine: gather::Engine,
}

pub(super) fn learn(args: LearnArgs, ctx: &Context, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, Error> {
    if let Some(path) = &args.output {
        if path.exists() {
            return Err(Error::Usage(format!("{}: exists; learn never overwrites a profile (choose another name)", path.display())));
        }
    }
    let device = DeviceMatch { macs: vec![args.device.clone()], ips: Vec::new() };
    let gathered = gather::gather(&args.captures, &device, args.jobs.unwrap_or_else(gather::default_jobs), args.engine)?;
    for p in &gathered.problems {
        writeln!(err, "filtergen: {p}").map_err(|e| Error::io("<stderr>", e))?;
    }
    if gathered.observations.device_packets == 0 {
        return Err(Error::Usage(format!("no packet of {} in the captures", args.device)));
    }
    let name = args.name.unwrap_or_else(|| Name(format!("learned-{}", args.device.to_string().replace(':', ""))));
    // No rules yet: every endpoint row comes out as it was seen.
    let blank = Profile {
        name: name.clone(),
        description: None,
        device: Some(Device { mac: vec![args.device.clone()], ip: Vec::new(), placeholder: None }),
        ignore: Vec::new(),
        expected: Vec::new(),
        keys: Keys::default(),
        path: PathBuf::new(),
    };
    let rows = model::build(Inputs {
        profile: &blank,
        observations: &gathered.observations,
        captures: Vec::new(),
        plugin: gathered.plugin,
        notes: Vec::new(),
        offset: UtcOffset(0),
        geo: &crate::report::country::Embedded,
        country_source: crate::report::country::SOURCE.to_string(),
    })
    .endpoints;
    let text = learn::draft(&args.device, &name, &rows, &gathered.observations, gathered.captures.len());
    ctx.checked(|catalog| learn::validate(&text, catalog))?;
    match &args.output {
        Some(path) => crate::atomic::write(path, text.as_bytes())?,
        None => out.write_all(text.as_bytes()).map_err(|e| Error::io("<stdout>", e))?,
    }
    Ok(i32::from(!gathered.problems.is_empty()))
}
