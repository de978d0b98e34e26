//! A small single-threaded async executor, written to answer one question:
//! **when a task is cancelled and there is no garbage collector, when exactly does its memory
//! come back, and what holds it until then?**
//!
//! # The lifecycle of a task
//!
//! Three moments matter: **\[A\]** the cell is allocated, **\[F\]** the future's destructor runs,
//! **\[M\]** the cell's memory is returned to the allocator.
//!
//! ```text
//!  spawn(fut) --[A] Task::allocate: one Box = header + stage (holding fut)
//!      |            refs = 3 (owned list R1, run-queue entry R2, JoinHandle R3)
//!      v
//!  +-----------+  run loop pops it   +---------+  poll() = Ready(v)
//!  | SCHEDULED | ------------------> | RUNNING | ----------------> [F] drop future,
//!  +-----------+  (drops R2 after)   +---------+                   stage = output Ok(v)
//!    ^     ^                              | poll() = Pending               |
//!    |     |  wake(): +1 ref (R2)         v                               |
//!    |     +-------------------------- IDLE  (its wakers hold refs, R4)   |
//!    |                                    |                               |
//!    +-- cancel(): set CANCELLED; --------+                               |
//!        an idle task is queued one last time (+1 ref, R2)                |
//!                                                                         |
//!  run loop pops a CANCELLED task: [F] drop future in place,              v
//!    stage = output Err(cancelled) --------------------------------> COMPLETE
//!  cancel_now(), task not RUNNING: [F] the same, inside the call,      ^   |
//!    out of the owned list and the local queue at once ----------------+   |
//!                                          drops R1 (leaves the owned list)|
//!     JoinHandle takes the output, or its drop drops it; with no          |
//!     handle the output is dropped at once (OUTPUT_GONE). Every Waker     |
//!     clone and queue entry is released.                                  v
//!                                                    refs == 0: [M] Task::dealloc
//! ```
//!
//! Between \[F\] and \[M\] the task is a husk. The future's own heap — its boxes, its buffers — is
//! gone at \[F\], and so is its place in the timer (a `Sleep`'s timer entry lives inside the
//! future and is unlinked when it is dropped), but the cell, sized for the larger of future and
//! output, stays until its last reference goes. A `Waker` kept by some other data structure keeps the husk alive,
//! not the future. [`Stats`] keeps `futures_dropped` (\[F\]) and `tasks_freed` (\[M\]) apart so the
//! gap shows.
//!
//! # Cancellation: flag, reschedule once, drop early, free late
//!
//! [`JoinHandle::cancel`] sets the task's `CANCELLED` bit. If the task is idle it is queued one
//! last time; if it is already queued it is left in its place. When the run loop pops a
//! cancelled task it drops the future **without polling it**. So the future is dropped
//!
//! - on the executor thread, always (futures need not be `Send`, and their destructors may
//!   touch the executor's thread-local state);
//! - at the latest during the executor's next run of its queue — for instance the
//!   `block_on(yield_now())` tick after `cancel()` — in FIFO order with the other tasks;
//! - never inside `cancel()` itself, so the caller's bookkeeping is never re-entered by a
//!   destructor (tokio, smol and asyncio defer the drop for that reason too, and because a
//!   cancel may come from another thread; `cancel_now` below is the exception, on purpose);
//! - right after the current poll if a task cancels itself (if that poll returned `Ready`, the
//!   output wins and the task counts as completed).
//!
//! One exception to "at the latest": if another thread is in the middle of waking the task —
//! its waker has set `SCHEDULED` but has not yet pushed the task onto the remote queue — then
//! `cancel()` finds the task already queued and leaves it there. The future is dropped when that
//! push lands (the push also unparks the executor), still exactly once, on the executor thread,
//! unpolled. The loom model `loom_cancel.rs` shows the interleaving.
//!
//! The cell is then freed as soon as the last reference goes: typically when the run loop
//! releases the queue entry, if the `JoinHandle` was already dropped; otherwise when the handle is
//! dropped, or when the last `Waker` someone kept is dropped — on whatever thread that is.
//!
//! # Eager cancellation: `cancel_now`
//!
//! [`JoinHandle::cancel_now`] drops the future **inside the call**, whenever the executor
//! thread does not have the future in hand (the state word's `RUNNING`: the task is inside its
//! own poll, or its future is being dropped further up the stack — then it is `cancel()`, and
//! returns `false`). A handle is `!Send`, so the call is always on the executor's thread, and
//! whether that executor is running, idle, or another executor is running the caller makes no
//! difference: none of them is in the middle of a step. The task leaves the owned list, the
//! local run queue and the join-waker table before its destructor runs; its timer entries go
//! with the future. If the handle is dropped right after, the cell is freed at once: \[F\] and
//! \[M\] with no tick in between — unless a kept `Waker` makes a husk, or a wake from another
//! thread has left an entry in the remote queue (released at the next tick). The price is
//! re-entrancy: the destructor runs inside the caller, who must hold no borrow across the call.
//! `cancel_now.rs` has the details; the scheduler's `unregister_now` and `stop_now` are built on
//! it.
//!
//! # Timeouts
//!
//! [`timeout`] wraps a future with a deadline on the executor's own timer: the `Timeout` holds
//! a [`Sleep`] (its entry, counted by `Stats::timers_live`) next to the inner future. The inner
//! future is polled first; on the deadline it is dropped as the `Timeout` resolves to
//! `Err(`[`Elapsed`]`)`; when it wins, the entry is unlinked in that same poll (`timeout.rs`).
//!
//! # Reading order
//!
//! `state.rs` (the state word and who holds a reference), `task.rs` (the cell, drop vs free),
//! `waker.rs` (the vtable), `queue.rs` and `owned.rs` (intrusive lists), `context.rs` (where a
//! wake goes), `shared.rs` and `park.rs` (wakes from other threads, the race with shutdown),
//! `executor.rs` (run loop and shutdown), `join.rs`, `cancel_now.rs` (the eager cancel) and
//! `error.rs`, `clock.rs`, `timer.rs` (the wheel), `slim_waker.rs` (a waker in one word),
//! `sleep.rs` (the entry inside the future) and `timeout.rs` (a deadline around a future),
//! `yield_now.rs`, `stats.rs`; `loom.rs` is the facade the loom models swap in.
//!
//! # Example
//!
//! ```
//! use executor::{Executor, sleep, yield_now};
//! use std::time::Duration;
//!
//! let ex = Executor::new();
//! let sleeper = ex.spawn(async { sleep(Duration::from_secs(1000)).await; 1 });
//! let stats = ex.block_on(async {
//!     yield_now().await;          // the sleeper takes its first poll and registers a timer
//!     sleeper.cancel();           // asks; nothing is dropped yet
//!     yield_now().await;          // the run loop drops the future: its timer entry goes too
//!     sleeper.await.unwrap_err()  // the handle reports the cancel...
//! });
//! assert!(stats.is_cancelled());
//! let stats = ex.shutdown();
//! assert_eq!((stats.futures_dropped, stats.tasks_freed, stats.timers_live), (1, 1, 0));
//! ```

mod cancel_now;
mod clock;
mod context;
mod error;
mod executor;
mod join;
mod loom;
mod owned;
mod park;
mod queue;
mod shared;
mod sleep;
mod slim_waker;
mod state;
mod stats;
mod task;
mod timeout;
mod timer;
mod waker;
mod yield_now;

pub use error::JoinError;
pub use executor::{Executor, spawn};
pub use join::JoinHandle;
pub use sleep::{Sleep, sleep};
pub use stats::Stats;
pub use task::TaskId;
pub use timeout::{Elapsed, Timeout, timeout};
pub use yield_now::{YieldNow, yield_now};
