//! End-to-end harness: runs the real, installed `phonehome.so` inside a real
//! tshark and returns what tshark printed.
//!
//! tshark ignores the per-user plugin folder (and WIRESHARK_PLUGIN_DIR) when
//! it runs as root, so as root the harness copies the installed plugin into
//! a private HOME owned by `nobody` and runs tshark as `nobody` through
//! `setpriv`; captures are fed on standard input, so `nobody` needs no access
//! to the test's files. As another user it runs tshark directly with the
//! same kind of private HOME, so no personal preference changes a result.
//!
//! The plugin tested is the one `make install` put in
//! `~/.local/lib/wireshark/plugins/X.Y/epan/` (`make test` installs first);
//! set PHONEHOME_PLUGIN to test another build.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

pub mod mutate;

use filtergen::PluginHome;
pub use phonehome_samples::{scenarios, Capture, Host};

/// The Wireshark "X.Y" that pkg-config reports.
pub fn wireshark_xy() -> String {
    let out = Command::new("pkg-config")
        .args(["--modversion", "wireshark"])
        .output()
        .expect("pkg-config is needed (make deps installs it)");
    let v = String::from_utf8_lossy(&out.stdout).into_owned();
    let xy = filtergen::wireshark_xy(&v).filter(|_| out.status.success());
    xy.unwrap_or_else(|| panic!("pkg-config finds no wireshark ({v:?}): run `make deps`"))
}

/// The plugin under test: PHONEHOME_PLUGIN, else the one `make install`
/// put in the per-user plugin folder.
pub fn installed_plugin() -> PathBuf {
    let xy = wireshark_xy();
    filtergen::installed_plugin(&xy).unwrap_or_else(|| {
        panic!("no plugin in ~/.local/lib/wireshark/plugins/{xy}/epan/ (nor PHONEHOME_PLUGIN): run `make install` (or `make test`, which installs it)")
    })
}

/// A tshark that loads the plugin under test, run the way `filtergen report`
/// runs it (see filtergen's `tshark` module): a private HOME with a copy of the
/// plugin, and as root, `nobody` through `setpriv`.
pub struct Tshark {
    home: PluginHome,
}

/// The shared tshark runner of this test process.
pub fn tshark() -> &'static Tshark {
    static T: OnceLock<Tshark> = OnceLock::new();
    T.get_or_init(Tshark::setup)
}

impl Tshark {
    fn setup() -> Tshark {
        let home = PluginHome::new(&wireshark_xy(), Some(installed_plugin())).expect("a private HOME for tshark");
        Tshark { home }
    }

    fn command(&self, program: &str) -> Command {
        self.home.command(program)
    }

    /// Runs `tshark -r - ARGS` with the capture on standard input. With
    /// `-2` (two passes, which needs a seekable file) the capture is copied
    /// into the private HOME, readable by the user tshark runs as.
    pub fn run(&self, capture: &Path, args: &[&str]) -> Output {
        if args.contains(&"-2") {
            let copy = self.readable_copy(capture);
            let out = self.command("tshark").arg("-r").arg(&copy).args(args).stdin(Stdio::null()).output();
            let _ = fs::remove_file(&copy);
            return out.expect("tshark is needed (make deps installs it)");
        }
        let input = fs::File::open(capture).unwrap_or_else(|e| panic!("{}: {e}", capture.display()));
        self.command("tshark")
            .args(["-r", "-"])
            .args(args)
            .stdin(Stdio::from(input))
            .output()
            .expect("tshark is needed (make deps installs it)")
    }

    /// A copy of `capture` in the private HOME, readable by the user tshark
    /// runs as (for programs that need a file, not standard input).
    pub fn readable_copy(&self, capture: &Path) -> PathBuf {
        let dir = self.home.path().join("captures");
        fs::create_dir_all(&dir).unwrap();
        let copy = dir.join(format!("{}-{}", std::process::id(), capture.file_name().unwrap().to_string_lossy()));
        fs::copy(capture, &copy).unwrap_or_else(|e| panic!("{}: {e}", capture.display()));
        fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        fs::set_permissions(&copy, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
        copy
    }

    /// The private HOME (writable by the user the programs run as).
    pub fn home_dir(&self) -> PathBuf {
        self.home.path().to_path_buf()
    }

    /// Runs `program ARGS` (Wireshark's GUI, for one) the way tshark runs:
    /// in the private HOME with the plugin, as `nobody` when we are root.
    pub fn run_program(&self, program: &str, args: &[&str]) -> Output {
        self.command(program).args(args).stdin(Stdio::null()).output().unwrap_or_else(|e| panic!("{program}: {e}"))
    }

    /// Like [`Tshark::run`], killed after `seconds` (exit 124 or 137 then);
    /// a crash shows as exit 128 + signal.
    pub fn run_limited(&self, capture: &Path, args: &[&str], seconds: u32) -> Output {
        let input = fs::File::open(capture).unwrap_or_else(|e| panic!("{}: {e}", capture.display()));
        self.command("timeout")
            .args(["-k", "2", &seconds.to_string(), "tshark", "-r", "-"])
            .args(args)
            .stdin(Stdio::from(input))
            .output()
            .expect("timeout and tshark are needed")
    }

    /// Wireshark's personal configuration folder of this tshark, where
    /// configuration profiles go; call [`Tshark::hand_over`] after writing.
    pub fn config_dir(&self) -> PathBuf {
        self.home.config_dir()
    }

    /// Gives what the test wrote into the private HOME to `nobody`.
    pub fn hand_over(&self) {
        self.home.hand_over().expect("chown of the test HOME");
    }

    /// Runs `tshark ARGS` with no capture (e.g. `-G fields`).
    pub fn run_bare(&self, args: &[&str]) -> Output {
        self.command("tshark").args(args).stdin(Stdio::null()).output().expect("tshark")
    }

    /// Like [`Tshark::run`], and asserts tshark succeeded with a clean stderr.
    pub fn run_ok(&self, capture: &Path, args: &[&str]) -> String {
        let out = self.run(capture, args);
        check_clean(&out, &format!("tshark -r {} {}", capture.display(), args.join(" ")));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `-T fields` output: one row per packet (that passes `filter`), one
    /// column per field, several occurrences joined with ','.
    pub fn fields(&self, capture: &Path, opts: &[&str], filter: Option<&str>, fields: &[&str]) -> Vec<Vec<String>> {
        let mut args: Vec<&str> = opts.to_vec();
        args.extend(["-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,"]);
        if let Some(f) = filter {
            args.extend(["-Y", f]);
        }
        for f in fields {
            args.extend(["-e", f]);
        }
        self.run_ok(capture, &args)
            .lines()
            .map(|l| l.split('\t').map(str::to_string).collect())
            .collect()
    }
}

/// Asserts tshark exited 0 and printed no warning, error or dissector bug.
pub fn check_clean(out: &Output, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let bad = ["Dissector bug", "CRITICAL", "WARNING", "ERROR", "panicked", "Malformed"];
    let noisy: Vec<&str> = stderr.lines().filter(|l| bad.iter().any(|b| l.contains(b))).collect();
    assert!(
        out.status.success() && noisy.is_empty(),
        "{what}: exit {:?}\nstderr:\n{stderr}",
        out.status.code()
    );
}

/// A scratch directory for this test process's captures.
pub fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("phonehome-e2e-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `cap` to the scratch directory as `name`.
pub fn write_capture(name: &str, cap: &Capture) -> PathBuf {
    let path = scratch().join(name);
    cap.write(&path).unwrap();
    path
}

/// Writes raw bytes (e.g. a hand-corrupted capture) to the scratch directory.
pub fn write_bytes(name: &str, bytes: &[u8]) -> PathBuf {
    let path = scratch().join(name);
    fs::File::create(&path).and_then(|mut f| f.write_all(bytes)).unwrap();
    path
}

/// A real capture from `../shared/captures/` beside the repository. Missing
/// there (a user's clone) it is `None`, unless PHONEHOME_REQUIRE_SHARED is
/// set (CI), when it is a failure.
pub fn shared_capture(name: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/captures").join(name);
    if path.is_file() {
        return Some(path);
    }
    assert!(
        std::env::var_os("PHONEHOME_REQUIRE_SHARED").is_none(),
        "{} is missing and PHONEHOME_REQUIRE_SHARED is set",
        path.display()
    );
    eprintln!("note: {} not found; skipping the real-capture checks", path.display());
    None
}

/// Distinct values of column `col`.
pub fn distinct(rows: &[Vec<String>], col: usize) -> std::collections::BTreeSet<String> {
    rows.iter().filter_map(|r| r.get(col)).filter(|s| !s.is_empty()).cloned().collect()
}

/// The Python of the project's venv (`make venv`), where the third-party
/// peers tinytuya and python-miio are installed; PHONEHOME_PYTHON overrides.
pub fn peer_python() -> PathBuf {
    if let Some(p) = std::env::var_os("PHONEHOME_PYTHON") {
        return PathBuf::from(p);
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    assert!(p.is_file(), "{} is missing: run `make venv`", p.display());
    p
}

/// Runs a peer script from tests/peers/ with the venv's Python and returns
/// its standard output (the script's failure is the test's failure).
pub fn run_peer(script: &str, args: &[&str]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("peers").join(script);
    let out = Command::new(peer_python()).arg(&path).args(args).output().expect("python");
    assert!(
        out.status.success(),
        "{script} {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The `filtergen` binary of this build (`make test` builds it in release).
pub fn filtergen_bin() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let bin = ["release", "debug"]
        .iter()
        .map(|p| target.join(p).join("filtergen"))
        .filter(|b| b.is_file())
        .max_by_key(|b| fs::metadata(b).and_then(|m| m.modified()).ok());
    bin.unwrap_or_else(|| panic!("no filtergen binary under {}: run `make build`", target.display()))
}
