//! A tmpfs mounted for a test (read-only, or small enough to fill), unmounted
//! when dropped, even when the test fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub struct Tmpfs {
    pub path: PathBuf,
}

impl Tmpfs {
    /// A new directory at `path` with a tmpfs on it; `options` as for
    /// `mount -o`, e.g. `ro,size=1m` or `size=64k`.
    pub fn mount(path: &Path, options: &str) -> Tmpfs {
        std::fs::create_dir_all(path).unwrap();
        let guard = Tmpfs { path: path.to_path_buf() };
        let out = Command::new("mount").args(["-t", "tmpfs", "-o", options, "phonehome-test"]).arg(path).output().expect("mount");
        assert!(out.status.success(), "mount tmpfs on {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
        guard
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.path).stderr(Stdio::null()).status();
    }
}
