//! The plugin inside tshark against hostile captures: a short whole-plugin
//! mutation run (the full one is scripts/fuzz-plugin.sh), the kept
//! regression captures, and TCP streams that never end a frame.

use std::time::{Duration, Instant};

use phonehome::tuya::frame;
use phonehome_e2e::mutate::{check, mutate_capture, Budget, Report};
use phonehome_e2e::{scratch, shared_capture, tshark, write_capture, Capture, Host};
use phonehome_samples::corpus;

fn assert_no_findings(report: &Report) {
    assert!(report.runs > 0);
    assert!(report.findings.is_empty(), "{} of {} runs failed:\n{}", report.findings.len(), report.runs, report.findings.join("\n"));
}

#[test]
fn mutated_captures_never_crash_hang_or_assert() {
    let keys = corpus::tshark_key_options();
    let budget = Budget { corruptions: 1, cuts: 1, shortened: 1, time_limit: 60 };
    let mut captures: Vec<_> = corpus::samples().iter().map(|s| write_capture(s.name, &s.capture)).collect();
    captures.extend(shared_capture("tuya-discovery-ndpi.pcap"));
    // Two tshark runs at a time.
    let reports: Vec<Report> = std::thread::scope(|s| {
        let chunks: Vec<_> = captures.chunks(captures.len().div_ceil(2)).collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .enumerate()
            .map(|(i, chunk)| {
                let keys = &keys;
                s.spawn(move || {
                    let mut r = Report::default();
                    for (j, c) in chunk.iter().enumerate() {
                        mutate_capture(c, keys, budget, (i * 100 + j) as u64, &mut r);
                    }
                    r
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut total = Report::default();
    for r in reports {
        total.runs += r.runs;
        total.frames += r.frames;
        total.findings.extend(r.findings);
    }
    assert_no_findings(&total);
    assert!(total.frames > 100, "only {} frames dissected", total.frames);
}

#[test]
fn kept_regression_captures_pass() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions/captures");
    let keys = corpus::tshark_key_options();
    let mut report = Report::default();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        if entry.path().extension().is_some_and(|e| e == "pcap") {
            check(&entry.path(), &keys, 60, &mut report);
        }
    }
    assert!(report.findings.is_empty(), "{}", report.findings.join("\n"));
}

const APP: Host = Host { mac: [2, 0, 0, 0, 0, 1], ip: std::net::Ipv4Addr::new(10, 0, 0, 1) };
const PLUG: Host = Host { mac: [2, 0, 0, 0, 0, 2], ip: std::net::Ipv4Addr::new(10, 0, 0, 2) };

/// A Tuya header (TCP 6668) whose length field says `length`, then
/// `segments` segments of junk, and never the end of the frame.
fn endless_stream(length: u32, segments: usize) -> Capture {
    let mut cap = Capture::new();
    let mut head = frame::encode_55aa_crc(1, 7, None, b"{}");
    head.truncate(16);
    head[12..16].copy_from_slice(&length.to_be_bytes());
    let mut flow = cap.tcp(APP, 40000, PLUG, 6668);
    flow.client(&head);
    for i in 0..segments {
        flow.client(&vec![b'A' + (i % 26) as u8; 1400]);
    }
    cap
}

fn time_fields(cap: &Capture, name: &str, fields: &[&str]) -> (Duration, Vec<String>) {
    let path = write_capture(name, cap);
    let mut args = vec!["-T", "fields", "-E", "occurrence=f"];
    for f in fields {
        args.extend(["-e", f]);
    }
    let start = Instant::now();
    let out = tshark().run_limited(&path, &args, 60);
    let took = start.elapsed();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    (took, String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect())
}

#[test]
fn tcp_stream_that_never_ends_a_frame_finishes_in_bounded_time() {
    // Announces the largest frame we wait for (1 MiB), sends 1 400 KB of
    // it: reassembly holds it, tshark ends without a Tuya PDU, no error.
    let cap = endless_stream(frame::MAX_FRAME as u32, 1000);
    let (took, rows) = time_fields(&cap, "endless-1mib.pcap", &["frame.number", "tuya.seq"]);
    assert!(took < Duration::from_secs(30), "{took:?}");
    assert_eq!(rows.len(), cap.len());
    assert!(rows.iter().all(|r| r.split('\t').nth(1).is_none_or(str::is_empty)), "no Tuya PDU: {rows:?}");
}

#[test]
fn tcp_stream_with_an_absurd_length_is_not_waited_for() {
    // 4 GiB (wrapping) and 0 are refused at once: the header (with the
    // first segment, since a header needs 18 bytes) is a malformed Tuya
    // frame, and every later segment is shown as data, nothing held back.
    for length in [u32::MAX, 0] {
        let cap = endless_stream(length, 50);
        let (took, rows) = time_fields(&cap, &format!("endless-{length}.pcap"), &["frame.number", "data.len", "tuya.length"]);
        assert!(took < Duration::from_secs(30), "{took:?}");
        let data_frames = rows.iter().filter(|r| r.split('\t').nth(1).is_some_and(|l| !l.is_empty())).count();
        assert_eq!(data_frames, 49, "length {length}: only {data_frames} segments shown as data:\n{}", rows.join("\n"));
        assert!(rows.iter().all(|r| r.split('\t').nth(2).is_none_or(str::is_empty)), "length {length}");
    }
    let _ = scratch();
}
