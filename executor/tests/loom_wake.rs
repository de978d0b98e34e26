//! loom model: a remote wake racing the executor's decision to park (no lost wake-up).
//!
//! The race: the executor finds its local queue empty, looks at the remote queue (and the
//! `block_on` future's remote-wake flag), finds nothing and parks on the condition variable.
//! Meanwhile another thread wakes a task: it sets `SCHEDULED`, pushes the task onto the remote
//! queue and unparks. If the push lands after the executor's look but the unpark were lost, the
//! executor would sleep forever with a runnable task. loom reports that as a deadlock: every
//! thread is blocked (the executor on the condvar, the main thread is the executor) and nobody
//! can wake it.
//!
//! What the models prove, for every interleaving (within the preemption bound, if one is set):
//!
//! - the wake is never lost: `block_on` returns (no loom deadlock);
//! - the future is polled exactly twice, and dropped exactly once, on the executor thread;
//! - the cell is freed exactly once, wherever its last reference goes: `Stats` says so after
//!   the waking thread is joined, and loom's leak check (each cell holds a `loom::sync::Arc` of
//!   the executor's shared half) fails the model if it were never freed.
//!
//! Three places the wake can come from: a task's waker moved to another thread after its first
//! poll; a task's waker picked up by another thread *while the task is still being polled*
//! (the wake finds `RUNNING` set and re-queues the task); the `block_on` future's own waker.
#![cfg(loom)]

mod loom_support;

use executor::{Executor, yield_now};
use loom::sync::{Arc, Mutex};
use loom::thread;
use loom_support::{DropLog, model, park_once, waker_slot};
use std::future::poll_fn;
use std::task::{Poll, Waker};

#[test]
fn remote_wake_of_parked_executor_is_not_lost() {
    model(|| {
        let log = DropLog::new();
        let ex = Executor::new();
        let slot = waker_slot();
        let handle = ex.spawn(park_once(slot.clone(), log.guard(), 7u32));

        ex.block_on(yield_now()); // first poll: the task hands out its waker and waits
        let waker = slot
            .borrow_mut()
            .take()
            .expect("the first poll stored a waker");
        let waking = thread::spawn(move || waker.wake());

        // Nothing is runnable until the other thread's wake arrives: the executor parks unless
        // the wake came first.
        assert_eq!(ex.block_on(handle).expect("the task completes"), 7);
        waking.join().unwrap();

        assert_eq!(log.drops(), 1);
        let stats = ex.shutdown();
        assert_eq!(
            (stats.spawned, stats.polls, stats.completed, stats.cancelled),
            (1, 2, 1, 0)
        );
        assert_eq!((stats.futures_dropped, stats.tasks_freed), (1, 1));
        assert_eq!((stats.live_tasks, stats.live_task_bytes), (0, 0));
        assert_eq!(log.drops(), 1);
    });
}

#[test]
fn remote_wake_during_the_poll_that_stored_the_waker() {
    model(|| {
        let log = DropLog::new();
        let guard = log.guard();
        let ex = Executor::new();
        // The other thread takes the waker as soon as the poll publishes it, so its wake can
        // land while the task is still RUNNING, between the poll and the park, or during the park.
        let shared_slot: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
        let waking = {
            let slot = shared_slot.clone();
            thread::spawn(move || {
                loop {
                    if let Some(waker) = slot.lock().unwrap().take() {
                        waker.wake();
                        return;
                    }
                    thread::yield_now();
                }
            })
        };
        let mut first = true;
        let handle = ex.spawn(poll_fn(move |cx| {
            let _keep = &guard;
            if std::mem::take(&mut first) {
                *shared_slot.lock().unwrap() = Some(cx.waker().clone());
                Poll::Pending
            } else {
                Poll::Ready(7u32)
            }
        }));

        assert_eq!(ex.block_on(handle).expect("the task completes"), 7);
        waking.join().unwrap();

        let stats = ex.shutdown();
        assert_eq!(
            (stats.spawned, stats.polls, stats.completed, stats.cancelled),
            (1, 2, 1, 0)
        );
        assert_eq!((stats.futures_dropped, stats.tasks_freed), (1, 1));
        assert_eq!(stats.live_tasks, 0);
        assert_eq!(log.drops(), 1);
    });
}

#[test]
fn remote_wake_of_block_on_future_is_not_lost() {
    model(|| {
        let ex = Executor::new();
        let mut waking = None;
        let out = ex.block_on(poll_fn(|cx| match waking {
            None => {
                let waker = cx.waker().clone();
                waking = Some(thread::spawn(move || waker.wake()));
                Poll::Pending
            }
            Some(_) => Poll::Ready(7u32),
        }));
        assert_eq!(out, 7);
        waking.take().unwrap().join().unwrap();
        let stats = ex.shutdown();
        assert_eq!((stats.spawned, stats.polls), (0, 0));
    });
}
