//! `Executor`: the public façade — `new`, `spawn`, `block_on`, `stats`, `shutdown` — and the
//! free function `spawn`. What they act on, and the run loop itself, is the [`Core`]
//! (`core.rs`).

use crate::core::{Core, with_current};
use crate::join::JoinHandle;
use crate::stats::Stats;
use crate::task::{Task, drop_quietly};
use std::future::Future;
use std::ptr::NonNull;

/// A single-threaded executor. See the crate docs for the lifecycle of its tasks.
///
/// `!Send + !Sync`: one thread spawns, polls and drops everything. Dropping it does what
/// [`Executor::shutdown`] does.
///
/// ```compile_fail
/// fn must_be_send<T: Send>() {}
/// must_be_send::<executor::Executor>(); // error: `NonNull<Core>` cannot be sent between threads
/// ```
pub struct Executor {
    /// The core, allocated by `Box` in `new` and freed in `drop`. A raw pointer rather than a
    /// `Box` field: a `Box` asserts unique access whenever it is moved (as `Executor` is, when
    /// `new` returns it), which would invalidate the pointers to the core that `Shared` and the
    /// thread-local keep. Only shared references to the core are ever made from it.
    /// `NonNull` is also what makes `Executor` `!Send + !Sync`.
    core: NonNull<Core>,
}

impl Default for Executor {
    fn default() -> Executor {
        Executor::new()
    }
}

impl Executor {
    /// A new executor with no tasks.
    pub fn new() -> Executor {
        let executor = Executor {
            core: NonNull::from(Box::leak(Box::new(Core::new()))),
        };
        executor
            .core()
            .shared
            .set_core(NonNull::from(executor.core()).cast());
        executor
    }

    #[cfg(all(test, not(loom)))]
    pub(crate) fn core_for_tests(&self) -> &Core {
        self.core()
    }

    fn core(&self) -> &Core {
        // SAFETY: `core` points to the `Core` leaked in `new`, which is freed only in `drop`;
        // nothing ever takes a mutable reference to it.
        unsafe { self.core.as_ref() }
    }

    /// The half that wakers share (where `trace_into` attaches its recorder).
    #[cfg(feature = "trace")]
    pub(crate) fn shared(&self) -> &crate::shared::Shared {
        &self.core().shared
    }

    /// Spawns `future` as a task: \[A\] one allocation holds it, and it goes to the back of the
    /// run queue. It first runs when the executor next runs its queue (inside `block_on`).
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let core = self.core();
        let (ptr, place) = Task::<F>::allocate(core.shared.clone());
        // SAFETY: `place` is the future's place in the cell just allocated, which nothing else
        // has touched; the future moves straight there, one copy (see `Task::allocate`).
        unsafe { std::ptr::write(place, future) };
        // SAFETY: a cell of `Task<F>` just allocated with this core's `Shared` and filled, with
        // its three references (`state::INITIAL`) untouched.
        unsafe { core.adopt(ptr, Task::<F>::SIZE) }
    }

    /// Runs `future` to completion on this thread, running every spawned task meanwhile.
    ///
    /// `future` is not a task (it is not counted in [`Stats`]) but shares the FIFO queue with
    /// the tasks: it is polled once at the start, and each time it is woken it goes to the back
    /// of the queue, behind every task runnable at that moment. So `block_on(yield_now())` is one
    /// full tick: each task runnable when it starts is polled, or if cancelled dropped, once.
    ///
    /// # Panics
    /// If an executor is already running on this thread (e.g. when called from inside a task or
    /// from another `block_on` future): nesting run loops would poll tasks re-entrantly.
    /// A panic of `future` itself propagates; panics of tasks do not (see [`JoinError`]).
    ///
    /// [`JoinError`]: crate::JoinError
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.core().block_on(future)
    }

    /// The executor's counters, now.
    pub fn stats(&self) -> Stats {
        self.core().stats()
    }

    /// Shuts the executor down and returns the final counters.
    ///
    /// Every remaining future — queued, sleeping, or detached and idle — is dropped here, on this
    /// thread, in spawn order; their `JoinHandle`s resolve to `Err(e)` with `e.is_cancelled()`.
    /// Every cell that nothing else references is freed. A cell still referenced by a
    /// `JoinHandle` or a `Waker` elsewhere is freed when that goes; the returned `live_tasks`
    /// counts them.
    ///
    /// # Panics
    /// If a waker that shutdown wakes or drops panics (an awaiting task's waker, a foreign
    /// waker a timer entry held), shutdown still finishes — every future dropped, every entry
    /// detached — and then resumes the first such panic.
    pub fn shutdown(self) -> Stats {
        let panic = self.core().close();
        let stats = self.core().stats();
        if let Some(payload) = panic {
            drop(self);
            std::panic::resume_unwind(payload);
        }
        stats
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        let panic = self.core().close();
        self.core().shared.clear_core();
        // SAFETY: `core` came from `Box::leak` in `new` and is freed only here; `close` ran to
        // the end, so no task is left uncompleted and no timer entry registered (C1); the
        // thread-local was restored when it returned, `clear_core` cleared the last pointer
        // (`Shared::core`), and no reference outlives this call.
        drop(unsafe { Box::from_raw(self.core.as_ptr()) });
        if let Some(payload) = panic {
            if std::thread::panicking() {
                drop_quietly(payload); // a second panic while unwinding would abort
            } else {
                std::panic::resume_unwind(payload);
            }
        }
    }
}

/// Spawns `future` on the executor running on this thread. See [`Executor::spawn`].
///
/// # Panics
/// If no executor is running on this thread (outside `block_on` and its tasks).
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    // The core is looked up first and the future moved only into the cell: a closure that
    // captured it would be one more copy on the stack in a debug build (`Task::allocate`).
    let core = with_current(|core| core.map(NonNull::from)).expect(
        "`executor::spawn` called outside a running executor: call it from inside \
         `Executor::block_on` or a task, or use `Executor::spawn`",
    );
    // SAFETY: the thread-local names an executor running on this thread, whose core stays
    // alive until its run returns (`with_current` in `core.rs`), and we are inside that run (a
    // task's poll or the `block_on` future); nothing below runs user code.
    let core = unsafe { core.as_ref() };
    let (ptr, place) = Task::<F>::allocate(core.shared.clone());
    // SAFETY: as in `Executor::spawn`.
    unsafe { std::ptr::write(place, future) };
    // SAFETY: as in `Executor::spawn`.
    unsafe { core.adopt(ptr, Task::<F>::SIZE) }
}
