//! SIGINT and SIGTERM as a request to stop: the handler only sets a flag
//! that the watch loop reads.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

extern "C" {
    fn signal(signum: i32, handler: extern "C" fn(i32)) -> usize;
}

extern "C" fn on_signal(_: i32) {
    REQUESTED.store(true, Ordering::SeqCst);
}

/// From now on SIGINT and SIGTERM ask the loop to stop instead of killing the process.
pub fn install() {
    for sig in [SIGINT, SIGTERM] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe { signal(sig, on_signal) };
    }
}

pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}
