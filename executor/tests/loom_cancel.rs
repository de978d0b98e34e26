//! loom model: a wake from another thread racing `JoinHandle::cancel` and the run loop's drop.
//!
//! A task has polled once and given its waker away; another thread wakes it (by value, or by
//! reference and then drops the waker) while the executor thread cancels the task and runs its
//! queue. The two sides meet only in the task's state word and the remote queue:
//!
//! - the wake may set `SCHEDULED` before `cancel` (then `cancel` only sets `CANCELLED` and the
//!   queued entry is where the future gets dropped), or after (then `cancel` has queued the
//!   task and the wake finds it `SCHEDULED` and only releases its reference), or after the
//!   future is gone (then the wake finds `COMPLETE` and does nothing);
//! - the waker's last reference may go before or after the run loop's and the `JoinHandle`'s,
//!   so the cell is freed on either thread.
//!
//! What the models prove, for every interleaving (within the preemption bound, if one is set):
//!
//! - the future is dropped exactly once, on the executor thread, and never polled after
//!   `cancel`. It is dropped by the next run of the queue after `cancel`, except when a wake
//!   from the other thread is in flight (it has set `SCHEDULED` but not yet pushed its entry):
//!   then by the first run after that push lands (see the last model);
//! - the `JoinHandle` reports the cancel (or, where the wake let the task complete before the
//!   cancel, its output — cancel after completion is a no-op) and `Stats` agrees exactly;
//! - the cell is freed exactly once: `tasks_freed == 1` once the waking thread is joined, and
//!   loom's leak check (each cell holds a `loom::sync::Arc` of the executor's shared half) fails
//!   the model otherwise.
#![cfg(loom)]

mod loom_support;

use executor::{Executor, yield_now};
use loom::thread;
use loom_support::{DropLog, idle_task, model, park_once, waker_slot};

/// `cancel` from outside the run loop goes through the remote queue too (no executor is
/// running on the thread), so both sides push remotely; the task is never polled again.
#[test]
fn remote_wake_races_cancel_outside_the_run_loop() {
    model(|| {
        let log = DropLog::new();
        let ex = Executor::new();
        let slot = waker_slot();
        let handle = ex.spawn(park_once(slot.clone(), log.guard(), 7u32));
        ex.block_on(yield_now());
        let waker = slot
            .borrow_mut()
            .take()
            .expect("the first poll stored a waker");
        let waking = thread::spawn(move || waker.wake());

        handle.cancel();
        assert_eq!(log.drops(), 0, "cancel itself drops nothing");
        let err = ex
            .block_on(handle)
            .expect_err("cancelled before it could run again");
        assert!(err.is_cancelled());
        assert_eq!(log.drops(), 1);
        waking.join().unwrap();

        let stats = ex.shutdown();
        assert_eq!(
            (stats.spawned, stats.polls, stats.completed, stats.cancelled),
            (1, 1, 0, 1)
        );
        assert_eq!((stats.futures_dropped, stats.tasks_freed), (1, 1));
        assert_eq!((stats.live_tasks, stats.live_task_bytes), (0, 0));
        assert_eq!(log.drops(), 1);
    });
}

/// `cancel` from inside `block_on`. If the remote wake reached the run queue before the
/// `block_on` future's first poll, the task runs first and completes, and the cancel is a
/// no-op; otherwise the cancel wins. Either way: one drop, one free, and `Stats` agrees.
#[test]
fn remote_wake_races_cancel_inside_block_on() {
    model(|| {
        let log = DropLog::new();
        let ex = Executor::new();
        let slot = waker_slot();
        let handle = ex.spawn(park_once(slot.clone(), log.guard(), 7u32));
        ex.block_on(yield_now());
        let waker = slot
            .borrow_mut()
            .take()
            .expect("the first poll stored a waker");
        let waking = thread::spawn(move || waker.wake());

        let result = ex.block_on(async {
            handle.cancel();
            handle.await
        });
        assert_eq!(log.drops(), 1);
        waking.join().unwrap();

        let stats = ex.shutdown();
        match result {
            Ok(output) => {
                assert_eq!(output, 7);
                assert_eq!((stats.polls, stats.completed, stats.cancelled), (2, 1, 0));
            }
            Err(err) => {
                assert!(err.is_cancelled());
                assert_eq!((stats.polls, stats.completed, stats.cancelled), (1, 0, 1));
            }
        }
        assert_eq!(
            (stats.spawned, stats.futures_dropped, stats.tasks_freed),
            (1, 1, 1)
        );
        assert_eq!((stats.live_tasks, stats.live_task_bytes), (0, 0));
    });
}

/// A detached task (its handle dropped right after `cancel`): the last references are the run
/// loop's queue entry and owned-list entry on the executor thread and the waker on the other
/// thread, which wakes by reference and then drops it. Whoever is last frees the cell.
///
/// This model also pins down *when* the future is dropped. If the wake has set `SCHEDULED`
/// but not yet pushed its entry onto the remote queue when `cancel` runs, `cancel` sees a
/// queued task and only sets `CANCELLED`; the executor cannot find the task until the push
/// lands, so a tick that starts before that finishes without dropping the future. The drop
/// then happens in the first run of the queue after the push (which also unparks the
/// executor). What holds in every interleaving is therefore: dropped exactly once, on the
/// executor thread, never polled after `cancel`, and dropped by the first tick that starts
/// after the waking thread is done.
#[test]
fn last_waker_drop_races_run_loop_drop_of_cancelled_detached_task() {
    let late = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let late_in_model = late.clone();
    model(move || {
        let log = DropLog::new();
        let ex = Executor::new();
        let (handle, waker) = idle_task(&ex, &log);
        let waking = thread::spawn(move || {
            waker.wake_by_ref();
            drop(waker);
        });

        handle.cancel();
        drop(handle);
        ex.block_on(yield_now());
        if log.drops() == 0 {
            // The wake was in flight (see above): its entry had not reached the remote queue
            // when this tick started.
            late_in_model.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        waking.join().unwrap();
        ex.block_on(yield_now());
        assert_eq!(log.drops(), 1);

        let stats = ex.shutdown();
        assert_eq!(
            (stats.spawned, stats.polls, stats.completed, stats.cancelled),
            (1, 1, 0, 1)
        );
        assert_eq!((stats.futures_dropped, stats.tasks_freed), (1, 1));
        assert_eq!((stats.live_tasks, stats.live_task_bytes), (0, 0));
        assert_eq!(log.drops(), 1);
    });
    eprintln!(
        "loom: the cancelled future outlived the first tick after cancel in {} interleavings \
         (a wake in flight)",
        late.load(std::sync::atomic::Ordering::Relaxed)
    );
}
