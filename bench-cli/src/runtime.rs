//! What a scenario needs from a runtime: an executor with a work scheduler on top.
//!
//! The four scenarios are written once, against the [`Runtime`] trait. Our executor and
//! scheduler implement it in `ours.rs`; tokio and smol implement it in `peers/` with the same
//! scheduler shape (index → handle map, a done hook that removes the entry), and every scenario
//! runs on them unchanged. asyncio is the odd one out: it runs in a Python child process with a
//! script of its own (`asyncio.rs`), which follows the same scenario code line by line.
//!
//! A runtime owns its executor and its scheduler, and is made fresh for every scenario run.

use std::future::Future;
use std::time::Duration;

use crate::work::WorkKind;

/// An executor with a work scheduler, as the scenarios use it.
///
/// The work is always the same, "sleep 1000 seconds", so the runtime builds it itself
/// ([`Runtime::register_work`]): each runtime has its own sleep future. The work must call
/// [`crate::work::note_first_poll`] on its first poll, so that every runtime reports the same
/// "polled at least once" count.
pub trait Runtime: Sized {
    /// The runtime's name in reports.
    const NAME: &'static str;

    /// A fresh executor and an empty scheduler. Spawns nothing.
    fn new() -> Self;

    /// Runs `future`, and every task it spawns, on this runtime's executor until `future` is done.
    fn block_on<F: Future>(&self, future: F) -> F::Output;

    /// Registers one work ("sleep 1000 seconds") with the scheduler and returns its index.
    /// Only called from inside [`Runtime::block_on`].
    fn register_work(&self) -> u64 {
        self.register(WorkKind::Sleep)
    }

    /// Registers one work of `kind` with the scheduler and returns its index. Only called from
    /// inside [`Runtime::block_on`].
    fn register(&self, kind: WorkKind) -> u64;

    /// Spawns one work of `kind` outside the scheduler and lets go of its handle without
    /// cancelling it: the task is detached, and only the executor's shutdown ends it.
    fn spawn_detached(&self, kind: WorkKind);

    /// The runtime's own sleep.
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()>;

    /// Unregisters (and so cancels) the work `index`; `false` if it was not registered.
    fn unregister(&self, index: u64) -> bool;

    /// Cancels every registered work and empties the scheduler.
    fn stop(&self);

    /// Whether the runtime can cancel eagerly (`--cancel now`): drop the future inside the
    /// cancelling call rather than on the next tick. Ours can (`JoinHandle::cancel_now`); tokio,
    /// smol and asyncio cannot, and the report says "n/a" for them.
    const CANCELS_NOW: bool = false;

    /// [`Runtime::unregister`], dropping the future before it returns. Called only when
    /// [`Runtime::CANCELS_NOW`].
    fn unregister_now(&self, index: u64) -> bool {
        self.unregister(index)
    }

    /// [`Runtime::stop`], dropping every future before it returns. Called only when
    /// [`Runtime::CANCELS_NOW`].
    fn stop_now(&self) {
        self.stop();
    }

    /// How many works the scheduler holds.
    fn registered(&self) -> usize;

    /// The runtime's own `yield_now`: the awaiting task gives way to others and is resumed
    /// later. How many others run before it is resumed is the runtime's business (ours: every
    /// task runnable when it yielded; tokio: about 61; smol: about 200), which is why the
    /// scenarios yield in a loop until the works have started (see `scenarios/mod.rs`).
    fn yield_now(&self) -> impl Future<Output = ()>;

    /// The task counts right now.
    fn counts(&self) -> TaskCounts;

    /// Drops every remaining task, then the scheduler and the executor; returns the counts
    /// as the executor's shutdown left them.
    fn shutdown(self) -> TaskCounts;

    /// Records the executor's per-task events into `recorder` (`--trace`); `false` if the
    /// runtime cannot (a peer's public API has no per-task events).
    #[cfg(feature = "trace")]
    fn trace_into(&self, _recorder: &executor::trace::Recorder) -> bool {
        false
    }

    /// Finishes what a shutdown leaves to a part of the runtime that outlives the runtime
    /// value, before the heap is read after shutdown; not timed. Nothing, except for smol,
    /// whose timers live in `async-io`'s process-wide reactor (see `peers/smol.rs`).
    fn finish_shutdown() {}
}

/// Task counts of one runtime at one moment. All exact; `None` where the runtime keeps the
/// figure to itself (a peer's task cells and timer entries are internal to it), never an
/// estimate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskCounts {
    /// Tasks spawned.
    pub spawned: u64,
    /// Tasks whose work started: polled at least once (counted by the work itself).
    pub first_polls: u64,
    /// Polls of tasks, all together.
    pub polls: u64,
    /// Tasks whose future was dropped before it finished (cancelled, or at shutdown).
    pub cancelled: u64,
    /// Futures whose destructor has run.
    pub futures_dropped: u64,
    /// Task cells whose memory went back to the allocator.
    pub tasks_freed: Option<u64>,
    /// Task cells allocated and not yet freed.
    pub live_tasks: Option<u64>,
    /// The most task cells live at once since the executor was made.
    pub peak_live_tasks: Option<u64>,
    /// Timer entries registered right now.
    pub timers_live: Option<u64>,
    /// Husks: cells whose future is dropped but whose memory is still held.
    pub husks: Option<u64>,
    /// The husks' bytes.
    pub husk_bytes: Option<u64>,
    /// Husks whose `JoinHandle` has not been dropped yet (the rest are held by wakers, or for a
    /// moment by a queue entry).
    pub husks_with_handle: Option<u64>,
}

/// A runtime `--runtime` can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RuntimeKind {
    /// Our `executor` with our `scheduler`.
    Ours,
    /// tokio's current-thread runtime.
    Tokio,
    /// smol: `async-executor`'s `LocalExecutor` with `async-io`'s timers.
    Smol,
    /// Python's asyncio, in a child process.
    Asyncio,
}

impl RuntimeKind {
    /// Every runtime, in the order reports show them.
    pub const ALL: [RuntimeKind; 4] = [
        RuntimeKind::Ours,
        RuntimeKind::Tokio,
        RuntimeKind::Smol,
        RuntimeKind::Asyncio,
    ];

    /// The runtime's name, as `--runtime` takes it and reports show it.
    pub fn name(self) -> &'static str {
        match self {
            RuntimeKind::Ours => "ours",
            RuntimeKind::Tokio => "tokio",
            RuntimeKind::Smol => "smol",
            RuntimeKind::Asyncio => "asyncio",
        }
    }

    /// What it is, in one line.
    pub fn summary(self) -> &'static str {
        match self {
            RuntimeKind::Ours => "our executor and WorkScheduler",
            RuntimeKind::Tokio => {
                "tokio current_thread runtime, tokio::time::sleep, JoinHandle::abort as cancel"
            }
            RuntimeKind::Smol => {
                "async-executor LocalExecutor, async-io Timer, cancel by dropping the Task"
            }
            RuntimeKind::Asyncio => {
                "Python asyncio (python3 on the PATH), tracemalloc for the heap figures"
            }
        }
    }

    /// The runtime called `name`.
    pub fn from_name(name: &str) -> Option<RuntimeKind> {
        RuntimeKind::ALL
            .into_iter()
            .find(|runtime| runtime.name() == name)
    }

    /// Whether it can cancel eagerly (`--cancel now`): ours alone.
    pub fn cancels_now(self) -> bool {
        self == RuntimeKind::Ours
    }

    /// Whether this build can run it: tokio and smol need the `peers` feature.
    pub fn is_built_in(self) -> bool {
        match self {
            RuntimeKind::Tokio | RuntimeKind::Smol => cfg!(feature = "peers"),
            RuntimeKind::Ours | RuntimeKind::Asyncio => true,
        }
    }
}
