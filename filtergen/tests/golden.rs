//! Golden outputs for every mode and command on the roborock-tuya profile.
//! Regenerate with `UPDATE_GOLDEN=1 cargo test -p filtergen --test golden`
//! and review the diff.

mod common;

use std::path::Path;

use common::*;

fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{} missing: run with UPDATE_GOLDEN=1", path.display()));
    assert_eq!(actual, expected, "output differs from {}", path.display());
}

/// Runs filtergen in the repository root so paths in the output are relative.
fn run_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    decode(filtergen().current_dir(dir).env("HOME", dir).env_remove("XDG_CONFIG_HOME").args(args).output().unwrap())
}

const PROFILE: &str = "profiles/roborock-tuya.yaml";

#[test]
fn filter_every_mode() {
    for mode in ["device", "clean", "unexpected"] {
        let (code, out, err) = run_in(&repo_root(), &["filter", PROFILE, "--mode", mode]);
        assert_eq!(code, 0, "{err}");
        golden(&format!("filter-{mode}.txt"), &out);
    }
}

#[test]
fn bpf_every_mode() {
    for mode in ["device", "clean", "unexpected"] {
        let (code, out, err) = run_in(&repo_root(), &["bpf", PROFILE, "--mode", mode]);
        assert_eq!(code, if mode == "unexpected" { 1 } else { 0 }, "{err}");
        golden(&format!("bpf-{mode}.txt"), &format!("exit {code}\n{out}{err}"));
    }
    let (code, out, _) = run_in(&repo_root(), &["bpf", "profiles/noise/l2-discovery.yaml"]);
    assert_eq!(code, 0);
    golden("bpf-l2-discovery.txt", &out);
}

#[test]
fn command_and_script() {
    let dir = tempfile::tempdir().unwrap();
    let profile = repo_root().join(PROFILE);
    let profile = profile.to_str().unwrap();
    std::fs::write(dir.path().join("capture 1.pcap"), b"").unwrap();
    for mode in ["device", "clean", "unexpected"] {
        let (code, out, err) = run_in(dir.path(), &["command", profile, "capture 1.pcap", "--mode", mode]);
        assert_eq!(code, 0, "{err}");
        golden(&format!("command-{mode}.txt"), &out);
        let (code, out, err) = run_in(dir.path(), &["script", profile, "--mode", mode]);
        assert_eq!(code, 0, "{err}");
        golden(&format!("script-{mode}.sh"), &out);
    }
}

#[test]
fn check_output() {
    let (code, out, err) = run_in(&repo_root(), &["check", PROFILE, "profiles/noise/zerotier.yaml"]);
    assert_eq!(code, 0, "{err}");
    golden("check.txt", &out);
}

#[test]
fn install_files() {
    let home = tempfile::tempdir().unwrap();
    let profile = repo_root().join(PROFILE);
    let (code, _, err) = run_in(home.path(), &["install", profile.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let dir = home.path().join(".config/wireshark/profiles/phonehome");
    for file in ["dfilter_buttons", "dfilters", "dfilter_macros", "tuya_keys"] {
        golden(&format!("install-{file}.txt"), &std::fs::read_to_string(dir.join(file)).unwrap());
    }
}
