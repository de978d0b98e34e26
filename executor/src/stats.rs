//! `Stats`: exact counts of what the executor did with its tasks and their memory.
//!
//! Every field is a count kept by the executor as it goes — never an estimate. The two that tell
//! this project's story are kept apart on purpose: `futures_dropped` counts futures whose
//! destructor has run ([F] in the lifecycle), `tasks_freed` counts cells whose bytes went back
//! to the allocator ([M]). A cell whose future is dropped but whose last `Waker` or `JoinHandle`
//! is still out there shows up as the gap between them.

use std::cell::Cell;
use std::fmt;

/// A snapshot of an executor's counters. All fields are exact.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Stats {
    /// Tasks spawned.
    pub spawned: u64,
    /// Polls of task futures (the `block_on` future is not a task and is not counted).
    pub polls: u64,
    /// Tasks whose future returned `Ready` and was dropped without panicking.
    pub completed: u64,
    /// Tasks whose future was dropped because of `cancel()`, `cancel_now()` or shutdown.
    pub cancelled: u64,
    /// Tasks whose `poll`, or whose future's destructor, panicked.
    pub panicked: u64,
    /// Futures whose destructor has run (\[F\]). Equals `completed + cancelled + panicked`.
    pub futures_dropped: u64,
    /// Task cells whose memory went back to the allocator (\[M\]).
    pub tasks_freed: u64,
    /// Cells allocated and not yet freed: `spawned - tasks_freed`.
    pub live_tasks: u64,
    /// The most cells alive at once.
    pub peak_live_tasks: u64,
    /// The exact sum of the layout sizes of the live cells.
    pub live_task_bytes: u64,
    /// The most cell bytes alive at once.
    pub peak_task_bytes: u64,
    /// Timer entries currently registered.
    pub timers_live: u64,
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "spawned {} polls {} completed {} cancelled {} panicked {} futures_dropped {} \
             tasks_freed {} live_tasks {} (peak {}) live_task_bytes {} (peak {}) timers_live {}",
            self.spawned,
            self.polls,
            self.completed,
            self.cancelled,
            self.panicked,
            self.futures_dropped,
            self.tasks_freed,
            self.live_tasks,
            self.peak_live_tasks,
            self.live_task_bytes,
            self.peak_task_bytes,
            self.timers_live
        )
    }
}

/// The counters only the executor thread changes.
#[derive(Default)]
pub(crate) struct LocalCounters {
    pub(crate) spawned: Cell<u64>,
    pub(crate) polls: Cell<u64>,
    pub(crate) completed: Cell<u64>,
    pub(crate) cancelled: Cell<u64>,
    pub(crate) panicked: Cell<u64>,
    pub(crate) futures_dropped: Cell<u64>,
    pub(crate) bytes_allocated: Cell<u64>,
    pub(crate) peak_live_tasks: Cell<u64>,
    pub(crate) peak_task_bytes: Cell<u64>,
}

pub(crate) fn bump(counter: &Cell<u64>) {
    counter.set(counter.get() + 1);
}
