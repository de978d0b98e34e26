//! A `WorkScheduler` over the executor: register works, unregister them, stop them all.
//!
//! This is the Rust form of the reference study's WorkScheduler. It keeps a table from each
//! work's index to its task's `JoinHandle`, sorted by index so that `stop` cancels works in
//! the order they were registered; it uses only the executor's public API (`executor::spawn`,
//! `JoinHandle::cancel`, `JoinHandle::cancel_now`), which shows that API is enough to build on.
//!
//! ```
//! use executor::{yield_now, Executor};
//! use scheduler::{Work, WorkScheduler};
//!
//! let ex = Executor::new();
//! ex.block_on(async {
//!     let scheduler = WorkScheduler::new();
//!
//!     // Register: the task is spawned, not yet polled.
//!     let index = scheduler.register(Work::new(|| async {
//!         loop {
//!             yield_now().await;
//!         }
//!     }));
//!     assert_eq!(scheduler.len(), 1);
//!     assert_eq!(ex.stats().polls, 0);
//!
//!     // Yield: one tick of the executor; the work takes its first poll.
//!     yield_now().await;
//!     assert_eq!(ex.stats().polls, 1);
//!
//!     // Unregister: the entry leaves now and the cancel is asked for ...
//!     assert!(scheduler.unregister(index));
//!     assert!(scheduler.is_empty());
//!
//!     // ... and on the next tick the executor drops the future and frees the cell.
//!     yield_now().await;
//!     let stats = ex.stats();
//!     assert_eq!(stats.polls, 1);
//!     assert_eq!(stats.futures_dropped, 1);
//!     assert_eq!(stats.tasks_freed, 1);
//!     assert_eq!(stats.live_tasks, 0);
//!
//!     // Unregistering again finds nothing.
//!     assert!(!scheduler.unregister(index));
//! });
//! ```
//!
//! # The life of a registered work
//!
//! `[A]`, `[F]` and `[M]` are the executor's moments: the task cell is allocated, the
//! future's destructor runs, the cell's memory is returned.
//!
//! ```text
//!  Work::new(f) ---- index from a process-wide counter; f kept as a type-erased
//!      |             FnOnce (no allocation when f captures nothing)
//!      v
//!  register(work)
//!      1. reserve slot `index`                           len() counts it from here
//!      2. fut = f(), wrapped as WithDoneHook { fut, hook }
//!      3. executor::spawn(..) -> JoinHandle              [A] one task cell
//!      4. fill the slot with the handle
//!      |
//!      v  the executor runs the task; first poll on its next run of the queue
//!      |
//!      +-- the work returns or panics:
//!      |      [F] the executor drops the future; the done hook removes the slot
//!      |
//!      +-- unregister(index) / stop():
//!      |      now:        remove the slot (len() drops), JoinHandle::cancel(), drop handle
//!      |      next tick:  [F] the executor drops the future; the hook finds no slot
//!      |      (called from the work's own body: [F] right after that poll, same tick)
//!      |
//!      +-- unregister_now(index) / stop_now():
//!      |      now:        remove the slot, JoinHandle::cancel_now(): [F] inside the call,
//!      |                  the hook finds no slot; drop handle: [M] inside the call too
//!      |      (called from the work's own body: as above, [F] right after that poll)
//!      |
//!      +-- the executor shuts down first:
//!             [F] shutdown drops the future; the done hook removes the slot
//!      v
//!  last reference to the task gone: [M] the executor frees the cell
//! ```
//!
//! So there are two moments to keep apart. The **slot** is free as soon as the entry leaves
//! the table: at once in `unregister` and `stop`, at `[F]` for a work that ends by itself.
//! The **task's memory** is the executor's: the future's heap goes at `[F]`, the cell at
//! `[M]`, which for a registered work is usually `[F]` too, because the scheduler's handle
//! was the only other reference. With `unregister_now` and `stop_now` all three happen inside
//! the call: the slot, `[F]` and `[M]`.
//!
//! # What a registered work costs
//!
//! - In the scheduler's table: one entry of **16 bytes** (the `u64` index and the
//!   pointer-sized `JoinHandle<()>`) and nothing else, in a `VecDeque` sorted by index
//!   that is between half full and full while works are being registered: 16.8 bytes per
//!   work at a million works (see `slots.rs` for the exact capacity rules and for the
//!   tombstones that removals leave). The table never shrinks below room for 16 works, and
//!   gives everything back on `stop` or when the scheduler is dropped.
//! - In the task cell: the done hook, **16 bytes** (a `Weak` pointer and the index) next to
//!   the work's future.
//! - Allocations: `Work::new` of a function that captures nothing allocates nothing, and
//!   `register` allocates only the task cell (plus the table's growth, a `realloc`,
//!   amortised). A million register + unregister cycles cost exactly a million allocations
//!   and a million frees (the task cells) and leave the heap byte for byte where it was; a
//!   burst of 100 000 works grows the table to room for 131 072 (2 MiB) and, once they are
//!   gone, shrinks it back to its floor of 256 bytes (room for 16 works). `tests/alloc.rs`
//!   measures all of this.
//!
//! # Re-entrancy
//!
//! A work may unregister itself, register others, or call `stop` from its own body, and a
//! future's destructor may do the same while `stop` or `unregister` is running — which, with
//! `stop_now` and `unregister_now`, is *inside* the call, since they drop the futures there.
//! The rules that make this safe (never hold the table's borrow across a call out; remove
//! before cancelling; reserve the slot before spawning) are numbered S1–S5 in
//! `work_scheduler.rs`.
//!
//! # Reading order
//!
//! `work.rs` (the index and the type-erased function), `done_hook.rs` (how an entry leaves
//! however the work ends), `slots.rs` (the table and its bytes), `work_scheduler.rs` (the
//! four operations and the re-entrancy rules).

mod done_hook;
mod slots;
mod work;
mod work_scheduler;

pub use work::Work;
pub use work_scheduler::WorkScheduler;
