//! The one place tshark is started. Two kinds of tshark:
//! - the user's own ([`user`]): their configuration profiles and plugins, for
//!   display filters the user will run themselves (`check`, the dissection
//!   pass of `run`), protocol names and DNS answers;
//! - one with the phonehome plugin in a private HOME, as `nobody` when we are
//!   root ([`home`]): for `report`, `learn`, `filtergen tshark` and the
//!   end-to-end tests. [`fields`] reads its `-T fields` output.

use std::ffi::OsString;
use std::fs::File;
use std::net::IpAddr;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::error::Error;

pub(crate) mod fields;
pub(crate) mod home;

pub use home::{installed_plugin, wireshark_xy, PluginHome};

/// The user's tshark, as found on PATH.
pub(crate) fn user() -> Command {
    Command::new("tshark")
}

fn tool_error(reason: String) -> Error {
    Error::Tool { tool: "tshark".into(), reason }
}

/// `tshark -G protocols`: name, short name, filter name, tab-separated.
pub(crate) fn protocol_listing() -> Result<String, Error> {
    let out = user().args(["-G", "protocols"]).output().map_err(|e| tool_error(e.to_string()))?;
    if !out.status.success() {
        return Err(Error::Tool { tool: "tshark -G protocols".into(), reason: format!("exited with {}", out.status) });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The DNS responses of a capture: lines of question names, A and AAAA
/// addresses (tab-separated, several values joined with
/// [`fields::AGGREGATOR`]); read them with [`dns_answer`].
pub(crate) fn dns_responses(capture: &Path) -> Result<String, Error> {
    let out = user()
        .arg("-r")
        .arg(capture)
        .args(["-n", "-Y", "dns.flags.response == 1", "-T", "fields"])
        .args(["-e", "dns.qry.name", "-e", "dns.a", "-e", "dns.aaaa", "-E", "separator=/t"])
        .arg(format!("-Eaggregator={}", fields::AGGREGATOR))
        .output()
        .map_err(|e| tool_error(e.to_string()))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(Error::Tool { tool: format!("tshark -r {}", capture.display()), reason: stderr.trim().to_string() });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A DNS answer's addresses, from its `dns.a` and `dns.aaaa` values.
pub(crate) fn dns_answer<'a>(a: Option<&'a str>, aaaa: Option<&'a str>) -> impl Iterator<Item = IpAddr> + 'a {
    fields::values(a).chain(fields::values(aaaa)).filter_map(|s| s.trim().parse().ok())
}

/// A private HOME with the installed plugin (PHONEHOME_PLUGIN, else the
/// per-user plugin folder) for this tshark's Wireshark version.
pub(crate) fn plugin_home() -> Result<PluginHome, Error> {
    let version = user().arg("--version").output().map_err(|e| tool_error(format!("not found ({e}): install the Debian package tshark")))?;
    let version = String::from_utf8_lossy(&version.stdout).to_string();
    let xy = wireshark_xy(&version).ok_or_else(|| tool_error(format!("cannot read the version from {:?}", version.lines().next().unwrap_or(""))))?;
    PluginHome::new(&xy, installed_plugin(&xy)).map_err(|e| tool_error(format!("could not prepare a private HOME for tshark: {e}")))
}

/// `filtergen tshark -- ARGS`: tshark with the phonehome plugin loaded, even
/// as root. The capture given with `-r` is fed on standard input, so
/// `nobody` needs no access to it. Returns tshark's exit status.
pub(crate) fn run_with_plugin(args: &[OsString]) -> Result<i32, Error> {
    let home = plugin_home()?;
    if home.plugin.is_none() {
        return Err(Error::Usage("no phonehome plugin found: run `make install` or set PHONEHOME_PLUGIN".into()));
    }
    let mut cmd = home.command("tshark");
    let mut input = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match rest.as_slice().first() {
            Some(file) if arg == "-r" && file != "-" => {
                input = Some(Path::new(file).to_path_buf());
                cmd.args(["-r", "-"]);
                rest.next();
            }
            _ => {
                cmd.arg(arg);
            }
        }
    }
    if let Some(path) = &input {
        cmd.stdin(Stdio::from(File::open(path).map_err(|e| Error::io(path, e))?));
    }
    let status = cmd.status().map_err(|e| tool_error(e.to_string()))?;
    Ok(status.code().unwrap_or(2))
}
