//! The ledger of one scenario run: heap and task counts at the moments that matter.
//!
//! A ledger is opened at the very start of a run, before the runtime is made. Opening it pulls
//! the allocator's peak down to "now" and remembers the allocator's counters; every later figure
//! is relative to that start. So a run's heap figures are its own: bytes that earlier runs left
//! behind (or freed) do not show up, and "back to start" means exactly zero.
//!
//! The moments, in the order a run reaches them:
//!
//! 1. `after_cancel`: right after the last `unregister()` (cancel-each) or `stop()`
//!    (cancel-batch) returned, inside the scenario's body.
//! 2. `at_end`: right after the body returned.
//! 3. `after_tick`: after the executor's next tick: `block_on` of a loop that yields until
//!    every future whose cancel was asked for is dropped (one yield on ours; see
//!    `scenarios/mod.rs`).
//! 4. `after_release` (the `husk` scenario only): after the registry that holds the parked
//!    wakers let go of them.
//! 5. `after_shutdown`: after the executor's shutdown and the scheduler's drop.
//!
//! Taking a moment reads atomics and copies the executor's `Stats`: it allocates nothing, so the
//! ledger does not disturb what it measures.
//!
//! A figure a runtime keeps to itself is `None` (`null` in JSON, `–` in tables): a peer's task
//! cells and timer entries, and, for asyncio, allocation calls (tracemalloc counts bytes, not
//! calls). Nothing is estimated.

use std::cell::RefCell;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::alloc::{self, HeapSnapshot};
use crate::runtime::TaskCounts;
use crate::sampling::{Reading, Sampler};

/// An open ledger: the allocator's counters at a run's start, and the run's samples.
#[derive(Debug)]
pub struct Ledger {
    start: HeapSnapshot,
    /// The heap over time (`sampling.rs`), if this run is sampled.
    sampler: Option<RefCell<Sampler>>,
}

/// Task counts and heap at one moment of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moment {
    /// Futures whose destructor has run so far.
    pub futures_dropped: u64,
    /// Task cells freed so far (`None`: the runtime does not say).
    pub tasks_freed: Option<u64>,
    /// Task cells still allocated (`None`: the runtime does not say).
    pub live_tasks: Option<u64>,
    /// Timer entries still registered (`None`: the runtime does not say).
    pub timers_live: Option<u64>,
    /// Husks: task cells whose future is gone but whose memory is held (by a stray waker, a
    /// handle): ours counts them exactly (`Stats::husks`); `None`: the runtime does not say.
    #[serde(default)]
    pub husks: Option<u64>,
    /// The bytes the husks hold (ours: `Stats::husk_bytes`, exact); `None`: the runtime does
    /// not say.
    #[serde(default)]
    pub husk_bytes: Option<u64>,
    /// Husks still held by their `JoinHandle` (ours: `Stats::husks_with_handle`); the others are
    /// held by wakers (or, until the next tick, a queue entry).
    #[serde(default)]
    pub husks_with_handle: Option<u64>,
    /// Heap bytes above the run's start (negative if the run freed older blocks).
    pub heap_bytes: i64,
}

/// The heap figures of a run, relative to its start.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeapFigures {
    /// Bytes above the start when the body returned.
    pub at_end_bytes: i64,
    /// The highest the heap went above the start, from the start through shutdown.
    pub peak_bytes: u64,
    /// Bytes above the start after shutdown: 0 when everything came back.
    pub after_shutdown_bytes: i64,
    /// New blocks allocated from the start through shutdown (`None`: not counted, asyncio).
    pub allocations: Option<u64>,
    /// Blocks resized (container growth) from the start through shutdown.
    pub reallocations: Option<u64>,
    /// Blocks freed from the start through shutdown.
    pub frees: Option<u64>,
    /// `allocations` divided by tasks spawned; `None` when no task was spawned (or no count).
    pub allocations_per_task: Option<f64>,
    /// `peak_bytes` divided by tasks spawned; `None` when no task was spawned.
    pub peak_bytes_per_task: Option<f64>,
}

/// The moments of a run (see the module docs for when each is taken).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moments {
    /// Right after the last `unregister()` / `stop()` returned; `None` if the scenario cancels
    /// nothing.
    pub after_cancel: Option<Moment>,
    /// Right after the body returned.
    pub at_end: Moment,
    /// After the executor's next tick (every cancelled future dropped).
    pub after_tick: Moment,
    /// After the registry let go of the parked wakers; `None` if the scenario parks none.
    #[serde(default)]
    pub after_release: Option<Moment>,
    /// After shutdown.
    pub after_shutdown: Moment,
}

/// What Python's garbage collector did after a run (asyncio only): `gc.get_count()` before
/// and after the `gc.collect()` of the shutdown, and what that collection found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GcFigures {
    /// `gc.get_threshold()` during the run (`--gc-threshold`).
    pub threshold: [u64; 3],
    /// `gc.get_count()` right before the collection: objects tracked per generation.
    pub count_before: [u64; 3],
    /// `gc.get_count()` right after it.
    pub count_after: [u64; 3],
    /// What `gc.collect()` returned: unreachable objects it found (and freed).
    pub collected: u64,
}

/// Tasks of a run, counted when the body returned unless the name says otherwise. `None`: the
/// runtime does not say.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskFigures {
    /// Tasks spawned.
    pub spawned: u64,
    /// Tasks polled at least once.
    pub polled: u64,
    /// Polls of tasks, all together.
    pub polls: Option<u64>,
    /// Works whose cancel the scenario asked for (`unregister()`, `stop()`).
    pub cancels_requested: u64,
    /// Tasks whose future the executor has dropped because of a cancel.
    pub cancelled: u64,
    /// Futures whose destructor has run.
    pub futures_dropped: u64,
    /// Task cells freed.
    pub tasks_freed: Option<u64>,
    /// Task cells live when the body returned.
    pub live_at_end: Option<u64>,
    /// Task cells live after shutdown.
    pub live_after_shutdown: Option<u64>,
    /// The most task cells live at once, through shutdown.
    pub peak_live: Option<u64>,
    /// Timer entries registered when the body returned.
    pub timers_live: Option<u64>,
    /// Works the scheduler held when the body returned.
    pub registered_at_end: u64,
}

/// How many times the scenario yielded to let the runtime do what the scenario waits for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Yields {
    /// Yields until every spawned work had taken its first poll, all the body's waits together
    /// (cancel-each waits N times, the others once).
    pub start_total: u64,
    /// The most yields one of those waits took.
    pub start_most: u64,
    /// Yields of the tick after the body, until every cancelled future was dropped.
    pub catch_up: u64,
}

/// Everything a run counted: the same for every run at the same N.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Accounting {
    /// Heap bytes and calls.
    pub heap: HeapFigures,
    /// Task counts and heap at the moments that matter.
    pub moments: Moments,
    /// Tasks.
    pub tasks: TaskFigures,
    /// Yields the scenario needed.
    pub yields: Yields,
    /// The garbage collector's figures; `None` for a runtime without one (every Rust one).
    #[serde(default)]
    pub gc: Option<GcFigures>,
}

/// One run of one scenario: its wall times and its accounting.
#[derive(Clone, Copy, Debug)]
pub struct Measurement {
    /// Wall time of the scenario's body.
    pub body_time: Duration,
    /// Wall time of the shutdown.
    pub shutdown_time: Duration,
    /// What the run counted.
    pub accounting: Accounting,
}

/// What a run observed, for [`Ledger::close`] to turn into figures.
#[derive(Clone, Copy, Debug)]
pub struct Observations {
    /// Counts right after the body returned.
    pub at_end: TaskCounts,
    /// Works the scheduler held right after the body returned.
    pub registered_at_end: usize,
    /// Works whose cancel the body asked for.
    pub cancels_requested: u64,
    /// The moments, as [`Ledger::moment`] took them.
    pub moments: Moments,
    /// Counts after shutdown.
    pub after_shutdown: TaskCounts,
    /// Yields the scenario needed.
    pub yields: Yields,
}

impl Ledger {
    /// Opens a ledger: the peak is reset and the counters remembered. Call it first in a run.
    pub fn open() -> Ledger {
        alloc::reset_peak();
        Ledger {
            start: alloc::snapshot(),
            sampler: None,
        }
    }
    /// Opens a ledger that also samples the heap over time into `sampler`, whose buffer was
    /// allocated before this call: it is part of the baseline, never of the run's figures.
    /// The samples' clock starts now.
    pub fn open_sampled(mut sampler: Sampler) -> Ledger {
        let mut ledger = Ledger::open();
        sampler.restart(Instant::now());
        ledger.sampler = Some(RefCell::new(sampler));
        ledger
    }

    /// Takes a sample if work number `index` (from 0) is a k-th one; `counts` is read only
    /// then. Allocates nothing.
    pub fn sample_kth(&self, index: u64, counts: impl FnOnce() -> TaskCounts) {
        if let Some(sampler) = &self.sampler {
            if sampler.borrow().is_due(index) {
                self.sample(counts());
            }
        }
    }

    /// Takes a sample now. Allocates nothing.
    pub fn sample(&self, counts: TaskCounts) {
        if let Some(sampler) = &self.sampler {
            let moment = self.moment(counts);
            sampler
                .borrow_mut()
                .record(reading(counts.spawned, &moment), None);
        }
    }

    /// Records `moment`, taken just now, as a named sample (`after_cancel`, `at_end`, ...);
    /// `spawned` is the tasks spawned by then.
    pub fn mark(&self, name: &'static str, spawned: u64, moment: &Moment) {
        if let Some(sampler) = &self.sampler {
            sampler
                .borrow_mut()
                .record(reading(spawned, moment), Some(name));
        }
    }

    /// Heap bytes above the start, now.
    pub fn heap_above_start(&self) -> i64 {
        signed_difference(alloc::snapshot().current_bytes, self.start.current_bytes)
    }

    /// The moment now, given the executor's counts.
    pub fn moment(&self, counts: TaskCounts) -> Moment {
        Moment {
            futures_dropped: counts.futures_dropped,
            tasks_freed: counts.tasks_freed,
            live_tasks: counts.live_tasks,
            timers_live: counts.timers_live,
            husks: counts.husks,
            husk_bytes: counts.husk_bytes,
            husks_with_handle: counts.husks_with_handle,
            heap_bytes: self.heap_above_start(),
        }
    }

    /// [`Ledger::close`], also giving back the sampler with its samples.
    pub fn close_sampled(mut self, seen: Observations) -> (Accounting, Option<Sampler>) {
        let sampler = self.sampler.take().map(RefCell::into_inner);
        (self.close(seen), sampler)
    }

    /// Closes the ledger after shutdown and turns what the run observed into its figures.
    pub fn close(self, seen: Observations) -> Accounting {
        let end = alloc::snapshot();
        let spawned = seen.at_end.spawned;
        let allocations = end.allocations - self.start.allocations;
        let peak_bytes = end.peak_bytes - self.start.current_bytes;
        let per_task = |value: u64| (spawned > 0).then(|| value as f64 / spawned as f64);
        Accounting {
            heap: HeapFigures {
                at_end_bytes: seen.moments.at_end.heap_bytes,
                peak_bytes,
                after_shutdown_bytes: seen.moments.after_shutdown.heap_bytes,
                allocations: Some(allocations),
                reallocations: Some(end.reallocations - self.start.reallocations),
                frees: Some(end.frees - self.start.frees),
                allocations_per_task: per_task(allocations),
                peak_bytes_per_task: per_task(peak_bytes),
            },
            moments: seen.moments,
            tasks: TaskFigures {
                spawned,
                polled: seen.at_end.first_polls,
                polls: Some(seen.at_end.polls),
                cancels_requested: seen.cancels_requested,
                cancelled: seen.at_end.cancelled,
                futures_dropped: seen.at_end.futures_dropped,
                tasks_freed: seen.at_end.tasks_freed,
                live_at_end: seen.at_end.live_tasks,
                live_after_shutdown: seen.after_shutdown.live_tasks,
                peak_live: seen.after_shutdown.peak_live_tasks,
                timers_live: seen.at_end.timers_live,
                registered_at_end: seen.registered_at_end as u64,
            },
            yields: seen.yields,
            gc: None,
        }
    }
}

/// What a sample reads from a moment's figures, `spawned` tasks having been spawned.
fn reading(spawned: u64, moment: &Moment) -> Reading {
    Reading {
        heap_bytes: moment.heap_bytes,
        cells: moment.live_tasks,
        futures: spawned.saturating_sub(moment.futures_dropped),
        husks: moment.husks,
        husk_bytes: moment.husk_bytes,
    }
}

/// `now - start` as a signed number of bytes.
fn signed_difference(now: u64, start: u64) -> i64 {
    if now >= start {
        (now - start) as i64
    } else {
        -((start - now) as i64)
    }
}
