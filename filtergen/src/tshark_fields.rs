//! One `tshark -T fields` pass over a capture, with the phonehome plugin
//! loaded when it is installed, streamed line by line to a callback.
//!
//! tshark ignores per-user plugins when it runs as root, so as root the
//! plugin is copied into a private HOME owned by `nobody` and tshark runs as
//! `nobody` (`setpriv`) with the capture on standard input; as any other
//! user tshark runs directly, with the same private HOME. Only the fields
//! this tshark knows (`tshark -G fields`) are asked for: an unknown `-e`
//! field is a fatal tshark error.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::Error;

/// Several occurrences of a field are joined with this (it occurs in none
/// of the values we read: names, addresses, numbers, ids).
pub const AGGREGATOR: char = '|';

/// A tshark that loads the phonehome plugin (when one is installed).
pub struct Tshark {
    home: tempfile::TempDir,
    as_nobody: bool,
    /// The plugin copied into the private HOME, if any.
    pub plugin: Option<PathBuf>,
    known: BTreeSet<String>,
}

impl Tshark {
    /// Prepares the private HOME and reads the field list once.
    pub fn new() -> Result<Tshark, Error> {
        let version = Command::new("tshark").arg("--version").output().map_err(|e| tool_error(format!("not found ({e}): install the Debian package tshark")))?;
        let version = String::from_utf8_lossy(&version.stdout).to_string();
        let xy = wireshark_xy(&version).ok_or_else(|| tool_error(format!("cannot read the version from {:?}", version.lines().next().unwrap_or(""))))?;
        let home = tempfile::Builder::new().prefix("filtergen-tshark-").tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
        let plugin = find_plugin(&xy);
        if let Some(p) = &plugin {
            let epan = home.path().join(".local/lib/wireshark/plugins").join(&xy).join("epan");
            std::fs::create_dir_all(&epan).map_err(|e| Error::io(&epan, e))?;
            std::fs::copy(p, epan.join("phonehome.so")).map_err(|e| Error::io(p, e))?;
        }
        let as_nobody = is_root();
        if as_nobody {
            let status = Command::new("chown").args(["-R", "nobody:nogroup"]).arg(home.path()).status();
            if !status.is_ok_and(|s| s.success()) {
                return Err(tool_error("running as root: could not give the private tshark HOME to nobody (chown)".into()));
            }
        }
        let mut tshark = Tshark { home, as_nobody, plugin, known: BTreeSet::new() };
        let out = tshark.command().args(["-G", "fields"]).stdin(Stdio::null()).output().map_err(|e| tool_error(e.to_string()))?;
        if !out.status.success() {
            return Err(tool_error(format!("tshark -G fields failed: {}", String::from_utf8_lossy(&out.stderr).trim())));
        }
        tshark.known = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let mut cols = l.split('\t');
                (cols.next() == Some("F")).then(|| cols.nth(1).map(str::to_string)).flatten()
            })
            .collect();
        Ok(tshark)
    }

    pub fn knows(&self, field: &str) -> bool {
        self.known.contains(field)
    }

    fn command(&self) -> Command {
        let mut cmd = if self.as_nobody {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--", "tshark"]);
            c
        } else {
            Command::new("tshark")
        };
        cmd.env("HOME", self.home.path()).env_remove("WIRESHARK_PLUGIN_DIR").env_remove("WIRESHARK_CONFIG_DIR").env("LC_ALL", "C");
        cmd
    }

    /// Runs one pass over `capture`, calling `row` with each packet's field
    /// values (in the order of `fields`; `None` for a field this tshark does
    /// not know or the packet does not have).
    pub fn fields(&self, capture: &Path, fields: &[&str], mut row: impl FnMut(&[Option<&str>])) -> Result<(), Error> {
        let mut input = File::open(capture).map_err(|e| Error::io(capture, e))?;
        let mut magic = [0u8; 4];
        let n = input.read(&mut magic).map_err(|e| Error::io(capture, e))?;
        if n < 4 || !is_capture_magic(&magic) {
            return Err(Error::Usage(format!("{}: not a pcap, pcapng or gzip-compressed capture (starts with {:02x?})", capture.display(), &magic[..n])));
        }
        let input = File::open(capture).map_err(|e| Error::io(capture, e))?;
        let asked: Vec<(usize, &str)> = fields.iter().enumerate().filter(|(_, f)| self.knows(f)).map(|(i, f)| (i, *f)).collect();
        let mut cmd = self.command();
        cmd.args(["-n", "-r", "-", "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a"]).arg(format!("-Eaggregator={AGGREGATOR}"));
        for (_, f) in &asked {
            cmd.args(["-e", f]);
        }
        let mut child = cmd
            .stdin(Stdio::from(input))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| tool_error(e.to_string()))?;
        let stderr = child.stderr.take().expect("piped");
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = BufReader::new(stderr).read_to_string(&mut text);
            text
        });
        let mut line = String::new();
        let mut reader = BufReader::with_capacity(1 << 16, child.stdout.take().expect("piped"));
        loop {
            line.clear();
            let n = reader.read_line(&mut line).map_err(|e| Error::io(capture, e))?;
            if n == 0 {
                break;
            }
            let mut values: Vec<Option<&str>> = vec![None; fields.len()];
            let mut cols = line.trim_end_matches(['\n', '\r']).split('\t');
            for &(i, _) in &asked {
                values[i] = cols.next().filter(|c| !c.is_empty());
            }
            row(&values);
        }
        let status = child.wait().map_err(|e| tool_error(e.to_string()))?;
        let stderr = stderr.join().unwrap_or_default();
        if !status.success() {
            let reason: Vec<&str> = stderr.lines().filter(|l| !l.starts_with("Running as user")).collect();
            return Err(Error::Usage(format!("{}: tshark could not read it: {}", capture.display(), reason.join("; "))));
        }
        Ok(())
    }
}

/// pcap (both byte orders, micro/nanosecond), pcapng, gzip.
fn is_capture_magic(m: &[u8; 4]) -> bool {
    matches!(m, [0xd4, 0xc3, 0xb2, 0xa1] | [0xa1, 0xb2, 0xc3, 0xd4] | [0x4d, 0x3c, 0xb2, 0xa1] | [0xa1, 0xb2, 0x3c, 0x4d] | [0x0a, 0x0d, 0x0d, 0x0a])
        || m[..2] == [0x1f, 0x8b]
}

fn tool_error(reason: String) -> Error {
    Error::Tool { tool: "tshark".into(), reason }
}

/// "TShark (Wireshark) 4.0.17 (…)" gives "4.0".
fn wireshark_xy(version: &str) -> Option<String> {
    let first = version.lines().next()?;
    let v = first.split_whitespace().find(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()))?;
    let parts: Vec<&str> = v.split('.').take(2).collect();
    (parts.len() == 2).then(|| parts.join("."))
}

/// PHONEHOME_PLUGIN, else the per-user plugin folder `make install` fills.
fn find_plugin(xy: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PHONEHOME_PLUGIN") {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    let home = std::env::var_os("HOME")?;
    let p = PathBuf::from(home).join(".local/lib/wireshark/plugins").join(xy).join("epan/phonehome.so");
    p.is_file().then_some(p)
}

fn is_root() -> bool {
    extern "C" {
        fn geteuid() -> u32;
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { geteuid() == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_version() {
        assert_eq!(wireshark_xy("TShark (Wireshark) 4.0.17 (Git v4.0.17 packaged as 4.0.17-0+deb12u3).\n").as_deref(), Some("4.0"));
        assert!(is_capture_magic(&[0x1f, 0x8b, 8, 0]));
        assert!(!is_capture_magic(b"name"));
    }
}
