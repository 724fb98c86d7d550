//! Filtering one capture for `run`: natively when the headers settle every
//! packet, else with tshark on the packets that need dissection plus the
//! conversations they belong to (their context), merged back in file order.
//!
//! 1. Read the capture once, evaluating the native program on each packet;
//!    if no packet is `Maybe`, that pass already wrote the output.
//! 2. Otherwise stream the context packets as pcapng into
//!    `tshark -r - -Y FILTER -T fields -e frame.number` (its answers go to a
//!    temporary file, so memory stays flat), where the context is:
//!    the whole capture if a rule is a raw filter (it may test anything);
//!    the IP address pairs holding undecided packets if every undecided test
//!    is conversation-local (`Program::flow_local`); else the device's traffic.
//! 3. Read the capture again: context packets are kept as tshark says (a
//!    packet the native program had decided otherwise counts as a
//!    disagreement), the others as the native program says.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rustc_hash::FxHashSet as HashSet;

use crate::packet::capture::{self, Event, Problem, Writer};
use crate::error::Error;
use crate::tshark;
use crate::packet::headers::{self, Facts};
use crate::compile::native::{Program, Tri};

/// What tshark is given: the display filter argument and, for a filter
/// delivered as a macro, the Wireshark profile holding it.
#[derive(Clone, Debug)]
pub struct Tshark {
    pub filter: String,
    pub config_profile: Option<String>,
}

/// A mode compiled for both engines.
pub struct Engine {
    pub program: Program,
    /// The `device` mode, which bounds the context tshark needs.
    pub device: Program,
    pub tshark: Tshark,
}

/// Counters shared with the progress display.
#[derive(Default)]
pub struct Counters {
    pub bytes: Arc<AtomicU64>,
    pub packets: AtomicU64,
}

/// How one input went.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    pub packets: u64,
    pub kept: u64,
    /// Packets the headers could not decide.
    pub undecided: u64,
    /// Packets given to tshark (0: native only).
    pub dissected: u64,
    /// Decided packets on which tshark's verdict differed (tshark's was used).
    pub disagreements: u64,
    pub problem: Option<Problem>,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Flow {
    V4(u32, u32),
    V6(u128, u128),
    Mac([u8; 6], [u8; 6]),
    Other,
}

fn flow(f: &Facts) -> Flow {
    fn pair<T: Ord>(a: T, b: T) -> (T, T) {
        if a <= b { (a, b) } else { (b, a) }
    }
    if let Some((a, b)) = f.ip4 {
        let (a, b) = pair(a, b);
        Flow::V4(a, b)
    } else if let Some((a, b)) = f.ip6 {
        let (a, b) = pair(a, b);
        Flow::V6(a, b)
    } else if let Some((a, b)) = f.eth {
        let (a, b) = pair(a, b);
        Flow::Mac(a, b)
    } else {
        Flow::Other
    }
}

enum Context {
    Everything,
    Flows(HashSet<Flow>),
    Device,
}

impl Engine {
    /// Filters `input` into `output` (written as `OUTPUT.part`, renamed when complete).
    pub fn filter(&self, input: &Path, output: &Path, counters: &Counters) -> Result<Outcome, Error> {
        let partial = part_path(output);
        let result = self.filter_to(input, &partial, counters);
        match &result {
            Ok(_) => std::fs::rename(&partial, output).map_err(|e| Error::io(output, e))?,
            Err(_) => {
                let _ = std::fs::remove_file(&partial);
            }
        }
        result
    }

    fn filter_to(&self, input: &Path, partial: &Path, counters: &Counters) -> Result<Outcome, Error> {
        let mut outcome = Outcome::default();
        let mut flows = HashSet::default();
        let flow_local = self.program.flow_local();
        let file = File::create(partial).map_err(|e| Error::io(partial, e))?;
        let mut writer = Writer::new(file).map_err(|e| Error::io(partial, e))?;
        let summary = capture::read(input, counters.bytes.clone(), |event| {
            writer.declare(&event).map_err(|e| Error::io(partial, e))?;
            if let Event::Packet(p) = event {
                counters.packets.fetch_add(1, Ordering::Relaxed);
                let facts = headers::decode(p.linktype, p.data);
                match self.program.eval(&facts) {
                    Tri::Yes if outcome.undecided == 0 => {
                        outcome.kept += 1;
                        writer.packet(&p).map_err(|e| Error::io(partial, e))?;
                    }
                    Tri::Maybe => {
                        outcome.undecided += 1;
                        if flow_local {
                            flows.insert(flow(&facts));
                        }
                    }
                    _ => {}
                }
            }
            Ok(())
        })?;
        outcome.packets = summary.packets;
        outcome.problem = summary.problem;
        if outcome.undecided == 0 {
            sync(writer.finish().map_err(|e| Error::io(partial, e))?, partial)?;
            return Ok(outcome);
        }
        drop(writer);
        let context = if self.program.has_raw_filter {
            Context::Everything
        } else if flow_local {
            Context::Flows(flows)
        } else {
            Context::Device
        };
        let answers = tempfile::tempfile().map_err(|e| Error::io(std::env::temp_dir(), e))?;
        outcome.dissected = self.dissect(input, &context, &answers)?;
        self.merge(input, partial, &context, answers, &mut outcome)?;
        Ok(outcome)
    }

    fn in_context(&self, context: &Context, facts: &Facts) -> bool {
        match context {
            Context::Everything => true,
            Context::Flows(flows) => flows.contains(&flow(facts)),
            Context::Device => self.device.eval(facts) != Tri::No,
        }
    }

    /// Pass 2: the context packets through tshark; returns how many.
    fn dissect(&self, input: &Path, context: &Context, answers: &File) -> Result<u64, Error> {
        let tool = |reason: String| Error::Tool { tool: "tshark".into(), reason };
        let stderr = tempfile::tempfile().map_err(|e| Error::io(std::env::temp_dir(), e))?;
        let mut cmd = tshark::user();
        if let Some(profile) = &self.tshark.config_profile {
            cmd.args(["-C", profile]);
        }
        cmd.args(["-n", "-r", "-", "-Y", &self.tshark.filter, "-T", "fields", "-e", "frame.number"]);
        let answers_out = answers.try_clone().map_err(|e| Error::io("<temporary file>", e))?;
        let stderr_out = stderr.try_clone().map_err(|e| Error::io("<temporary file>", e))?;
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::from(answers_out))
            .stderr(Stdio::from(stderr_out))
            .spawn()
            .map_err(|e| tool(format!("cannot run tshark ({e}); apt-get install tshark")))?;
        let stdin = child.stdin.take().expect("piped stdin");
        let mut fed = 0u64;
        let mut writer = Writer::new(stdin).map_err(|e| tool(format!("writing to tshark: {e}")))?;
        let feed = capture::read(input, Arc::new(AtomicU64::new(0)), |event| {
            writer.declare(&event).map_err(|e| tool(format!("writing to tshark: {e}")))?;
            if let Event::Packet(p) = event {
                if self.in_context(context, &headers::decode(p.linktype, p.data)) {
                    fed += 1;
                    writer.packet(&p).map_err(|e| tool(format!("writing to tshark: {e}")))?;
                }
            }
            Ok(())
        });
        let closed = feed.and_then(|_| writer.finish().map(drop).map_err(|e| tool(format!("writing to tshark: {e}"))));
        let status = child.wait().map_err(|e| tool(e.to_string()))?;
        if !status.success() || closed.is_err() {
            let mut text = String::new();
            let mut stderr = stderr;
            use std::io::{Read, Seek};
            let _ = stderr.seek(std::io::SeekFrom::Start(0)).and_then(|_| stderr.read_to_string(&mut text));
            let text: Vec<&str> = text.lines().filter(|l| !l.starts_with("Running as user")).collect();
            let why = closed.err().map(|e| e.to_string()).unwrap_or_default();
            return Err(tool(format!("{} {why} {}", status, text.join("; ")).trim().to_string()));
        }
        Ok(fed)
    }

    /// Pass 3: the output, in file order.
    fn merge(&self, input: &Path, partial: &Path, context: &Context, answers: File, outcome: &mut Outcome) -> Result<(), Error> {
        use std::io::Seek;
        let mut answers = answers;
        answers.seek(std::io::SeekFrom::Start(0)).map_err(|e| Error::io("<temporary file>", e))?;
        let mut matched = BufReader::new(answers).lines().map_while(Result::ok).filter_map(|l| l.trim().parse::<u64>().ok()).peekable();
        let file = File::create(partial).map_err(|e| Error::io(partial, e))?;
        let mut writer = Writer::new(file).map_err(|e| Error::io(partial, e))?;
        let mut index = 0u64;
        outcome.kept = 0;
        capture::read(input, Arc::new(AtomicU64::new(0)), |event| {
            writer.declare(&event).map_err(|e| Error::io(partial, e))?;
            if let Event::Packet(p) = event {
                let facts = headers::decode(p.linktype, p.data);
                let native = self.program.eval(&facts);
                let keep = if self.in_context(context, &facts) {
                    index += 1;
                    while matched.next_if(|&m| m < index).is_some() {}
                    let keep = matched.next_if(|&m| m == index).is_some();
                    if native != Tri::Maybe && (native == Tri::Yes) != keep {
                        outcome.disagreements += 1;
                    }
                    keep
                } else {
                    native == Tri::Yes
                };
                if keep {
                    outcome.kept += 1;
                    writer.packet(&p).map_err(|e| Error::io(partial, e))?;
                }
            }
            Ok(())
        })?;
        sync(writer.finish().map_err(|e| Error::io(partial, e))?, partial)
    }
}

fn sync(file: File, path: &Path) -> Result<(), Error> {
    file.sync_all().map_err(|e| Error::io(path, e))
}

/// `OUT.part`: the temporary name (skipped as an input by `jobs::is_output`).
pub fn part_path(output: &Path) -> PathBuf {
    let mut name = output.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".part");
    output.with_file_name(name)
}

impl Engine {
    pub fn new(profile: &crate::profile::rules::Profile, compiled: &crate::compile::delivery::ModeFilter, resolved: &crate::profile::resolve::Resolved, wireshark_profile: &str) -> Engine {
        Engine {
            program: Program::compile(profile, compiled.mode, resolved),
            device: Program::compile(profile, crate::profile::rules::Mode::Device, resolved),
            tshark: Tshark {
                filter: compiled.argument(),
                config_profile: (!compiled.fits_argument()).then(|| wireshark_profile.to_string()),
            },
        }
    }
}
