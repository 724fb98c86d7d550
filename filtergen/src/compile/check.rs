//! `filtergen check`: compile every generated display filter with tshark
//! (`tshark -r empty.pcap -Y F` exits 2 on a bad filter) and every capture
//! filter with libpcap (`tcpdump -d`).

use std::path::PathBuf;
use std::process::Command;

use crate::compile::bpf;
use crate::compile::delivery::ModeFilter;
use crate::error::Error;
use crate::profile::rules::{Mode, Name, Profile};
use crate::profile::resolve::Resolved;
use crate::emit::wsprofile;
use crate::compile::dfilter;
use crate::tshark;

/// A pcap header with no packets, Ethernet link type.
const EMPTY_PCAP: [u8; 24] = [
    0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0,
];

/// One line of the check report.
#[derive(Debug)]
pub struct Outcome {
    pub what: String,
    pub result: Result<String, String>,
}

/// Compilers backed by the installed tshark and tcpdump, in a scratch folder.
pub struct Compilers {
    scratch: tempfile::TempDir,
}

impl Compilers {
    pub fn new() -> Result<Compilers, Error> {
        for tool in ["tshark", "tcpdump"] {
            let found = Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success());
            if !found {
                return Err(Error::Tool { tool: tool.into(), reason: "not found: `filtergen check` needs tshark and tcpdump (Debian packages tshark, tcpdump)".into() });
            }
        }
        let scratch = tempfile::tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
        let empty = scratch.path().join("empty.pcap");
        std::fs::write(&empty, EMPTY_PCAP).map_err(|e| Error::io(&empty, e))?;
        Ok(Compilers { scratch })
    }

    fn empty_pcap(&self) -> PathBuf {
        self.scratch.path().join("empty.pcap")
    }

    /// Compiles a display filter; one over the argument limit goes through a
    /// macro in a scratch Wireshark profile, as `filter` would deliver it.
    pub fn display_filter(&self, filter: &ModeFilter) -> Result<(), String> {
        let mut cmd = tshark::user();
        if !filter.fits_argument() {
            let config = self.scratch.path().join("config");
            let profile = Name("filtergen-check".into());
            wsprofile::install_macros(&config.join("wireshark"), &profile, std::slice::from_ref(filter)).map_err(|e| e.to_string())?;
            cmd.env("XDG_CONFIG_HOME", &config).env("HOME", self.scratch.path()).args(["-C", &profile.0]);
        }
        cmd.arg("-r").arg(self.empty_pcap()).arg("-Y").arg(filter.argument());
        run(cmd)
    }

    pub fn raw_display_filter(&self, text: &str) -> Result<(), String> {
        let mut cmd = tshark::user();
        cmd.arg("-r").arg(self.empty_pcap()).arg("-Y").arg(text);
        run(cmd)
    }

    pub fn bpf(&self, expr: &str) -> Result<(), String> {
        let mut cmd = Command::new("tcpdump");
        cmd.arg("-r").arg(self.empty_pcap()).arg("-d").arg(expr);
        run(cmd)
    }
}

fn run(mut cmd: Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let message: Vec<&str> = stderr.lines().filter(|l| !l.starts_with("Running as user")).collect();
        Err(message.join("\n"))
    }
}

/// Checks one loaded profile: every mode's display filter and BPF (or, for a
/// profile without a device, its ignore rules alone).
pub fn check_profile(profile: &Profile, resolved: &Resolved, compilers: &Compilers) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    let bytes = |n: usize| Ok(format!("{n} bytes"));
    if profile.device.is_some() {
        for mode in Mode::ALL {
            let what = format!("display filter {mode}");
            match ModeFilter::compile(profile, mode, resolved) {
                Ok(filter) => {
                    let result = compilers.display_filter(&filter).and_then(|_| bytes(filter.text.len()));
                    outcomes.push(Outcome { what, result });
                }
                Err(e) => outcomes.push(Outcome { what, result: Err(e.to_string()) }),
            }
            outcomes.push(bpf_outcome(format!("capture filter {mode}"), bpf::compile(profile, mode), compilers));
        }
    } else if let Some(text) = dfilter::compile_ignore(profile, resolved) {
        let result = compilers.raw_display_filter(&text).and_then(|_| bytes(text.len()));
        outcomes.push(Outcome { what: "display filter ignore".into(), result });
        outcomes.push(bpf_outcome("capture filter ignore".into(), bpf::compile_ignore(profile).map(|b| b.unwrap_or_default()), compilers));
    }
    outcomes
}

fn bpf_outcome(what: String, compiled: Result<String, Error>, compilers: &Compilers) -> Outcome {
    match compiled {
        Ok(expr) => {
            let result = compilers.bpf(&expr).map(|_| format!("{} bytes", expr.len()));
            Outcome { what, result }
        }
        Err(Error::NoEquivalent(reason)) => Outcome { what, result: Ok(format!("n/a: {reason}")) },
        Err(e) => Outcome { what, result: Err(e.to_string()) },
    }
}
