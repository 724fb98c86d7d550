//! Hostile profiles: YAML that is not YAML, alias bombs, deep nesting, huge
//! files, unknown keys, values that try to inject into a display filter, a
//! BPF expression or a shell script. Each ends in a clear error (exit 2,
//! file:line:column) or a documented safe outcome, in bounded time, and no
//! input file is ever modified.

mod common;

use std::time::{Duration, Instant};

use common::{run, write};

/// Runs every command that reads a profile; returns (code, stderr) of each
/// and asserts each took under 10 s and left the profile as it was.
fn run_all(profile: &str) -> Vec<(String, i32, String)> {
    let before = std::fs::read(profile).unwrap();
    let mut out = Vec::new();
    for cmd in [&["filter"][..], &["bpf"], &["script"], &["filter", "--mode", "unexpected"]] {
        let mut args: Vec<&str> = cmd.to_vec();
        args.push(profile);
        let start = Instant::now();
        let (code, _, err) = run(&args);
        assert!(start.elapsed() < Duration::from_secs(10), "{args:?} took {:?}", start.elapsed());
        out.push((cmd.join(" "), code, err));
    }
    assert_eq!(std::fs::read(profile).unwrap(), before, "{profile} was modified");
    out
}

fn assert_refused(profile: &str, message: &str) {
    for (cmd, code, err) in run_all(profile) {
        assert_eq!(code, 2, "{cmd} {profile}: {err}");
        assert!(err.contains(profile) && err.contains(message), "{cmd}: expected {message:?} in:\n{err}");
    }
}

#[test]
fn text_that_is_not_yaml() {
    let dir = tempfile::tempdir().unwrap();
    assert_refused(&write(dir.path(), "binary.yaml", b"\x00\xff\xfe\x01garbage"), "valid UTF-8");
    assert_refused(&write(dir.path(), "list.yaml", b"[1, 2, 3]\n"), "invalid type");
    assert_refused(&write(dir.path(), "tabs.yaml", b"name: x\ndevice:\n\tip: [10.0.0.1]\n"), ":3:");
    assert_refused(&write(dir.path(), "unclosed.yaml", b"name: x\ndevice: {ip: [10.0.0.1\n"), "unclosed.yaml:3:");
}

#[test]
fn unknown_keys_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "unknown.yaml", b"name: x\ndevice:\n  ip: [10.0.0.1]\nexpected:\n  - udp: [53]\n    exfiltrate: yes\n");
    assert_refused(&p, "unknown field `exfiltrate`");
}

#[test]
fn alias_bombs_are_refused_or_stay_small() {
    let dir = tempfile::tempdir().unwrap();
    // The classic "billion laughs": nine levels of nine aliases.
    let mut bomb = String::from("name: laughs\ndevice:\n  ip: [10.0.0.1]\nexpected:\n  - host: &a [\"lol.example.com\"]\n");
    let mut prev = 'a';
    for level in 'b'..='j' {
        bomb.push_str(&format!("  - host: &{level} [{}]\n", vec![format!("*{prev}"); 9].join(",")));
        prev = level;
    }
    let p = write(dir.path(), "laughs.yaml", bomb.as_bytes());
    for (cmd, code, err) in run_all(&p) {
        assert_eq!(code, 2, "{cmd}: {err}");
        assert!(err.contains("laughs.yaml:"), "{cmd}: {err}");
    }
    // Aliases of whole rules are legal YAML and expand once each.
    let p = write(
        dir.path(),
        "aliases.yaml",
        b"name: aliases\ndevice:\n  ip: [10.0.0.1]\nexpected:\n  - &dns {name: dns, udp: [53]}\n  - *dns\n",
    );
    let (code, out, err) = run(&["filter", &p, "--mode", "unexpected"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.len() < 200, "{out}");
}

#[test]
fn deep_nesting_is_refused_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let flow = format!("name: deep\ndevice: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    assert_refused(&write(dir.path(), "flow.yaml", flow.as_bytes()), "nested deeper than 64 levels");
    let block = format!("name: deep\ndevice:\n  ip:\n    {}x\n", "- ".repeat(50_000));
    assert_refused(&write(dir.path(), "block.yaml", block.as_bytes()), "nested deeper than 64 levels");
    // Brackets inside quotes and comments do not count.
    let fine = format!("name: fine\ndescription: \"{}\"\ndevice:\n  ip: [10.0.0.1] # {}\n", "[".repeat(100), "{".repeat(100));
    let (code, _, err) = run(&["filter", &write(dir.path(), "fine.yaml", fine.as_bytes())]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn huge_files_are_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = b"name: huge\ndevice:\n  ip: [10.0.0.1]\n".to_vec();
    text.resize(5 << 20, b'#');
    text.push(b'\n');
    assert_refused(&write(dir.path(), "huge.yaml", &text), "a profile has at most 4194304");
}

#[test]
fn injection_into_filters_bpf_and_scripts_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &str); 6] = [
        ("device:\n  ip: [\"10.0.0.1 or 1\"]\n", "3:"),
        ("device:\n  mac: [\"00:11:22:33:44:55 || frame\"]\n", "3:"),
        ("device:\n  ip: [10.0.0.1]\nexpected:\n  - udp: [\"53 or udp\"]\n", "5:"),
        ("device:\n  ip: [10.0.0.1]\nexpected:\n  - host: [\"a.com'; reboot; '\"]\n", "5:"),
        ("device:\n  ip: [10.0.0.1]\nexpected:\n  - protocols: [\"dns || 1\"]\n", "5:"),
        ("device:\n  ip: [10.0.0.1]\nexpected:\n  - name: \"x`id`\"\n    udp: [53]\n", "5:"),
    ];
    for (i, (body, position)) in cases.iter().enumerate() {
        let p = write(dir.path(), &format!("inject{i}.yaml"), format!("name: inject\n{body}").as_bytes());
        for (cmd, code, err) in run_all(&p) {
            assert_eq!(code, 2, "case {i} {cmd}: {err}");
            assert!(err.contains(&format!("{p}:{position}")), "case {i} {cmd}: {err}");
        }
    }
}
