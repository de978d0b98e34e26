//! `Stats`: exact counts of what the executor did with its tasks and their memory.
//!
//! Every field is a count kept by the executor as it goes — never an estimate. The two that tell
//! this project's story are kept apart on purpose: `futures_dropped` counts futures whose
//! destructor has run (\[F\] in the lifecycle), `tasks_freed` counts cells whose bytes went back
//! to the allocator (\[M\]). A cell whose future is dropped but whose last `Waker` or `JoinHandle`
//! is still out there shows up as the gap between them.
//!
//! Two sets of counters feed a snapshot: [`LocalCounters`], which only the executor thread
//! changes, and [`FreeCounters`], which any thread may change — a cell is freed wherever its last
//! reference goes — kept in the executor's `Shared` half where every task cell can reach them.

use crate::loom::{AtomicU64, Ordering};
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
    /// Husks: cells whose future has been dropped (\[F\]) but whose memory is still held (not
    /// yet \[M\]). Equals `futures_dropped - tasks_freed` (every freed cell was a husk first).
    /// Each is held by its `JoinHandle`, by `Waker`s kept somewhere, or by a run-queue entry.
    pub husks: u64,
    /// The exact sum of the husks' cell sizes: what \[F\] has not given back yet.
    pub husk_bytes: u64,
    /// Husks whose `JoinHandle` has not been dropped: the handle holds them (wakers may too).
    /// The other `husks - husks_with_handle` are held by `Waker`s kept somewhere or by a
    /// run-queue entry (a task that woke itself in its last poll, until the run loop pops it);
    /// after shutdown no queue entry is left, so those are held by wakers alone.
    pub husks_with_handle: u64,
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "spawned {} polls {} completed {} cancelled {} panicked {} futures_dropped {} \
             tasks_freed {} live_tasks {} (peak {}) live_task_bytes {} (peak {}) timers_live {} \
             husks {} ({} B, {} with handle)",
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
            self.timers_live,
            self.husks,
            self.husk_bytes,
            self.husks_with_handle
        )
    }
}

/// Counters that may change on any thread: a cell can be freed wherever its last reference goes.
pub(crate) struct FreeCounters {
    pub(crate) tasks_freed: AtomicU64,
    pub(crate) bytes_freed: AtomicU64,
}

impl FreeCounters {
    pub(crate) fn record_free(&self, bytes: usize) {
        // Relaxed: these are statistics; the executor thread reads them for `Stats` and for the
        // peak, and sees its own frees in program order.
        self.tasks_freed.fetch_add(1, Ordering::Relaxed);
        self.bytes_freed.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Cells freed so far, and their bytes.
    pub(crate) fn freed(&self) -> (u64, u64) {
        // Relaxed: see `record_free`.
        (
            self.tasks_freed.load(Ordering::Relaxed),
            self.bytes_freed.load(Ordering::Relaxed),
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
    /// The sizes of the cells whose future was dropped, summed at each \[F\].
    pub(crate) husk_bytes_made: Cell<u64>,
}

pub(crate) fn bump(counter: &Cell<u64>) {
    counter.set(counter.get() + 1);
}
