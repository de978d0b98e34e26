//! The local run queue: an intrusive FIFO threaded through the task cells.
//!
//! Each task header starts with a [`Link`]; the queue keeps only a head and a tail pointer, so
//! queueing a task never allocates. The queue is touched only by the executor thread. Wakes
//! from other threads go through the remote queue in `shared.rs` and are moved here by the run
//! loop.
//!
//! An entry is a `NonNull<Link>`. For a task it points at the start of the cell (so the run
//! loop can cast it back to the header); the one other kind of entry is the executor's own
//! `main` link, which stands for the future given to `block_on`: it queues like a task but is
//! recognised by its address and never cast.
//!
//! **Rule Q1.** A task is linked into at most one run queue at a time, and only while
//! `SCHEDULED` is set: a wake sets the bit before it pushes the task, and the run loop clears it
//! after it pops the task. While linked, the queue owns one of the task's references (R2 in
//! `state.rs`); popping hands that reference to the run loop, which keeps it until the end of
//! the task's turn.

use crate::task::{Header, TaskRef};
use std::cell::Cell;
use std::ptr::NonNull;

/// The intrusive link: where the next entry of the queue is.
pub(crate) struct Link {
    next: Cell<Option<NonNull<Link>>>,
}

impl Link {
    pub(crate) const fn new() -> Link {
        Link {
            next: Cell::new(None),
        }
    }
}

/// What the run loop popped.
pub(crate) enum Entry {
    /// A task, with the queue's reference (R2) now owned by the caller.
    Task(TaskRef),
    /// The `block_on` future's turn.
    Main,
}

/// A FIFO of links; see the module docs.
pub(crate) struct LocalQueue {
    head: Cell<Option<NonNull<Link>>>,
    tail: Cell<Option<NonNull<Link>>>,
    len: Cell<usize>,
}

impl LocalQueue {
    pub(crate) const fn new() -> LocalQueue {
        LocalQueue {
            head: Cell::new(None),
            tail: Cell::new(None),
            len: Cell::new(0),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len.get()
    }

    /// Appends a task; the queue takes over the caller's reference (rule Q1).
    pub(crate) fn push_task(&self, task: TaskRef) {
        let link: NonNull<Header> = task.into_raw();
        self.push_link(link.cast());
    }

    /// Appends the `block_on` future's link.
    pub(crate) fn push_main(&self, main: &Link) {
        self.push_link(NonNull::from(main));
    }

    fn push_link(&self, link: NonNull<Link>) {
        // SAFETY: a task link points into a cell kept alive by the reference the queue now owns
        // (Q1); the main link lives in the executor's core, which outlives its queue.
        let node = unsafe { link.as_ref() };
        debug_assert!(node.next.get().is_none());
        match self.tail.replace(Some(link)) {
            // SAFETY: `tail` is a linked entry, alive for the same reasons.
            Some(tail) => unsafe { tail.as_ref() }.next.set(Some(link)),
            None => self.head.set(Some(link)),
        }
        self.len.set(self.len.get() + 1);
    }

    /// Unlinks the `block_on` future's link from wherever it sits in the queue; the caller knows
    /// it is queued. O(n), but only needed when a `block_on` future woke itself during the poll
    /// that completed it: that stale turn must not put the next `block_on` future ahead of the
    /// tasks queued before it.
    pub(crate) fn unlink_main(&self, main: &Link) {
        let found = self.unlink(NonNull::from(main));
        assert!(found, "the main link is not in the queue");
    }

    /// `JoinHandle::cancel_now` on a `SCHEDULED` task: takes the task's entry out of this queue
    /// and hands back its reference (R2), or `None` if the task is not in this queue (its entry
    /// is in the remote queue, or a waker on another thread is about to push it there).
    ///
    /// O(k) for the task at position `k`: the queue is singly linked, because a second link in
    /// every header would cost every task 8 bytes. Cancelling tasks in the order they were
    /// queued finds each at the front.
    pub(crate) fn unlink_task(&self, task: NonNull<Header>) -> Option<TaskRef> {
        if self.unlink(task.cast()) {
            // SAFETY: the entry carried one reference (Q1); it passes to the caller.
            Some(unsafe { TaskRef::from_raw(task) })
        } else {
            None
        }
    }

    /// Unlinks `target` if it is in the queue; returns whether it was.
    fn unlink(&self, target: NonNull<Link>) -> bool {
        let mut prev: Option<NonNull<Link>> = None;
        let mut cursor = self.head.get();
        while let Some(link) = cursor {
            // SAFETY: `link` is a linked entry, alive (Q1, or the core's own link).
            let next = unsafe { link.as_ref() }.next.get();
            if link == target {
                match prev {
                    // SAFETY: `prev` is a linked entry, alive for the same reasons.
                    Some(prev) => unsafe { prev.as_ref() }.next.set(next),
                    None => self.head.set(next),
                }
                if next.is_none() {
                    self.tail.set(prev);
                }
                // SAFETY: `target` was linked, so it is alive.
                unsafe { target.as_ref() }.next.set(None);
                self.len.set(self.len.get() - 1);
                return true;
            }
            prev = cursor;
            cursor = next;
        }
        false
    }

    /// Removes the oldest entry. `main` is the address of the executor's main link.
    pub(crate) fn pop(&self, main: &Link) -> Option<Entry> {
        let link = self.head.get()?;
        // SAFETY: `link` is a linked entry, alive (Q1, or the core's own link).
        let node = unsafe { link.as_ref() };
        let next = node.next.take();
        self.head.set(next);
        if next.is_none() {
            self.tail.set(None);
        }
        self.len.set(self.len.get() - 1);
        if link == NonNull::from(main) {
            Some(Entry::Main)
        } else {
            // SAFETY: every other entry was pushed by `push_task` from a task pointer, so it is
            // the start of a cell, and the reference it carried passes to the caller (Q1).
            Some(Entry::Task(unsafe { TaskRef::from_raw(link.cast()) }))
        }
    }
}
