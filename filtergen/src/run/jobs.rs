//! Which captures to filter and where each output goes: `NAME.MODE.pcapng`
//! beside the input, never an input itself, never one of our own outputs.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::profile::rules::Mode;

/// One input capture and the filtered capture it becomes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    pub input: PathBuf,
    pub output: PathBuf,
}

/// Capture extensions picked up when a directory is given, longest first.
pub const CAPTURE_EXTENSIONS: [&str; 7] = [".pcapng.gz", ".pcap.gz", ".cap.gz", ".pcapng", ".pcap", ".cap", ".gz"];

/// Whether the file name is an output of some mode (`x.clean.pcapng`, or its
/// temporary `x.clean.pcapng.part`).
pub fn is_output(path: &Path) -> bool {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let name = name.strip_suffix(".part").unwrap_or(&name);
    Mode::ALL.iter().any(|m| name.ends_with(&format!(".{m}.pcapng")))
}

pub fn output_for(input: &Path, mode: Mode) -> PathBuf {
    let name = input.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let stem = CAPTURE_EXTENSIONS.iter().find_map(|ext| name.strip_suffix(ext)).filter(|s| !s.is_empty()).unwrap_or(&name);
    input.with_file_name(format!("{stem}.{mode}.pcapng"))
}

/// Expands directories (recursively, capture extensions only, sorted), drops
/// our own outputs (returned as `skipped`) and refuses an output that would
/// overwrite an input.
pub fn plan(inputs: &[PathBuf], mode: Mode) -> Result<(Vec<Job>, Vec<PathBuf>), Error> {
    let (files, skipped) = discover(inputs)?;
    let inputs: BTreeSet<PathBuf> = files.iter().map(|f| f.canonicalize().unwrap_or_else(|_| f.clone())).collect();
    let mut jobs = Vec::new();
    for input in files {
        let output = output_for(&input, mode);
        if inputs.contains(&output) || output.canonicalize().is_ok_and(|c| inputs.contains(&c)) {
            return Err(Error::Usage(format!("{}: output {} would overwrite an input", input.display(), output.display())));
        }
        if jobs.iter().any(|j: &Job| j.output == output) {
            return Err(Error::Usage(format!("{}: output {} is also another input's output", input.display(), output.display())));
        }
        jobs.push(Job { input, output });
    }
    Ok((jobs, skipped))
}

/// The captures named by `inputs` (directories searched recursively, in
/// sorted order), and apart the files skipped as our own outputs.
pub fn discover(inputs: &[PathBuf]) -> Result<(Vec<PathBuf>, Vec<PathBuf>), Error> {
    let mut files = Vec::new();
    for input in inputs {
        if input.is_dir() {
            collect_dir(input, &mut files)?;
        } else if input.is_file() {
            files.push(input.clone());
        } else {
            return Err(Error::Usage(format!("{}: no such capture file or directory", input.display())));
        }
    }
    for file in &files {
        if file.to_string_lossy().chars().any(char::is_control) {
            return Err(Error::Usage(format!("{:?}: capture path contains a control character", file)));
        }
    }
    let (skipped, files): (Vec<PathBuf>, Vec<PathBuf>) = files.into_iter().partition(|f| is_output(f));
    Ok((files, skipped))
}

fn collect_dir(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), Error> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .map(|e| e.map(|e| e.path()).map_err(|err| Error::io(dir, err)))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect_dir(&path, files)?;
        } else if path.is_file() {
            let name = path.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
            if CAPTURE_EXTENSIONS.iter().any(|ext| name.ends_with(ext)) {
                files.push(path);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_outputs_beside_inputs() {
        assert_eq!(output_for(Path::new("d/x.pcap"), Mode::Clean), PathBuf::from("d/x.clean.pcapng"));
        assert_eq!(output_for(Path::new("x.pcapng.gz"), Mode::Device), PathBuf::from("x.device.pcapng"));
        assert!(is_output(Path::new("d/x.unexpected.pcapng")));
        assert!(is_output(Path::new("x.clean.pcapng.part")));
        assert!(!is_output(Path::new("clean.x.pcap")));
    }
}
