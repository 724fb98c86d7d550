//! `report` on a capture set built like a published Roborock analysis
//! (samples/src/roborock_hours.rs), the report names each behaviour with the
//! period the set was built with. Expectations come from the scenario's
//! constants, not from an earlier report.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use phonehome_samples::roborock_hours;
use serde_json::Value;

/// The hourly captures `hours` in a fresh folder, hour 2 gzip-compressed.
fn capture_set(hours: std::ops::Range<usize>) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let set = dir.path().join("captures");
    std::fs::create_dir_all(set.join("day1")).unwrap();
    for (h, cap) in roborock_hours::captures().iter().enumerate().filter(|(h, _)| hours.contains(h)) {
        let path = set.join("day1").join(format!("hour{h}.pcap"));
        cap.write(&path).unwrap();
        if h == 2 {
            let ok = Command::new("gzip").arg(&path).status().unwrap().success();
            assert!(ok, "gzip");
        }
    }
    (dir, set)
}

fn report(set: &Path, format: &str, extra: &[&str]) -> (i32, String, String) {
    let profile = profile_path("roborock-tuya.yaml");
    let mut args = vec!["report", &profile, set.to_str().unwrap(), "--format", format];
    args.extend_from_slice(extra);
    run(&args)
}

/// The endpoint row whose label (name or address) and port are these.
fn endpoint<'a>(r: &'a Value, label: &str, port: u64) -> &'a Value {
    r["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| (e["name"] == label || e["addresses"].as_array().unwrap().iter().any(|a| a == label)) && e["port"] == port)
        .unwrap_or_else(|| panic!("no endpoint {label} port {port} in {}", serde_json::to_string_pretty(&r["endpoints"]).unwrap()))
}

fn assert_period(e: &Value, seconds: f64, text: &str) {
    let p = &e["period"];
    let got = p["seconds"].as_f64().unwrap_or_else(|| panic!("no period: {e}"));
    assert!((got - seconds).abs() <= seconds * 0.02, "period {got} s, want {seconds} s: {e}");
    assert!(p["regular"].as_f64().unwrap() >= 0.9, "{e}");
    assert_eq!(e["repeats"], text, "{e}");
}

#[test]
fn names_each_roborock_behaviour_with_its_period() {
    require_tool("tshark", "tshark");
    let (_dir, set) = capture_set(0..6);
    let (code, out, err) = report(&set, "json", &[]);
    assert_eq!(code, 0, "{err}");
    let r: Value = serde_json::from_str(&out).unwrap();

    // Tuya discovery every 5 s, a broadcast, decoded by the plugin.
    let discovery = endpoint(&r, "255.255.255.255", 6667);
    assert_period(discovery, roborock_hours::DISCOVERY_PERIOD, "every 5 s");
    assert_eq!(discovery["broadcast"], true);
    assert_eq!(discovery["rule"], "tuya-discovery");
    assert_eq!(discovery["protocol"], "tuya");

    // MQTT to m2.tuyaeu.com:8883 (named by TLS SNI), both sessions' addresses.
    let mqtt = endpoint(&r, "m2.tuyaeu.com", 8883);
    assert_period(mqtt, roborock_hours::MQTT_KEEPALIVE, "every 60 s");
    assert_eq!(mqtt["addresses"], serde_json::json!(roborock_hours::dotted(&roborock_hours::M2[..2])));
    assert_eq!((&mqtt["status"], &mqtt["rule"]), (&Value::from("expected"), &Value::from("tuya-mqtt")));

    // Log uploads, rotating over the CNAME's three addresses.
    let logs = endpoint(&r, "awsde0.fds.api.xiaomi.com", 443);
    assert_period(logs, roborock_hours::LOG_UPLOAD_PERIOD, "every 30 min");
    assert_eq!(logs["addresses"].as_array().unwrap().len(), 3);
    assert_eq!(logs["rule"], "log-upload");

    let control = endpoint(&r, "a2.tuyaeu.com", 443);
    assert_period(control, roborock_hours::CONTROL_PERIOD, "every 25 min");

    // DHCP every 5 minutes (noise by the profile's include).
    let dhcp = endpoint(&r, "10.10.10.1", 67);
    assert_period(dhcp, roborock_hours::DHCP_PERIOD, "every 5 min");
    assert_eq!(dhcp["status"], "ignored");

    // NTP every 28 s, in no rule of the profile.
    let ntp = endpoint(&r, "61.164.36.105", 123);
    assert_period(ntp, roborock_hours::NTP_PERIOD, "every 28 s");
    assert_eq!((&ntp["ntp"], &ntp["rule"]), (&Value::from(true), &Value::from("UNEXPECTED")));

    // The analysis laptop's SSH session is ignored, and inbound.
    let ssh = endpoint(&r, "10.10.10.9", 22);
    assert_eq!((&ssh["status"], &ssh["direction"]), (&Value::from("ignored"), &Value::from("inbound")));

    // The 3am burst.
    assert_eq!(r["hours"]["peak"]["hour"], roborock_hours::BURST_HOUR);
    assert!(r["hours"]["peak"]["ratio"].as_f64().unwrap() > 3.0);

    // DNS: questions, CNAME, the hard-coded resolver flagged.
    let dns = r["dns"].as_array().unwrap();
    let aws = dns.iter().find(|d| d["name"] == "awsde0.fds.api.xiaomi.com").unwrap();
    assert_eq!(aws["cnames"], serde_json::json!([roborock_hours::AWSDE0_CNAME]));
    let gslb = dns.iter().find(|d| d["name"] == "ot.io.mi.com").unwrap();
    assert_eq!(gslb["repeats"], "every 10 min");
    assert_eq!(gslb["resolvers"], serde_json::json!(["114.114.114.114"]));
    let resolvers = r["resolvers"].as_array().unwrap();
    let local = |a: &str| resolvers.iter().find(|x| x["address"] == a).unwrap()["local"].clone();
    assert_eq!(local("10.10.10.1"), true);
    assert_eq!(local("114.114.114.114"), false);

    // Tuya ids from the plugin.
    assert_eq!(r["plugin"], true, "the phonehome plugin must be installed (make install)");
    let iot = r["iot"].as_array().unwrap();
    let has = |f: &str, v: &str| iot.iter().any(|i| i["field"] == f && i["value"] == v);
    assert!(has("tuya.gw_id", roborock_hours::tuya().gw_id), "{iot:?}");
    assert!(has("tuya.product_key", roborock_hours::tuya().product_key), "{iot:?}");
}

/// The contract: every plugin field the report asks tshark for (read from
/// the dissector crate) is one the built plugin registers in tshark.
#[test]
fn the_plugin_registers_every_field_the_report_reads() {
    require_tool("tshark", "tshark");
    let (_dir, set) = capture_set(0..1);
    let (code, out, err) = report(&set, "json", &[]);
    assert_eq!(code, 0, "{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["plugin"], true, "the phonehome plugin must be installed (make install)");
    let notes: Vec<&str> = r["notes"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(!notes.iter().any(|n| n.contains("does not provide")), "{notes:?}");
}

#[test]
fn every_format_renders_the_same_endpoints() {
    require_tool("tshark", "tshark");
    // Hours 2-4: the burst, the MQTT reconnect (with its SNI) around it.
    let (dir, set) = capture_set(2..5);
    let (_, json, _) = report(&set, "json", &["--utc-offset", "+11:00"]);
    let r: Value = serde_json::from_str(&json).unwrap();
    let endpoints = r["endpoints"].as_array().unwrap().len();
    assert_eq!(r["timezone"], "UTC+11:00");
    assert_eq!(r["hours"]["peak"]["hour"], roborock_hours::BURST_HOUR + 11);

    let (code, csv, err) = report(&set, "csv", &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(csv.lines().count(), endpoints + 1);
    assert!(csv.lines().any(|l| l.starts_with("m2.tuyaeu.com,sni/http,") && l.contains(",every 60 s,")), "{csv}");

    let (_, md, _) = report(&set, "markdown", &[]);
    for title in ["## Endpoints", "## DNS questions", "## Resolvers", "## NTP servers", "## Broadcast and multicast", "## Activity by hour of day (UTC)", "## IoT protocols"] {
        assert!(md.contains(title), "{title} missing");
    }

    let (_, table, _) = report(&set, "table", &[]);
    assert!(table.contains("peak at 03:00-04:00"), "{table}");

    let page = dir.path().join("report.html");
    let (code, out, err) = report(&set, "html", &["-o", page.to_str().unwrap()]);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    // Self-contained: nothing fetched, nothing run.
    for outside in ["<script", "src=", "href=", "@import", "url("] {
        assert!(!html.contains(outside), "{outside}");
    }
    // The timeline has one row per endpoint.
    assert_eq!(html.matches("<g><title>").count(), endpoints);
    assert_eq!(html.matches("<svg").count(), 2);
}

#[test]
fn bad_captures_are_named_and_the_rest_reported() {
    require_tool("tshark", "tshark");
    let dir = tempfile::tempdir().unwrap();
    let caps = roborock_hours::captures();
    let good = dir.path().join("good.pcap");
    caps[0].write(&good).unwrap();
    let full = dir.path().join("full.pcap");
    caps[1].write(&full).unwrap();
    let bytes = std::fs::read(&full).unwrap();
    let cut = dir.path().join("cut.pcap");
    std::fs::write(&cut, &bytes[..bytes.len() / 2 + 7]).unwrap();
    std::fs::remove_file(&full).unwrap();
    let junk = dir.path().join("junk.pcap");
    std::fs::write(&junk, "not a capture").unwrap();
    let before = std::fs::read(&cut).unwrap();

    let (code, out, err) = run(&["report", &profile_path("roborock-tuya.yaml"), dir.path().to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 1, "{err}");
    // tshark's words ("cut short") or the native reader's ("truncated").
    assert!(err.contains("cut.pcap") && (err.contains("cut short") || err.contains("truncated")), "{err}");
    assert!(err.contains("junk.pcap") && err.contains("not a pcap"), "{err}");
    assert_eq!(std::fs::read(&cut).unwrap(), before, "input touched");
    let r: Value = serde_json::from_str(&out).unwrap();
    // Hour 0 complete plus the readable half of hour 1.
    let discovery = endpoint(&r, "255.255.255.255", 6667);
    let n = discovery["packets_out"].as_u64().unwrap();
    assert!(n > 720 && n < 1440, "{n}");
    assert_eq!(r["notes"].as_array().unwrap().iter().filter(|n| n.as_str().unwrap().starts_with("incomplete:")).count(), 2);

    let (code, _, err) = run(&["report", &profile_path("roborock-tuya.yaml"), "/nonexistent/x.pcap"]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/x.pcap"), "{err}");
    let (code, _, err) = run(&["report", &profile_path("noise/zerotier.yaml"), good.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("no device"), "{err}");
}
