//! `JoinHandle<T>`: await a task's output, cancel it, or detach it by dropping the handle.
//!
//! The handle is one reference to the cell (R3 in `state.rs`) plus the `JOIN_INTEREST` bit.
//!
//! - **Await**: a pending poll stores the caller's waker in the join-waker table of the task's
//!   executor (a map in its core, keyed by task, reached through `Core::home_of`); when the task
//!   completes the run loop takes that waker out and wakes it. A handle that is never awaited
//!   never touches the table. A ready poll moves the output out of the cell (and sets
//!   `OUTPUT_GONE`: the stage now holds nothing).
//! - **Cancel**: sets `CANCELLED`. An idle task is queued one last time; a queued one is already
//!   in line. When the run loop reaches it, it drops the future without polling it — so the
//!   future's destructor runs on the executor thread at the executor's next turn of its queue,
//!   not inside `cancel()`. This keeps `cancel()` free of re-entrancy: no user destructor runs
//!   while the caller is in the middle of its own bookkeeping. A task cancelled from inside its own
//!   poll finishes that poll; if the poll returned `Ready`, the output wins.
//! - **Cancel now**: `cancel_now()` drops the future inside the call instead, unless the task is
//!   inside its own poll (then it is `cancel()`) or complete — see `cancel_now.rs` for when that
//!   is safe, why other runtimes do not, and what it asks of the caller.
//! - **Drop**: detaches. The handle's entry in the join-waker table, if any, is removed and its
//!   waker dropped at once. `JOIN_INTEREST` is cleared; if the output is already there it is
//!   dropped now, otherwise the run loop drops it the moment it is produced. The task keeps
//!   running.
//!
//! The table is only touched while the task has not completed. That is what makes the core
//! reachable: `Core::home_of` may be dereferenced on the owning thread while a task of that
//! executor has not completed (rule C1 in `core.rs`). It is
//! also all that is needed: completion removes the task's entry, and a handle that sees
//! `COMPLETE` set has nothing in the table. The table is never borrowed while user code runs:
//! a waker is cloned before, and a replaced or removed one dropped after, the table access.
//!
//! A handle is `!Send`: its output and its cancel belong to the executor's thread. It is an
//! ordinary future: any executor on that thread may await it, also after the task's own
//! executor has shut down (shutdown resolves it to cancelled).

use crate::core::{Core, schedule};
use crate::error::JoinError;
use crate::state::{COMPLETE, Schedule};
use crate::task::{Header, TaskId, TaskRef};
use crate::trace;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll, Waker};

/// The join-waker table: the waker of whoever awaits a task's `JoinHandle`, by task, woken when
/// the task completes. One per executor, in its core.
///
/// A side table rather than a header field: only handles that are actually awaited (and
/// pending) have an entry, so a task nobody awaits pays no bytes for it, and while no handle at
/// all is awaited, completing or detaching a task hashes nothing (see [`JoinWakers::take`]). It
/// is an ordinary `HashMap`: it allocates at the first await, grows with the number of handles
/// awaited at the same time and keeps its capacity. Entries exist only for tasks that have not
/// completed (`finish` removes a task's entry as it completes it); the table is borrowed only
/// inside these methods, which run no user code.
pub(crate) struct JoinWakers(RefCell<HashMap<NonNull<Header>, Waker>>);

impl JoinWakers {
    pub(crate) fn new() -> JoinWakers {
        JoinWakers(RefCell::new(HashMap::new()))
    }

    /// `JoinHandle::poll`: whether the task at `ptr` already has a join waker that would wake
    /// the same task as `waker`, so the handle need not clone it.
    pub(crate) fn has(&self, ptr: NonNull<Header>, waker: &Waker) -> bool {
        self.0
            .borrow()
            .get(&ptr)
            .is_some_and(|stored| stored.will_wake(waker))
    }

    /// `JoinHandle::poll`: makes `waker` the one woken when the task at `ptr` completes, and
    /// returns the one it replaces, for the caller to drop once the table is released. The task
    /// must not have completed: only `finish` removes entries.
    pub(crate) fn set(&self, ptr: NonNull<Header>, waker: Waker) -> Option<Waker> {
        self.0.borrow_mut().insert(ptr, waker)
    }

    /// `finish`, `cancel_now`, or `JoinHandle`'s drop: takes the task's join waker out of the
    /// table, if it has one. Looks at the table only if it is not empty, so when no handle is
    /// being awaited this hashes nothing.
    pub(crate) fn take(&self, ptr: NonNull<Header>) -> Option<Waker> {
        let mut table = self.0.borrow_mut();
        if table.is_empty() {
            return None;
        }
        table.remove(&ptr)
    }
}

/// An owned permission to await, cancel or detach a spawned task.
///
/// `!Send`: its output and its cancel belong to the executor's thread.
///
/// ```compile_fail
/// fn must_be_send<T: Send>() {}
/// must_be_send::<executor::JoinHandle<()>>(); // error: `*const ()` cannot be sent between threads
/// ```
#[must_use = "dropping a JoinHandle detaches the task; call `cancel()` to stop it"]
pub struct JoinHandle<T> {
    raw: NonNull<Header>,
    /// `T` is what we read out; `*const ()` makes the handle `!Send + !Sync`.
    _marker: PhantomData<(T, *const ())>,
}

impl<T> Unpin for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    /// # Safety
    /// `raw` is a task whose future has output type `T`, and the caller hands over the reference
    /// that `JOIN_INTEREST` stands for.
    pub(crate) unsafe fn new(raw: NonNull<Header>) -> JoinHandle<T> {
        JoinHandle {
            raw,
            _marker: PhantomData,
        }
    }

    /// The task this handle refers to (its reference stays with the handle).
    pub(crate) fn raw(&self) -> NonNull<Header> {
        self.raw
    }

    pub(crate) fn header(&self) -> &Header {
        // SAFETY: the handle owns a reference (R3), so the cell is alive.
        unsafe { self.raw.as_ref() }
    }

    /// Calls `f` with the core of the task's executor, for its join-waker table.
    ///
    /// Call only when the task has not completed, as just seen in its state word with no user
    /// code run since; `f` must run no user code either.
    fn with_core<R>(&self, f: impl FnOnce(&Core) -> R) -> R {
        let header = self.header();
        debug_assert!(!header.state.load().has(COMPLETE));
        let core = Core::home_of(&header.shared)
            .expect("the executor of a task that has not completed is alive");
        // SAFETY: C1 (`core.rs`): the handle's task had not completed when the caller
        // looked, and cannot have since (tasks complete on this thread, and no user code ran in
        // between); the handle is `!Send`, so this is the owning thread. The reference does not
        // outlive `f`, which runs no user code either.
        f(unsafe { core.as_ref() })
    }

    /// A pending poll: makes `waker` the one woken when the task completes. Returns `false`, and
    /// registers nothing, if the task completed meanwhile (cloning a waker runs its code).
    fn register(&self, waker: &Waker) -> bool {
        if self.with_core(|core| core.join_wakers.has(self.raw, waker)) {
            return true;
        }
        let waker = waker.clone();
        if self.header().state.load().has(COMPLETE) {
            return false;
        }
        let replaced = self.with_core(|core| core.join_wakers.set(self.raw, waker));
        drop(replaced); // outside the table: dropping a waker runs its code
        true
    }

    /// Asks the task to stop. Idempotent; does nothing once the task has completed (the output
    /// stays). The future is dropped on the executor thread the next time the executor runs its
    /// queue (or right after the current poll, if a task cancels itself); after that the handle
    /// yields `Err(e)` with `e.is_cancelled()`. To drop the future inside the call instead, see
    /// [`cancel_now`](Self::cancel_now).
    pub fn cancel(&self) {
        trace::cancel_by_handle(self.header());
        match self.header().state.transition_to_cancelled() {
            Schedule::Push => {
                // SAFETY: the transition set SCHEDULED and added the queue entry's reference
                // (R2), which we hand to the queue.
                schedule(unsafe { TaskRef::from_raw(self.raw) });
            }
            // Queued, running or already cancelled: the run loop will see the flag. Complete:
            // the output stays.
            Schedule::AlreadyQueued | Schedule::Complete => {}
        }
    }

    /// Whether the task's future is gone (completed, cancelled and dropped, or panicked).
    pub fn is_finished(&self) -> bool {
        self.header().state.load().has(COMPLETE)
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.header().id()
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let header = self.header();
        if !header.state.load().has(COMPLETE) && self.register(cx.waker()) {
            return Poll::Pending;
        }
        let mut output: Option<Result<T, JoinError>> = None;
        let take_output = header.vtable.take_output;
        // SAFETY: COMPLETE is set, we are on the executor thread, and `output` has the type the
        // vtable expects: the cell's output type is `T` by construction (`JoinHandle::new`).
        unsafe {
            take_output(
                self.raw,
                (&mut output as *mut Option<Result<T, JoinError>>).cast(),
            )
        };
        Poll::Ready(output.expect("take_output always writes the result"))
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        // Released last, even if dropping the output below panics.
        // SAFETY: the handle owns one reference (R3); it is released exactly once, here.
        let reference = unsafe { TaskRef::from_raw(self.raw) };
        let header = reference.header();
        // The awaiter's waker, if any, comes out of the table now and is dropped (running its
        // code) below, once the table is released. A completed task has no entry, and its
        // executor may be gone: then the table is not touched.
        let waker = if header.state.load().has(COMPLETE) {
            None
        } else {
            self.with_core(|core| core.join_wakers.take(self.raw))
        };
        let before = header.state.unset_join_interest();
        trace::handle_dropped(header);
        if before.has(COMPLETE) {
            header.shared.husk_with_handle_released();
            let drop_output = header.vtable.drop_output;
            // SAFETY: COMPLETE is set, executor thread; the output (if not taken) is ours to drop.
            unsafe { drop_output(self.raw) };
        }
        drop(waker);
        drop(reference);
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id())
            .field("state", &self.header().state.load())
            .finish()
    }
}
