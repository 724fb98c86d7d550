//! `phonehome-fuzz-seeds DIR TARGET...`: writes the fuzz seed corpus of each
//! target into DIR/TARGET/ from the sample captures' payloads. A target
//! named after a protocol (`tuya`, or `tuya_frame` for one of its parsers)
//! gets that protocol's payloads; `any` gets every payload behind the byte
//! that selects its protocol (see `phonehome::fuzzing::exercise_any`).

use std::path::PathBuf;
use std::process::ExitCode;

use phonehome_samples::corpus;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((dir, targets)) = args.split_first().filter(|(_, t)| !t.is_empty()) else {
        eprintln!("usage: phonehome-fuzz-seeds DIR TARGET...");
        return ExitCode::from(2);
    };
    let seeds = corpus::seeds();
    let index = |name: &str| phonehome::protocols().iter().position(|d| d.spec().filter_name == name);
    for target in targets {
        let out = PathBuf::from(dir).join(target);
        if let Err(e) = std::fs::create_dir_all(&out) {
            eprintln!("phonehome-fuzz-seeds: {}: {e}", out.display());
            return ExitCode::from(1);
        }
        let protocol = target.split('_').next().unwrap_or(target);
        let mut n = 0;
        for (p, payload) in &seeds {
            let bytes = match (target.as_str(), index(p)) {
                ("any", Some(i)) => [&[i as u8][..], payload].concat(),
                _ if *p == protocol => payload.clone(),
                _ => continue,
            };
            if let Err(e) = std::fs::write(out.join(format!("seed-{n:04}")), bytes) {
                eprintln!("phonehome-fuzz-seeds: {}: {e}", out.display());
                return ExitCode::from(1);
            }
            n += 1;
        }
        println!("{target}: {n} seeds");
    }
    ExitCode::SUCCESS
}
