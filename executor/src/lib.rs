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
//! output, stays until its last reference goes. A `Waker` kept by some other data structure
//! keeps the husk alive, not the future. [`Stats`] keeps `futures_dropped` (\[F\]) and
//! `tasks_freed` (\[M\]) apart so the gap shows: `Stats::husks` counts it, `husk_bytes` weighs
//! it, and `husks_with_handle` says how many a `JoinHandle` still holds (the rest are held by
//! wakers, or for a moment by a queue entry). With the cargo feature `trace`, the `trace` module
//! records each task's events, \[A\] to \[M\], by id and time.
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
//! [`timeout()`] wraps a future with a deadline on the executor's own timer: the `Timeout` holds
//! a [`Sleep`] (its entry, counted by `Stats::timers_live`) next to the inner future. The inner
//! future is polled first; on the deadline it is dropped as the `Timeout` resolves to
//! `Err(`[`Elapsed`]`)`; when it wins, the entry is unlinked in that same poll (`timeout.rs`).
//!
//! # Reading order
//!
//! **First reading: the lesson.** Where a task's bytes live, who holds them, and the moments
//! \[A\], \[F\] and \[M\].
//!
//! 1. `state.rs` — the state word: flag bits, the reference count, and who holds a reference
//!    (rules R1–R4).
//! 2. `task.rs` — the cell: header + stage; *drop the future* (\[F\]) vs *free the cell* (\[M\]).
//! 3. `waker.rs` — the `RawWakerVTable` and what each function does to the count.
//! 4. `queue.rs`, `owned.rs` — the intrusive run queue (rule Q1) and the list of live futures
//!    (rule O1).
//! 5. `core.rs` — what the executor's core holds (rule C1), which core runs on this thread and
//!    where a wake goes; `shared.rs`, `park.rs` — wakes from other threads, parking, the race
//!    with shutdown.
//! 6. `executor.rs` (the public façade) and `run_loop.rs` — `block_on`, a task's turn, cancel
//!    as the run loop sees it, shutdown.
//! 7. `join.rs`, `cancel_now.rs`, `error.rs` — await, cancel, cancel now, detach; why a task
//!    has no output.
//! 8. `sleep.rs` and `entry.rs` — the timer entry inside the future, unlinked when
//!    it is dropped.
//!
//! **Second reading: what each byte-saving design buys and costs.** Each was kept over a
//! plainer one because what it buys is measured (`tests/tests/budget.rs`, the allocation tests,
//! the criterion benches).
//!
//! 9. `slim_waker.rs` — a timer entry's waker in one word: buys 8 B in every sleeping task;
//!    costs a tagged pointer, and a small box when a waker that is not the executor's own (a
//!    `FuturesUnordered`'s, say) polls the `Sleep`.
//! 10. `wheel.rs` and `clock.rs` — a hierarchical wheel of fixed list heads and a `u64`
//!     deadline: buys no timer storage at all per sleep (the entry is in the `Sleep`) and 8 B
//!     of deadline; costs millisecond ticks (never early, up to a tick late), up to five
//!     wake-ups that only move entries down for a far deadline, and a `!Unpin` `Sleep`.
//! 11. The tagless stage in `task.rs` and the 32-bit state word and id in `state.rs`: buys
//!     8 + 8 B per task; costs that the state word alone says which stage field is live, task
//!     ids that wrap after 2^32 spawns, and a reference count capped at about 33 million (2^25).
//! 12. The join-waker table in `join.rs`: buys 16 B per task (no waker slot in the header);
//!     costs a hash lookup for a handle that is awaited while pending, and a table that
//!     allocates at the first such await and keeps its capacity.
//!
//! Then `timeout.rs` (a deadline around a future), `yield_now.rs` and `stats.rs`; `loom.rs` is
//! the facade the loom models swap in; `trace.rs` (the lifecycle trace, behind the `trace`
//! feature) comes last, as an observer of all the rest.
//!
//! Alongside the first reading, run the chapters in `examples/`, in this order: each prints
//! `Stats` and the heap at every step, marked \[A\], \[F\] and \[M\]. `spawn_and_free`,
//! `cancel_before_first_poll`, `cancel_while_sleeping`, `husk`, `detached_and_shutdown`,
//! `cancel_now` (`cargo run --release -p executor --example NAME`).
//!
//! # Rules
//!
//! Each invariant the `unsafe` code rests on is stated once, numbered, and cited by its name
//! wherever it is used:
//!
//! - **R1–R4** (`state.rs`): who holds a reference to a task cell — the owned list, a run-queue
//!   entry, the `JoinHandle`, each waker.
//! - **Q1** (`queue.rs`): a task is in at most one run queue, only while `SCHEDULED` is set.
//! - **O1** (`owned.rs`): a task is in the owned list from spawn until its future is dropped.
//! - **C1** (`core.rs`): the core outlives every task that has not completed and every
//!   registered timer entry.
//! - **W1** (`entry.rs`): every pointer the wheel holds is to a registered, pinned entry.
//!
//! The scheduler's rules have prefixes of their own: S1–S4 (re-entrancy), S5 (no `Rc`
//! cycle through a task) and T1–T5 (its table's capacity).
//!
//! # Example
//!
//! ```
//! use executor::{Executor, sleep, yield_now};
//! use std::time::Duration;
//!
//! let ex = Executor::new();
//! let sleeper = ex.spawn(async { sleep(Duration::from_secs(1000)).await; 1 });
//! let err = ex.block_on(async {
//!     yield_now().await;          // the sleeper takes its first poll and registers a timer
//!     sleeper.cancel();           // asks; nothing is dropped yet
//!     yield_now().await;          // the run loop drops the future: its timer entry goes too
//!     sleeper.await.unwrap_err()  // the handle reports the cancel...
//! });
//! assert!(err.is_cancelled());    // ...as an error, not a panic
//! let stats = ex.shutdown();
//! assert_eq!((stats.futures_dropped, stats.tasks_freed, stats.timers_live), (1, 1, 0));
//! ```

mod cancel_now;
mod clock;
mod core;
mod entry;
mod error;
mod executor;
mod join;
mod loom;
mod owned;
mod park;
mod queue;
mod run_loop;
mod shared;
mod sleep;
mod slim_waker;
mod state;
mod stats;
mod task;
mod timeout;
#[cfg(feature = "trace")]
pub mod trace;
#[cfg(not(feature = "trace"))]
mod trace;
mod waker;
mod wheel;
mod yield_now;

pub use error::JoinError;
pub use executor::{Executor, spawn};
pub use join::JoinHandle;
pub use sleep::{Sleep, sleep};
pub use stats::Stats;
pub use task::TaskId;
pub use timeout::{Elapsed, Timeout, timeout};
pub use yield_now::{YieldNow, yield_now};
