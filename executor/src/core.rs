//! The core of the executor: what it holds, and the run loop.
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
//! `block_on` polls its future once, then runs the loop. One turn of the loop pops the oldest
//! entry of the local queue: a task (run it) or the `block_on` future's own link, queued when
//! the future was woken (poll it). Every 61 pops, and whenever the queue is empty, the loop
//! first moves remotely woken tasks into the local queue and fires due timers. With nothing
//! runnable it parks until the timer's next slot comes due (the earliest deadline, or the
//! moment a far entry is moved down a level of the wheel) or a remote wake.

use crate::clock;
use crate::context;
use crate::error::Payload;
use crate::join::{JoinHandle, JoinWakers};
use crate::loom::Arc;
use crate::owned::OwnedList;
use crate::queue::{Entry, Link, LocalQueue};
use crate::shared::Shared;
use crate::slim_waker::SlimWaker;
use crate::state::{JOIN_INTEREST, TransitionToIdle, TransitionToRunning};
use crate::stats::{LocalCounters, Stats, bump};
use crate::task::{Header, Outcome, TaskRef, drop_quietly};
use crate::waker;
use crate::wheel::Timer;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::ptr::NonNull;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

/// How many entries the loop pops between two looks at the remote queue and the timer.
const MAINTENANCE_INTERVAL: u32 = 61;

/// The executor's state, reachable from the thread-local while it runs.
///
/// # Rule C1: the core outlives its tasks and its timer entries
///
/// **C1.** The core outlives every task of this executor that has not completed, and every
/// timer entry registered in its wheel. `Executor`'s `Drop` frees the core only after `close`
/// has completed every task (dropping its future) and unregistered every timer entry, and
/// `close` always runs to the end (it contains the user panics it meets). So on the owning
/// thread, a pointer to the core (`Shared::home`, `SlimWaker::core`) may be dereferenced while
/// the caller holds a task that has not completed, or a registered entry, and runs no user code
/// that could complete or unregister it meanwhile. Every such dereference cites C1.
pub(crate) struct Core {
    pub(crate) shared: Arc<Shared>,
    queue: LocalQueue,
    owned: OwnedList,
    timer: RefCell<Timer<SlimWaker>>,
    counters: LocalCounters,
    /// The `block_on` future's place in the run queue.
    main_link: Link,
    main_queued: Cell<bool>,
    /// The `block_on` future's waker (a `MainWaker`), made once.
    main_waker: Waker,
    pops: Cell<u32>,
    closed: Cell<bool>,
    /// The waker of whoever awaits a task's `JoinHandle`, by task (`join.rs`).
    join_wakers: JoinWakers,
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

    /// `Executor::block_on`: the run loop. See its docs.
    pub(crate) fn block_on<F: Future>(&self, future: F) -> F::Output {
        assert!(
            !context::is_running(),
            "`Executor::block_on` called while an executor is already running on this thread \
             (from inside a task or a block_on future); spawn the work or await it instead"
        );
        let core = self;
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

    #[cfg(all(test, not(loom)))]
    pub(crate) fn main_waker_for_tests(&self) -> &Waker {
        &self.main_waker
    }

    pub(crate) fn owns_header(&self, header: &Header) -> bool {
        Arc::ptr_eq(&self.shared, &header.shared)
    }

    pub(crate) fn timer(&self) -> &RefCell<Timer<SlimWaker>> {
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

    /// The join-waker table (`join.rs`).
    pub(crate) fn join_wakers(&self) -> &JoinWakers {
        &self.join_wakers
    }

    fn queue_main(&self) {
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
    /// cascades entries costs a wake-up with nothing to run: once per level a sleep is moved
    /// down from, so at most five for a sleep within the wheel's 2.2-year span (one more each
    /// time the top level comes round, beyond it). `wheel.rs`'s tests count them.
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

    /// Bookkeeping right after \[F\], the future's destructor, ran: count it, mark the task
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
            if let Some(waker) = self.join_wakers.take(ptr) {
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
        (list_ref, self.join_wakers.take(ptr))
    }

    /// Shutdown: see [`Executor::shutdown`](crate::Executor::shutdown). Idempotent.
    ///
    /// It always runs to the end: the core may only be freed once no timer entry and no live
    /// task points to it. So the user code it runs — a waker woken by `finish`, a foreign waker
    /// dropped with a timer entry — is contained, and the first panic is returned for the
    /// caller to resume once the executor is safely gone.
    pub(crate) fn close(&self) -> Option<Payload> {
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

    pub(crate) fn stats(&self) -> Stats {
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

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::executor::Executor;
    use crate::state::Snapshot;
    use crate::yield_now::yield_now;
    use std::future::poll_fn;
    use std::rc::Rc;

    /// R2 counts at most two (`state.rs`): the entry the run loop popped and holds for the
    /// poll, and the new entry of a wake during that poll. With R1 and R3 that is four.
    #[test]
    fn a_task_woken_in_its_own_poll_holds_four_references() {
        let ex = Executor::new();
        let seen: Rc<Cell<Option<Snapshot>>> = Rc::default();
        let handle = ex.spawn({
            let seen = seen.clone();
            poll_fn(move |cx| {
                cx.waker().wake_by_ref();
                let header = waker::task_of(cx.waker()).expect("one of our task wakers");
                // SAFETY: the run loop holds a reference to the task for the whole poll.
                seen.set(Some(unsafe { header.as_ref() }.state.load()));
                Poll::Ready(())
            })
        });
        ex.block_on(yield_now());
        assert_eq!(
            format!("{:?}", seen.get().expect("the task was polled")),
            "Snapshot(SCHEDULED | RUNNING | JOIN_INTEREST | refs = 4)"
        );
        // The poll returned `Ready` after the wake: `SCHEDULED` and `COMPLETE` together, the
        // queued entry (R2) and the handle (R3) left.
        assert!(
            format!("{handle:?}")
                .ends_with("state: Snapshot(SCHEDULED | COMPLETE | JOIN_INTEREST | refs = 2) }"),
            "{handle:?}"
        );
        // The next tick pops the entry (`AlreadyComplete`) and drops its reference.
        ex.block_on(yield_now());
        assert!(
            format!("{handle:?}")
                .ends_with("state: Snapshot(COMPLETE | JOIN_INTEREST | refs = 1) }"),
            "{handle:?}"
        );
        assert_eq!(ex.block_on(handle).ok(), Some(()));
    }
}
