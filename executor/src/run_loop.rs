//! The run loop: `block_on`, one turn for a task, shutdown.
//!
//! `block_on` polls its future once, then runs the loop. One turn of the loop pops the oldest
//! entry of the local queue: a task (run it) or the `block_on` future's own link, queued when
//! the future was woken (poll it). Every 61 pops, and whenever the queue is empty, the loop
//! first moves remotely woken tasks into the local queue and fires due timers. With nothing
//! runnable it parks until the timer's next slot comes due (the earliest deadline, or the
//! moment a far entry is moved down a level of the wheel) or a remote wake.
//!
//! The loop is a set of methods of the [`Core`] (`core.rs`), which holds everything they work
//! on.

use crate::clock;
use crate::core::{Core, enter, is_running};
use crate::error::Payload;
use crate::queue::Entry;
use crate::state::{JOIN_INTEREST, Snapshot, TransitionToIdle, TransitionToRunning};
use crate::stats::bump;
use crate::task::{Header, Outcome, TaskRef, drop_quietly};
use crate::trace;
use crate::waker;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::ptr::NonNull;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// How many entries the loop pops between two looks at the remote queue and the timer.
const MAINTENANCE_INTERVAL: u32 = 61;

impl Core {
    /// `Executor::block_on`: the run loop. See its docs.
    pub(crate) fn block_on<F: Future>(&self, future: F) -> F::Output {
        assert!(
            !is_running(),
            "`Executor::block_on` called while an executor is already running on this thread \
             (from inside a task or a block_on future); spawn the work or await it instead"
        );
        let core = self;
        let _enter = enter(core);
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
            trace::run_queue(&self.shared, self.queue.len());
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
            // SAFETY: the future is still there (not COMPLETE) and ours (RUNNING is set); we are
            // the run loop on the executor thread, and the task is in the owned list (O1).
            TransitionToRunning::Cancel => unsafe { self.drop_future_and_finish(ptr) },
            TransitionToRunning::Poll => {
                bump(&self.counters.polls);
                trace::poll_start(header);
                // SAFETY: `task` keeps a reference for the whole poll; the waker is never dropped.
                let waker = unsafe { waker::borrowed(ptr) };
                let mut cx = Context::from_waker(&waker);
                // SAFETY: RUNNING is set and we are the run loop.
                let polled = unsafe { (header.vtable.poll)(ptr, &mut cx) };
                trace::poll_end(header, polled.is_ready());
                match polled {
                    Poll::Ready(outcome) => self.finish(ptr, outcome),
                    Poll::Pending => {
                        if header.state.transition_to_idle() == TransitionToIdle::Cancelled {
                            // The task cancelled itself during the poll; the poll returned
                            // Pending, so there is no output to win: drop the future now.
                            // SAFETY: as in the `Cancel` arm.
                            unsafe { self.drop_future_and_finish(ptr) };
                        }
                    }
                }
            }
        }
        drop(task);
    }

    /// \[F\] for a task that is not complete, then [`finish`](Self::finish). The future's
    /// destructor's panics are caught inside.
    ///
    /// # Safety
    /// The future is still there (not `COMPLETE`) and the caller has it in hand (it set
    /// `RUNNING`), on the executor thread; the task is in the owned list (O1).
    unsafe fn drop_future_and_finish(&self, ptr: NonNull<Header>) {
        // SAFETY: in the owned list, so alive (O1).
        let drop_future = unsafe { ptr.as_ref() }.vtable.drop_future;
        // SAFETY: the caller's contract: the future is there and ours to drop.
        let outcome = unsafe { drop_future(ptr) };
        self.finish(ptr, outcome);
    }

    /// Bookkeeping right after \[F\], the future's destructor, ran: count it, mark the task
    /// COMPLETE, hand the result to the `JoinHandle` (or drop it if nobody will take it) and
    /// release the owned list's reference (R1).
    fn finish(&self, ptr: NonNull<Header>, outcome: Outcome) {
        // SAFETY: the owned list still holds its reference (R1), so the cell is alive.
        let header = unsafe { ptr.as_ref() };
        self.count_drop(header, outcome);
        let before = complete(header, outcome);
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

    /// Counts \[F\]: a future was dropped, and how it ended. From now until \[M\] its cell is
    /// a husk of `header.vtable.size` bytes.
    pub(crate) fn count_drop(&self, header: &Header, outcome: Outcome) {
        let c = &self.counters;
        bump(&c.futures_dropped);
        c.husk_bytes_made
            .set(c.husk_bytes_made.get() + header.vtable.size as u64);
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
            self.discard_local_entry(ptr);
        }
        (list_ref, self.join_wakers.take(ptr))
    }

    /// `JoinHandle::cancel_now`: if the task at `ptr` has an entry in the local run queue,
    /// unlinks it and releases its reference (R2). The caller holds another reference, so this
    /// never frees the cell. Runs no user code.
    pub(crate) fn discard_local_entry(&self, ptr: NonNull<Header>) {
        if let Some(entry) = self.queue.unlink_task(ptr) {
            entry.discard_queued();
        }
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
        let _enter = enter(self);
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
                trace::cancel_by_shutdown(header);
                header.state.set_cancelled();
                // `finish` wakes an awaiting handle's waker; by the time that runs, the task is
                // complete and out of the owned list, so a panic there leaves nothing half done.
                // SAFETY: the future is still there (O1) and ours (`set_cancelled` set
                // `RUNNING`); executor thread.
                contain(&mut || unsafe { self.drop_future_and_finish(ptr) });
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
}

/// Right after \[F\], by whoever dropped the future (`finish`, `cancel_now`): records the drop
/// in the trace, sets `COMPLETE` and, if the `JoinHandle` is alive, counts the husk it now holds.
/// Returns the state before `COMPLETE`. Runs no user code and needs no core: `cancel_now` calls
/// it when the destructor may have dropped the executor.
pub(crate) fn complete(header: &Header, outcome: Outcome) -> Snapshot {
    trace::future_dropped(header, outcome);
    let before = header.state.transition_to_complete();
    if before.has(JOIN_INTEREST) {
        header.shared.husk_with_handle_made();
    }
    before
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::executor::Executor;
    use crate::yield_now::yield_now;
    use std::cell::Cell;
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
