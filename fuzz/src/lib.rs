//! What every fuzz target shares: the sample keys configured once, so the
//! decryption paths are reachable from the seeds (which are the samples'
//! payloads, written by `phonehome-fuzz-seeds`).

use std::sync::Once;

/// Configures the sample keys (once per process).
pub fn init() {
    static KEYS: Once = Once::new();
    KEYS.call_once(phonehome_samples::corpus::configure_dissectors);
}

/// Runs protocol `name` on `data` every way Wireshark can call it.
pub fn dissect(name: &str, data: &[u8]) {
    init();
    let d = phonehome::fuzzing::protocol(name).expect("a registered protocol");
    phonehome::fuzzing::exercise(d, data);
}
