//! loom model: a wake from another thread racing the executor's shutdown.
//!
//! Shutdown sets the shared `closed` flag and drains the remote queue, then drops every
//! remaining future. A waker on another thread may fire before, during or after that: its push
//! onto the remote queue might come after the executor's last drain, and that entry's reference
//! would then keep the cell — and through the cell's `Arc<Shared>`, the queue holding it —
//! alive forever. `Shared::push_remote` closes the gap with a read-modify-write on `closed`
//! after the push: whichever side comes second in that location's order drains the queue.
//!
//! What the models prove, for every interleaving (within the preemption bound, if one is set):
//!
//! - the future is dropped exactly once, by shutdown, on the executor thread, whatever the
//!   other thread's wake is doing at that moment; the `JoinHandle` resolves to cancelled;
//! - nothing leaks: every cell and every `Arc<Shared>` is released once the other thread is
//!   done (loom's leak check at the end of each execution: the cell holds a
//!   `loom::sync::Arc<Shared>`, so a stranded queue entry shows up as "Arc leaked");
//! - a waker that outlives its executor may be woken and dropped on its own thread, and the
//!   last drop frees the cell there.
#![cfg(loom)]

mod loom_support;

use executor::{Executor, yield_now};
use loom::thread;
use loom_support::{DropLog, idle_task, model, poll_once, wait_forever, waker_slot};
use std::future::poll_fn;
use std::task::Poll;

/// A detached task, woken by value on another thread while the executor shuts down. The
/// cell's last reference is either a remote-queue entry drained by shutdown, or one drained
/// by the waking thread itself after it saw `closed`, or the waker dropped by a wake that found
/// the task complete.
#[test]
fn remote_wake_races_shutdown_of_detached_task() {
    model(|| {
        let log = DropLog::new();
        let ex = Executor::new();
        let slot = waker_slot();
        drop(ex.spawn(wait_forever(slot.clone(), log.guard())));
        ex.block_on(yield_now());
        let waker = slot
            .borrow_mut()
            .take()
            .expect("the first poll stored a waker");
        let waking = thread::spawn(move || waker.wake());

        let stats = ex.shutdown();
        assert_eq!(log.drops(), 1, "shutdown drops the future");
        assert_eq!(
            (
                stats.spawned,
                stats.polls,
                stats.cancelled,
                stats.futures_dropped
            ),
            (1, 1, 1, 1)
        );
        // Freed here unless the other thread still holds the waker; then it frees it.
        assert_eq!(stats.live_tasks + stats.tasks_freed, 1);
        waking.join().unwrap();
        assert_eq!(log.drops(), 1);
    });
}

/// The handle is kept: the executor is dropped while the other thread wakes by reference and
/// then drops its waker. Afterwards the handle resolves to cancelled, and the cell goes with
/// whichever of the handle and the waker is released last.
#[test]
fn remote_wake_by_ref_and_drop_race_executor_drop() {
    model(|| {
        let log = DropLog::new();
        let ex = Executor::new();
        let (mut handle, waker) = idle_task(&ex, &log);
        let waking = thread::spawn(move || {
            waker.wake_by_ref();
            drop(waker);
        });

        drop(ex);
        assert_eq!(log.drops(), 1, "dropping the executor drops the future");
        match poll_once(&mut handle) {
            Poll::Ready(Err(err)) => assert!(err.is_cancelled()),
            other => panic!("expected a cancelled handle, got {other:?}"),
        }
        drop(handle);
        waking.join().unwrap();
        assert_eq!(log.drops(), 1);
    });
}

/// The `block_on` future's waker (which holds the executor's shared half, not a task) escapes
/// to another thread and fires while the executor is dropped: a harmless flag and unpark, and
/// the shared half is released by whichever side goes last.
#[test]
fn block_on_waker_fires_while_executor_is_dropped() {
    model(|| {
        let ex = Executor::new();
        let mut waking = None;
        ex.block_on(poll_fn(|cx| {
            let waker = cx.waker().clone();
            waking = Some(thread::spawn(move || waker.wake()));
            Poll::Ready(())
        }));
        drop(ex);
        waking.take().unwrap().join().unwrap();
    });
}
