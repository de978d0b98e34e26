//! FIFO: tasks run in the order they became runnable; one `yield_now()` lets every
//! task spawned before it take its first poll; the `block_on` future takes its turn in the same
//! queue, so `block_on(yield_now())` is one full tick.

mod support;

use executor::{Executor, JoinHandle, spawn, yield_now};
use std::future::{Future, pending, poll_fn};
use std::task::Poll;
use support::{Counter, Log, Probe, WakerSlot, assert_stats, guarded, pending_with_waker, tick};

/// More than tokio's 61-poll and smol's 200-poll budgets before a yielder is resumed (and more
/// than the run loop's 61-pop maintenance interval); fewer under miri, which checks memory, not
/// budgets, and is slow.
const MANY: usize = if cfg!(miri) { 16 } else { 300 };

#[test]
fn spawned_tasks_run_before_spawner_resumes_after_one_yield() {
    let ex = Executor::new();
    let log = Log::new();
    let spawner = ex.spawn({
        let log = log.clone();
        async move {
            for i in 0..MANY {
                let log = log.clone();
                drop(spawn(async move { log.push(format!("child {i}")) }));
            }
            log.push("spawner yields");
            yield_now().await;
            log.push("spawner resumes");
        }
    });
    ex.block_on(spawner).unwrap();
    let mut expected = vec!["spawner yields".to_string()];
    expected.extend((0..MANY).map(|i| format!("child {i}")));
    expected.push("spawner resumes".into());
    assert_eq!(log.take(), expected);
    assert_stats!(ex.stats(), {
        spawned: MANY as u64 + 1, polls: MANY as u64 + 2, completed: MANY as u64 + 1,
        live_tasks: 0,
    });
}

#[test]
fn tasks_run_in_spawn_order() {
    let ex = Executor::new();
    let log = Log::new();
    for i in 0..5 {
        let log = log.clone();
        drop(ex.spawn(async move {
            log.push(format!("{i} first"));
            yield_now().await;
            log.push(format!("{i} second"));
        }));
    }
    // One tick: each task takes its first turn and yields to the back, behind the block_on
    // future, which then resumes. The next tick gives each its second turn, in the same order.
    tick(&ex);
    let first: Vec<String> = (0..5).map(|i| format!("{i} first")).collect();
    assert_eq!(log.take(), first);
    tick(&ex);
    let second: Vec<String> = (0..5).map(|i| format!("{i} second")).collect();
    assert_eq!(log.take(), second);
}

#[test]
fn woken_tasks_run_in_wake_order() {
    let ex = Executor::new();
    let log = Log::new();
    let slots: Vec<WakerSlot> = (0..4).map(|_| WakerSlot::new()).collect();
    let handles: Vec<_> = slots
        .iter()
        .enumerate()
        .map(|(i, slot)| {
            let (log, slot) = (log.clone(), slot.clone());
            ex.spawn(async move {
                log.push(format!("{i} parks"));
                support::wait_for_wake(slot).await;
                log.push(format!("{i} woken"));
            })
        })
        .collect();
    tick(&ex);
    for i in [2, 0, 3, 1] {
        slots[i].take().wake();
    }
    tick(&ex);
    assert_eq!(
        log.take(),
        [
            "0 parks", "1 parks", "2 parks", "3 parks", "2 woken", "0 woken", "3 woken", "1 woken"
        ]
    );
    drop(handles);
}

#[test]
fn yield_now_goes_behind_every_runnable_task() {
    let ex = Executor::new();
    let log = Log::new();
    let yielder = ex.spawn({
        let log = log.clone();
        async move {
            log.push("yielder before");
            // Spawned while the yielder runs: queued ahead of its re-queue.
            for name in ["a", "b"] {
                let log = log.clone();
                drop(spawn(async move { log.push(name) }));
            }
            yield_now().await;
            log.push("yielder after");
        }
    });
    ex.block_on(yielder).unwrap();
    assert_eq!(log.take(), ["yielder before", "a", "b", "yielder after"]);
}

#[test]
fn block_on_yield_now_is_one_tick() {
    // Every task runnable when `block_on` starts — freshly spawned, woken, or cancelled — gets
    // exactly one turn: a poll, or for a cancelled one the drop of its future.
    let ex = Executor::new();
    let polls = Counter::new();
    let slots: Vec<WakerSlot> = (0..MANY).map(|_| WakerSlot::new()).collect();
    let probe = Probe::new();
    let handles: Vec<_> = slots
        .iter()
        .map(|slot| {
            ex.spawn(guarded(
                probe.guard(),
                support::counted(polls.clone(), pending_with_waker(slot.clone())),
            ))
        })
        .collect();
    tick(&ex);
    assert_eq!(polls.get(), MANY, "each spawned task polled once");

    // Wake the even tasks, cancel every third.
    for (i, slot) in slots.iter().enumerate() {
        if i % 2 == 0 {
            slot.take().wake();
        }
    }
    for h in handles.iter().step_by(3) {
        h.cancel();
    }
    let woken_not_cancelled = (0..MANY).filter(|i| i % 2 == 0 && i % 3 != 0).count();
    let cancelled = (0..MANY).step_by(3).count();
    tick(&ex);
    assert_eq!(polls.get(), MANY + woken_not_cancelled);
    assert_eq!(probe.drops(), cancelled);
    tick(&ex);
    assert_eq!(
        polls.get(),
        MANY + woken_not_cancelled,
        "nothing was runnable any more"
    );
    drop(handles);
    assert_stats!(ex.stats(), {
        spawned: MANY as u64, cancelled: cancelled as u64, futures_dropped: cancelled as u64,
    });
}

#[test]
fn block_on_future_polled_first_then_queued_behind_runnable_tasks() {
    // The block_on future is polled once when `block_on` starts, then goes to the back each time
    // it is woken. So even with tasks that yield forever, `block_on(yield_now())` is one tick:
    // each of them runs exactly once between the future's first poll and its second.
    let ex = Executor::new();
    let log = Log::new();
    let handles: Vec<JoinHandle<()>> = ["a", "b", "c"]
        .into_iter()
        .map(|name| {
            let log = log.clone();
            ex.spawn(async move {
                loop {
                    log.push(name);
                    yield_now().await;
                }
            })
        })
        .collect();
    ex.block_on(async {
        log.push("main first poll");
        yield_now().await;
        log.push("main resumes");
    });
    assert_eq!(
        log.take(),
        ["main first poll", "a", "b", "c", "main resumes"]
    );
    for h in &handles {
        h.cancel();
    }
    tick(&ex);
    assert_stats!(ex.stats(), { polls: 3, cancelled: 3 });
}

/// A `block_on` future that spawns a task logging `name`, wakes itself and is done at once.
fn spawn_then_wake_self_and_finish(log: &Log, name: &'static str) -> impl Future<Output = ()> {
    let log = log.clone();
    poll_fn(move |cx| {
        let log = log.clone();
        drop(spawn(async move { log.push(name) }));
        cx.waker().wake_by_ref();
        Poll::Ready(())
    })
}

#[test]
fn block_on_future_that_woke_itself_leaves_no_stale_turn() {
    // A block_on future that wakes itself during the poll that completes it leaves a turn in
    // the queue. When the next block_on future yields, it must still go behind every task
    // queued before the call, wherever that stale turn sits.
    let ex = Executor::new();
    let log = Log::new();

    // The stale turn at the back of the queue: [x, stale].
    ex.block_on(spawn_then_wake_self_and_finish(&log, "x"));
    ex.block_on(async {
        yield_now().await;
        log.push("main")
    });
    assert_eq!(log.take(), ["x", "main"]);

    // In the middle: [x, stale, y].
    ex.block_on(spawn_then_wake_self_and_finish(&log, "x"));
    drop(ex.spawn({
        let log = log.clone();
        async move { log.push("y") }
    }));
    ex.block_on(async {
        yield_now().await;
        log.push("main")
    });
    assert_eq!(log.take(), ["x", "y", "main"]);

    // Left by a block_on future that panicked after waking itself: [stale, z].
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ex.block_on(poll_fn(|cx| -> Poll<()> {
            cx.waker().wake_by_ref();
            panic!("main panics after waking itself")
        }))
    }));
    assert!(caught.is_err());
    drop(ex.spawn({
        let log = log.clone();
        async move { log.push("z") }
    }));
    ex.block_on(async {
        yield_now().await;
        log.push("main")
    });
    assert_eq!(log.take(), ["z", "main"]);
    assert_stats!(ex.stats(), { spawned: 4, polls: 4, completed: 4, live_tasks: 0 });
}

#[test]
fn cancelled_task_is_dropped_in_its_queue_position() {
    let ex = Executor::new();
    let log = Log::new();
    let a = ex.spawn({
        let on_drop = log.on_drop("a dropped");
        async move {
            let _on_drop = on_drop;
            pending::<()>().await
        }
    });
    let b = ex.spawn({
        let log = log.clone();
        async move { log.push("b polled") }
    });
    a.cancel();
    tick(&ex);
    assert_eq!(log.take(), ["a dropped", "b polled"]);
    drop((a, b));
}
