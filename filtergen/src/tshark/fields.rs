//! One `tshark -T fields` pass over a capture, with the phonehome plugin
//! loaded when it is installed (see `home`), streamed line by line to
//! a callback. Only the fields this tshark knows (`tshark -G fields`) are
//! asked for: an unknown `-e` field is a fatal tshark error.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};

use crate::error::Error;
use crate::tshark::{plugin_home, tool_error, PluginHome};

/// Several occurrences of a field are joined with this (it occurs in none
/// of the values we read: names, addresses, numbers, ids).
pub const AGGREGATOR: char = '|';

/// A tshark that loads the phonehome plugin (when one is installed).
pub struct Tshark {
    home: PluginHome,
    known: BTreeSet<String>,
}

impl Tshark {
    /// Prepares the private HOME and reads the field list once.
    pub fn new() -> Result<Tshark, Error> {
        let home = plugin_home()?;
        let mut tshark = Tshark { home, known: BTreeSet::new() };
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

    /// The plugin tshark loads, if one was found.
    pub fn plugin(&self) -> Option<&Path> {
        self.home.plugin.as_deref()
    }

    fn command(&self) -> Command {
        self.home.command("tshark")
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

/// Each value of a field (several occurrences joined with [`AGGREGATOR`]).
pub(crate) fn values(v: Option<&str>) -> impl Iterator<Item = &str> {
    v.into_iter().flat_map(|s| s.split(AGGREGATOR)).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_version() {
        assert!(is_capture_magic(&[0x1f, 0x8b, 8, 0]));
        assert!(!is_capture_magic(b"name"));
    }
}
