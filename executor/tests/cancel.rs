//! Cancellation: `cancel()` only sets a flag; the run loop drops the future on the
//! executor thread the next time it reaches the task, and the handle then yields a cancel error.

mod support;

use executor::{Executor, JoinHandle, sleep, yield_now};
use std::cell::RefCell;
use std::future::pending;
use std::rc::Rc;
use std::time::Duration;
use support::{
    Counter, Log, Probe, WakerSlot, assert_stats, counted, guarded, pending_with_waker, tick,
    yield_forever,
};

#[test]
fn cancel_before_first_poll() {
    let ex = Executor::new();
    let probe = Probe::new();
    let polls = Counter::new();
    let h = ex.spawn(counted(polls.clone(), guarded(probe.guard(), async { 1 })));
    let bytes = ex.stats().live_task_bytes;
    assert!(bytes > 0);

    h.cancel();
    assert_eq!(probe.drops(), 0, "cancel() itself never drops the future");
    assert!(!h.is_finished());

    tick(&ex);
    assert_eq!(polls.get(), 0, "a cancelled task is never polled");
    assert_eq!(
        probe.drops(),
        1,
        "the next run of the queue drops the future"
    );
    probe.assert_dropped_on_this_thread();
    assert!(h.is_finished());
    // [F] happened, [M] did not: the handle still holds the cell.
    assert_stats!(ex.stats(), {
        spawned: 1, polls: 0, completed: 0, cancelled: 1, panicked: 0, futures_dropped: 1,
        tasks_freed: 0, live_tasks: 1, peak_live_tasks: 1, live_task_bytes: bytes,
        peak_task_bytes: bytes, timers_live: 0,
    });

    let err = ex.block_on(h).unwrap_err();
    assert!(err.is_cancelled() && !err.is_panic(), "{err:?}");
    assert_stats!(ex.stats(), {
        spawned: 1, polls: 0, cancelled: 1, futures_dropped: 1, tasks_freed: 1, live_tasks: 0,
        live_task_bytes: 0, peak_task_bytes: bytes,
    });
}

#[test]
fn cancel_while_queued() {
    let ex = Executor::new();
    let probe = Probe::new();
    let polls = Counter::new();
    let h = ex.spawn(counted(
        polls.clone(),
        guarded(probe.guard(), yield_forever()),
    ));
    ex.block_on(async {
        // Main's first poll yields: queue [task, main]. The task is polled and re-queues itself
        // behind main; main resumes. The task is queued now.
        yield_now().await;
        assert_eq!(polls.get(), 1);
        h.cancel();
        assert_eq!(probe.drops(), 0, "cancel() itself never drops the future");
        // The queued task is left in its place; when the run loop reaches it, it drops it.
        yield_now().await;
        assert_eq!(probe.drops(), 1);
        assert_eq!(polls.get(), 1, "a cancelled task is never polled again");
    });
    probe.assert_dropped_on_this_thread();
    assert_stats!(ex.stats(), {
        spawned: 1, polls: 1, completed: 0, cancelled: 1, panicked: 0, futures_dropped: 1,
        tasks_freed: 0, live_tasks: 1, timers_live: 0,
    });
    assert!(ex.block_on(h).unwrap_err().is_cancelled());
    assert_stats!(ex.stats(), { tasks_freed: 1, live_tasks: 0, live_task_bytes: 0 });
}

#[test]
fn cancel_while_sleeping() {
    let ex = Executor::new();
    let probe = Probe::new();
    let h = ex.spawn(guarded(probe.guard(), sleep(Duration::from_secs(1000))));
    tick(&ex);
    assert_stats!(ex.stats(), { polls: 1, futures_dropped: 0, timers_live: 1 });

    h.cancel();
    assert_eq!(probe.drops(), 0);
    assert_eq!(
        ex.stats().timers_live,
        1,
        "nothing is dropped inside cancel()"
    );

    tick(&ex);
    assert_eq!(probe.drops(), 1);
    probe.assert_dropped_on_this_thread();
    // Dropping the future dropped its `Sleep`, which removed its timer entry at once.
    assert_stats!(ex.stats(), {
        spawned: 1, polls: 1, completed: 0, cancelled: 1, panicked: 0, futures_dropped: 1,
        tasks_freed: 0, live_tasks: 1, timers_live: 0,
    });
    assert!(ex.block_on(h).unwrap_err().is_cancelled());
    assert_stats!(ex.stats(), { tasks_freed: 1, live_tasks: 0, live_task_bytes: 0 });
}

#[test]
fn cancel_after_completion_keeps_output() {
    let ex = Executor::new();
    let future_probe = Probe::new();
    let output_probe = Probe::new();
    let output = output_probe.guard();
    let h = ex.spawn(guarded(future_probe.guard(), async move { (7, output) }));
    tick(&ex);
    assert!(h.is_finished());
    assert_eq!(future_probe.drops(), 1);

    h.cancel();
    h.cancel();
    tick(&ex);
    assert_eq!(
        output_probe.drops(),
        0,
        "cancel() after completion is a no-op"
    );
    assert_stats!(ex.stats(), {
        spawned: 1, polls: 1, completed: 1, cancelled: 0, panicked: 0, futures_dropped: 1,
        tasks_freed: 0, live_tasks: 1,
    });

    let (value, output) = ex.block_on(h).expect("the output stays");
    assert_eq!(value, 7);
    assert_eq!(output_probe.drops(), 0);
    drop(output);
    assert_eq!(output_probe.drops(), 1);
    assert_stats!(ex.stats(), { completed: 1, cancelled: 0, tasks_freed: 1, live_tasks: 0 });
}

#[test]
fn cancel_from_own_poll_pending() {
    let ex = Executor::new();
    let log = Log::new();
    let me: Rc<RefCell<Option<JoinHandle<()>>>> = Rc::default();
    let h = ex.spawn({
        let (log, me) = (log.clone(), me.clone());
        async move {
            let _on_drop = log.on_drop("future dropped");
            log.push("poll starts");
            me.borrow().as_ref().unwrap().cancel();
            log.push("cancel returned");
            let mut first = true;
            std::future::poll_fn(|_| {
                if first {
                    first = false;
                    log.push("poll returns Pending");
                }
                std::task::Poll::<()>::Pending
            })
            .await;
            unreachable!("a cancelled task is never polled again");
        }
    });
    *me.borrow_mut() = Some(h);
    ex.block_on(async {
        log.push("main polled");
        yield_now().await;
        log.push("main resumes");
    });
    // The task's poll ran to its end; the future was dropped right after it, before main resumed.
    assert_eq!(
        log.take(),
        [
            "main polled",
            "poll starts",
            "cancel returned",
            "poll returns Pending",
            "future dropped",
            "main resumes",
        ]
    );
    assert_stats!(ex.stats(), {
        spawned: 1, polls: 1, completed: 0, cancelled: 1, panicked: 0, futures_dropped: 1,
        tasks_freed: 0, live_tasks: 1,
    });
    let h = me.borrow_mut().take().unwrap();
    assert!(ex.block_on(h).unwrap_err().is_cancelled());
    assert_stats!(ex.stats(), { tasks_freed: 1, live_tasks: 0 });
}

#[test]
fn cancel_from_own_poll_ready_output_wins() {
    let ex = Executor::new();
    let probe = Probe::new();
    let me: Rc<RefCell<Option<JoinHandle<u32>>>> = Rc::default();
    let h = ex.spawn({
        let me = me.clone();
        guarded(probe.guard(), async move {
            me.borrow().as_ref().unwrap().cancel();
            42
        })
    });
    *me.borrow_mut() = Some(h);
    tick(&ex);
    assert_eq!(probe.drops(), 1);
    assert_stats!(ex.stats(), {
        spawned: 1, polls: 1, completed: 1, cancelled: 0, panicked: 0, futures_dropped: 1,
    });
    let h = me.borrow_mut().take().unwrap();
    assert!(h.is_finished());
    assert_eq!(ex.block_on(h).expect("the output wins over the cancel"), 42);
    assert_stats!(ex.stats(), { tasks_freed: 1, live_tasks: 0 });
}

#[test]
fn cancel_twice() {
    let ex = Executor::new();
    let probe = Probe::new();
    let polls = Counter::new();
    let h = ex.spawn(counted(
        polls.clone(),
        guarded(probe.guard(), pending::<()>()),
    ));
    tick(&ex);
    assert_eq!(polls.get(), 1);

    // An idle task: the first cancel queues it one last time, the second finds it queued.
    h.cancel();
    h.cancel();
    tick(&ex);
    assert_eq!(probe.drops(), 1);
    // Once more after the drop: nothing left to do.
    h.cancel();
    tick(&ex);
    assert_eq!(probe.drops(), 1);
    assert_eq!(polls.get(), 1);
    assert_stats!(ex.stats(), {
        spawned: 1, polls: 1, completed: 0, cancelled: 1, panicked: 0, futures_dropped: 1,
        tasks_freed: 0, live_tasks: 1,
    });
    let err = ex.block_on(h).unwrap_err();
    assert!(err.is_cancelled());
    // Had the second cancel added a second queue entry, its reference would keep the cell alive.
    assert_stats!(ex.stats(), { tasks_freed: 1, live_tasks: 0, live_task_bytes: 0 });
}

#[test]
fn cancel_idle_task_from_another_task_drops_it_at_its_next_turn() {
    let ex = Executor::new();
    let probe = Probe::new();
    let slot = WakerSlot::new();
    let idle = ex.spawn(guarded(probe.guard(), pending_with_waker(slot.clone())));
    let canceller = ex.spawn(async move {
        idle.cancel();
        idle.await.unwrap_err().is_cancelled()
    });
    // Main's first poll yields: queue [idle, canceller, main]. Idle parks; canceller cancels it
    // (idle goes to the back, behind main) and awaits its handle; main resumes and the tick ends.
    tick(&ex);
    assert_eq!(probe.drops(), 0, "cancel() only queued it");
    // Next tick: [idle, ..]: the run loop reaches idle and drops it, which wakes the canceller.
    tick(&ex);
    assert_eq!(probe.drops(), 1);
    assert!(slot.is_filled(), "the idle task's waker is still out there");
    assert!(ex.block_on(canceller).unwrap());
    assert_stats!(ex.stats(), {
        spawned: 2, polls: 3, completed: 1, cancelled: 1, panicked: 0, futures_dropped: 2,
        tasks_freed: 1, live_tasks: 1,
    });
    // The waker the idle task left behind is the last reference to its husk.
    drop(slot.take());
    assert_stats!(ex.stats(), { tasks_freed: 2, live_tasks: 0, live_task_bytes: 0 });
}

#[test]
fn cancelled_tasks_are_dropped_in_the_order_they_were_cancelled() {
    let ex = Executor::new();
    let log = Log::new();
    let handles: Vec<_> = (0..5)
        .map(|i| {
            let on_drop = log.on_drop(format!("dropped {i}"));
            ex.spawn(async move {
                let _on_drop = on_drop;
                pending::<()>().await
            })
        })
        .collect();
    tick(&ex);
    for i in [3, 1, 4, 0, 2] {
        handles[i].cancel();
    }
    assert!(log.take().is_empty());
    tick(&ex);
    assert_eq!(
        log.take(),
        [
            "dropped 3",
            "dropped 1",
            "dropped 4",
            "dropped 0",
            "dropped 2"
        ]
    );
    assert_stats!(ex.stats(), { spawned: 5, polls: 5, cancelled: 5, futures_dropped: 5 });
    drop(handles);
    assert_stats!(ex.stats(), { tasks_freed: 5, live_tasks: 0, peak_live_tasks: 5 });
}
