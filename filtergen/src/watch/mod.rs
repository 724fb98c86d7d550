//! `filtergen watch`: a long capture by dumpcap into a ring buffer
//! (`dumpcap`), each ring file analysed by the native report pass as soon
//! as dumpcap closes it and folded into bounded running state (`state`),
//! alerts on new facts (`facts`, `alerts`), reports rewritten while it runs,
//! and a clean stop on SIGINT/SIGTERM (`signal`), a duration, or a dumpcap
//! that fails (a full disk). `unit` prints a systemd service for it.

pub(crate) mod alerts;
pub(crate) mod dumpcap;
pub(crate) mod facts;
mod signal;
pub(crate) mod state;
pub(crate) mod unit;

use std::collections::HashSet;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use crate::atomic;
use crate::clock::UtcOffset;
use crate::error::Error;
use crate::profile::rules::Profile;
use crate::report::model::{self, Geo, Inputs, Report};
use crate::report::native::{self, Outcome};
use crate::report::observe::{self, DeviceMatch, Observations, PacketView};
use crate::report::{html as report_html, text as report_text};
use alerts::{Alert, Log};
use dumpcap::{Capture, Event, Plan};
use facts::{Fact, Seen};
use state::Dropped;

/// Ring files holding an alert's evidence are moved here, out of the rotation.
pub const EVIDENCE: &str = "evidence";

/// Between a stop request and dumpcap's SIGTERM: well beyond the read
/// timeout dumpcap gives libpcap (250 ms), so packets that arrived before the
/// request are delivered and written, not left in the kernel's buffer (600 ms
/// lost the last packets on a loaded machine with Wireshark 4.6's dumpcap).
/// The grace is counted again while the open ring file still grows, up to
/// STOP_GRACE_MAX after the request.
const STOP_GRACE: Duration = Duration::from_millis(1500);
const STOP_GRACE_MAX: Duration = Duration::from_secs(5);

/// Lines of dumpcap's standard error kept for the message when it fails.
const SAID_KEPT: usize = 64;

/// Everything a watch needs, checked by the command line.
pub struct Watch<'a> {
    pub profiles: &'a [Profile],
    pub plan: Plan,
    pub alerts: Option<PathBuf>,
    pub report_every: Option<Duration>,
    pub duration: Option<Duration>,
    pub offset: UtcOffset,
    pub geo: &'a dyn Geo,
    pub country_source: String,
}

/// The running state of one device.
struct Device<'a> {
    profile: &'a Profile,
    matcher: DeviceMatch,
    observations: Observations,
    dropped: Dropped,
    known: HashSet<String>,
    problems: Vec<String>,
}

/// The watch as it goes.
struct Running<'a> {
    w: &'a Watch<'a>,
    devices: Vec<Device<'a>>,
    log: Log,
    /// Ring files analysed, where they are now.
    files: Vec<PathBuf>,
    evidence: usize,
    /// Ring files dumpcap had rotated away before they could be read.
    missed: Vec<String>,
    packets: u64,
    alerts: usize,
    /// Said on standard error by the loop, then cleared.
    warnings: Vec<String>,
}

/// The preflight checks' place: before anything starts.
pub fn check(plan: &Plan) -> Result<(), Error> {
    dumpcap::preflight(plan)
}

/// Runs until stopped; 0 after a requested stop, 1 when dumpcap failed
/// (the capture so far is analysed and reported first).
pub fn run(w: &Watch, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, Error> {
    let io = |e: std::io::Error| Error::io("<stderr>", e);
    let mut devices = Vec::new();
    for profile in w.profiles {
        let matcher = DeviceMatch::from_profile(profile)
            .ok_or_else(|| Error::Usage(format!("profile {} has no device: watch needs the device's MAC or IP", profile.name)))?;
        devices.push(Device { profile, matcher, observations: Observations::default(), dropped: Dropped::default(), known: HashSet::new(), problems: Vec::new() });
    }
    let evidence = w.plan.dir.join(EVIDENCE);
    std::fs::create_dir_all(&evidence).map_err(|e| Error::io(&evidence, e))?;
    let mut running = Running { w, devices, log: Log::open(w.alerts.as_deref())?, files: Vec::new(), evidence: 0, missed: Vec::new(), packets: 0, alerts: 0, warnings: Vec::new() };
    signal::install();
    let mut capture = Capture::start(&w.plan)?;
    writeln!(err, "filtergen: watching {} with {}", w.plan.interface, w.plan.command_line()).map_err(io)?;
    let started = Instant::now();
    let mut progress = Progress::new();
    let mut next_report = w.report_every.map(|d| started + d);
    let mut current: Option<PathBuf> = None;
    let mut said: Vec<String> = Vec::new();
    let mut stop_at: Option<Instant> = None;
    let mut stop_requested: Option<Instant> = None;
    let mut open_size: Option<u64> = None;
    let mut stopping = false;
    loop {
        match capture.events.recv_timeout(Duration::from_millis(200)) {
            Ok(Event::Opened(path)) => {
                if let Some(closed) = current.replace(path) {
                    running.analyse(&closed, out)?;
                }
            }
            Ok(Event::Said(line)) => {
                // dumpcap -q says little: its errors and its final counts; the last lines do.
                if said.len() == SAID_KEPT {
                    said.remove(0);
                }
                said.push(line);
            }
            Ok(Event::Ended) | Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {}
        }
        if stop_at.is_none() && (signal::requested() || w.duration.is_some_and(|d| started.elapsed() >= d)) {
            stop_at = Some(Instant::now() + STOP_GRACE);
            stop_requested = Some(Instant::now());
        }
        if let (false, Some(requested)) = (stopping, stop_requested) {
            let size = current.as_deref().and_then(|p| std::fs::metadata(p).ok()).map(|m| m.len());
            if size != open_size && requested.elapsed() < STOP_GRACE_MAX {
                open_size = size;
                stop_at = Some(Instant::now() + STOP_GRACE);
            }
        }
        if !stopping && stop_at.is_some_and(|t| Instant::now() >= t) {
            stopping = true;
            capture.stop();
        }
        if next_report.is_some_and(|t| Instant::now() >= t) {
            // A report that cannot be written now (a full disk) may be later.
            if let Err(e) = running.reports() {
                running.warnings.push(format!("report not rewritten: {e}"));
            }
            next_report = w.report_every.map(|d| Instant::now() + d);
        }
        for warning in running.warnings.drain(..) {
            writeln!(err, "filtergen: warning: {warning}").map_err(io)?;
        }
        progress.show(&running, false, err);
    }
    let status = capture.wait()?;
    if let Some(last) = current {
        running.analyse(&last, out)?;
    }
    for warning in running.warnings.drain(..) {
        writeln!(err, "filtergen: warning: {warning}").map_err(io)?;
    }
    let reported = running.reports();
    progress.show(&running, true, err);
    let drops = said.iter().find_map(|l| dumpcap::drops(l));
    if let Some((received, dropped)) = drops {
        writeln!(err, "filtergen: dumpcap received {received} packets, dropped {dropped}").map_err(io)?;
    }
    let reports: Vec<String> = running.devices.iter().map(|d| report_path(&w.plan.dir, d.profile, "json").display().to_string()).collect();
    let mut code = 0;
    match reported {
        Ok(()) => writeln!(err, "filtergen: reports in {}", reports.join(", ")).map_err(io)?,
        Err(e) => {
            writeln!(err, "filtergen: the final report could not be written: {e} (the ring files and evidence in {} are intact); here it is:", w.plan.dir.display()).map_err(io)?;
            for i in 0..running.devices.len() {
                err.write_all(report_text::table(&running.report(i, &running.notes(i))).as_bytes()).map_err(io)?;
            }
            code = 1;
        }
    }
    if status.success() || (stopping && drops.is_some()) {
        return Ok(code);
    }
    // dumpcap's own words, its sentences broken over lines joined again.
    let why: Vec<&str> = said
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty() && !l.starts_with("Capturing on") && !l.starts_with("Packets captured") && dumpcap::drops(l).is_none())
        .collect();
    let why = if why.is_empty() { status.to_string() } else { why.join(" ") };
    writeln!(err, "filtergen: dumpcap stopped: {why}; the capture up to then is analysed and reported").map_err(io)?;
    Ok(1)
}

/// A ring file dumpcap deleted (the ring turned over) before it was read.
fn rotated_away(e: &Error) -> bool {
    matches!(e, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
}

fn report_path(dir: &Path, profile: &Profile, ext: &str) -> PathBuf {
    dir.join(format!("{}.report.{ext}", profile.name))
}

impl Running<'_> {
    /// Reads one closed ring file for every device, alerts on what is new,
    /// and moves the file aside when it holds an alert's evidence.
    fn analyse(&mut self, file: &Path, out: &mut dyn Write) -> Result<(), Error> {
        let name = file.file_name().map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().into_owned());
        if !file.exists() {
            self.missed.push(name);
            return Ok(());
        }
        // One read of the file for every device.
        let matchers: Vec<&DeviceMatch> = self.devices.iter().map(|d| &d.matcher).collect();
        let each = match native::observe_each(file, &matchers) {
            Err(e) if rotated_away(&e) => {
                self.missed.push(name);
                return Ok(());
            }
            Err(e) => return Err(e),
            Ok(Outcome::Observed(each, problem)) => {
                // A damaged file is every device's problem.
                for d in &mut self.devices {
                    d.problems.extend(problem.clone());
                }
                each
            }
            Ok(Outcome::Foreign(linktype)) => {
                return Err(Error::Usage(format!("{}: link type {linktype:?}: watch reads Ethernet captures (choose an Ethernet interface)", file.display())));
            }
        };
        let mut pending: Vec<Alert> = Vec::new();
        let mut packets = 0;
        for (i, file_obs) in each.into_iter().enumerate() {
            packets = packets.max(file_obs.packets);
            let d = &mut self.devices[i];
            state::fold(&mut d.observations, file_obs, &mut d.dropped);
            let report = self.report(i, &[]);
            let new = facts::new_facts(&report, &self.devices[i].known);
            if !new.is_empty() {
                pending.extend(self.evidence_for(i, file, &name, new)?);
            }
        }
        self.packets += packets;
        pending.sort_by(|a, b| a.time.unwrap_or(f64::INFINITY).total_cmp(&b.time.unwrap_or(f64::INFINITY)));
        let mut at = file.to_path_buf();
        if !pending.is_empty() {
            let kept = self.w.plan.dir.join(EVIDENCE).join(&name);
            match std::fs::rename(file, &kept) {
                Ok(()) => {
                    self.evidence += 1;
                    at = kept;
                }
                // dumpcap's rotation was faster: the alerts stand, the file is gone.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    for alert in &mut pending {
                        alert.file = format!("{name} (rotated away before it could be kept)");
                    }
                }
                Err(e) => return Err(Error::io(file, e)),
            }
        }
        self.files.push(at);
        for alert in &pending {
            if let Some(warning) = self.log.write(alert, out)? {
                self.warnings.push(warning);
            }
            self.alerts += 1;
        }
        Ok(())
    }

    /// Finds each fact's first packet in `file`; the alerts to raise, with
    /// the facts remembered so none is said twice. A UID fact whose UID is
    /// not in this file waits for a file that carries it.
    fn evidence_for(&mut self, i: usize, file: &Path, name: &str, new: Vec<Fact>) -> Result<Vec<Alert>, Error> {
        let geo = self.w.geo;
        let d = &self.devices[i];
        let fields = observe::fields();
        let mut found: Vec<Option<(u32, f64, Option<String>)>> = vec![None; new.len()];
        let matcher = d.matcher.clone();
        let mut hook = |frame: u32, view: &PacketView, values: &[Option<&str>]| {
            let device_end = if matcher.is_device(view.eth[0], view.ip[0]) {
                0
            } else if matcher.is_device(view.eth[1], view.ip[1]) {
                1
            } else {
                return;
            };
            let seen = Seen { view, values, fields: &fields, device_end };
            for (fact, slot) in new.iter().zip(found.iter_mut()) {
                if slot.is_none() && fact.evidence.shown_by(&seen, geo) {
                    *slot = Some((frame, view.ts, fact.evidence.detail(&seen)));
                }
            }
        };
        match native::observe_with(file, &matcher, Some(&mut hook)) {
            // Rotated away since the first pass: the facts stand, without frames.
            Err(e) if rotated_away(&e) => {}
            Err(e) => return Err(e),
            Ok(_) => {}
        }
        let device = device_text(d.profile);
        let profile = d.profile.name.to_string();
        let d = &mut self.devices[i];
        let mut alerts = Vec::new();
        for (fact, at) in new.into_iter().zip(found) {
            if fact.kind == facts::Kind::UidExposed && at.as_ref().is_none_or(|a| a.2.is_none()) {
                continue;
            }
            d.known.extend(fact.keys);
            let what = match at.as_ref().and_then(|a| a.2.clone()) {
                Some(detail) => format!("sent {detail} to {}", fact.what),
                None => fact.what,
            };
            alerts.push(Alert {
                profile: profile.clone(),
                device: device.clone(),
                kind: fact.kind,
                what,
                time: at.as_ref().map(|a| a.1),
                time_text: at.as_ref().map(|a| alerts::time_text(a.1, self.w.offset)),
                file: format!("{EVIDENCE}/{name}"),
                frame: at.map(|a| a.0),
            });
        }
        Ok(alerts)
    }

    /// The running report of device `i`.
    fn report(&self, i: usize, notes: &[String]) -> Report {
        let d = &self.devices[i];
        model::build(Inputs {
            profile: d.profile,
            observations: &d.observations,
            captures: self.files.iter().map(|f| f.display().to_string()).collect(),
            plugin: true,
            notes: notes.to_vec(),
            offset: self.w.offset,
            geo: self.w.geo,
            country_source: self.w.country_source.clone(),
        })
    }

    /// What the report of device `i` should say about how it was made.
    fn notes(&self, i: usize) -> Vec<String> {
        let d = &self.devices[i];
        let mut notes: Vec<String> = d.problems.iter().map(|p| format!("incomplete: {p}")).collect();
        notes.extend(d.dropped.notes());
        if !self.missed.is_empty() {
            notes.push(format!("watch: {} ring files were rotated away before they could be read: {}", self.missed.len(), self.missed.join(", ")));
        }
        notes
    }

    /// Rewrites every device's JSON and HTML report (atomically).
    fn reports(&self) -> Result<(), Error> {
        for (i, d) in self.devices.iter().enumerate() {
            let report = self.report(i, &self.notes(i));
            atomic::write(&report_path(&self.w.plan.dir, d.profile, "json"), report_text::json(&report).as_bytes())?;
            atomic::write(&report_path(&self.w.plan.dir, d.profile, "html"), report_html::html(&report).as_bytes())?;
        }
        Ok(())
    }
}

/// The device as its profile gives it: MACs and addresses.
fn device_text(profile: &Profile) -> String {
    let Some(d) = &profile.device else { return String::new() };
    d.mac.iter().map(|m| m.to_string()).chain(d.ip.iter().map(|a| a.to_string())).collect::<Vec<_>>().join(" ")
}

/// The progress line: redrawn once a second on a terminal, else a line a minute.
struct Progress {
    tty: bool,
    last: Option<Instant>,
    shown: (u64, usize, usize),
}

impl Progress {
    fn new() -> Progress {
        Progress { tty: std::io::stderr().is_terminal(), last: None, shown: (0, 0, 0) }
    }

    fn show(&mut self, r: &Running, done: bool, err: &mut dyn Write) {
        let now = (r.packets, r.files.len(), r.alerts);
        let every = if self.tty { Duration::from_secs(1) } else { Duration::from_secs(60) };
        let due = self.last.is_none_or(|t| t.elapsed() >= every);
        if !done && (!due || now == self.shown) {
            return;
        }
        let line = format!("watch: {} packets, {} files ({} kept as evidence), {} alerts", now.0, now.1, r.evidence, now.2);
        let _ = if self.tty {
            write!(err, "\r\x1b[K{line}{}", if done { "\n" } else { "" })
        } else {
            writeln!(err, "filtergen: {line}")
        };
        self.last = Some(Instant::now());
        self.shown = now;
    }
}
