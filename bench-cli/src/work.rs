//! The work every scenario registers: "sleep 1000 seconds", and the counts the works keep
//! themselves.
//!
//! The reference study's work is `await asyncio.sleep(1000)`: it takes one poll, registers a
//! timer and sleeps far longer than any scenario runs. So a work is only ever polled once, and it
//! ends by being cancelled or by the executor's shutdown.
//!
//! "Polled at least once" is not something an executor counts, so the work counts it itself, in
//! a process-wide counter: the bench runs one scenario at a time on one thread, and the runner
//! sets the counters to zero at each scenario's start. The counter is a plain static, so the
//! work's function captures nothing: a zero-sized closure, which the scheduler stores without an
//! allocation of its own.
//!
//! A peer runtime does not count polls or dropped futures for us either; its works count those
//! too, from the outside (`peers/mod.rs`), in the counters below.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// How long a work sleeps: far longer than any scenario runs.
pub const WORK_SLEEP: Duration = Duration::from_secs(1000);

static FIRST_POLLS: AtomicU64 = AtomicU64::new(0);
static POLLS: AtomicU64 = AtomicU64::new(0);
static FUTURES_DROPPED: AtomicU64 = AtomicU64::new(0);
static UNFINISHED_DROPS: AtomicU64 = AtomicU64::new(0);

/// Called by a work at the start of its first poll.
pub fn note_first_poll() {
    FIRST_POLLS.fetch_add(1, Relaxed);
}

/// Works that have started since the last [`reset_counters`].
pub fn first_polls() -> u64 {
    FIRST_POLLS.load(Relaxed)
}

/// Called by a peer's work each time it is polled.
pub fn note_poll() {
    POLLS.fetch_add(1, Relaxed);
}

/// Polls of peer works since the last [`reset_counters`].
pub fn polls() -> u64 {
    POLLS.load(Relaxed)
}

/// Called by a peer's work when its future is dropped; `finished` tells whether it had
/// returned (a work that never returned was cancelled, or dropped at shutdown).
pub fn note_future_dropped(finished: bool) {
    FUTURES_DROPPED.fetch_add(1, Relaxed);
    if !finished {
        UNFINISHED_DROPS.fetch_add(1, Relaxed);
    }
}

/// Peer works whose future was dropped since the last [`reset_counters`].
pub fn futures_dropped() -> u64 {
    FUTURES_DROPPED.load(Relaxed)
}

/// Peer works whose future was dropped before it returned, since the last [`reset_counters`].
pub fn unfinished_drops() -> u64 {
    UNFINISHED_DROPS.load(Relaxed)
}

/// Sets every count to zero (at a scenario's start).
pub fn reset_counters() {
    for counter in [&FIRST_POLLS, &POLLS, &FUTURES_DROPPED, &UNFINISHED_DROPS] {
        counter.store(0, Relaxed);
    }
}
