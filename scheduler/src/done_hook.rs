//! The done hook: how a work's entry leaves the scheduler however the work ends.
//!
//! A work can end in three ways: its future returns, it is cancelled (the executor drops the
//! future without polling it again), or it panics (the executor catches the panic and the
//! future is dropped). All three have one thing in common: **the future is dropped**, on the
//! executor's thread. So the hook is not a callback the executor calls; it is a value,
//! [`DoneHook`], that lives *inside* the spawned future, and its `Drop` removes the entry.
//!
//! [`WithDoneHook`] is that spawned future: the work's own future followed by the hook.
//!
//! ```text
//!   WithDoneHook<Fut> {           fields are dropped in declaration order:
//!       future: Fut,     ------>  1. the work's future: its destructors, its timers, ...
//!       hook: DoneHook,  ------>  2. the hook: the scheduler forgets the index
//!   }
//! ```
//!
//! When it runs, for each ending:
//!
//! | the work ...            | the hook runs ...                                           |
//! |-------------------------|-------------------------------------------------------------|
//! | returns                 | when the executor drops the finished future, after the last poll |
//! | is cancelled            | when the executor drops the cancelled future                |
//! | panics                  | when the executor drops the future after catching the panic |
//! | is still queued at shutdown | when `Executor::shutdown` (or its `Drop`) drops the future |
//!
//! The hook holds a `Weak` pointer to the scheduler, never an `Rc`. A strong pointer would
//! make a cycle: scheduler → `JoinHandle` → task cell → future → hook → scheduler, and a
//! work that never ends would keep its scheduler alive through its own entry. With `Weak`,
//! a hook whose scheduler is gone simply does nothing.
//!
//! The hook's size is what registering adds to the task cell: a `Weak` (one pointer) and
//! the index (a `u64`), 16 bytes on a 64-bit target.

use std::future::Future;
use std::pin::Pin;
use std::rc::Weak;
use std::task::{Context, Poll};

use crate::work_scheduler::Inner;

/// Removes work `index` from its scheduler when dropped. See the module docs.
pub(crate) struct DoneHook {
    scheduler: Weak<Inner>,
    index: u64,
}

impl DoneHook {
    /// A hook that will remove `index` from `scheduler`.
    pub(crate) fn new(scheduler: Weak<Inner>, index: u64) -> DoneHook {
        DoneHook { scheduler, index }
    }
}

impl Drop for DoneHook {
    fn drop(&mut self) {
        let Some(scheduler) = self.scheduler.upgrade() else {
            return; // the scheduler is gone, and with it the entry
        };
        // If `unregister` or `stop` got here first, the slot is already gone and this is
        // `None`. Otherwise the slot's `JoinHandle` comes back and `_removed` drops it at the
        // end of this function, outside any borrow of the table (rule S1 in
        // `work_scheduler.rs`). It is this task's own handle: dropping it only detaches a
        // task that is ending anyway.
        let _removed = scheduler.forget(self.index);
    }
}

/// The future the scheduler spawns: the work's future, then the hook (see the module docs).
pub(crate) struct WithDoneHook<Fut> {
    /// Structurally pinned: `poll` projects `Pin<&mut Self>` to `Pin<&mut Fut>`.
    future: Fut,
    /// Not pinned, never touched after construction; it acts only in its `Drop`.
    #[allow(dead_code, reason = "the hook is never read: it acts when dropped")]
    hook: DoneHook,
}

impl<Fut> WithDoneHook<Fut> {
    /// Wraps `future` so that `hook` runs when it is dropped, after `future`'s own drop.
    pub(crate) fn new(future: Fut, hook: DoneHook) -> WithDoneHook<Fut> {
        WithDoneHook { future, hook }
    }
}

impl<Fut: Future<Output = ()>> Future for WithDoneHook<Fut> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: `future` is pinned structurally, which is sound because the four
        // conditions of `std::pin`'s "pinning is structural" section hold:
        // - `WithDoneHook<Fut>` is `Unpin` only if `Fut` is (the auto trait; no manual impl);
        // - `WithDoneHook` has no `Drop` impl that could move `future` out;
        // - `future` is dropped in place with the struct (no `repr(packed)`);
        // - no method ever moves `future` out or replaces it once the struct is pinned.
        let future = unsafe { self.map_unchecked_mut(|this| &mut this.future) };
        future.poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn hook_adds_sixteen_bytes_to_a_word_aligned_future() {
        assert_eq!(std::mem::size_of::<DoneHook>(), 16);
        type Work = std::future::Ready<[u64; 5]>;
        assert_eq!(
            std::mem::size_of::<WithDoneHook<Work>>(),
            std::mem::size_of::<Work>() + 16
        );
    }
}
