//! What a scenario needs from a runtime: an executor with a work scheduler on top.
//!
//! The four scenarios are written once, against the [`Runtime`] trait. Our executor and
//! scheduler implement it in `ours.rs`; a peer runtime (tokio, smol) plugs in by implementing
//! the same trait with the same scheduler shape (index → handle map, a done hook that removes
//! the entry), and every scenario runs on it unchanged.
//!
//! A runtime owns its executor and its scheduler, and is made fresh for every scenario run.

use std::future::Future;

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
    fn register_work(&self) -> u64;

    /// Unregisters (and so cancels) the work `index`; `false` if it was not registered.
    fn unregister(&self, index: u64) -> bool;

    /// Cancels every registered work and empties the scheduler.
    fn stop(&self);

    /// How many works the scheduler holds.
    fn registered(&self) -> usize;

    /// One turn of the executor's queue, as seen from the task that awaits it: every task
    /// runnable when it is awaited is polled (or, if cancelled, dropped) before it completes.
    fn yield_now(&self) -> impl Future<Output = ()>;

    /// The executor's task counts right now.
    fn counts(&self) -> TaskCounts;

    /// Drops every remaining task, then the scheduler and the executor; returns the counts
    /// as the executor's shutdown left them.
    fn shutdown(self) -> TaskCounts;
}

/// Task counts of one executor at one moment. All exact.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskCounts {
    /// Tasks spawned.
    pub spawned: u64,
    /// Tasks whose work started: polled at least once (counted by the work itself).
    pub first_polls: u64,
    /// Polls of tasks, all together.
    pub polls: u64,
    /// Tasks cancelled.
    pub cancelled: u64,
    /// Futures whose destructor has run.
    pub futures_dropped: u64,
    /// Task cells whose memory went back to the allocator.
    pub tasks_freed: u64,
    /// Task cells allocated and not yet freed.
    pub live_tasks: u64,
    /// The most task cells live at once since the executor was made.
    pub peak_live_tasks: u64,
    /// Timer entries registered right now.
    pub timers_live: u64,
}
