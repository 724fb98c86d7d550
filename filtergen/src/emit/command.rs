//! tshark command lines that write each filtered capture next to its input.

use crate::compile::delivery::ModeFilter;
use crate::run::jobs::Job;
use crate::emit::shell::quote;

/// One line per job: tshark writes `OUT.part`, renamed to `OUT` only when
/// tshark succeeded, so no half-written output ever has the final name.
pub fn tshark_line(job: &Job, filter: &ModeFilter, wireshark_profile: &str) -> String {
    let output = job.output.to_string_lossy();
    let partial = format!("{output}.part");
    let profile = if filter.fits_argument() { String::new() } else { format!("-C {} ", quote(wireshark_profile)) };
    format!(
        "tshark {profile}-n -r {} -Y {} -F pcapng -w {} && mv -f {} {}",
        quote(&job.input.to_string_lossy()),
        quote(&filter.argument()),
        quote(&partial),
        quote(&partial),
        quote(&output),
    )
}
