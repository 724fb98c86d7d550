//! `filtergen mud`: writes a profile's expected rules as an RFC 8520 MUD file.

use crate::emit::mud::{build, Options};
use crate::profile::rules::Profile;

#[derive(clap::Args, Debug)]
pub struct MudArgs {
    pub profile: std::path::PathBuf,
    /// Where the MUD file will be published (the device announces this URL).
    #[arg(long, value_name = "URL")]
    pub mud_url: Option<String>,
    /// last-update, RFC 3339 [default: now].
    #[arg(long, value_name = "TIME")]
    pub last_update: Option<String>,
    /// Hours a MUD manager may cache the file (1-168).
    #[arg(long, value_name = "HOURS", default_value_t = 48, value_parser = clap::value_parser!(u32).range(1..=168))]
    pub cache_validity: u32,
    /// Write here (atomically) instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
}

/// Writes the MUD file; 1 when part of the profile was left out.
pub fn run(args: MudArgs, profile: &Profile, out: &mut dyn std::io::Write, err: &mut dyn std::io::Write) -> Result<i32, crate::Error> {
    use crate::Error;
    let mud_url = args.mud_url.unwrap_or_else(|| format!("https://example.com/mud/{}.json", profile.name));
    if !mud_url.starts_with("https://") || mud_url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::Usage(format!("--mud-url {mud_url:?}: RFC 8520 wants an https:// URL")));
    }
    let last_update = match args.last_update {
        Some(t) => t,
        None => {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
            crate::clock::UtcOffset(0).format(now).replace(' ', "T") + "+00:00"
        }
    };
    let mud = build(profile, &Options { mud_url, last_update, cache_validity_hours: args.cache_validity });
    let text = serde_json::to_string_pretty(&mud.json).expect("JSON serializes") + "\n";
    match &args.output {
        Some(path) => crate::atomic::write(path, text.as_bytes())?,
        None => out.write_all(text.as_bytes()).map_err(|e| Error::io("<stdout>", e))?,
    }
    for l in &mud.left_out {
        writeln!(err, "filtergen: mud: left out: {l}").map_err(|e| Error::io("<stderr>", e))?;
    }
    Ok(i32::from(!mud.left_out.is_empty()))
}
