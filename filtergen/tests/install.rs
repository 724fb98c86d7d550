//! `filtergen install` writes a Wireshark profile that tshark 4.0 loads
//! without a warning, whose macros match what the inline filters match, and
//! over-long filters travel as macros.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

fn stderr_lines_but_root_warning(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| !l.starts_with("Running as user \"root\"")).collect()
}

fn install(home: &Path, args: &[&str]) -> (i32, String, String) {
    decode(filtergen().env("HOME", home).env_remove("XDG_CONFIG_HOME").arg("install").args(args).output().unwrap())
}

#[test]
fn installed_profile_loads_cleanly_and_its_macros_work() {
    require_tool("tshark", "tshark");
    let home = tempfile::tempdir().unwrap();
    let profiles = [profile_path("roborock-tuya.yaml"), profile_path("wyze-base.yaml")];
    let (code, out, err) = install(home.path(), &[&profiles[0], &profiles[1], "--wireshark-profile", "phonehome"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("wireshark -C phonehome"), "{out}");
    let dir = home.path().join(".config/wireshark/profiles/phonehome");
    let buttons = std::fs::read_to_string(dir.join("dfilter_buttons")).unwrap();
    assert_eq!(buttons.lines().count(), 6, "{buttons}");
    assert!(buttons.starts_with("\"TRUE\",\"roborock-tuya device\","), "{buttons}");
    assert!(std::fs::read_to_string(dir.join("tuya_keys")).unwrap().contains("\"bf7e9b4aacf4f733d8o3zz\",\"0123456789abcdef\""));
    assert_eq!(std::fs::read_to_string(dir.join("dfilters")).unwrap().lines().count(), 6);

    // tshark loads the profile without a complaint
    let capture = home.path().join("one.pcap");
    let dev = (mac("64:90:c1:1d:24:c4"), "10.10.10.8");
    let router = (mac("00:0c:42:cf:36:20"), "10.10.10.1");
    write_capture(
        &capture,
        &[
            Packet::dns_query(dev, router, "m2.tuyaeu.com"),
            Packet::dns_query(dev, router, "evil.example.com"),
            Packet::l2(mac("64:90:c1:1d:24:c4"), mac("ff:ff:ff:ff:ff:ff"), Body::Arp, "arp"),
        ],
    );
    let out = Command::new("tshark").env("HOME", home.path()).env_remove("XDG_CONFIG_HOME").args(["-C", "phonehome", "-r"]).arg(&capture).output().unwrap();
    let (code, _, stderr) = decode(out);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stderr_lines_but_root_warning(&stderr), Vec::<&str>::new());

    // each macro (regexes with backslashes and quotes, escaped as \x5c / \x22) keeps what its inline filter keeps
    for mode in ["device", "clean", "unexpected"] {
        let (_, inline, _) = run(&["filter", &profiles[0], "--mode", mode]);
        let env = [("HOME", home.path())];
        let by_macro = tshark_keeps(&capture, &format!("${{phonehome_roborock_tuya_{mode}}}"), &["-C", "phonehome"], &env);
        assert_eq!(by_macro, tshark_keeps(&capture, inline.trim(), &[], &[]), "mode {mode}");
    }

    // installing again replaces our entries and keeps the user's own
    let dfilters = dir.join("dfilters");
    let mut text = std::fs::read_to_string(&dfilters).unwrap();
    text.push_str("\"my own\" tcp.port == 22\n");
    std::fs::write(&dfilters, text).unwrap();
    let (code, _, err) = install(home.path(), &[&profiles[0], "--wireshark-profile", "phonehome"]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&dfilters).unwrap();
    assert_eq!(text.lines().count(), 7, "{text}");
    assert!(text.contains("\"my own\" tcp.port == 22"));
}

/// A profile whose ignore list holds `count` addresses, every `step`-th of 10.0.0.0/8.
fn big_profile(dir: &Path, count: u32, step: u32) -> String {
    let mut yaml = String::from("name: big\ndevice:\n  mac: [64:90:c1:1d:24:c4]\nignore:\n  - host:\n");
    for i in 0..count {
        let n = i * step;
        yaml.push_str(&format!("      - 10.{}.{}.{}\n", (n >> 16) & 255, (n >> 8) & 255, n & 255));
    }
    let path = dir.join("big.yaml");
    std::fs::write(&path, yaml).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn contiguous_addresses_are_aggregated_into_cidr_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let profile = big_profile(dir.path(), 5000, 1);
    let (code, filter, err) = run(&["filter", &profile, "--mode", "clean"]);
    assert_eq!(code, 0, "{err}");
    // 10.0.0.0 … 10.0.19.135 is 4096 + 512 + 256 + 128 + 8 addresses
    assert!(filter.contains("10.0.0.0/20, 10.0.16.0/23, 10.0.18.0/24, 10.0.19.0/25, 10.0.19.128/29"), "{filter}");
    assert!(filter.len() < 200, "{} bytes", filter.len());
}

#[test]
fn a_filter_over_the_argument_limit_is_delivered_as_a_macro() {
    require_tool("tshark", "tshark");
    let dir = tempfile::tempdir().unwrap();
    let profile = big_profile(dir.path(), 12000, 2); // no two adjacent: nothing aggregates
    let out = filtergen().env("HOME", dir.path()).env_remove("XDG_CONFIG_HOME").args(["filter", &profile, "--mode", "clean"]).output().unwrap();
    let (code, printed, err) = decode(out);
    assert_eq!(code, 0, "{err}");
    assert!(printed.trim() == "${phonehome_big_clean}", "printed {} bytes", printed.len());
    assert!(err.contains("over the 128 KiB argument limit"), "{err}");
    let capture = dir.path().join("c.pcap");
    let dev = (mac("64:90:c1:1d:24:c4"), "10.10.10.8");
    write_capture(
        &capture,
        &[
            Packet::udp(dev, (mac("00:0c:42:cf:36:20"), "10.0.0.2"), 1, 2), // listed: ignored
            Packet::udp(dev, (mac("00:0c:42:cf:36:20"), "10.0.0.3"), 1, 2), // odd: not listed
            Packet::udp(dev, (mac("00:0c:42:cf:36:20"), "10.0.93.190"), 1, 2), // the last one listed
        ],
    );
    let env = [("HOME", dir.path())];
    assert_eq!(tshark_keeps(&capture, printed.trim(), &["-C", "phonehome"], &env), [2].into());
    // and `command` uses the macro through -C
    let (code, line, err) = decode(
        filtergen().env("HOME", dir.path()).env_remove("XDG_CONFIG_HOME").args(["command", &profile]).arg(&capture).output().unwrap(),
    );
    assert_eq!(code, 0, "{err}");
    assert!(line.starts_with("tshark -C phonehome -n -r ") && line.contains("'${phonehome_big_clean}'"), "{line}");
}
