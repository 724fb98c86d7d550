//! `filtergen run`: plans the outputs, filters the inputs on worker
//! threads (one file per worker at a time), shows progress, and reports
//! each file. Exit status 1 when any input had a problem.

pub(crate) mod engine;
pub(crate) mod jobs;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::run::engine::{Counters, Engine, Outcome};
use crate::error::Error;
use crate::run::jobs::Job;
use crate::profile::rules::Mode;

/// Where outputs go and which inputs to skip.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `--out DIR`: outputs there (directories' inputs keep their relative
    /// paths), instead of beside each input.
    pub out: Option<PathBuf>,
    pub jobs: usize,
    pub resume: bool,
}

/// The inputs and their outputs: `jobs::plan`'s naming and skipping rules,
/// moved under `--out` when given; an output is never an input.
pub fn plan(inputs: &[PathBuf], mode: Mode, options: &Options) -> Result<(Vec<Job>, Vec<PathBuf>), Error> {
    let (mut planned, skipped) = jobs::plan(inputs, mode)?;
    if let Some(out) = &options.out {
        let inputs_canonical: Vec<PathBuf> = planned.iter().map(|j| canonical(&j.input)).collect();
        let mut seen = std::collections::BTreeSet::new();
        for job in &mut planned {
            let name = job.output.file_name().expect("an output name").to_owned();
            let relative = inputs
                .iter()
                .filter(|root| root.is_dir())
                .find_map(|root| job.input.strip_prefix(root).ok())
                .and_then(Path::parent)
                .map(Path::to_path_buf)
                .unwrap_or_default();
            job.output = out.join(relative).join(name);
            if inputs_canonical.contains(&canonical(&job.output)) {
                return Err(Error::Usage(format!("{}: output {} would overwrite an input", job.input.display(), job.output.display())));
            }
            if !seen.insert(job.output.clone()) {
                return Err(Error::Usage(format!(
                    "{}: output {} is also another input's output (two inputs with the same name: give their directory instead)",
                    job.input.display(),
                    job.output.display()
                )));
            }
        }
    }
    Ok((planned, skipped))
}

fn canonical(p: &Path) -> PathBuf {
    match (p.parent(), p.file_name()) {
        (Some(dir), Some(name)) => dir.canonicalize().map(|d| d.join(name)).unwrap_or_else(|_| p.to_path_buf()),
        _ => p.to_path_buf(),
    }
}

/// `--resume`: the output exists under its final name (so it was complete:
/// it is renamed there only at the end) and is not older than the input.
pub fn is_done(job: &Job) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    match (modified(&job.output), modified(&job.input)) {
        (Some(out), Some(input)) => out >= input,
        _ => false,
    }
}

/// Runs every job; writes one line per file to `out`, problems and progress
/// to `err`. Returns the exit code.
pub fn run(engine: &Engine, planned: Vec<Job>, options: &Options, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, Error> {
    let started = Instant::now();
    let (todo, done): (Vec<Job>, Vec<Job>) = planned.into_iter().partition(|j| !(options.resume && is_done(j)));
    for job in &done {
        writeln!(out, "{}: up to date ({})", job.input.display(), job.output.display()).map_err(stdout_error)?;
    }
    for job in &todo {
        if let Some(dir) = job.output.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
    }
    let total_bytes: u64 = todo.iter().filter_map(|j| std::fs::metadata(&j.input).ok()).map(|m| m.len()).sum();
    let total_files = todo.len();
    let counters = Counters::default();
    let queue = Mutex::new(todo.into_iter());
    let workers = options.jobs.max(1).min(total_files.max(1));
    let bar = progress_bar(total_bytes, err);
    let (tx, rx) = mpsc::channel::<(Job, Result<Outcome, Error>, Duration)>();
    let mut failed = false;
    let mut totals = Outcome::default();
    std::thread::scope(|scope| -> Result<(), Error> {
        for _ in 0..workers {
            let tx = tx.clone();
            let (queue, counters) = (&queue, &counters);
            scope.spawn(move || loop {
                let next = queue.lock().expect("queue").next();
                let Some(job) = next else { break };
                let t = Instant::now();
                let result = engine.filter(&job.input, &job.output, counters);
                if tx.send((job, result, t.elapsed())).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        let mut files_done = 0;
        loop {
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok((job, result, took)) => {
                    files_done += 1;
                    let line = match result {
                        Ok(o) => {
                            failed |= o.problem.is_some();
                            if let Some(p) = &o.problem {
                                let msg = format!(
                                    "filtergen: {}: offset {}: {}; kept what the {} readable packets before it gave",
                                    job.input.display(),
                                    p.offset,
                                    p.reason,
                                    o.packets
                                );
                                say(&bar, err, &msg)?;
                            }
                            if o.disagreements > 0 {
                                let msg = format!("filtergen: {}: warning: tshark decided {} packets differently from the native engine (tshark's verdict was used)", job.input.display(), o.disagreements);
                                say(&bar, err, &msg)?;
                            }
                            add(&mut totals, &o);
                            describe(&job, &o, took)
                        }
                        Err(e) => {
                            failed = true;
                            say(&bar, err, &format!("filtergen: {}: {e}", job.input.display()))?;
                            format!("{}: FAILED", job.input.display())
                        }
                    };
                    match &bar {
                        Some(bar) => bar.suspend(|| writeln!(out, "{line}")).map_err(stdout_error)?,
                        None => writeln!(out, "{line}").map_err(stdout_error)?,
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
            if let Some(bar) = &bar {
                bar.set_position(counters.bytes.load(Ordering::Relaxed));
                bar.set_message(format!("files {files_done}/{total_files}, {} packets", counters.packets.load(Ordering::Relaxed)));
            }
        }
        Ok(())
    })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    writeln!(
        err,
        "filtergen: {total_files} files, {} packets read, {} kept, {} given to tshark, {:.1} s",
        totals.packets,
        totals.kept,
        totals.dissected,
        started.elapsed().as_secs_f64()
    )
    .map_err(stdout_error)?;
    Ok(if failed { 1 } else { 0 })
}

fn add(totals: &mut Outcome, o: &Outcome) {
    totals.packets += o.packets;
    totals.kept += o.kept;
    totals.dissected += o.dissected;
}

fn describe(job: &Job, o: &Outcome, took: Duration) -> String {
    let how = if o.dissected == 0 {
        "native".to_string()
    } else {
        format!("native + tshark on {} packets for {} undecided", o.dissected, o.undecided)
    };
    format!(
        "{} -> {}: kept {} of {} packets ({how}, {:.2} s)",
        job.input.display(),
        job.output.display(),
        o.kept,
        o.packets,
        took.as_secs_f64()
    )
}

/// A progress bar on a terminal (files, packets, bytes, ETA); none otherwise
/// (then each finished file's line is the progress).
fn progress_bar(total_bytes: u64, _err: &mut dyn Write) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total_bytes);
    let style = indicatif::ProgressStyle::with_template("{bar:30} {bytes}/{total_bytes} {msg}, ETA {eta}")
        .expect("a valid template");
    bar.set_style(style);
    Some(bar)
}

fn say(bar: &Option<indicatif::ProgressBar>, err: &mut dyn Write, line: &str) -> Result<(), Error> {
    match bar {
        Some(bar) => bar.suspend(|| writeln!(err, "{line}")),
        None => writeln!(err, "{line}"),
    }
    .map_err(stdout_error)
}

fn stdout_error(e: std::io::Error) -> Error {
    Error::io("<stdout>", e)
}
