//! `JoinHandle::cancel_now`: drop the future inside the call, when that is safe.
//!
//! # Why every runtime defers the drop
//!
//! [`JoinHandle::cancel`] only sets a flag; the run loop drops the future on its next turn. tokio
//! (`JoinHandle::abort`), smol (`Task::cancel` schedules the task once more) and asyncio
//! (`Task.cancel()` throws `CancelledError` into the coroutine at its next step) all do the
//! same, for three reasons:
//!
//! 1. **Re-entrancy of the caller's bookkeeping.** A destructor is user code: it may register
//!    works, cancel others, drop handles, wake tasks. If it ran inside `cancel()`, every caller
//!    would have to be in a consistent state, with no borrow held, at every call — a scheduler
//!    iterating its table, say. Deferring means the destructor runs from the run loop, where
//!    nobody's bookkeeping is half done.
//! 2. **`!Send` futures.** A future must be dropped on its executor's thread. A cancel may come
//!    from anywhere (tokio's `AbortHandle` is `Send`), so in general it can only ask.
//! 3. **Cancels from other threads, or from inside the task.** A task that is being polled
//!    cannot be dropped under its own poll, and on a multi-threaded runtime another thread may
//!    be polling it right now: only the thread that has the future in hand may drop it.
//!
//! # When `cancel_now` can do better
//!
//! Here a `JoinHandle` is `!Send`, so `cancel_now` always runs on the thread that owns the
//! task's executor, and the executor is single-threaded: nobody else can be polling the task.
//! Reason 2 is gone. What remains of reason 3 is the state word's `RUNNING` bit, which says that
//! the executor thread has the future in hand — it is being polled, or dropped by the run loop,
//! by shutdown or by an outer `cancel_now` further up this same stack. So:
//!
//! | the task is ...                                  | `cancel_now`                              | returns |
//! |--------------------------------------------------|-------------------------------------------|---------|
//! | idle, queued, or never polled                    | drops the future now, completes the task  | `true`  |
//! | in hand (its own poll, or a drop up the stack)   | sets `CANCELLED`, as `cancel()` does      | `false` |
//! | complete                                         | nothing; the output stays                 | `false` |
//!
//! "On the executor's thread" needs no check, and it does not matter which executor, if any, is
//! *running*: a task's own executor may be inside `block_on` (the call comes from another task,
//! or from the `block_on` future), idle between two `block_on`s, or idle while another executor
//! on the same thread runs the caller. An executor that is not running holds no borrow and is
//! in the middle of nothing, and one that is running only runs user code (a poll, a destructor,
//! a waker) between its own steps, never inside them. So the drop is safe in every one of these
//! cases, and `cancel_now` does it. The destructor runs with whichever executor is running on
//! the thread (if any) as the current one, exactly as the code calling `cancel_now` does.
//!
//! # The steps
//!
//! 1. `State::transition_to_dropping` sets `CANCELLED | RUNNING`: the future is ours. From here
//!    on, a nested `cancel_now` of the same task (from its own destructor, say) finds `RUNNING`
//!    and only asks, and a run loop that pops the task releases the entry without touching it.
//! 2. The task leaves the executor's bookkeeping before any user code runs
//!    (`Core::release_for_cancel_now`): the owned list; the local run queue, if it is queued
//!    there (the entry's reference is released); the join-waker table.
//! 3. \[F\] The future is dropped in place, its destructor's panic caught: the output becomes
//!    `Err(cancelled)`, or `Err(panic)` if the destructor panicked. Its `Sleep`s unlink their
//!    timer entries as they are dropped. The task becomes `COMPLETE`.
//! 4. The drop is counted in [`Stats`] — if the executor still exists: a destructor may own,
//!    and so drop, the task's very executor; nothing after step 3 touches the executor's core
//!    without looking it up again. If a destructor woke the task itself on this thread (a
//!    future holding both ends of a channel does, when its sender's drop wakes its receiver),
//!    the wake queued it in the local run queue before `COMPLETE` was set: that entry is
//!    unlinked and released too. Then the owned list's reference is released, and a waker
//!    stored by someone who awaited the handle earlier is woken.
//!
//! After that the cell is held only by the handle (R3), by wakers someone kept (R4) and, if
//! the task was queued from another thread, by that remote queue entry (R2). So **if the
//! handle is dropped right after, the cell is freed at once** (\[M\]), with no tick of the
//! executor in between — unless a `Waker` is kept somewhere (the husk of the crate docs), or a
//! wake from another thread put the task in the remote queue (its entry is released when the
//! run loop next moves remote wakes, or at shutdown).
//!
//! # What it means for callers' re-entrancy
//!
//! With `cancel_now` this executor gives up reason 1 on purpose: the future's destructors run
//! *inside* the call. A caller must treat `cancel_now` like any other call out to user code:
//! hold no `RefCell` borrow across it, finish its own bookkeeping first (take the entry out of
//! its table, then cancel), and expect the destructor to call back into it. The scheduler's
//! `unregister_now` and `stop_now` follow exactly those rules (its rules S1–S4).
//!
//! [`JoinHandle::cancel`]: crate::JoinHandle::cancel
//! [`Stats`]: crate::Stats

use crate::core::Core;
use crate::join::JoinHandle;
use crate::run_loop::complete;
use crate::state::TransitionToDropping;
use crate::task::Header;
use crate::trace;
use std::ptr::NonNull;

impl<T> JoinHandle<T> {
    /// Cancels the task and drops its future **before returning**, when that is safe; returns
    /// whether this call dropped it.
    ///
    /// - The task is idle, queued or never polled (the call comes from outside any executor,
    ///   from the `block_on` future, from another task's poll or from a destructor): \[F\] the
    ///   future's destructor runs inside this call, its timer entries go with it, the task
    ///   leaves the executor's bookkeeping (its list of live tasks, its local run queue, the
    ///   table of join wakers) and is never polled again. Returns `true`. Awaiting the handle
    ///   then gives `Err(e)` with `e.is_cancelled()` — or `e.is_panic()` if the destructor
    ///   panicked: that panic is caught and never escapes this call.
    /// - The task is inside its own poll (it cancels itself), or its future is being dropped
    ///   further up this thread's stack: does what [`cancel`](Self::cancel) does (the future is
    ///   dropped right after that poll) and returns `false`.
    /// - The task has completed: returns `false`; the output is kept for the handle.
    ///
    /// If the handle is dropped right after a `true`, the task's cell is freed at once (\[M\]),
    /// with no tick in between — unless a `Waker` of the task is kept somewhere (the cell is then
    /// a husk until that waker goes), or a wake from another thread has queued the task in the
    /// executor's remote queue (then the cell goes when the executor next takes in remote wakes,
    /// or at its shutdown). A task in the local run queue is unlinked from it, which costs a walk
    /// of the queue up to the task — also when it got there during the drop, because a
    /// destructor woke the task itself.
    ///
    /// Because destructors run inside it, the caller must not hold a borrow (a `RefCell` guard,
    /// a half-updated table) that a destructor could need: see `cancel_now.rs` for the rules,
    /// and the scheduler's `unregister_now` and `stop_now` for callers that follow them.
    ///
    /// ```
    /// use executor::{Executor, sleep};
    /// use std::time::Duration;
    ///
    /// let ex = Executor::new();
    /// let sleeper = ex.spawn(async { sleep(Duration::from_secs(1000)).await });
    /// ex.block_on(executor::yield_now()); // first poll: the sleep registers its timer entry
    /// assert_eq!(ex.stats().timers_live, 1);
    /// assert!(sleeper.cancel_now()); // [F] here, and the timer entry with it
    /// assert_eq!((ex.stats().futures_dropped, ex.stats().timers_live), (1, 0));
    /// drop(sleeper); // [M] here: no tick needed
    /// assert_eq!((ex.stats().tasks_freed, ex.stats().live_tasks), (1, 0));
    /// ```
    pub fn cancel_now(&self) -> bool {
        trace::cancel_by_handle(self.header());
        // SAFETY: this handle holds its reference for the whole call, on this thread (`!Send`).
        unsafe { cancel_now(self.raw()) }
    }
}

/// Cancels the task at `ptr` and, unless its future is in hand or gone, drops the future now.
/// Returns `true` if this call dropped the future. See the module docs.
///
/// # Safety
/// `ptr` is the task of a live `JoinHandle` on this thread, which keeps its reference (R3)
/// for the whole call.
pub(crate) unsafe fn cancel_now(ptr: NonNull<Header>) -> bool {
    // SAFETY: the handle's reference keeps the cell alive for the whole call (precondition).
    let header = unsafe { ptr.as_ref() };
    let queued = match header.state.transition_to_dropping() {
        TransitionToDropping::Complete | TransitionToDropping::InHand => return false,
        TransitionToDropping::Drop { queued } => queued,
    };
    // Step 2. The task had not completed, so its executor's core is alive (rule C1).
    let core = Core::home_of(&header.shared)
        .expect("the executor of a task that has not completed is alive");
    // SAFETY: C1 (`core.rs`): the task has not completed; the handle is `!Send`, so this is the
    // owning thread. The reference ends with this statement, before any user code runs. We
    // claimed the future just now (RUNNING).
    let (list_ref, join_waker) = unsafe { core.as_ref().release_for_cancel_now(ptr, queued) };
    // Step 3: [F]. The destructor's panic is caught inside.
    // SAFETY: the future is still there and ours: we set RUNNING on a task that was neither
    // complete nor in anyone's hands, and we are on the executor's thread.
    let outcome = unsafe { (header.vtable.drop_future)(ptr) };
    // The handle, alive, now holds a husk.
    let before = complete(header, outcome);
    debug_assert!(before.has(crate::state::JOIN_INTEREST), "{before:?}");
    // Step 4. The destructor may have dropped the executor itself: look the core up again.
    if let Some(core) = Core::home_of(&header.shared) {
        // SAFETY: non-null, so not freed; owning thread; no user code runs while we use it.
        let core = unsafe { core.as_ref() };
        core.count_drop(header, outcome);
        // A wake during the drop (a destructor that woke this very task, on this thread) queued
        // it again before `COMPLETE` closed the door to wakes: release that entry too, or it
        // would keep the cell until the run loop next pops it.
        if before.has(crate::state::SCHEDULED) {
            core.discard_local_entry(ptr);
        }
    }
    // The handle still holds its reference, so this does not free the cell.
    drop(list_ref);
    if let Some(waker) = join_waker {
        waker.wake();
    }
    true
}
