//! The one place `dumpcap` is started for `watch`: checks made before a
//! capture starts (interface, directory, permission, filter), the ring
//! buffer it writes, and what it says on standard error (each new ring file
//! as `File: PATH`, errors, and its packet and drop counts when it ends).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};

use crate::error::Error;

const DUMPCAP: &str = "dumpcap";

/// Ring files are named PREFIX_NNNNN_YYYYMMDDHHMMSS.pcapng by dumpcap.
pub const PREFIX: &str = "watch";

/// `-b files:N -b duration:S` (and `filesize` from `--max-disk`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ring {
    pub files: u32,
    pub seconds: u32,
}

impl std::str::FromStr for Ring {
    type Err = String;
    fn from_str(s: &str) -> Result<Ring, String> {
        let bad = || format!("bad ring {s:?}: want FILES:SECONDS, e.g. 24:300 (both at least 2 and 1)");
        let (f, d) = s.split_once(':').ok_or_else(bad)?;
        let ring = Ring { files: f.parse().map_err(|_| bad())?, seconds: d.parse().map_err(|_| bad())? };
        if ring.files < 2 || ring.seconds < 1 {
            return Err(bad());
        }
        Ok(ring)
    }
}

/// One capture: where, what, and how the ring is bounded.
#[derive(Clone, Debug)]
pub struct Plan {
    pub interface: String,
    pub filter: String,
    pub dir: PathBuf,
    pub ring: Ring,
    /// `-b filesize:KB`, from `--max-disk` split over the ring's files.
    pub file_kb: Option<u64>,
}

impl Plan {
    fn args(&self) -> Vec<String> {
        let mut args = vec!["-q".into(), "-i".into(), self.interface.clone(), "-f".into(), self.filter.clone()];
        args.extend(["-b".into(), format!("files:{}", self.ring.files), "-b".into(), format!("duration:{}", self.ring.seconds)]);
        if let Some(kb) = self.file_kb {
            args.extend(["-b".into(), format!("filesize:{kb}")]);
        }
        args.extend(["-w".into(), self.dir.join(format!("{PREFIX}.pcapng")).to_string_lossy().into_owned()]);
        args
    }

    /// The command line, for messages and the unit file's documentation.
    pub fn command_line(&self) -> String {
        std::iter::once(DUMPCAP.to_string()).chain(self.args().into_iter().map(|a| crate::emit::shell::quote(&a))).collect::<Vec<_>>().join(" ")
    }
}

/// Everything that would stop the capture at its start, checked first, each
/// with what to do about it.
pub fn preflight(plan: &Plan) -> Result<(), Error> {
    interface_exists(&plan.interface)?;
    writable(&plan.dir)?;
    compiles(plan)
}

/// The interfaces of this network namespace (/proc/net/dev is the reading
/// process's namespace's; /sys/class/net may be another's).
fn interfaces() -> Result<Vec<String>, Error> {
    let text = std::fs::read_to_string("/proc/net/dev").map_err(|e| Error::io("/proc/net/dev", e))?;
    Ok(text.lines().skip(2).filter_map(|l| l.split(':').next()).map(|n| n.trim().to_string()).collect())
}

fn interface_exists(name: &str) -> Result<(), Error> {
    let names = interfaces()?;
    if names.iter().any(|n| n == name) {
        return Ok(());
    }
    Err(Error::Usage(format!("unknown interface {name:?}: this host has {}", names.join(", "))))
}

fn writable(dir: &Path) -> Result<(), Error> {
    let not_writable = |e: std::io::Error| Error::Usage(format!("directory {} is not writable: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(not_writable)?;
    tempfile::Builder::new().prefix(".filtergen-").tempfile_in(dir).map_err(not_writable)?;
    Ok(())
}

/// `dumpcap -d` compiles the filter for the interface (which needs the
/// same permission as capturing), so both are known before the ring starts.
fn compiles(plan: &Plan) -> Result<(), Error> {
    let out = Command::new(DUMPCAP)
        .args(["-i", &plan.interface, "-f", &plan.filter, "-d"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::Tool { tool: DUMPCAP.into(), reason: format!("{e} (install Wireshark's dumpcap: apt-get install wireshark-common)") })?;
    // dumpcap -d exits 0 even when it rejects the filter: the compiled
    // program on stdout (`(006) ret      #262144` lines) is the success.
    let program = String::from_utf8_lossy(&out.stdout).lines().any(|l| l.split_whitespace().nth(1) == Some("ret"));
    if out.status.success() && program {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&out.stderr);
    let said: Vec<&str> = said.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("Capturing on")).collect();
    let all = said.join(" ");
    let lower = all.to_lowercase();
    if lower.contains("permission") || lower.contains("not permitted") {
        // dumpcap's first line; its advice follows in ours.
        let said = said.first().copied().unwrap_or_default();
        return Err(Error::Usage(format!(
            "no permission to capture on {}: {said}\n  grant it with: sudo usermod -aG wireshark $USER (then log in again), or sudo setcap cap_net_raw,cap_net_admin=eip $(command -v dumpcap)",
            plan.interface
        )));
    }
    Err(Error::Usage(format!("interface {} rejects the capture filter: {all}", plan.interface)))
}

/// What dumpcap reported.
#[derive(Debug)]
pub enum Event {
    /// It opened a new ring file (the one before it is closed).
    Opened(PathBuf),
    /// Any other line on standard error.
    Said(String),
    /// Its standard error closed: it has ended.
    Ended,
}

/// A running dumpcap.
pub struct Capture {
    child: Child,
    pub events: Receiver<Event>,
}

extern "C" {
    fn kill(pid: i32, sig: i32) -> i32;
}
const SIGTERM: i32 = 15;

impl Capture {
    /// Starts dumpcap in its own process group, so a Ctrl-C at the terminal
    /// reaches `watch` only, which then stops dumpcap itself.
    pub fn start(plan: &Plan) -> Result<Capture, Error> {
        use std::os::unix::process::CommandExt;
        let mut child = Command::new(DUMPCAP)
            .args(plan.args())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(|e| Error::Tool { tool: DUMPCAP.into(), reason: e.to_string() })?;
        let stderr = child.stderr.take().expect("piped");
        let (tx, events) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let event = match line.strip_prefix("File: ") {
                    Some(path) => Event::Opened(PathBuf::from(path)),
                    None => Event::Said(line),
                };
                if tx.send(event).is_err() {
                    return;
                }
            }
            let _ = tx.send(Event::Ended);
        });
        Ok(Capture { child, events })
    }

    /// Asks dumpcap to finish its file and exit.
    pub fn stop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // SAFETY: kill has no memory effects; the pid is our child's, not yet reaped.
            unsafe { kill(self.child.id() as i32, SIGTERM) };
        }
    }

    pub fn wait(&mut self) -> Result<ExitStatus, Error> {
        self.child.wait().map_err(|e| Error::Tool { tool: DUMPCAP.into(), reason: e.to_string() })
    }
}

/// A watch that ends on an error does not leave dumpcap capturing.
impl Drop for Capture {
    fn drop(&mut self) {
        self.stop();
        let _ = self.child.wait();
    }
}

/// dumpcap's closing line `Packets received/dropped on interface 'X': R/D (...)`.
pub fn drops(line: &str) -> Option<(u64, u64)> {
    let rest = line.strip_prefix("Packets received/dropped on interface ")?;
    let counts = rest.rsplit_once("': ")?.1.split_whitespace().next()?;
    let (r, d) = counts.split_once('/')?;
    Some((r.parse().ok()?, d.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_and_drop_line() {
        assert_eq!("24:300".parse::<Ring>(), Ok(Ring { files: 24, seconds: 300 }));
        assert!("1:300".parse::<Ring>().is_err());
        assert!("24".parse::<Ring>().is_err());
        let line = "Packets received/dropped on interface 'v0': 12/3 (pcap:0/dumpcap:0/flushed:0/ps_ifdrop:0) (100.0%)";
        assert_eq!(drops(line), Some((12, 3)));
        assert_eq!(drops("Capturing on 'v0'"), None);
    }
}
