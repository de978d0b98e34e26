//! loom model: a wake from another thread racing `JoinHandle::cancel_now`.
//!
//! A task has polled once and given its waker away; another thread wakes it while the executor
//! thread calls `cancel_now` and then drops the handle. The two sides meet only in the task's
//! state word and the remote queue. The wake may land
//!
//! - before `cancel_now` claims the future: the task is `SCHEDULED` with its entry in the
//!   remote queue (or on its way there); `cancel_now` drops the future anyway, cannot unlink a
//!   remote entry, and the run loop later finds the task `COMPLETE` and only releases it;
//! - while the future is being dropped (`RUNNING` set by `cancel_now`): the wake queues the
//!   task, with the same ending;
//! - after the task is `COMPLETE`: the wake does nothing but release its reference.
//!
//! What the models prove, for every interleaving (within the preemption bound, if one is set):
//!
//! - `cancel_now` returns `true` and the future has been dropped when it returns: exactly once,
//!   on the executor thread, never polled again;
//! - the cell is freed exactly once, wherever its last reference goes (on the executor thread
//!   with the handle or the queue entry, or on the waking thread with the waker): `Stats` says
//!   so after one tick, and loom's leak check (each cell holds a `loom::sync::Arc` of the
//!   executor's shared half) fails the model otherwise;
//! - when the cell outlives the handle, it is only because the wake's entry was in the remote
//!   queue (counted below): never because of the executor's own bookkeeping.
#![cfg(loom)]

mod loom_support;

use executor::{Executor, yield_now};
use loom::thread;
use loom_support::{DropLog, idle_task, model};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The waker is moved to the other thread and woken by value (its reference becomes the remote
/// queue entry's, or is released if the task is already queued or complete).
#[test]
fn remote_wake_races_cancel_now() {
    let held = std::sync::Arc::new(AtomicUsize::new(0));
    let held_in_model = held.clone();
    model(move || {
        let log = DropLog::new();
        let ex = Executor::new();
        let (handle, waker) = idle_task(&ex, &log);
        let waking = thread::spawn(move || waker.wake());

        assert!(handle.cancel_now(), "nobody had the future in hand");
        assert_eq!(log.drops(), 1, "dropped inside cancel_now");
        drop(handle);
        waking.join().unwrap();
        if ex.stats().live_tasks == 1 {
            // The wake's entry sits in the remote queue until the next tick.
            held_in_model.fetch_add(1, Ordering::Relaxed);
        }
        ex.block_on(yield_now());

        let stats = ex.stats();
        assert_eq!(
            (stats.spawned, stats.polls, stats.completed, stats.cancelled),
            (1, 1, 0, 1)
        );
        assert_eq!((stats.futures_dropped, stats.tasks_freed), (1, 1));
        assert_eq!((stats.live_tasks, stats.live_task_bytes), (0, 0));
        drop(ex);
        assert_eq!(log.drops(), 1);
    });
    eprintln!(
        "loom: the cell waited for the next tick (a remote entry) in {} interleavings",
        held.load(Ordering::Relaxed)
    );
}

/// The other thread wakes by reference and then drops its waker, so its reference and the
/// remote entry's are separate: the cell may be freed on either thread.
#[test]
fn remote_wake_by_ref_and_waker_drop_race_cancel_now_and_handle_drop() {
    model(|| {
        let log = DropLog::new();
        let ex = Executor::new();
        let (handle, waker) = idle_task(&ex, &log);
        let waking = thread::spawn(move || {
            waker.wake_by_ref();
            drop(waker);
        });

        assert!(handle.cancel_now());
        assert_eq!(log.drops(), 1);
        drop(handle);
        waking.join().unwrap();
        ex.block_on(yield_now());

        let stats = ex.shutdown();
        assert_eq!((stats.polls, stats.cancelled), (1, 1));
        assert_eq!((stats.futures_dropped, stats.tasks_freed), (1, 1));
        assert_eq!((stats.live_tasks, stats.live_task_bytes), (0, 0));
        assert_eq!(log.drops(), 1);
    });
}
