//! One tshark pass per capture, the captures spread over worker threads,
//! their observations merged. A capture tshark cannot finish reading is a
//! problem (named with tshark's reason), its packets read so far are kept,
//! and the others go on.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::error::Error;
use crate::run::jobs;
use crate::report::observe::{self, DeviceMatch, Observations};
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

/// Reads every capture named by `inputs` (files or directories).
pub fn gather(inputs: &[PathBuf], device: &DeviceMatch, jobs: usize) -> Result<Gathered, Error> {
    let (captures, skipped) = jobs::discover(inputs)?;
    if captures.is_empty() {
        return Err(Error::Usage("no captures found (looked for .pcap, .pcapng, .cap and their .gz)".into()));
    }
    let tshark = Tshark::new()?;
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
                    let mut obs = Observations::default();
                    if let Err(e) = tshark.fields(capture, &fields, |row| obs.add(device, row)) {
                        problems.push((i, e.to_string()));
                    }
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
        plugin: tshark.plugin().is_some(),
        missing_fields: fields.iter().filter(|f| !tshark.knows(f)).map(|f| f.to_string()).collect(),
    })
}

/// All cores, as `std` sees them.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
