//! Whole-plugin mutation: captures corrupted byte by byte (`editcap -E`),
//! cut at frame boundaries and inside frames, and with frames shortened to
//! random lengths, each run through tshark with the plugin and every sample
//! key configured. A crash, an abort, a hang past the time bound, a
//! Wireshark assertion or critical, or a failure the plugin caught (a
//! panic, a dropped tree) is a finding.
//!
//! `tests/tests/hostile.rs` runs a few mutants per capture; the full run is
//! `scripts/fuzz-plugin.sh` (the `phonehome-mutate` binary).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{scratch, tshark};

/// How many mutants of each kind to make per capture.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    /// `editcap -E` runs (each with its own seed and error rate).
    pub corruptions: usize,
    /// Cuts at frame boundaries (and as many inside frames); `usize::MAX`
    /// for every boundary.
    pub cuts: usize,
    /// Captures whose frames are shortened to random lengths.
    pub shortened: usize,
    /// Seconds one tshark run may take.
    pub time_limit: u32,
}

/// What a mutation run found.
#[derive(Debug, Default)]
pub struct Report {
    pub runs: usize,
    pub frames: usize,
    /// One line per finding: mutant file and what went wrong.
    pub findings: Vec<String>,
}

/// Deterministic xorshift, so a finding can be reproduced from its name.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..n` (0 when n is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }
}

/// Byte offsets of the frame records in a classic little-endian pcap: the
/// start of each record header and the end of the file's last full record.
pub fn record_offsets(pcap: &[u8]) -> Vec<usize> {
    let mut at = 24;
    let mut out = Vec::new();
    while let Some(h) = pcap.get(at..at + 16) {
        let incl = u32::from_le_bytes([h[8], h[9], h[10], h[11]]) as usize;
        if at + 16 + incl > pcap.len() {
            break;
        }
        out.push(at);
        at += 16 + incl;
    }
    out.push(at);
    out
}

/// The capture with each frame, with probability 1/3, cut to a random
/// captured length (the original length in the record stays, as a
/// snaplen would leave it).
pub fn shorten_frames(pcap: &[u8], rng: &mut Rng) -> Vec<u8> {
    let offsets = record_offsets(pcap);
    let mut out = pcap[..24.min(pcap.len())].to_vec();
    for w in offsets.windows(2) {
        let rec = &pcap[w[0]..w[1]];
        let data = &rec[16..];
        let keep = if rng.below(3) == 0 { rng.below(data.len() + 1) } else { data.len() };
        out.extend_from_slice(&rec[..8]);
        out.extend_from_slice(&(keep as u32).to_le_bytes());
        out.extend_from_slice(&rec[12..16]);
        out.extend_from_slice(&data[..keep]);
    }
    out
}

/// Converts any capture tshark reads into classic pcap (little-endian on
/// this machine), so the cuts can find frame boundaries.
fn as_pcap(input: &Path, out: &Path) -> Result<(), String> {
    let status = Command::new("editcap").args(["-F", "pcap"]).arg(input).arg(out).status();
    match status {
        Ok(s) if s.success() => Ok(()),
        other => Err(format!("editcap -F pcap {}: {other:?}", input.display())),
    }
}

fn corrupt(input: &Path, out: &Path, rate: f64, seed: u64) -> Result<(), String> {
    let status = Command::new("editcap")
        .args(["-E", &format!("{rate}"), "--seed", &seed.to_string()])
        .arg(input)
        .arg(out)
        .status();
    match status {
        Ok(s) if s.success() => Ok(()),
        other => Err(format!("editcap -E {rate} --seed {seed}: {other:?}")),
    }
}

/// Lines of tshark's output that mean Wireshark or the plugin failed.
fn failure_lines(stdout: &str, stderr: &str) -> Vec<String> {
    // Our glue's words for a caught panic or an invalid tree; Wireshark's
    // for a failed assertion, a GLib critical or warning, a dissector bug.
    let ours = ["dissector failed:", "internal error, tree dropped"];
    let theirs = ["Dissector bug", "CRITICAL", "WARNING **", "assertion", "Assertion", "panicked"];
    let mut out: Vec<String> = stdout
        .lines()
        .filter(|l| ours.iter().any(|m| l.contains(m)))
        .map(|l| format!("stdout: {}", l.trim()))
        .collect();
    out.extend(stderr.lines().filter(|l| theirs.iter().any(|m| l.contains(m))).map(|l| format!("stderr: {l}")));
    out.dedup();
    out
}

/// Runs one mutant through tshark (`-V`, every key configured).
pub fn check(mutant: &Path, key_options: &[String], time_limit: u32, report: &mut Report) {
    let mut args: Vec<&str> = key_options.iter().map(String::as_str).collect();
    args.push("-V");
    let out = tshark().run_limited(mutant, &args, time_limit);
    report.runs += 1;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    report.frames += stdout.lines().filter(|l| l.starts_with("Frame ")).count();
    let name = mutant.display();
    match out.status.code() {
        Some(124) | Some(137) => report.findings.push(format!("{name}: hang (over {time_limit} s)")),
        Some(c) if c >= 128 => report.findings.push(format!("{name}: killed by signal {} (exit {c})", c - 128)),
        None => report.findings.push(format!("{name}: killed by a signal")),
        _ => {}
    }
    for l in failure_lines(&stdout, &stderr) {
        report.findings.push(format!("{name}: {l}"));
    }
}

/// Makes the mutants of `capture` (in a scratch folder) and runs each.
pub fn mutate_capture(capture: &Path, key_options: &[String], budget: Budget, seed: u64, report: &mut Report) {
    let stem = capture.file_stem().map_or("capture".into(), |s| s.to_string_lossy().into_owned());
    let dir: PathBuf = scratch().join(format!("mutants-{stem}"));
    fs::create_dir_all(&dir).unwrap();
    let base = dir.join("base.pcap");
    if let Err(e) = as_pcap(capture, &base) {
        report.findings.push(e);
        return;
    }
    let pcap = fs::read(&base).unwrap();
    let mut rng = Rng::new(seed);

    for i in 0..budget.corruptions {
        // Error rates from 1 in 1000 to 1 in 10 bytes.
        let rate = [0.001, 0.01, 0.03, 0.1][i % 4];
        let s = seed.wrapping_add(i as u64);
        let out = dir.join(format!("E{rate}-seed{s}.pcap"));
        match corrupt(&base, &out, rate, s) {
            Ok(()) => check(&out, key_options, budget.time_limit, report),
            Err(e) => report.findings.push(e),
        }
    }

    let offsets = record_offsets(&pcap);
    let frames = offsets.len() - 1;
    let step = if budget.cuts >= frames { 1 } else { frames.div_ceil(budget.cuts.max(1)) };
    for k in (1..=frames).step_by(step) {
        // After frame k, and somewhere inside frame k.
        let inside = offsets[k - 1] + 1 + rng.below(offsets[k] - offsets[k - 1] - 1);
        for (what, cut) in [("after", offsets[k]), ("inside", inside)] {
            let out = dir.join(format!("cut-{what}-frame{k}-at{cut}.pcap"));
            fs::write(&out, &pcap[..cut]).unwrap();
            check(&out, key_options, budget.time_limit, report);
        }
    }

    for i in 0..budget.shortened {
        let out = dir.join(format!("short-{i}-seed{seed}.pcap"));
        fs::write(&out, shorten_frames(&pcap, &mut rng)).unwrap();
        check(&out, key_options, budget.time_limit, report);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_and_shortening_keep_the_pcap_well_formed() {
        let mut cap = crate::Capture::new();
        let a = crate::Host::new([2, 0, 0, 0, 0, 1], [10, 0, 0, 1]);
        for n in [10usize, 200, 3] {
            cap.udp(a, 1, crate::Host::broadcast(), 2, &vec![7u8; n]);
        }
        let path = crate::write_capture("mutate-unit.pcap", &cap);
        let pcap = fs::read(path).unwrap();
        let offsets = record_offsets(&pcap);
        assert_eq!(offsets.len(), 4);
        assert_eq!(*offsets.last().unwrap(), pcap.len());
        let short = shorten_frames(&pcap, &mut Rng::new(3));
        assert_eq!(record_offsets(&short).len(), 4);
        assert_eq!(*record_offsets(&short).last().unwrap(), short.len());
        assert!(short.len() <= pcap.len());
    }
}
