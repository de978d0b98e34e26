//! The core of the executor: what it holds. The run loop that drives it is in `run_loop.rs`.
//!
//! `Executor` (`executor.rs`) is the public façade; the [`Core`] is on the heap (so its address
//! is stable while `block_on` publishes it in a thread-local) holding:
//!
//! - the local FIFO run queue (`queue.rs`) and the owned list of live futures (`owned.rs`);
//! - the timer (`wheel.rs`): a wheel of list heads; the entries live in the `Sleep`s;
//! - the exact counters behind [`Stats`];
//! - the join wakers: for each task whose `JoinHandle` is being awaited, the awaiter's waker
//!   (`join.rs`);
//! - an `Arc<Shared>` (`shared.rs`): the remote queue, the parker and the free counters.
//!
//! # Which core is running on this thread, and where a wake goes
//!
//! `block_on` (and shutdown) record their executor's core in a thread-local for as long as they
//! run. Three things look it up:
//!
//! - [`schedule`]: a woken task whose executor is the one running here goes straight into the
//!   local run queue. So does one whose executor belongs to this thread but is not running
//!   right now (found through `Core::owner_of`). Any other wake — from another thread, or
//!   after the executor is gone — goes through its executor's remote queue (which, once the
//!   executor has closed, just releases the reference).
//! - the free function `spawn`, which spawns on the running executor;
//! - `Sleep`'s first poll, which registers with the running executor's timer.

use crate::join::{JoinHandle, JoinWakers};
use crate::loom::Arc;
use crate::owned::OwnedList;
use crate::queue::{Link, LocalQueue};
use crate::shared::Shared;
use crate::slim_waker::SlimWaker;
use crate::stats::{LocalCounters, Stats, bump};
use crate::task::{Header, TaskRef};
use crate::wheel::Timer;
use std::cell::{Cell, RefCell};
use std::ptr;
use std::ptr::NonNull;
use std::task::{Wake, Waker};

/// The executor's state, reachable from the thread-local while it runs.
///
/// # Rule C1: the core outlives its tasks and its timer entries
///
/// **C1.** The core outlives every task of this executor that has not completed, and every
/// timer entry registered in its wheel. `Executor`'s `Drop` frees the core only after `close`
/// has completed every task (dropping its future) and unregistered every timer entry, and
/// `close` always runs to the end (it contains the user panics it meets). So on the owning
/// thread, a pointer to the core (`Core::home_of`, `SlimWaker::core`) may be dereferenced while
/// the caller holds a task that has not completed, or a registered entry, and runs no user code
/// that could complete or unregister it meanwhile. Every such dereference cites C1.
pub(crate) struct Core {
    pub(crate) shared: Arc<Shared>,
    pub(crate) queue: LocalQueue,
    pub(crate) owned: OwnedList,
    pub(crate) timer: RefCell<Timer<SlimWaker>>,
    pub(crate) counters: LocalCounters,
    /// The `block_on` future's place in the run queue.
    pub(crate) main_link: Link,
    pub(crate) main_queued: Cell<bool>,
    /// The `block_on` future's waker (a `MainWaker`), made once.
    pub(crate) main_waker: Waker,
    pub(crate) pops: Cell<u32>,
    pub(crate) closed: Cell<bool>,
    /// The waker of whoever awaits a task's `JoinHandle`, by task (`join.rs`).
    pub(crate) join_wakers: JoinWakers,
}

/// The waker of the `block_on` future: queues the main link when woken on the executor thread
/// while it runs, and otherwise flags the wake and unparks.
struct MainWaker {
    shared: Arc<Shared>,
}

impl Wake for MainWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref()
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        let woken_locally = with_current(|core| match core {
            Some(core) if Arc::ptr_eq(&core.shared, &self.shared) => {
                core.queue_main();
                true
            }
            _ => false,
        });
        if !woken_locally {
            self.shared.wake_main_remote();
        }
    }
}

impl Core {
    /// [`Shared::owner_core`]: the core whose address `shared` keeps, if the caller is on its
    /// owning thread and it is not freed.
    pub(crate) fn owner_of(shared: &Shared) -> Option<NonNull<Core>> {
        shared.owner_core().map(NonNull::cast)
    }

    /// [`Shared::home`]: the same without the thread check; dereferenced only under rule C1.
    pub(crate) fn home_of(shared: &Shared) -> Option<NonNull<Core>> {
        shared.home().map(NonNull::cast)
    }

    /// A core with no tasks; `Executor::new` puts it on the heap and publishes its address.
    pub(crate) fn new() -> Core {
        let shared = Arc::new(Shared::new());
        Core {
            main_waker: Waker::from(std::sync::Arc::new(MainWaker {
                shared: shared.clone(),
            })),
            shared,
            queue: LocalQueue::new(),
            owned: OwnedList::new(),
            timer: RefCell::new(Timer::new()),
            counters: LocalCounters::default(),
            main_link: Link::new(),
            main_queued: Cell::new(false),
            pops: Cell::new(0),
            closed: Cell::new(false),
            join_wakers: JoinWakers::new(),
        }
    }

    #[cfg(all(test, not(loom)))]
    pub(crate) fn main_waker_for_tests(&self) -> &Waker {
        &self.main_waker
    }

    pub(crate) fn owns_header(&self, header: &Header) -> bool {
        Arc::ptr_eq(&self.shared, &header.shared)
    }

    /// Is `waker` this executor's `block_on` waker?
    pub(crate) fn is_main_waker(&self, waker: &Waker) -> bool {
        self.main_waker.will_wake(waker)
    }

    /// Wakes the `block_on` future, as its waker would.
    pub(crate) fn wake_main(&self) {
        self.main_waker.wake_by_ref();
    }

    pub(crate) fn queue_main(&self) {
        if !self.main_queued.replace(true) {
            self.queue.push_main(&self.main_link);
        }
    }

    /// Takes a freshly allocated cell of `size` bytes into the executor: counts it, links it
    /// into the owned list and the run queue, and returns its handle.
    ///
    /// # Safety
    /// `ptr` was just returned by `Task::<F>::allocate` with this core's `Shared`, with
    /// `F::Output = T`, and none of its three references has been used yet.
    pub(crate) unsafe fn adopt<T>(&self, ptr: NonNull<Header>, size: usize) -> JoinHandle<T> {
        let c = &self.counters;
        bump(&c.spawned);
        c.bytes_allocated.set(c.bytes_allocated.get() + size as u64);
        // Live only grows here, so the peaks are exact if taken at each spawn.
        let (live_tasks, live_task_bytes) = self.live();
        c.peak_live_tasks
            .set(c.peak_live_tasks.get().max(live_tasks));
        c.peak_task_bytes
            .set(c.peak_task_bytes.get().max(live_task_bytes));
        // SAFETY: `allocate` returned a cell holding three references (`state::INITIAL`); one
        // goes to each of the owned list (R1), the run queue (R2) and the handle (R3).
        unsafe {
            self.owned.push_back(TaskRef::from_raw(ptr));
            self.queue.push_task(TaskRef::from_raw(ptr));
            JoinHandle::new(ptr)
        }
    }

    /// Cells allocated and not yet freed, and their bytes.
    pub(crate) fn live(&self) -> (u64, u64) {
        let c = &self.counters;
        let (tasks_freed, bytes_freed) = self.shared.counters.freed();
        (
            c.spawned.get() - tasks_freed,
            c.bytes_allocated.get() - bytes_freed,
        )
    }

    pub(crate) fn stats(&self) -> Stats {
        let c = &self.counters;
        // One read of the free counters for the whole snapshot, so that its fields agree even
        // while other threads free cells.
        let (tasks_freed, bytes_freed) = self.shared.counters.freed();
        Stats {
            spawned: c.spawned.get(),
            polls: c.polls.get(),
            completed: c.completed.get(),
            cancelled: c.cancelled.get(),
            panicked: c.panicked.get(),
            futures_dropped: c.futures_dropped.get(),
            tasks_freed,
            live_tasks: c.spawned.get() - tasks_freed,
            peak_live_tasks: c.peak_live_tasks.get(),
            live_task_bytes: c.bytes_allocated.get() - bytes_freed,
            peak_task_bytes: c.peak_task_bytes.get(),
            timers_live: self.timer.borrow().len() as u64,
            // Husks: cells whose future is dropped and memory still held. Every freed cell was
            // a husk first (rule R1), so they are what [F] made minus what [M] took.
            husks: c.futures_dropped.get() - tasks_freed,
            husk_bytes: c.husk_bytes_made.get() - bytes_freed,
            husks_with_handle: self.shared.husks_with_handle(),
        }
    }
}

#[cfg(not(loom))]
std::thread_local! {
    static CURRENT: Cell<*const Core> = const { Cell::new(ptr::null()) };
}

#[cfg(loom)]
loom::thread_local! {
    static CURRENT: Cell<*const Core> = Cell::new(ptr::null());
}

/// Restores the previous value of `CURRENT` when dropped (also on unwind).
pub(crate) struct Enter {
    prev: *const Core,
}

impl Drop for Enter {
    fn drop(&mut self) {
        let _ = CURRENT.try_with(|c| c.set(self.prev));
    }
}

fn current_ptr() -> *const Core {
    CURRENT.try_with(Cell::get).unwrap_or(ptr::null())
}

/// Marks `core` as running on this thread until the guard drops. `block_on` first checks that
/// nothing is running ([`is_running`]); shutdown may nest inside another executor's run.
pub(crate) fn enter(core: &Core) -> Enter {
    let prev = CURRENT.with(|c| c.replace(core));
    Enter { prev }
}

/// Is any executor running on this thread?
pub(crate) fn is_running() -> bool {
    !current_ptr().is_null()
}

/// Calls `f` with the executor running on this thread, if any.
pub(crate) fn with_current<R>(f: impl FnOnce(Option<&Core>) -> R) -> R {
    let core = current_ptr();
    // SAFETY: `CURRENT` holds a non-null pointer only between `enter` and the drop of its guard,
    // and the caller of `enter` keeps the core alive for that whole time; we are on that thread.
    f(unsafe { core.as_ref() })
}

/// Queues a woken task. The caller hands over the queue entry's reference (R2) and has set
/// `SCHEDULED`.
pub(crate) fn schedule(task: TaskRef) {
    let task = with_current(|core| match core {
        Some(core) if core.owns_header(task.header()) => {
            core.queue.push_task(task);
            None
        }
        _ => Some(task),
    });
    let Some(task) = task else { return };
    if let Some(core) = Core::owner_of(&task.header().shared) {
        // SAFETY: `owner_core` returned it on this thread, just now: see its docs for why the
        // core is alive and its local queue is ours to push onto.
        unsafe { core.as_ref() }.queue.push_task(task);
        return;
    }
    let shared = task.header().shared.clone();
    Shared::push_remote(shared, task);
}
