//! Ctrl-C (SIGINT/SIGTERM) during `dist`: the first one is remembered so the stage in flight
//! unwinds through `atomic`'s cleanup and leaves no temp file; a second one kills at once.

use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{bail, Result};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// The error message every interrupted stage returns.
pub const MESSAGE: &str = "interrupted (Ctrl-C): stopped before finishing; files already in place are complete, nothing partial was left";

/// Routes SIGINT and SIGTERM to the flag (Unix; elsewhere the default handling stays).
pub fn install() {
    #[cfg(unix)]
    sys::install();
}

pub fn is_set() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Fails if an interrupt arrived; call between steps.
pub fn check() -> Result<()> {
    if is_set() {
        bail!(MESSAGE);
    }
    Ok(())
}

#[cfg(unix)]
mod sys {
    use super::*;

    const SIGINT: i32 = 2;
    const SIGTERM: i32 = 15;
    const SIG_DFL: usize = 0;

    extern "C" {
        fn signal(signum: i32, handler: usize) -> usize;
    }

    extern "C" fn on_signal(signum: i32) {
        INTERRUPTED.store(true, Ordering::SeqCst);
        // SAFETY: signal() is async-signal-safe; restoring the default makes a second Ctrl-C kill.
        unsafe {
            signal(signum, SIG_DFL);
        }
    }

    pub fn install() {
        let handler = on_signal as extern "C" fn(i32) as usize;
        // SAFETY: the handler only stores to an atomic and calls signal(), both async-signal-safe.
        unsafe {
            signal(SIGINT, handler);
            signal(SIGTERM, handler);
        }
    }
}
