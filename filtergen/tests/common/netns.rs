//! Network namespaces for tests that need real interfaces: made with
//! `ip netns add`, entered with `nsenter --net=` (not `ip -n` / `ip netns
//! exec`: they remount /sys, which fails in a chroot where / is not a mount
//! point), and removed by a guard even when the test fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `--net=` for nsenter.
pub fn net(ns: &str) -> String {
    format!("--net=/var/run/netns/{ns}")
}

/// Runs a command; panics with its stderr when it fails; returns its stdout.
pub fn sh(args: &[&str]) -> String {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A namespace deleted (with its interfaces) when dropped.
pub struct Namespace {
    pub name: String,
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.name]).stderr(Stdio::null()).status();
    }
}

impl Namespace {
    /// A new namespace (`lo` up) named after this process and `tag`.
    pub fn new(tag: &str) -> Namespace {
        let ns = Namespace { name: format!("phn{}{tag}", std::process::id()) };
        sh(&["ip", "netns", "add", &ns.name]);
        sh(&["nsenter", &net(&ns.name), "ip", "link", "set", "lo", "up"]);
        ns
    }

    /// A namespace holding both ends of a veth pair, up, without addresses
    /// and without IPv6 (so the kernel sends nothing of its own on them).
    pub fn with_veth(tag: &str, a: &str, b: &str) -> Namespace {
        let ns = Namespace::new(tag);
        let n = net(&ns.name);
        sh(&["nsenter", &n, "ip", "link", "add", a, "type", "veth", "peer", "name", b]);
        for dev in [a, b] {
            sh(&["nsenter", &n, "sysctl", "-q", "-w", &format!("net.ipv6.conf.{dev}.disable_ipv6=1")]);
            sh(&["nsenter", &n, "ip", "link", "set", dev, "up"]);
        }
        ns
    }
}

/// A tmpfs mounted on a new directory (read-only, or a small one to fill),
/// unmounted when dropped.
pub struct Tmpfs {
    pub path: PathBuf,
}

impl Tmpfs {
    /// `options` as for mount -o, e.g. `ro,size=1m` or `size=64k`.
    pub fn mount(path: &Path, options: &str) -> Tmpfs {
        std::fs::create_dir_all(path).unwrap();
        let guard = Tmpfs { path: path.to_path_buf() };
        sh(&["mount", "-t", "tmpfs", "-o", options, "phonehome-test", &path.to_string_lossy()]);
        guard
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.path).stderr(Stdio::null()).status();
    }
}
