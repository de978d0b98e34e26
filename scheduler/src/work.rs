//! A [`Work`]: a unique index and the async function to run.
//!
//! # The index
//!
//! Indices come from one process-wide `AtomicU64` counter, so they are unique across every
//! scheduler and thread, and increasing in the order the `Work`s were created (the first is
//! 1). `Relaxed` is enough: uniqueness needs only that each `fetch_add` is atomic, and all
//! `fetch_add`s on one atomic form a single order, which is the order of the indices.
//!
//! # The function, and why registering allocates nothing extra
//!
//! `Work` is not generic, so it must erase the type of its function. It stores a
//! `Box<dyn FnOnce(DoneHook) -> JoinHandle<()>>`, the *start* closure, built in
//! [`Work::new`] where the concrete types `F` and `Fut` are still known. Called by
//! `register`, the start closure calls `func()`, wraps the future with the done hook and
//! spawns it: the future goes straight into the executor's task cell with its full type.
//!
//! Two allocations are avoided this way:
//! - The future is never boxed. (`Box<dyn Future>` would cost an allocation per work on top
//!   of the task cell.)
//! - The start closure captures only `func`. If `func` captures nothing, the closure is a
//!   zero-sized type, and `Box::new` of a zero-sized value does not allocate: the box is a
//!   dangling, well-aligned pointer plus the vtable.
//!
//! So for a capture-free function, `Work::new` allocates nothing and `register` allocates
//! one thing: the task cell, inside `executor::spawn`. A function that captures (say an `Rc`
//! or a scheduler handle) costs one more allocation, the size of its captures, in
//! `Work::new`; it is freed when `register` calls the closure.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};

use executor::JoinHandle;

use crate::done_hook::{DoneHook, WithDoneHook};

/// Calls the work's function, wraps the future with the hook, spawns it.
pub(crate) type Start = Box<dyn FnOnce(DoneHook) -> JoinHandle<()>>;

/// The next index to hand out. See the module docs for why `Relaxed` suffices.
static NEXT_INDEX: AtomicU64 = AtomicU64::new(1);

/// A unit of work for a [`WorkScheduler`](crate::WorkScheduler): a unique index and the
/// async function to run.
///
/// ```
/// use scheduler::Work;
///
/// let first = Work::new(|| async {});
/// let second = Work::new(|| async {});
/// assert!(second.index() > first.index());
/// ```
pub struct Work {
    index: u64,
    start: Start,
}

impl Work {
    /// Takes the next index and stores `func`, to be called when the work is registered.
    ///
    /// Nothing runs yet: `func` is called by
    /// [`WorkScheduler::register`](crate::WorkScheduler::register), and the future it
    /// returns takes its first poll when the executor next runs its queue. If `func`
    /// captures nothing, this allocates nothing (see the module docs).
    pub fn new<F, Fut>(func: F) -> Work
    where
        F: FnOnce() -> Fut + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        let start: Start = Box::new(move |hook| executor::spawn(WithDoneHook::new(func(), hook)));
        Work {
            index: NEXT_INDEX.fetch_add(1, Ordering::Relaxed),
            start,
        }
    }

    /// This work's index: unique within the process and increasing in creation order.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// Splits the work into its index and its start closure, for `register`.
    pub(crate) fn into_parts(self) -> (u64, Start) {
        (self.index, self.start)
    }
}

impl fmt::Debug for Work {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Work")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}
