//! `Executor`: the run loop, `block_on`, `spawn`, parking, and shutdown.
//!
//! The executor is a [`Core`] on the heap (so its address is stable while `block_on` publishes
//! it in a thread-local) holding:
//!
//! - the local FIFO run queue (`queue.rs`) and the owned list of live futures (`owned.rs`);
//! - the timer (`timer.rs`): a wheel of list heads; the entries live in the `Sleep`s;
//! - the exact counters behind [`Stats`];
//! - the join wakers: for each task whose `JoinHandle` is being awaited, the awaiter's waker;
//! - an `Arc<Shared>` (`shared.rs`): the remote queue, the parker and the free counters.
//!
//! `block_on` polls its future once, then runs the loop. One turn of the loop pops the oldest
//! entry of the local queue: a task (run it) or the `block_on` future's own link, queued when
//! the future was woken (poll it). Every 61 pops, and whenever the queue is empty, the loop
//! first moves remotely woken tasks into the local queue and fires due timers. With nothing
//! runnable it parks until the timer's next slot comes due (the earliest deadline, or the
//! moment a far entry is moved down a level of the wheel) or a remote wake.

use crate::clock;
use crate::context;
use crate::error::Payload;
use crate::join::JoinHandle;
use crate::loom::Arc;
use crate::owned::OwnedList;
use crate::queue::{Entry, Link, LocalQueue};
use crate::shared::Shared;
use crate::state::{JOIN_INTEREST, TransitionToIdle, TransitionToRunning};
use crate::stats::{LocalCounters, Stats, bump};
use crate::task::{Header, Outcome, Task, TaskRef, drop_quietly};
use crate::timer::Timer;
use crate::waker;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::ptr::NonNull;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

/// How many entries the loop pops between two looks at the remote queue and the timer.
const MAINTENANCE_INTERVAL: u32 = 61;

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

/// The executor's state, reachable from the thread-local while it runs.
pub(crate) struct Core {
    shared: Arc<Shared>,
    queue: LocalQueue,
    owned: OwnedList,
    timer: RefCell<Timer>,
    counters: LocalCounters,
    /// The `block_on` future's place in the run queue.
    main_link: Link,
    main_queued: Cell<bool>,
    /// The `block_on` future's waker (a `MainWaker`), made once.
    main_waker: Waker,
    pops: Cell<u32>,
    closed: Cell<bool>,
    /// The waker of whoever awaits a task's `JoinHandle`, by task, woken when the task
    /// completes. A side table rather than a header field: only handles that are actually
    /// awaited (and pending) have an entry, so a task nobody awaits pays nothing for it, not even
    /// a hash. It is an ordinary `HashMap`: it allocates at the first await, grows with the number
    /// of handles awaited at the same time and keeps its capacity. Entries exist only for tasks
    /// that have not completed (`finish` removes a task's entry as it completes it); the table
    /// is borrowed only inside the `*_join_waker` methods, which run no user code.
    join_wakers: RefCell<HashMap<NonNull<Header>, Waker>>,
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
        let woken_locally = context::with_current(|core| match core {
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

impl Default for Executor {
    fn default() -> Executor {
        Executor::new()
    }
}

impl Executor {
    /// A new executor with no tasks.
    pub fn new() -> Executor {
        let shared = Arc::new(Shared::new());
        let executor = Executor {
            core: NonNull::from(Box::leak(Box::new(Core {
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
                join_wakers: RefCell::new(HashMap::new()),
            }))),
        };
        executor.core().shared.set_core(executor.core());
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

    /// Spawns `future` as a task: \[A\] one allocation holds it, and it goes to the back of the
    /// run queue. It first runs when the executor next runs its queue (inside `block_on`).
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.core().spawn(future)
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
        assert!(
            !context::is_running(),
            "`Executor::block_on` called while an executor is already running on this thread \
             (from inside a task or a block_on future); spawn the work or await it instead"
        );
        let core = self.core();
        let _enter = context::enter(core);
        let mut future = pin!(future);
        let mut cx = Context::from_waker(&core.main_waker);
        // A wake of a previous block_on future means nothing to this one: drop its remote flag
        // and, if it woke itself during the poll that completed it, its stale turn in the queue,
        // which would otherwise put this future ahead of tasks queued before this call.
        core.shared.take_main_woken();
        if core.main_queued.replace(false) {
            core.queue.unlink_main(&core.main_link);
        }
        core.move_remote_to_local();
        // The future's first turn is now. After that it queues like a task: at the back, each
        // time it is woken.
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        loop {
            match core.next_entry() {
                Some(Entry::Task(task)) => core.run_task(task),
                Some(Entry::Main) => {
                    core.main_queued.set(false);
                    if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                        return output;
                    }
                }
                None => core.park(),
            }
        }
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
        // the end (it contains user panics), so no timer entry and no live task points to the
        // core any more; the thread-local was restored when it returned, `clear_core` cleared
        // the last pointer (`Shared::core`), and no reference outlives this call.
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
    context::with_current(|core| {
        core.expect(
            "`executor::spawn` called outside a running executor: call it from inside \
             `Executor::block_on` or a task, or use `Executor::spawn`",
        )
        .spawn(future)
    })
}

impl Core {
    #[cfg(test)]
    pub(crate) fn main_waker_for_tests(&self) -> &Waker {
        &self.main_waker
    }

    pub(crate) fn owns_header(&self, header: &Header) -> bool {
        Arc::ptr_eq(&self.shared, &header.shared)
    }

    pub(crate) fn timer(&self) -> &RefCell<Timer> {
        &self.timer
    }

    /// Is `waker` this executor's `block_on` waker?
    pub(crate) fn is_main_waker(&self, waker: &Waker) -> bool {
        self.main_waker.will_wake(waker)
    }

    /// Wakes the `block_on` future, as its waker would.
    pub(crate) fn wake_main(&self) {
        self.main_waker.wake_by_ref();
    }

    pub(crate) fn push_local(&self, task: TaskRef) {
        self.queue.push_task(task);
    }

    /// `JoinHandle::poll`: whether the task at `ptr` already has a join waker that would wake
    /// the same task as `waker`, so the handle need not clone it.
    pub(crate) fn has_join_waker(&self, ptr: NonNull<Header>, waker: &Waker) -> bool {
        self.join_wakers
            .borrow()
            .get(&ptr)
            .is_some_and(|stored| stored.will_wake(waker))
    }

    /// `JoinHandle::poll`: makes `waker` the one woken when the task at `ptr` completes, and
    /// returns the one it replaces, for the caller to drop once the table is released. The task
    /// must not have completed: only `finish` removes entries.
    pub(crate) fn set_join_waker(&self, ptr: NonNull<Header>, waker: Waker) -> Option<Waker> {
        self.join_wakers.borrow_mut().insert(ptr, waker)
    }

    /// `finish`, or `JoinHandle`'s drop: takes the task's join waker out of the table, if it has
    /// one. Looks at the table only if it is not empty, so when no handle is being awaited this
    /// hashes nothing.
    pub(crate) fn take_join_waker(&self, ptr: NonNull<Header>) -> Option<Waker> {
        let mut table = self.join_wakers.borrow_mut();
        if table.is_empty() {
            return None;
        }
        table.remove(&ptr)
    }

    fn queue_main(&self) {
        if !self.main_queued.replace(true) {
            self.queue.push_main(&self.main_link);
        }
    }

    fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let ptr = Task::<F>::allocate(future, self.shared.clone());
        let c = &self.counters;
        bump(&c.spawned);
        c.bytes_allocated
            .set(c.bytes_allocated.get() + Task::<F>::SIZE as u64);
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

    fn move_remote_to_local(&self) {
        while let Some(task) = self.shared.pop_remote() {
            self.queue.push_task(task);
        }
        if self.shared.take_main_woken() {
            self.queue_main();
        }
    }

    fn fire_timers(&self) {
        if self.timer.borrow().is_empty() {
            return;
        }
        let now = clock::tick_of(clock::now());
        loop {
            // The borrow ends before `wake`: waking may run arbitrary waker code.
            let Some(waker) = self.timer.borrow_mut().pop_expired(now) else {
                break;
            };
            waker.wake();
        }
    }

    fn next_entry(&self) -> Option<Entry> {
        let pops = self.pops.get().wrapping_add(1);
        self.pops.set(pops);
        if pops % MAINTENANCE_INTERVAL == 0 || self.queue.len() == 0 {
            self.move_remote_to_local();
            self.fire_timers();
        }
        self.queue.pop(&self.main_link)
    }

    /// Sleeps until the timer's next tick of interest or a remote wake. A tick that only
    /// cascades entries costs a wake-up with nothing to run, at most once per level a sleep
    /// passes through (six for the longest).
    fn park(&self) {
        let timeout = self.timer.borrow().next_tick().map(|tick| {
            let at = tick.saturating_mul(clock::NANOS_PER_TICK);
            Duration::from_nanos(at.saturating_sub(clock::now()))
        });
        self.shared.park(timeout);
    }

    /// One turn for a task popped from the queue; `task` is the queue entry's reference (R2).
    fn run_task(&self, task: TaskRef) {
        let ptr = task.as_ptr();
        let header = task.header();
        match header.state.transition_to_running() {
            TransitionToRunning::AlreadyComplete => {}
            TransitionToRunning::Cancel => {
                // SAFETY: the future is still there (not COMPLETE) and not running; we are the
                // run loop on the executor thread.
                let outcome = unsafe { (header.vtable.drop_future)(ptr) };
                self.finish(ptr, outcome);
            }
            TransitionToRunning::Poll => {
                bump(&self.counters.polls);
                // SAFETY: `task` keeps a reference for the whole poll; the waker is never dropped.
                let waker = unsafe { waker::borrowed(ptr) };
                let mut cx = Context::from_waker(&waker);
                // SAFETY: RUNNING is set and we are the run loop.
                match unsafe { (header.vtable.poll)(ptr, &mut cx) } {
                    Poll::Ready(outcome) => self.finish(ptr, outcome),
                    Poll::Pending => {
                        if header.state.transition_to_idle() == TransitionToIdle::Cancelled {
                            // The task cancelled itself during the poll; the poll returned
                            // Pending, so there is no output to win: drop the future now.
                            // SAFETY: as in the `Cancel` arm.
                            let outcome = unsafe { (header.vtable.drop_future)(ptr) };
                            self.finish(ptr, outcome);
                        }
                    }
                }
            }
        }
        drop(task);
    }

    /// Bookkeeping right after [F], the future's destructor, ran: count it, mark the task
    /// COMPLETE, hand the result to the `JoinHandle` (or drop it if nobody will take it) and
    /// release the owned list's reference (R1).
    fn finish(&self, ptr: NonNull<Header>, outcome: Outcome) {
        self.count_drop(outcome);
        // SAFETY: the owned list still holds its reference (R1), so the cell is alive.
        let header = unsafe { ptr.as_ref() };
        let before = header.state.transition_to_complete();
        // SAFETY: a task is in the owned list until this point (rule O1).
        let list_ref = unsafe { self.owned.remove(ptr) };
        if before.has(JOIN_INTEREST) {
            // Out of the table before it is woken: waking runs the waker's code, which may
            // await or drop other handles of this executor.
            if let Some(waker) = self.take_join_waker(ptr) {
                waker.wake();
            }
        } else {
            // Nobody will take the output: drop it now, on the executor thread.
            let drop_output = header.vtable.drop_output;
            let dropped = catch_unwind(AssertUnwindSafe(|| {
                // SAFETY: COMPLETE is set and no handle exists; the output is ours to drop.
                unsafe { drop_output(ptr) }
            }));
            // The task has already ended; a panicking output destructor has no one to tell.
            if let Err(payload) = dropped {
                drop_quietly(payload);
            }
        }
        drop(list_ref);
    }

    /// Counts \[F\]: a future was dropped, and how it ended.
    pub(crate) fn count_drop(&self, outcome: Outcome) {
        let c = &self.counters;
        bump(&c.futures_dropped);
        bump(match outcome {
            Outcome::Completed => &c.completed,
            Outcome::Cancelled => &c.cancelled,
            Outcome::Panicked => &c.panicked,
        });
    }

    /// `JoinHandle::cancel_now`, before it drops the future (see `cancel_now.rs`): takes the task
    /// out of the executor's bookkeeping. It leaves the owned list (the list's reference, R1,
    /// comes back for the caller to release after the drop), and its entry in the local run
    /// queue, if `queued` and it is there, is unlinked and released; the awaiter's join waker,
    /// if any, comes out of the table for the caller to wake once the task is complete. Runs no
    /// user code.
    ///
    /// # Safety
    /// The task has not completed, and the caller has just claimed its future (set `RUNNING`
    /// with `State::transition_to_dropping`), so it is in the owned list (rule O1).
    pub(crate) unsafe fn release_for_cancel_now(
        &self,
        ptr: NonNull<Header>,
        queued: bool,
    ) -> (TaskRef, Option<Waker>) {
        // SAFETY: not complete, so still in the owned list (precondition).
        let list_ref = unsafe { self.owned.remove(ptr) };
        if queued {
            if let Some(entry) = self.queue.unlink_task(ptr) {
                // The list's and the caller's references remain: this does not free the cell.
                entry.discard_queued();
            }
        }
        (list_ref, self.take_join_waker(ptr))
    }

    /// Shutdown: see [`Executor::shutdown`]. Idempotent.
    ///
    /// It always runs to the end: the core may only be freed once no timer entry and no live
    /// task points to it. So the user code it runs — a waker woken by `finish`, a foreign waker
    /// dropped with a timer entry — is contained, and the first panic is returned for the
    /// caller to resume once the executor is safely gone.
    fn close(&self) -> Option<Payload> {
        if self.closed.replace(true) {
            return None;
        }
        let mut first_panic: Option<Payload> = None;
        let mut contain = |f: &mut dyn FnMut()| {
            if let Err(payload) = catch_unwind(AssertUnwindSafe(f)) {
                match first_panic {
                    None => first_panic = Some(payload),
                    Some(_) => drop_quietly(payload),
                }
            }
        };
        // Wakes caused by the destructors below must land in our local queue.
        let _enter = context::enter(self);
        // From here on no remote wake leaves a reference behind in the remote queue.
        self.shared.close();
        loop {
            // Queue entries: release their references; their futures are dropped below.
            if let Some(entry) = self.queue.pop(&self.main_link) {
                match entry {
                    Entry::Main => self.main_queued.set(false),
                    Entry::Task(task) => task.discard_queued(),
                }
                continue;
            }
            // Live futures, oldest first.
            if let Some(ptr) = self.owned.front() {
                // SAFETY: in the owned list, so alive (O1).
                let header = unsafe { ptr.as_ref() };
                header.state.set_cancelled();
                // SAFETY: the future is still there (O1) and nothing is polling it. Its
                // destructor's panics are caught inside.
                let outcome = unsafe { (header.vtable.drop_future)(ptr) };
                // `finish` wakes an awaiting handle's waker; by the time that runs, the task is
                // complete and out of the owned list, so a panic there leaves nothing half done.
                contain(&mut || self.finish(ptr, outcome));
                continue;
            }
            // Timer entries no task owned (e.g. a `Sleep` leaked with `mem::forget`, or kept
            // outside the executor).
            let waker = self.timer.borrow_mut().pop_any();
            match waker {
                Some(waker) => {
                    let mut waker = Some(waker);
                    contain(&mut || drop(waker.take()));
                }
                None => break,
            }
        }
        first_panic
    }

    /// Cells allocated and not yet freed, and their bytes.
    fn live(&self) -> (u64, u64) {
        let c = &self.counters;
        let freed = &self.shared.counters;
        // Relaxed: see `FreeCounters::record_free`.
        let tasks_freed = freed.tasks_freed.load(crate::loom::Ordering::Relaxed);
        let bytes_freed = freed.bytes_freed.load(crate::loom::Ordering::Relaxed);
        (
            c.spawned.get() - tasks_freed,
            c.bytes_allocated.get() - bytes_freed,
        )
    }

    fn stats(&self) -> Stats {
        let c = &self.counters;
        let (live_tasks, live_task_bytes) = self.live();
        Stats {
            spawned: c.spawned.get(),
            polls: c.polls.get(),
            completed: c.completed.get(),
            cancelled: c.cancelled.get(),
            panicked: c.panicked.get(),
            futures_dropped: c.futures_dropped.get(),
            tasks_freed: c.spawned.get() - live_tasks,
            live_tasks,
            peak_live_tasks: c.peak_live_tasks.get(),
            live_task_bytes,
            peak_task_bytes: c.peak_task_bytes.get(),
            timers_live: self.timer.borrow().len() as u64,
        }
    }
}
