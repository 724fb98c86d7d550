//! `phonehome-mutate [--quick] [CAPTURE...]`: the whole-plugin mutation run
//! (scripts/fuzz-plugin.sh). Without captures it mutates every sample
//! capture (written fresh from the corpus), the real captures beside the
//! repository (../shared/captures) and the kept regression captures. Every
//! mutant runs through tshark with the plugin and every sample key; the
//! exit status is 1 when any run crashed, hung or tripped an assertion.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use phonehome_e2e::mutate::{mutate_capture, Budget, Report};
use phonehome_e2e::write_capture;
use phonehome_samples::corpus;

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    args.retain(|a| a != "--quick");
    let budget = if quick {
        Budget { corruptions: 2, cuts: 2, shortened: 1, time_limit: 60 }
    } else {
        Budget { corruptions: 24, cuts: usize::MAX, shortened: 12, time_limit: 120 }
    };
    let mut captures: Vec<PathBuf> = args.iter().map(PathBuf::from).collect();
    if captures.is_empty() {
        for s in corpus::samples() {
            captures.push(write_capture(s.name, &s.capture));
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for dir in [root.join("../../shared/captures"), root.join("regressions/captures")] {
            let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
                .collect();
            found.sort();
            captures.extend(found);
        }
    }
    let keys = corpus::tshark_key_options();
    let start = std::time::Instant::now();
    let mut total = Report::default();
    for (i, capture) in captures.iter().enumerate() {
        let mut report = Report::default();
        mutate_capture(capture, &keys, budget, 1000 + i as u64, &mut report);
        println!(
            "{}: {} mutants run, {} frames dissected, {} findings",
            capture.display(),
            report.runs,
            report.frames,
            report.findings.len()
        );
        for f in &report.findings {
            println!("  FINDING {f}");
        }
        total.runs += report.runs;
        total.frames += report.frames;
        total.findings.extend(report.findings);
    }
    println!(
        "total: {} captures, {} mutants, {} frames dissected, {} findings, {:.0} s",
        captures.len(),
        total.runs,
        total.frames,
        total.findings.len(),
        start.elapsed().as_secs_f64()
    );
    if total.findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
