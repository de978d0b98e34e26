//! The half of the executor that other threads can reach.
//!
//! Every task cell holds an `Arc<Shared>` (its header's `shared` field), so a `Waker` on any
//! thread can find its executor's remote queue and parker, even after the `Executor` value itself
//! is gone. `Shared` holds no task references of its own except the entries in `remote`, and
//! [`Shared::push_remote`] guarantees those are released once the executor has closed, so the
//! `Arc` cycle task → `Shared` → remote queue → task cannot leak.
//!
//! It also remembers which thread owns the executor and, while the executor lives, where its
//! core is, so that a wake or a `cancel()` on the owning thread *between* `block_on` calls still
//! goes straight into the local queue (no allocation, no atomics beyond the state word) rather
//! than through the remote queue ([`Shared::owner_core`]).

use crate::loom::{Arc, AtomicBool, AtomicPtr, AtomicU64, Ordering, RemoteQueue};
use crate::park::Parker;
use crate::stats::FreeCounters;
use crate::task::TaskRef;
use std::ptr::NonNull;

#[cfg(not(loom))]
std::thread_local! {
    static TOKEN: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

#[cfg(loom)]
loom::thread_local! {
    static TOKEN: std::cell::Cell<u64> = std::cell::Cell::new(0);
}

/// A number that identifies this thread for as long as the process runs (never reused, unlike
/// `ThreadId`'s storage or a thread-local's address); 0 if thread-locals are already gone.
pub(crate) fn thread_token() -> u64 {
    // Plain std atomics even under loom: uniqueness needs only the increment's atomicity.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    TOKEN
        .try_with(|token| {
            if token.get() == 0 {
                token.set(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
            }
            token.get()
        })
        .unwrap_or(0)
}

/// What wakers on any thread share with the executor.
pub(crate) struct Shared {
    /// Tasks woken from other threads, each entry holding one reference (R2) and the task's
    /// `SCHEDULED` bit.
    remote: RemoteQueue<TaskRef>,
    /// The token (`thread_token`) of the thread that created, and so owns, the
    /// executor: `Executor` is `!Send`, so it never leaves that thread.
    owner: u64,
    /// The address of the executor's core from `Executor::new` until the core is freed
    /// (`Executor`'s `Drop`, after shutdown has run to the end), null after. Written and read
    /// only on the owning thread: see [`Shared::owner_core`] and [`Shared::home`]. `Shared` only
    /// keeps the address for the owning thread and never looks behind it, so it does not name
    /// the type: `Core::owner_of` and `Core::home_of` (`core.rs`) turn it back into a core.
    core: AtomicPtr<()>,
    /// Set once, when the executor shuts down. Read and written only with read-modify-write
    /// operations: see [`Shared::push_remote`].
    closed: AtomicBool,
    /// The block_on future was woken from another thread.
    main_woken: AtomicBool,
    parker: Parker,
    pub(crate) counters: FreeCounters,
    /// Husks whose `JoinHandle` is still alive (`Stats::husks_with_handle`). Changed only on the
    /// owning thread — as a task completes (`run_loop::complete`: the run loop, shutdown or
    /// `cancel_now`) and by a `JoinHandle`'s drop, and a handle is `!Send` — so a relaxed load
    /// and store are exact; it is an atomic only because
    /// `Shared` is shared. It lives here rather than in the core because a handle may be
    /// dropped after its executor is gone.
    husks_with_handle: AtomicU64,
    /// The recorder this executor's tasks record into (feature `trace`, `trace.rs`).
    #[cfg(feature = "trace")]
    pub(crate) recorder: crate::trace::Attached,
}

impl Shared {
    pub(crate) fn new() -> Shared {
        Shared {
            remote: RemoteQueue::new(),
            owner: thread_token(),
            core: AtomicPtr::new(std::ptr::null_mut()),
            closed: AtomicBool::new(false),
            main_woken: AtomicBool::new(false),
            parker: Parker::new(),
            counters: FreeCounters {
                tasks_freed: AtomicU64::new(0),
                bytes_freed: AtomicU64::new(0),
            },
            husks_with_handle: AtomicU64::new(0),
            #[cfg(feature = "trace")]
            recorder: crate::trace::Attached::new(),
        }
    }

    /// Whether the caller is on the thread that owns the executor.
    #[cfg(feature = "trace")]
    pub(crate) fn on_owner_thread(&self) -> bool {
        self.owner == thread_token()
    }

    /// Owning thread, as a task completes while its `JoinHandle` is alive: one more husk held
    /// by its handle.
    pub(crate) fn husk_with_handle_made(&self) {
        let now = self.husks_with_handle.load(Ordering::Relaxed);
        self.husks_with_handle.store(now + 1, Ordering::Relaxed);
    }

    /// Owning thread, as the `JoinHandle` of a completed task is dropped: one fewer.
    pub(crate) fn husk_with_handle_released(&self) {
        let now = self.husks_with_handle.load(Ordering::Relaxed);
        self.husks_with_handle.store(now - 1, Ordering::Relaxed);
    }

    /// Owning thread: husks whose `JoinHandle` is alive.
    pub(crate) fn husks_with_handle(&self) -> u64 {
        self.husks_with_handle.load(Ordering::Relaxed)
    }

    /// Queues a task woken away from its running executor and wakes the executor if it is parked.
    ///
    /// The race with shutdown: the executor sets `closed` and then drains `remote` one last
    /// time. A push that comes after that drain would strand its reference (and, through the
    /// task's `Arc<Shared>`, leak both). So after pushing, the waker reads `closed` with a
    /// read-modify-write, and the executor sets it with one too. Read-modify-writes of one
    /// location are totally ordered, so either the waker's comes first — then the executor's
    /// `swap` synchronises with it and its final drain sees the push — or the executor's comes
    /// first — then the waker sees `true` and drains the queue itself. Plain loads would need
    /// `SeqCst` fences on both sides to say the same.
    ///
    /// `this` is a clone of the `Arc` made by the caller: once the task is pushed, the executor
    /// may run and drop it, and with it possibly the last other `Arc<Shared>`.
    pub(crate) fn push_remote(this: Arc<Shared>, task: TaskRef) {
        this.remote.push(task);
        if this.closed.fetch_or(false, Ordering::AcqRel) {
            this.drain_remote();
        } else {
            this.parker.unpark();
        }
    }

    /// The block_on future's waker fired off the executor thread.
    pub(crate) fn wake_main_remote(&self) {
        self.main_woken.store(true, Ordering::Release);
        self.parker.unpark();
    }

    /// Executor thread: takes the flag set by [`Self::wake_main_remote`].
    pub(crate) fn take_main_woken(&self) -> bool {
        self.main_woken.load(Ordering::Relaxed) && self.main_woken.swap(false, Ordering::Acquire)
    }

    /// Owning thread, `Executor::new`: publishes the core for [`Shared::owner_core`] and
    /// [`Shared::home`].
    pub(crate) fn set_core(&self, core: NonNull<()>) {
        debug_assert_eq!(self.owner, thread_token());
        self.core.store(core.as_ptr(), Ordering::Relaxed);
    }

    /// Owning thread, `Executor`'s `Drop`, right before the core is freed.
    pub(crate) fn clear_core(&self) {
        debug_assert_eq!(self.owner, thread_token());
        self.core.store(std::ptr::null_mut(), Ordering::Relaxed);
    }

    /// The executor's core, if the caller is on the owning thread and the core is not freed.
    ///
    /// The pointer may be dereferenced right away, on this thread, to push onto the local queue:
    /// `core` is non-null only from `Executor::new` until the core is freed, both on the owning
    /// thread, and the core sits at a fixed heap address that whole time. So on the owning
    /// thread (the token check) the executor cannot go away under the caller. Nothing else is
    /// using its local queue either: a run loop of this executor, or its shutdown, would have
    /// been found through `CURRENT` (`core.rs`) first, and no other executor method runs user code
    /// in the middle of a queue update.
    pub(crate) fn owner_core(&self) -> Option<NonNull<()>> {
        if self.owner != thread_token() {
            return None;
        }
        self.home()
    }

    /// The same pointer without the thread check, for the side tables in the core (the join
    /// wakers, the timer wheel), looked up from something that belongs to one of its tasks.
    ///
    /// Callers are `!Send` values (`JoinHandle`, `Sleep`), so they are on the owning thread.
    /// They may dereference it only under rule C1 (`core.rs`): while they hold a task of
    /// this executor that has not completed, or a timer entry registered in its wheel.
    pub(crate) fn home(&self) -> Option<NonNull<()>> {
        debug_assert_eq!(self.owner, thread_token());
        NonNull::new(self.core.load(Ordering::Relaxed))
    }

    /// Executor thread: the next task woken remotely, if any.
    pub(crate) fn pop_remote(&self) -> Option<TaskRef> {
        self.remote.pop()
    }

    /// Executor thread, at shutdown: after this, no reference can be left in `remote`.
    pub(crate) fn close(&self) {
        self.closed.swap(true, Ordering::AcqRel);
        self.drain_remote();
    }

    /// Releases every queued reference without running the tasks (the executor is closed).
    /// May run on any thread: it only moves reference counts, and a cell freed here has no
    /// future (rule R1).
    fn drain_remote(&self) {
        while let Some(task) = self.remote.pop() {
            task.discard_queued();
        }
    }

    pub(crate) fn park(&self, timeout: Option<std::time::Duration>) {
        self.parker.park(timeout)
    }
}
