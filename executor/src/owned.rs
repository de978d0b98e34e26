//! The owned list: every task whose future has not been dropped yet.
//!
//! Shutdown must drop every remaining future — queued, sleeping, or idle and forgotten (a
//! detached task waiting for a wake that will never come). Only a list of all live futures can
//! find the last kind, so the executor keeps one: intrusive and doubly linked through the task
//! headers, so that spawning never allocates beyond the cell and removal is O(1).
//!
//! Rule O1: a task is in this list from spawn until its future is dropped, and membership is one
//! reference (R1 in `state.rs`). The list is touched only by the executor thread. The one
//! exception is `cancel_now`, which takes the task out of the list just *before* it drops the
//! future, having claimed it with `RUNNING` (so shutdown, walking the list, never meets a future
//! that is being dropped); it holds the list's reference until the drop is over (`cancel_now.rs`).

use crate::task::{Header, TaskRef};
use std::cell::Cell;
use std::ptr::NonNull;

/// An intrusive doubly linked list of task headers.
pub(crate) struct OwnedList {
    head: Cell<Option<NonNull<Header>>>,
    tail: Cell<Option<NonNull<Header>>>,
}

impl OwnedList {
    pub(crate) const fn new() -> OwnedList {
        OwnedList {
            head: Cell::new(None),
            tail: Cell::new(None),
        }
    }

    /// Appends a freshly spawned task, taking over the caller's reference (O1).
    pub(crate) fn push_back(&self, task: TaskRef) {
        let ptr = task.into_raw();
        // SAFETY: the list now owns a reference, so the cell is alive.
        let header = unsafe { ptr.as_ref() };
        header.owned_prev.set(self.tail.get());
        header.owned_next.set(None);
        match self.tail.replace(Some(ptr)) {
            // SAFETY: the old tail is in the list, so alive (O1).
            Some(tail) => unsafe { tail.as_ref() }.owned_next.set(Some(ptr)),
            None => self.head.set(Some(ptr)),
        }
    }

    /// Unlinks `ptr` and hands back the list's reference (O1).
    ///
    /// # Safety
    /// `ptr` is in this list.
    pub(crate) unsafe fn remove(&self, ptr: NonNull<Header>) -> TaskRef {
        // SAFETY: in the list, so alive (O1).
        let header = unsafe { ptr.as_ref() };
        let prev = header.owned_prev.take();
        let next = header.owned_next.take();
        match prev {
            // SAFETY: neighbours are in the list, so alive.
            Some(prev) => unsafe { prev.as_ref() }.owned_next.set(next),
            None => self.head.set(next),
        }
        match next {
            // SAFETY: as above.
            Some(next) => unsafe { next.as_ref() }.owned_prev.set(prev),
            None => self.tail.set(prev),
        }
        // SAFETY: the reference the list owned is handed to the caller.
        unsafe { TaskRef::from_raw(ptr) }
    }

    /// The oldest live task, still in the list.
    pub(crate) fn front(&self) -> Option<NonNull<Header>> {
        self.head.get()
    }
}
