//! `filtergen suricata`: writes the Suricata rules of profiles.

use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;

use super::{Context, ProfilesOpts};
use crate::emit::suricata::{generate, snippet, Options, RULES_FILE, SNIPPET_FILE};
use crate::error::Error;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub profiles: ProfilesOpts,
    /// Write DIR/phonehome.rules and DIR/suricata-phonehome.yaml instead of printing the rules.
    #[arg(long, short, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Resolvers the devices may use besides private addresses and the hosts a rule allows on port 53.
    #[arg(long, num_args = 1.., value_name = "ADDRESS")]
    pub local_resolver: Vec<IpAddr>,
}

/// Writes the files (or prints the rules); warnings go to `err`.
pub fn run(ctx: &Context, args: Args, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, Error> {
    let profiles = args.profiles.load_all(ctx)?;
    let options = Options { resolved: args.profiles.resolve.resolved()?, local_resolvers: args.local_resolver };
    let generated = generate(&profiles, &options)?;
    for w in &generated.warnings {
        writeln!(err, "filtergen: warning: {w}").map_err(|e| Error::io("<stderr>", e))?;
    }
    let stdout = |e: std::io::Error| Error::io("<stdout>", e);
    match &args.output {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            let rules = dir.join(RULES_FILE);
            crate::atomic::write(&rules, generated.rules.as_bytes())?;
            crate::atomic::write(&dir.join(SNIPPET_FILE), snippet(&rules).as_bytes())?;
            writeln!(
                out,
                "wrote {} ({} signatures) and {}\nrun: suricata -S {} -r CAPTURE -l OUTDIR",
                rules.display(),
                generated.signatures,
                dir.join(SNIPPET_FILE).display(),
                rules.display()
            )
            .map_err(stdout)?;
        }
        None => out.write_all(generated.rules.as_bytes()).map_err(stdout)?,
    }
    Ok(0)
}
