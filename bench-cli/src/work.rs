//! The work every scenario registers: "sleep 1000 seconds", and a count of works that started.
//!
//! The reference study's work is `await asyncio.sleep(1000)`: it takes one poll, registers a
//! timer and sleeps far longer than any scenario runs. So a work is only ever polled once, and it
//! ends by being cancelled or by the executor's shutdown.
//!
//! "Polled at least once" is not something an executor counts, so the work counts it itself, in
//! a process-wide counter: the bench runs one scenario at a time on one thread, and the runner
//! sets the counter to zero at each scenario's start. The counter is a plain static, so the work's
//! function captures nothing: a zero-sized closure, which the scheduler stores without an
//! allocation of its own.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// How long a work sleeps: far longer than any scenario runs.
pub const WORK_SLEEP: Duration = Duration::from_secs(1000);

static FIRST_POLLS: AtomicU64 = AtomicU64::new(0);

/// Called by a work at the start of its first poll.
pub fn note_first_poll() {
    FIRST_POLLS.fetch_add(1, Relaxed);
}

/// Works that have started since the last [`reset_first_polls`].
pub fn first_polls() -> u64 {
    FIRST_POLLS.load(Relaxed)
}

/// Sets the count of started works to zero (at a scenario's start).
pub fn reset_first_polls() {
    FIRST_POLLS.store(0, Relaxed);
}
