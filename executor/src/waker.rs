//! The task waker: a hand-written `RawWakerVTable` whose data pointer is the task's header.
//!
//! A `Waker` made here *is* a counted reference to the task cell (R4 in `state.rs`). The four
//! functions and what each does to the count:
//!
//! | function      | reference count                      | effect                               |
//! |---------------|--------------------------------------|--------------------------------------|
//! | `clone`       | +1                                   | a new `Waker` for the same task      |
//! | `wake`        | consumes the waker's one             | it becomes the queue entry's (R2) if the task gets queued, else it is dropped |
//! | `wake_by_ref` | +1 only if the task gets queued      | the new reference is the queue entry's |
//! | `drop`        | -1                                   | frees the cell if it was the last    |
//!
//! "Gets queued" means: not already `SCHEDULED` and not `COMPLETE`. So waking a queued task twice
//! queues it once, and waking a finished task — even after its executor is gone — does nothing
//! but drop the reference. Wakers are `Send + Sync`: a wake on the executor's own thread goes
//! straight into the local queue (no allocation, no atomics beyond the state word), whether the
//! executor is running or between `block_on` calls; a wake from another thread goes through the
//! remote queue and unparks the executor (`schedule` in `core.rs`).
//!
//! There is one vtable for all tasks, so `Waker::will_wake` works: two wakers of the same task
//! compare equal.
//!
//! The waker passed to `poll` is *borrowed*: the run loop holds the queue entry's reference for
//! the whole poll, so [`borrowed`] builds a waker without touching the count and wraps it in
//! `ManuallyDrop` so that it is never dropped. A future that keeps it calls `clone`.

use crate::core::schedule;
use crate::state::Schedule;
use crate::task::{Header, TaskRef};
use crate::trace;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::task::{RawWaker, RawWakerVTable, Waker};

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

/// The task a waker wakes, if it is one of our task wakers (the vtable is the tell).
pub(crate) fn task_of(waker: &Waker) -> Option<NonNull<Header>> {
    if std::ptr::eq(waker.vtable(), &VTABLE) {
        NonNull::new(waker.data() as *mut Header)
    } else {
        None
    }
}

/// A waker for the task at `ptr` that takes over one reference the caller owns.
///
/// # Safety
/// `ptr` is a live task header and the caller transfers one of its references (R4).
pub(crate) unsafe fn owned(ptr: NonNull<Header>) -> Waker {
    let raw = RawWaker::new(ptr.as_ptr() as *const (), &VTABLE);
    // SAFETY: the vtable's contract holds for a live header whose reference the waker now owns.
    unsafe { Waker::from_raw(raw) }
}

/// A waker for the task at `ptr` that does not own a reference.
///
/// # Safety
/// The caller holds a reference to the task for as long as the returned waker is used, and
/// never drops it (the `ManuallyDrop` makes that the default).
pub(crate) unsafe fn borrowed(ptr: NonNull<Header>) -> ManuallyDrop<Waker> {
    let raw = RawWaker::new(ptr.as_ptr() as *const (), &VTABLE);
    // SAFETY: the vtable's contract holds for `ptr` (a live task header) as long as the caller's
    // reference lives, which is the caller's precondition.
    ManuallyDrop::new(unsafe { Waker::from_raw(raw) })
}

/// The header behind a waker's data pointer.
///
/// # Safety
/// `ptr` is the data pointer of one of our task wakers that is still alive: a task header, and
/// the waker owns a reference to it (R4), or borrows one its creator holds (`borrowed`). The
/// returned reference must not outlive that reference: the lifetime is the caller's to bound.
unsafe fn header<'a>(ptr: *const ()) -> &'a Header {
    // SAFETY: the caller's contract: a live header, kept alive by the waker's reference.
    unsafe { &*(ptr as *const Header) }
}

/// `Waker::clone`: +1.
unsafe fn clone(ptr: *const ()) -> RawWaker {
    // SAFETY: the waker being cloned is alive and holds (or borrows) a reference.
    let header = unsafe { header(ptr) };
    header.state.ref_inc();
    trace::waker_cloned(header);
    RawWaker::new(ptr, &VTABLE)
}

/// `Waker::wake`: consumes the waker's reference.
unsafe fn wake(ptr: *const ()) {
    // SAFETY: the waker owned one reference and is being consumed: we adopt it.
    let task = unsafe { TaskRef::from_raw(NonNull::new_unchecked(ptr as *mut Header)) };
    trace::wake(task.header(), false);
    match task.header().state.transition_to_notified_by_val() {
        // The waker's reference is now the queue entry's (R2).
        Schedule::Push => schedule(task),
        // Nothing to queue: the waker's reference goes, and with it the cell if it was the
        // last (\[M\], on this thread).
        Schedule::AlreadyQueued | Schedule::Complete => drop(task),
    }
}

/// `Waker::wake_by_ref`: +1 if the task gets queued.
unsafe fn wake_by_ref(ptr: *const ()) {
    // SAFETY: the waker is alive (we are called through a reference to it) and holds or
    // borrows a reference.
    let header = unsafe { header(ptr) };
    trace::wake(header, true);
    match header.state.transition_to_notified_by_ref() {
        Schedule::Push => {
            // SAFETY: the transition added one reference for the queue entry; we adopt it.
            let task = unsafe { TaskRef::from_raw(NonNull::new_unchecked(ptr as *mut Header)) };
            schedule(task);
        }
        Schedule::AlreadyQueued | Schedule::Complete => {}
    }
}

/// `Waker::drop`: -1, and \[M\] frees the cell if that was the last reference.
unsafe fn drop_waker(ptr: *const ()) {
    // SAFETY: the waker owned one reference; dropping the `TaskRef` releases it.
    let task = unsafe { TaskRef::from_raw(NonNull::new_unchecked(ptr as *mut Header)) };
    trace::waker_dropped(task.header());
    drop(task);
}
