//! Ctrl-C and SIGTERM: end the run at once, leaving nothing half done.
//!
//! A measured run cannot stop to look at a flag (that would be work inside what is measured),
//! so a thread of its own waits for SIGINT and SIGTERM (`signal-hook`) and, when one comes:
//!
//! 1. ends the Python child, if asyncio is running (killed and reaped: no orphan `python3`);
//! 2. removes the temporary files the exports are being prepared in (`export.rs`), so that
//!    no partial file and no stray temporary stays behind; the files the exports will replace
//!    have not been touched yet, so they stay as they were;
//! 3. exits with 128 + the signal's number, as a shell does: 130 for SIGINT, 143 for SIGTERM.
//!
//! All three happen under one lock, [`critical`], which the end of a run also takes while it
//! renames its finished files into place: a signal then waits until every file is complete, so
//! each file is either the old one or the whole new one, never a mix.
//!
//! The thread is started before the first measured run, and it is kept apart from the counting
//! allocator (as the progress thread is, see `progress.rs`): [`install`] returns only once the
//! thread is running and apart, so that nothing it does while a scenario is measured (a
//! signal-hook wake-up, its thread's bookkeeping) can move a counted byte.

use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::alloc;

/// What must be cleaned up if a signal comes.
struct Pending {
    /// Temporary files not yet renamed into place.
    temporaries: Vec<PathBuf>,
    /// The Python child, while it runs.
    child: Option<Child>,
}

static PENDING: Mutex<Pending> = Mutex::new(Pending {
    temporaries: Vec::new(),
    child: None,
});

/// The lock, also after a panic elsewhere (the data stays consistent: every change is one
/// push, one removal or one `Option::take`).
fn pending() -> MutexGuard<'static, Pending> {
    PENDING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Starts the thread that waits for SIGINT and SIGTERM; the one-line reason if it cannot.
pub fn install() -> Result<(), String> {
    static READY: AtomicBool = AtomicBool::new(false);
    let mut signals = Signals::new([SIGINT, SIGTERM])
        .map_err(|error| format!("error: cannot handle SIGINT and SIGTERM: {error}"))?;
    thread::Builder::new()
        .name("signals".to_string())
        .spawn(move || {
            alloc::keep_this_thread_apart();
            READY.store(true, SeqCst);
            if let Some(signal) = signals.forever().next() {
                let mut pending = pending();
                if let Some(mut child) = pending.child.take() {
                    let _ = child.kill();
                    let _ = child.wait();
                }
                for path in pending.temporaries.drain(..) {
                    let _ = std::fs::remove_file(path);
                }
                std::process::exit(128 + signal);
            }
        })
        .map_err(|error| format!("error: cannot start the signal thread: {error}"))?;
    while !READY.load(SeqCst) {
        thread::yield_now();
    }
    Ok(())
}

/// Runs `f` with signals held back: a signal that comes meanwhile takes effect after it. `f`
/// returns, beside its result, the temporaries it put in place or removed, to forget.
pub fn critical<T>(f: impl FnOnce() -> (T, Vec<PathBuf>)) -> T {
    let mut pending = pending();
    let (result, done) = f();
    pending.temporaries.retain(|path| !done.contains(path));
    result
}

/// Notes a temporary file to remove if a signal comes.
pub fn add_temporary(path: &Path) {
    pending().temporaries.push(path.to_path_buf());
}

/// Forgets a temporary file (renamed into place, or removed).
pub fn remove_temporary(path: &Path) {
    pending().temporaries.retain(|pending| pending != path);
}

/// Hands the running Python child over: a signal ends it. Take it back with [`wait_child`].
pub fn watch_child(child: Child) {
    pending().child = Some(child);
}

/// Waits for the watched child to end, without holding the lock while it runs (a signal can
/// end it meanwhile). `None` if there is no child (a signal took it).
pub fn wait_child() -> Option<std::io::Result<ExitStatus>> {
    loop {
        {
            let mut pending = pending();
            let child = pending.child.as_mut()?;
            match child.try_wait() {
                Ok(Some(status)) => {
                    pending.child = None;
                    return Some(Ok(status));
                }
                Ok(None) => {}
                Err(error) => {
                    pending.child = None;
                    return Some(Err(error));
                }
            }
        }
        thread::sleep(Duration::from_millis(5));
    }
}
