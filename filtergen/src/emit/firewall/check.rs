//! `--check`: the generated ruleset through `nft -c` (parsed and checked by
//! the kernel, nothing committed) and the dnsmasq lines through
//! `dnsmasq --test`. An openwrt include is checked inside an `inet fw4`
//! table, as fw4 reads it.

use std::path::Path;
use std::process::Command;

use super::{Format, Generated};
use crate::error::Error;

/// What was checked, for the user; a rejection is [`Error::CompileFailed`].
pub fn check(generated: &Generated, format: Format) -> Result<String, Error> {
    let scratch = tempfile::tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let rules = scratch.path().join("phonehome.nft");
    write(&rules, &generated.ruleset)?;
    let loaded = match format {
        Format::Nft => rules.clone(),
        Format::Openwrt => {
            let wrapper = scratch.path().join("fw4.nft");
            let table = format.target();
            let quoted = rules.to_str().filter(|s| !s.contains('"')).ok_or_else(|| Error::Usage(format!("{}: unusable temporary path", rules.display())))?;
            write(&wrapper, &format!("table {} {} {{\n\tinclude \"{quoted}\"\n}}\n", table.family, table.table))?;
            wrapper
        }
    };
    run("nft", Command::new("nft").arg("-c").arg("-f").arg(&loaded))?;
    let conf = scratch.path().join("phonehome.dnsmasq.conf");
    write(&conf, &generated.dnsmasq)?;
    run("dnsmasq --test", Command::new("dnsmasq").arg("--test").arg(format!("--conf-file={}", conf.display())))?;
    Ok("nft -c accepted the ruleset, dnsmasq --test accepted the nftset lines".into())
}

fn write(path: &Path, text: &str) -> Result<(), Error> {
    std::fs::write(path, text).map_err(|e| Error::io(path, e))
}

fn run(what: &str, cmd: &mut Command) -> Result<(), Error> {
    let out = cmd.output().map_err(|e| Error::Tool {
        tool: what.into(),
        reason: format!("{e} (--check needs nft and dnsmasq: Debian packages nftables, dnsmasq-base)"),
    })?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut reason = stderr.trim().to_string();
    if reason.contains("Operation not permitted") {
        reason.push_str(" (nft -c talks to the kernel: run --check as root)");
    }
    Err(Error::CompileFailed(format!("{what} rejected the output: {reason}")))
}
