//! One pass per capture, native (the default) or through tshark, the
//! captures spread over worker threads, their observations merged. A
//! capture that cannot be read to the end is a problem (named with the
//! reason), its packets read so far are kept, and the others go on.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::error::Error;
use crate::report::native;
use crate::report::observe::{self, DeviceMatch, Observations};
use crate::run::jobs;
use crate::tshark::fields::Tshark;

/// What the pass found, and what went wrong on the way.
pub struct Gathered {
    pub observations: Observations,
    pub captures: Vec<PathBuf>,
    /// Our own outputs found in directories and left out.
    pub skipped: Vec<PathBuf>,
    /// One line per capture that could not be read completely.
    pub problems: Vec<String>,
    /// The plugin was loaded (IoT fields available).
    pub plugin: bool,
    /// IoT fields this tshark does not know (plugin older or absent).
    pub missing_fields: Vec<String>,
}

/// What reads the captures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    /// filtergen's own decoders and the phonehome dissectors, no tshark.
    #[default]
    Native,
    /// One `tshark -T fields` pass per capture, with the phonehome plugin
    /// when it is installed (the reference the native pass is tested against).
    Tshark,
}

/// Reads every capture named by `inputs` (files or directories).
pub fn gather(inputs: &[PathBuf], device: &DeviceMatch, jobs: usize, engine: Engine) -> Result<Gathered, Error> {
    let (captures, skipped) = jobs::discover(inputs)?;
    if captures.is_empty() {
        return Err(Error::Usage("no captures found (looked for .pcap, .pcapng, .cap and their .gz)".into()));
    }
    let tshark = match engine {
        Engine::Native => None,
        Engine::Tshark => Some(Tshark::new()?),
    };
    // For captures the native pass does not read (not Ethernet).
    let fallback: std::sync::OnceLock<Result<Tshark, String>> = std::sync::OnceLock::new();
    let fields = observe::fields();
    let next = AtomicUsize::new(0);
    let merged = Mutex::new((Observations::default(), Vec::new()));
    let workers = jobs.max(1).min(captures.len());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                let mut mine = Observations::default();
                let mut problems = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(capture) = captures.get(i) else { break };
                    let through = |tshark: &Tshark, problems: &mut Vec<(usize, String)>| {
                        let mut obs = Observations::default();
                        if let Err(e) = tshark.fields(capture, &fields, |row| obs.add(device, row)) {
                            problems.push((i, e.to_string()));
                        }
                        obs
                    };
                    let obs = match &tshark {
                        Some(tshark) => through(tshark, &mut problems),
                        None => match native::observe(capture, device) {
                            Ok(native::Outcome::Observed(obs, problem)) => {
                                problems.extend(problem.map(|p| (i, p)));
                                obs
                            }
                            Ok(native::Outcome::Foreign(linktype)) => match fallback.get_or_init(|| Tshark::new().map_err(|e| e.to_string())) {
                                Ok(tshark) => through(tshark, &mut problems),
                                Err(e) => {
                                    problems.push((i, format!("{}: link type {linktype:?} needs tshark: {e}", capture.display())));
                                    Observations::default()
                                }
                            },
                            Err(e) => {
                                problems.push((i, e.to_string()));
                                Observations::default()
                            }
                        },
                    };
                    mine.merge(obs);
                }
                let mut all = merged.lock().expect("no worker panics while holding the lock");
                all.0.merge(mine);
                all.1.extend(problems);
            });
        }
    });
    let (observations, mut problems) = merged.into_inner().expect("workers done");
    problems.sort();
    Ok(Gathered {
        observations,
        captures,
        skipped,
        problems: problems.into_iter().map(|(_, p)| p).collect(),
        // The native pass always has the dissectors; tshark, if it loaded the plugin.
        plugin: tshark.as_ref().or(fallback.get().and_then(|t| t.as_ref().ok())).is_none_or(|t| t.plugin().is_some()),
        missing_fields: tshark
            .as_ref()
            .or(fallback.get().and_then(|t| t.as_ref().ok()))
            .map_or_else(Vec::new, |t| fields.iter().filter(|f| !t.knows(f)).map(|f| f.to_string()).collect()),
    })
}

/// All cores, as `std` sees them.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
