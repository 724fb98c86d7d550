//! Command behaviour: exit codes, error positions, every shipped profile
//! passes `check`, scripts pass shellcheck and work, command lines never
//! overwrite inputs nor re-read outputs, hostile values cannot inject.

mod common;

use std::process::Command;

use common::*;

fn shipped_profiles() -> Vec<String> {
    let mut paths = Vec::new();
    for dir in ["profiles", "profiles/noise"] {
        for entry in std::fs::read_dir(repo_root().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yaml") {
                paths.push(path.to_string_lossy().into_owned());
            }
        }
    }
    paths.sort();
    paths
}

#[test]
fn every_shipped_profile_passes_check() {
    require_tool("tcpdump", "tcpdump");
    let profiles = shipped_profiles();
    assert_eq!(profiles.len(), 7, "{profiles:?}");
    let args: Vec<&str> = std::iter::once("check").chain(profiles.iter().map(String::as_str)).collect();
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(out.matches(": ok\n").count(), 7, "{out}");
    assert!(!out.contains("FAILED"), "{out}");
}

#[test]
fn bad_input_exits_2_naming_file_line_column_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("name: x\ndevice:\n  mac: [64:90:c1:1d:24:c4]\nignore:\n  - protocols: [stp, nosuchproto]\n", "5:", "unknown protocol \"nosuchproto\""),
        ("name: x\ndevice:\n  mac: [64:90:c1:1d:24:c4]\n  colour: red\n", "4:", "unknown field `colour`"),
        ("name: x\ndevice:\n  mac: [64:90:c1:1d:24:zz]\n", "3:", "bad MAC address"),
        ("name: x\ndevice:\n  ip: [10.0.0.1]\nexpected:\n  - tcp: [8000-7000]\n", "5:", "bad port"),
        ("name: x\ndevice:\n  ip: [10.0.0.1]\nexpected:\n  - host: [\"evil\\\" || 1\"]\n", "5:", "bad host"),
        ("name: x\ndevice:\n  ip: [10.0.0.1]\nexpected:\n  - host: [\"$(reboot).com\"]\n", "5:", "bad host"),
        ("name: x\ndescription: \"two\\nlines\"\n", "2:", "control character"),
        ("name: \"x; rm -rf /\"\n", "1:", "bad name"),
        ("name: x\ndevice:\n  ip: [10.0.0.1]\nexpected:\n  - filter: \"tcp) || (udp\"\n", "5:", "closes a parenthesis"),
        ("name: x\ninclude: [noise/nonexistent]\n", "", "no noise/nonexistent.yaml"),
    ];
    for (i, (yaml, position, message)) in cases.iter().enumerate() {
        let path = write(dir.path(), &format!("p{i}.yaml"), yaml);
        let (code, out, err) = run(&["filter", &path]);
        assert_eq!(code, 2, "case {i}: {err}");
        assert!(out.is_empty());
        assert!(err.contains(&format!("{path}:{position}")), "case {i}: {err}");
        assert!(err.contains(message), "case {i}: {err}");
    }
    let (code, _, _) = run(&["filter"]);
    assert_eq!(code, 2, "usage error");
    let (code, _, err) = run(&["filter", "/nonexistent.yaml"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn a_raw_filter_tshark_rejects_fails_check_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "bad.yaml", "name: bad\ndevice:\n  ip: [10.0.0.1]\nexpected:\n  - filter: tcp.port == \"x\"\n");
    let (code, out, _) = run(&["check", &path]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("display filter unexpected: FAILED"), "{out}");
}

#[test]
fn hostile_raw_filter_is_quoted_in_commands_and_scripts() {
    require_tool("shellcheck", "shellcheck");
    let dir = tempfile::tempdir().unwrap();
    // quotes, $(…) and backticks inside a display-filter string literal
    let yaml = "name: hostile\ndevice:\n  ip: [10.0.0.1]\nexpected:\n  - filter: 'frame contains \"''$(touch PWNED)`touch PWNED`\"'\n";
    let profile = write(dir.path(), "hostile.yaml", yaml);
    let capture = dir.path().join("it's $(touch PWNED).pcap");
    write_capture(&capture, &[Packet::udp((mac("02:00:00:00:00:01"), "10.0.0.1"), (mac("02:00:00:00:00:02"), "10.0.0.2"), 1, 2)]);

    let (code, lines, err) = run(&["command", &profile, capture.to_str().unwrap(), "--mode", "unexpected"]);
    assert_eq!(code, 0, "{err}");
    let status = Command::new("sh").arg("-c").arg(&lines).current_dir(dir.path()).status().unwrap();
    assert!(status.success(), "{lines}");
    assert!(dir.path().join("it's $(touch PWNED).unexpected.pcapng").is_file());

    let script = dir.path().join("run.sh");
    let (code, _, err) = run(&["script", &profile, "--mode", "unexpected", "-o", script.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let sc = Command::new("shellcheck").arg("-s").arg("sh").arg(&script).output().unwrap();
    assert!(sc.status.success(), "{}", String::from_utf8_lossy(&sc.stdout));
    std::fs::remove_file(dir.path().join("it's $(touch PWNED).unexpected.pcapng")).unwrap();
    let out = Command::new("sh").arg(&script).arg(dir.path()).current_dir(dir.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(dir.path().join("it's $(touch PWNED).unexpected.pcapng").is_file());
    assert!(!dir.path().join("PWNED").exists(), "a value was executed");
}

#[test]
fn outputs_go_beside_inputs_never_over_them_and_are_not_reread() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let dev = (mac("64:90:c1:1d:24:c4"), "10.10.10.8");
    let other = (mac("00:0c:42:cf:36:20"), "3.67.242.33");
    let packets = [Packet::tcp(dev, other, 1, 8883), Packet::l2(mac("64:90:c1:1d:24:c4"), mac("ff:ff:ff:ff:ff:ff"), Body::Arp, "arp")];
    write_capture(&sub.join("x.pcap"), &packets);
    write_capture(&dir.path().join("y.pcapng"), &packets);
    let before = std::fs::read(sub.join("x.pcap")).unwrap();
    let profile = profile_path("roborock-tuya.yaml");
    let root = dir.path().to_str().unwrap();

    let (code, lines, err) = run(&["command", &profile, root]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(lines.lines().count(), 2, "{lines}");
    assert!(Command::new("sh").arg("-c").arg(&lines).status().unwrap().success());
    assert!(sub.join("x.clean.pcapng").is_file() && dir.path().join("y.clean.pcapng").is_file());
    assert_eq!(std::fs::read(sub.join("x.pcap")).unwrap(), before, "input untouched");
    assert_eq!(tshark_keeps(&sub.join("x.clean.pcapng"), "frame", &[], &[]).len(), 1);

    // a second run skips the outputs of the first
    let (code, again, err) = run(&["command", &profile, root]);
    assert_eq!(code, 0);
    assert_eq!(again, lines);
    assert!(err.contains("skipping") && err.contains("x.clean.pcapng"), "{err}");

    // an input named like another input's output is refused
    std::fs::copy(sub.join("x.pcap"), sub.join("x.pcapng")).unwrap();
    let (code, _, err) = run(&["command", &profile, sub.join("x.pcap").to_str().unwrap(), sub.join("x.pcapng").to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn shipped_scripts_pass_shellcheck() {
    require_tool("shellcheck", "shellcheck");
    let dir = tempfile::tempdir().unwrap();
    for profile in shipped_profiles().iter().filter(|p| !p.contains("/noise/")) {
        for mode in ["device", "clean", "unexpected"] {
            let script = dir.path().join("s.sh");
            let (code, _, err) = run(&["script", profile, "--mode", mode, "-o", script.to_str().unwrap()]);
            assert_eq!(code, 0, "{err}");
            let sc = Command::new("shellcheck").arg(&script).output().unwrap();
            assert!(sc.status.success(), "{profile} {mode}: {}", String::from_utf8_lossy(&sc.stdout));
        }
    }
}

#[test]
fn user_templates_get_shell_quoted_values() {
    let dir = tempfile::tempdir().unwrap();
    let template = write(dir.path(), "t.hbs", "F={{filter}}\nRAW={{{suffix}}}\nP={{profile}}\n");
    let (code, out, err) = run(&["script", &profile_path("wyze-base.yaml"), "--template", &template, "--mode", "device"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "F='((eth.addr == 02:00:00:00:00:03) || (ip.addr == 192.0.2.30))'\nRAW=.device.pcapng\nP=wyze-base\n");
    let bad = write(dir.path(), "bad.hbs", "{{nosuchvalue}}");
    let (code, _, err) = run(&["script", &profile_path("wyze-base.yaml"), "--template", &bad]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn help_has_examples_and_completions_are_generated() {
    for command in ["filter", "bpf", "command", "script", "check", "install", "completions"] {
        let (code, out, _) = run(&[command, "--help"]);
        assert_eq!(code, 0);
        assert!(out.contains("Examples:"), "{command}");
    }
    let (_, out, _) = run(&["--help"]);
    assert!(out.contains("Exit codes: 0 ok, 1"), "{out}");
    for shell in ["bash", "zsh", "fish"] {
        let (code, out, _) = run(&["completions", shell]);
        assert_eq!(code, 0);
        assert!(out.contains("filtergen") && out.contains("resolve-from"), "{shell}");
    }
}
