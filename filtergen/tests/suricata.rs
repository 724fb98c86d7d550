//! `filtergen suricata` and `report --eve` through the command line. The
//! rules themselves are loaded and run by the real Suricata in
//! scripts/check-suricata.sh (`make check-suricata`, Debian chroots).

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::Value;

#[test]
fn every_shipped_profile_gives_one_self_contained_rules_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rules");
    let profiles: Vec<String> =
        ["milight-bridge", "roborock-s50", "roborock-tuya", "supra-plug", "wyze-base"].iter().map(|p| profile_path(&format!("{p}.yaml"))).collect();
    let mut args = vec!["suricata"];
    args.extend(profiles.iter().map(String::as_str));
    args.extend(["-o", out.to_str().unwrap()]);
    let (code, stdout, stderr) = run(&args);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("phonehome.rules"), "{stdout}");
    assert!(stderr.contains("cannot match MAC addresses"), "the MAC rules of roborock-tuya are named: {stderr}");
    let rules = std::fs::read_to_string(out.join("phonehome.rules")).unwrap();
    let snippet = std::fs::read_to_string(out.join("suricata-phonehome.yaml")).unwrap();
    assert!(snippet.contains("rule-files:") && snippet.contains("phonehome.rules"), "{snippet}");
    let lines: Vec<&str> = rules.lines().filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    let sids: BTreeSet<&str> = lines.iter().map(|l| l.split("sid:").nth(1).unwrap()).collect();
    assert_eq!(sids.len(), lines.len(), "one sid per signature");
    for l in &lines {
        assert!(l.starts_with("alert ") && l.ends_with("rev:1;)"), "{l}");
        assert!(!l.contains("msg:") || l.contains("msg:\"phonehome"), "{l}");
    }
    for p in ["milight-bridge", "roborock-s50", "roborock-tuya", "supra-plug", "wyze-base"] {
        assert!(rules.contains(&format!("\"phonehome {p}: unexpected destination\"")), "{p}");
        assert!(rules.contains(&format!("\"phonehome {p}: hard-coded resolver\"")), "{p}");
    }
    // Printing instead of -o gives the same rules.
    let (code, printed, _) = run(&["suricata", &profiles[0]]);
    assert_eq!(code, 0);
    assert!(printed.contains("phonehome milight-bridge: unexpected destination"));
}

#[test]
fn bad_input_is_refused_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let no_ip = dir.path().join("mac-only.yaml");
    std::fs::write(&no_ip, "name: mac-only\ndevice:\n  mac: [64:90:c1:1d:24:c4]\n").unwrap();
    let (code, _, stderr) = run(&["suricata", no_ip.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("give device.ip"), "{stderr}");
    let hostile = dir.path().join("hostile.yaml");
    std::fs::write(&hostile, "name: h\ndevice: {ip: [192.0.2.9]}\nexpected:\n  - host: [\"a.com\\\"; sid:1; alert ip any any -> any any (msg:\\\"x\"]\n").unwrap();
    let (code, stdout, stderr) = run(&["suricata", hostile.to_str().unwrap()]);
    assert_eq!((code, stdout.as_str()), (2, ""), "{stderr}");
    assert!(stderr.contains("hostile.yaml:4:"), "file and line: {stderr}");
}

const EVE: &str = r#"{"timestamp":"2024-01-01T00:00:05.000000+0000","event_type":"dns","src_ip":"192.0.2.30","src_port":40000,"dest_ip":"114.114.114.114","dest_port":53,"proto":"UDP","dns":{"type":"query","id":1,"rrname":"api.wyzecam.com","rrtype":"A"}}
{"timestamp":"2024-01-01T00:00:05.050000+0000","event_type":"dns","src_ip":"114.114.114.114","src_port":53,"dest_ip":"192.0.2.30","dest_port":40000,"proto":"UDP","dns":{"version":2,"type":"answer","id":1,"rrname":"api.wyzecam.com","rrtype":"A","answers":[{"rrname":"api.wyzecam.com","rrtype":"A","rdata":"198.51.100.7"}]}}
{"timestamp":"2024-01-01T00:00:06.000000+0000","event_type":"tls","src_ip":"192.0.2.30","src_port":50000,"dest_ip":"198.51.100.7","dest_port":443,"proto":"TCP","tls":{"sni":"api.wyzecam.com"}}
{"timestamp":"2024-01-01T00:01:00.000000+0000","event_type":"flow","src_ip":"192.0.2.30","src_port":50000,"dest_ip":"198.51.100.7","dest_port":443,"proto":"TCP","app_proto":"tls","flow":{"pkts_toserver":12,"pkts_toclient":10,"bytes_toserver":2000,"bytes_toclient":9000,"start":"2024-01-01T00:00:06.000000+0000","end":"2024-01-01T00:01:00.000000+0000"},"tcp":{"syn":true}}
{"timestamp":"2024-01-01T00:01:10.000000+0000","event_type":"flow","src_ip":"192.0.2.30","src_port":40000,"dest_ip":"114.114.114.114","dest_port":53,"proto":"UDP","app_proto":"dns","flow":{"pkts_toserver":1,"pkts_toclient":1,"bytes_toserver":75,"bytes_toclient":91,"start":"2024-01-01T00:00:05.000000+0000","end":"2024-01-01T00:00:05.050000+0000"}}
"#;

#[test]
fn report_reads_eve_logs_plain_and_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("eve.json"), dir.path().join("eve.json.1.gz"));
    let lines: Vec<&str> = EVE.lines().collect();
    std::fs::write(&a, lines[..3].join("\n")).unwrap();
    let gz = std::process::Command::new("gzip").arg("-c").stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).spawn().unwrap();
    use std::io::Write;
    gz.stdin.as_ref().unwrap().write_all(lines[3..].join("\n").as_bytes()).unwrap();
    let gzipped = gz.wait_with_output().unwrap().stdout;
    std::fs::write(&b, gzipped).unwrap();
    let profile = profile_path("wyze-base.yaml");
    let (code, out, err) = run(&["report", &profile, "--eve", a.to_str().unwrap(), b.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    let endpoints = r["endpoints"].as_array().unwrap();
    let https = endpoints.iter().find(|e| e["port"] == 443).unwrap();
    assert_eq!((&https["name"], &https["name_source"], &https["rule"]), (&Value::from("api.wyzecam.com"), &Value::from("sni/http"), &Value::from("aws-https")));
    assert_eq!((&https["packets_out"], &https["bytes_in"]), (&Value::from(12), &Value::from(9000)));
    let dns = endpoints.iter().find(|e| e["port"] == 53).unwrap();
    assert_eq!(dns["rule"], "UNEXPECTED");
    let resolver = &r["resolvers"][0];
    assert_eq!((&resolver["address"], &resolver["local"]), (&Value::from("114.114.114.114"), &Value::from(false)));

    // A broken line: named, skipped, exit 1, the rest still reported.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, format!("{}\n{{\"event_type\": 42}}\n", lines[0])).unwrap();
    let (code, out, err) = run(&["report", &profile, "--eve", bad.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains(&format!("{}:2: not an EVE event", bad.display())), "{err}");
    assert!(out.contains("114.114.114.114"), "{out}");
}
