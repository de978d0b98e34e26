//! Wakers: a waker is a counted reference to the cell; waking a finished or
//! queued task does nothing; a waker may outlive its task and its executor; wakes from other
//! threads go through the remote queue and unpark the executor.

mod support;

use executor::{Executor, yield_now};
use std::future::{pending, poll_fn};
use std::sync::mpsc;
use std::task::{Poll, Waker};
use std::thread;
use std::time::Duration;
use support::{
    Counter, Probe, WakerSlot, assert_stats, counted, guarded, pending_with_waker, tick, within,
};

#[test]
fn wake_after_executor_dropped() {
    let probe = Probe::new();
    let slot = WakerSlot::new();
    let ex = Executor::new();
    drop(ex.spawn(guarded(probe.guard(), pending_with_waker(slot.clone()))));
    tick(&ex);
    drop(ex);
    assert_eq!(probe.drops(), 1, "the executor's drop dropped the future");
    probe.assert_dropped_on_this_thread();

    // The waker now holds the last reference to a husk whose executor is gone.
    let waker = slot.take();
    waker.wake_by_ref();
    let by_value = waker.clone();
    by_value.wake();
    let clone = waker.clone();
    assert!(clone.will_wake(&waker));
    drop(waker);
    clone.wake(); // consumes the last reference: [M] (miri reports a leak if it does not)
    assert_eq!(probe.drops(), 1, "nothing was polled or dropped again");
}

#[test]
fn wake_from_other_thread_after_shutdown_does_nothing() {
    let probe = Probe::new();
    let slot = WakerSlot::new();
    let ex = Executor::new();
    drop(ex.spawn(guarded(probe.guard(), pending_with_waker(slot.clone()))));
    tick(&ex);
    let stats = ex.shutdown();
    // The future is gone; the cell is held by the waker alone.
    assert_stats!(stats, {
        spawned: 1, polls: 1, cancelled: 1, futures_dropped: 1, tasks_freed: 0, live_tasks: 1,
    });
    let waker = slot.take();
    thread::spawn(move || {
        waker.wake_by_ref();
        waker.wake(); // the last reference goes on this other thread
    })
    .join()
    .unwrap();
    assert_eq!(probe.drops(), 1);
    probe.assert_dropped_on_this_thread();
}

#[test]
fn waker_outlives_task_frees_cell_on_last_drop() {
    let ex = Executor::new();
    let probe = Probe::new();
    let slot = WakerSlot::new();
    let h = ex.spawn({
        let slot = slot.clone();
        guarded(
            probe.guard(),
            poll_fn(move |cx| {
                slot.put(cx.waker());
                Poll::Ready(3)
            }),
        )
    });
    tick(&ex);
    assert_eq!(ex.block_on(h).unwrap(), 3);
    // [F] has happened, [M] has not: the waker keeps the husk.
    assert_eq!(probe.drops(), 1);
    let bytes = ex.stats().live_task_bytes;
    assert!(bytes > 0);
    assert_stats!(ex.stats(), {
        spawned: 1, polls: 1, completed: 1, futures_dropped: 1, tasks_freed: 0, live_tasks: 1,
    });

    let waker = slot.take();
    let clone = waker.clone();
    waker.wake_by_ref();
    tick(&ex);
    assert_stats!(ex.stats(), { polls: 1, tasks_freed: 0 });
    drop(waker);
    assert_stats!(ex.stats(), { tasks_freed: 0, live_tasks: 1, live_task_bytes: bytes });
    drop(clone);
    assert_stats!(ex.stats(), {
        spawned: 1, polls: 1, completed: 1, futures_dropped: 1, tasks_freed: 1, live_tasks: 0,
        live_task_bytes: 0, peak_task_bytes: bytes,
    });
}

#[test]
fn last_waker_dropped_on_other_thread_while_executor_lives() {
    let ex = Executor::new();
    let probe = Probe::new();
    let slot = WakerSlot::new();
    let h = ex.spawn({
        let slot = slot.clone();
        guarded(
            probe.guard(),
            poll_fn(move |cx| {
                slot.put(cx.waker());
                Poll::Ready(())
            }),
        )
    });
    ex.block_on(h).unwrap();
    assert_stats!(ex.stats(), { futures_dropped: 1, tasks_freed: 0, live_tasks: 1 });
    let waker = slot.take();
    thread::spawn(move || drop(waker)).join().unwrap();
    // The free happened on the other thread; the join makes its count visible here.
    assert_stats!(ex.stats(), {
        spawned: 1, completed: 1, futures_dropped: 1, tasks_freed: 1, live_tasks: 0,
        live_task_bytes: 0,
    });
    probe.assert_dropped_on_this_thread();
}

#[test]
fn wake_from_other_thread_unparks_executor() {
    // Rounds of: the task hands its waker to another thread and goes idle; the executor runs
    // out of work and parks (no timer: without a wake it would sleep forever); the other thread
    // wakes the task. Either order of park and wake must work, so run many rounds.
    const ROUNDS: usize = if cfg!(miri) { 8 } else { 300 };
    let (rounds, polls, stats, woken) = within(Duration::from_secs(60), || {
        let (waker_tx, waker_rx) = mpsc::channel::<Waker>();
        let waking_thread = thread::spawn(move || {
            let mut woken = 0;
            for waker in waker_rx {
                waker.wake();
                woken += 1;
            }
            woken
        });
        let ex = Executor::new();
        let polls = Counter::new();
        let h = ex.spawn(counted(polls.clone(), async move {
            for _ in 0..ROUNDS {
                let mut sent = false;
                poll_fn(|cx| {
                    if sent {
                        Poll::Ready(())
                    } else {
                        sent = true;
                        waker_tx.send(cx.waker().clone()).unwrap();
                        Poll::Pending
                    }
                })
                .await;
            }
            ROUNDS
        }));
        let rounds = ex.block_on(h).unwrap();
        let stats = ex.shutdown();
        (rounds, polls.get(), stats, waking_thread.join().unwrap())
    });
    assert_eq!(woken, ROUNDS);
    assert_eq!(rounds, ROUNDS);
    // Exactly one poll per wake, plus the first: no spurious polls.
    assert_eq!(polls, ROUNDS + 1);
    assert_stats!(stats, {
        spawned: 1, polls: ROUNDS as u64 + 1, completed: 1, futures_dropped: 1, tasks_freed: 1,
        live_tasks: 0,
    });
}

#[test]
fn wake_queued_task_does_not_queue_twice() {
    let ex = Executor::new();
    let slot = WakerSlot::new();
    let polls = Counter::new();
    let h = ex.spawn(counted(polls.clone(), pending_with_waker(slot.clone())));
    tick(&ex);
    assert_eq!(polls.get(), 1);
    let waker = slot.take();
    ex.block_on(async {
        // The first wake queues the task; the other three find it queued.
        waker.wake_by_ref();
        waker.wake_by_ref();
        let by_value = waker.clone();
        by_value.wake();
        let by_value = waker.clone();
        by_value.wake();
        yield_now().await;
        assert_eq!(polls.get(), 2);
    });
    tick(&ex);
    assert_eq!(polls.get(), 2, "no second queue entry");
    assert_stats!(ex.stats(), { polls: 2 });
    // The references taken by the wakes that found the task queued were all given back.
    drop((waker, slot.take()));
    h.cancel();
    tick(&ex);
    drop(h);
    assert_stats!(ex.stats(), { cancelled: 1, tasks_freed: 1, live_tasks: 0 });
}

#[test]
fn wake_queued_task_from_other_thread_does_not_queue_twice() {
    let ex = Executor::new();
    let slot = WakerSlot::new();
    let polls = Counter::new();
    let h = ex.spawn(counted(polls.clone(), pending_with_waker(slot.clone())));
    tick(&ex);
    let waker = slot.take();
    // The executor is not running: every wake goes to its remote queue; only the first queues.
    thread::spawn(move || {
        waker.wake_by_ref();
        waker.wake_by_ref();
        let by_value = waker.clone();
        by_value.wake();
        waker.wake();
    })
    .join()
    .unwrap();
    tick(&ex);
    assert_eq!(polls.get(), 2);
    tick(&ex);
    assert_eq!(polls.get(), 2, "no second queue entry");
    drop(slot.take());
    h.cancel();
    tick(&ex);
    drop(h);
    assert_stats!(ex.stats(), { polls: 2, cancelled: 1, tasks_freed: 1, live_tasks: 0 });
}

#[test]
fn wake_of_cancelled_task_does_not_poll_it() {
    let ex = Executor::new();
    let slot = WakerSlot::new();
    let polls = Counter::new();
    let h = ex.spawn(counted(polls.clone(), pending_with_waker(slot.clone())));
    tick(&ex);
    let waker = slot.take();
    h.cancel();
    waker.wake_by_ref(); // already queued by cancel
    tick(&ex);
    waker.wake_by_ref(); // already complete
    tick(&ex);
    assert_eq!(polls.get(), 1);
    drop((h, waker));
    assert_stats!(ex.stats(), {
        polls: 1, cancelled: 1, futures_dropped: 1, tasks_freed: 1, live_tasks: 0,
    });
}

#[test]
fn wake_by_value_and_by_ref_each_bring_an_idle_task_back() {
    let ex = Executor::new();
    let slot = WakerSlot::new();
    let polls = Counter::new();
    let h = ex.spawn(counted(polls.clone(), pending_with_waker(slot.clone())));
    tick(&ex);
    slot.take().wake_by_ref();
    tick(&ex);
    assert_eq!(polls.get(), 2);
    slot.take().wake();
    tick(&ex);
    assert_eq!(polls.get(), 3);
    drop(slot.take());
    drop(h);
    // Detached and idle with no waker anywhere: only the owned list holds it.
    assert_stats!(ex.stats(), { polls: 3, futures_dropped: 0, tasks_freed: 0, live_tasks: 1 });
    let stats = ex.shutdown();
    assert_stats!(stats, { cancelled: 1, tasks_freed: 1, live_tasks: 0 });
}

#[test]
fn wakers_of_one_task_will_wake_each_other() {
    let ex = Executor::new();
    let (a, b) = (WakerSlot::new(), WakerSlot::new());
    let ha = ex.spawn(pending_with_waker(a.clone()));
    let hb = ex.spawn(pending_with_waker(b.clone()));
    tick(&ex);
    let (a1, b1) = (a.take(), b.take());
    let a2 = a1.clone();
    assert!(a1.will_wake(&a2));
    assert!(!a1.will_wake(&b1));
    drop((a1, a2, b1));
    drop((ha, hb));
}

#[test]
fn idle_task_without_wakers_is_only_freed_by_shutdown() {
    let ex = Executor::new();
    let probe = Probe::new();
    drop(ex.spawn(guarded(probe.guard(), pending::<()>())));
    tick(&ex);
    assert_stats!(ex.stats(), { futures_dropped: 0, live_tasks: 1 });
    drop(ex);
    assert_eq!(probe.drops(), 1);
}
