//! `register` and the done hook: a registered work is spawned, counted, polled on the next
//! tick, and leaves the scheduler however it ends — returns, panics, or is dropped by the
//! executor's shutdown.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use common::{Counts, Trace, events, pending_work, returning_work, tick, yielding_work};
use executor::{Executor, sleep};
use scheduler::{Work, WorkScheduler};

#[test]
fn register_returns_the_work_index_and_counts_the_work() {
    let ex = Executor::new();
    let trace = Trace::default();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        assert!(scheduler.is_empty());
        let work = pending_work(&trace, "a");
        let index = work.index();
        assert_eq!(scheduler.register(work), index);
        assert_eq!(scheduler.len(), 1);
        assert!(!scheduler.is_empty());
        // Spawned, not polled: the body waits for the executor's next run of its queue.
        assert_eq!(trace.events(), events(&[]));
        let counts = Counts::from(ex.stats());
        assert_eq!((counts.spawned, counts.polls, counts.live_tasks), (1, 0, 1));
    });
}

#[test]
fn indices_increase_in_creation_order_not_registration_order() {
    let ex = Executor::new();
    let trace = Trace::default();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        let a = pending_work(&trace, "a");
        let b = pending_work(&trace, "b");
        let c = pending_work(&trace, "c");
        let (ia, ib, ic) = (a.index(), b.index(), c.index());
        assert!(ia < ib && ib < ic);
        assert_eq!(scheduler.register(c), ic);
        assert_eq!(scheduler.register(a), ia);
        assert_eq!(scheduler.register(b), ib);
        assert_eq!(scheduler.len(), 3);
    });
}

#[test]
fn register_then_tick_polls_each_work_once_in_registration_order() {
    let ex = Executor::new();
    let trace = Trace::default();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        scheduler.register(yielding_work(&trace, "b"));
        scheduler.register(yielding_work(&trace, "a"));
        tick().await;
        assert_eq!(trace.events(), events(&["b polled", "a polled"]));
        tick().await;
        assert_eq!(
            trace.events(),
            events(&["b polled", "a polled", "b polled", "a polled"])
        );
        assert_eq!(scheduler.len(), 2);
        assert_eq!(ex.stats().polls, 4);
    });
}

#[test]
fn work_returns_then_its_entry_leaves() {
    let ex = Executor::new();
    let trace = Trace::default();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        let index = scheduler.register(returning_work(&trace, "a"));
        assert_eq!(scheduler.len(), 1);
        tick().await;
        assert_eq!(trace.events(), events(&["a returned", "a dropped"]));
        assert_eq!(scheduler.len(), 0);
        assert!(!scheduler.unregister(index));
        assert_eq!(
            Counts::from(ex.stats()),
            Counts {
                spawned: 1,
                polls: 1,
                completed: 1,
                cancelled: 0,
                panicked: 0,
                futures_dropped: 1,
                tasks_freed: 1,
                live_tasks: 0,
            }
        );
    });
}

#[test]
fn work_sleeps_then_returns_then_its_entry_leaves() {
    let ex = Executor::new();
    let trace = Trace::default();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        let t = trace.clone();
        scheduler.register(Work::new(move || async move {
            sleep(Duration::from_millis(1)).await;
            t.push("a woke");
        }));
        tick().await;
        assert_eq!(ex.stats().timers_live, 1);
        assert_eq!(scheduler.len(), 1);
        // Sleep past the work's deadline: the timer wakes the work first, it returns, and
        // its hook removes the entry before this future resumes.
        sleep(Duration::from_millis(5)).await;
        assert!(scheduler.is_empty());
        assert_eq!(trace.events(), events(&["a woke"]));
        let stats = ex.stats();
        assert_eq!(stats.timers_live, 0);
        assert_eq!(
            Counts::from(stats),
            Counts {
                spawned: 1,
                polls: 2,
                completed: 1,
                cancelled: 0,
                panicked: 0,
                futures_dropped: 1,
                tasks_freed: 1,
                live_tasks: 0,
            }
        );
    });
}

#[test]
fn work_panics_then_its_entry_leaves() {
    let ex = Executor::new();
    let trace = Trace::default();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        let t = trace.clone();
        scheduler.register(Work::new(move || async move {
            let _dropped = t.on_drop("a dropped");
            t.push("a panics");
            panic!("work a fails on purpose");
        }));
        scheduler.register(yielding_work(&trace, "b"));
        tick().await;
        // The panic unwinds out of a's poll and drops its locals; the executor catches it,
        // drops the future and with it the hook. b runs on regardless.
        assert_eq!(
            trace.events(),
            events(&["a panics", "a dropped", "b polled"])
        );
        assert_eq!(scheduler.len(), 1);
        assert_eq!(
            Counts::from(ex.stats()),
            Counts {
                spawned: 2,
                polls: 2,
                completed: 0,
                cancelled: 0,
                panicked: 1,
                futures_dropped: 1,
                tasks_freed: 1,
                live_tasks: 1,
            }
        );
    });
}

#[test]
fn executor_shuts_down_then_the_future_drops_before_its_entry_leaves() {
    let ex = Executor::new();
    let trace = Trace::default();
    let scheduler = WorkScheduler::new();
    ex.block_on(async {
        let t = trace.clone();
        let s = scheduler.clone();
        scheduler.register(Work::new(move || {
            // The work's own destructor reports how many entries it still sees.
            let probe = common::OnDrop::new(move || t.push(format!("a dropped, len {}", s.len())));
            async move {
                let _probe = probe;
                std::future::pending::<()>().await;
            }
        }));
        tick().await;
    });
    assert_eq!(scheduler.len(), 1);
    let stats = ex.shutdown();
    // Fields drop in declaration order: the work's future, then the hook.
    assert_eq!(trace.events(), events(&["a dropped, len 1"]));
    assert_eq!(scheduler.len(), 0);
    assert_eq!(
        Counts::from(stats),
        Counts {
            spawned: 1,
            polls: 1,
            completed: 0,
            cancelled: 1,
            panicked: 0,
            futures_dropped: 1,
            tasks_freed: 1,
            live_tasks: 0,
        }
    );
}

#[test]
fn register_outside_an_executor_panics_and_leaves_no_entry() {
    let trace = Trace::default();
    let scheduler = WorkScheduler::new();
    let work = pending_work(&trace, "a");
    let index = work.index();
    let outcome = catch_unwind(AssertUnwindSafe(|| scheduler.register(work)));
    assert!(outcome.is_err(), "executor::spawn needs a running executor");
    // The future was built, then dropped while unwinding, and its hook removed the slot
    // `register` had reserved.
    assert_eq!(trace.events(), events(&["a dropped"]));
    assert_eq!(scheduler.len(), 0);
    assert!(!scheduler.unregister(index));
}

#[test]
fn scheduler_dropped_then_its_works_run_on_detached() {
    let ex = Executor::new();
    let trace = Trace::default();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        scheduler.register(yielding_work(&trace, "a"));
        tick().await;
        drop(scheduler);
        tick().await;
        // Dropping the scheduler dropped the handle, which detaches: a still runs.
        assert_eq!(trace.events(), events(&["a polled", "a polled"]));
    });
    let stats = ex.shutdown();
    // Shutdown drops the detached work; its hook finds no scheduler and does nothing.
    assert_eq!(
        trace.events(),
        events(&["a polled", "a polled", "a dropped"])
    );
    assert_eq!(
        (stats.futures_dropped, stats.tasks_freed, stats.live_tasks),
        (1, 1, 0)
    );
}

/// A future big enough that the cell's size follows the future's size.
async fn big_pending() {
    let payload = [7u64; 8];
    std::future::pending::<()>().await;
    std::hint::black_box(payload);
}

#[test]
#[cfg(target_pointer_width = "64")]
fn registered_work_costs_sixteen_more_bytes_of_task_cell_than_a_bare_spawn() {
    let ex = Executor::new();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        let before = ex.stats().live_task_bytes;
        let bare = ex.spawn(big_pending());
        let bare_bytes = ex.stats().live_task_bytes - before;
        scheduler.register(Work::new(big_pending));
        let registered_bytes = ex.stats().live_task_bytes - before - bare_bytes;
        // The done hook: a `Weak` and the index, next to the work's future.
        assert_eq!(registered_bytes, bare_bytes + 16);
        bare.cancel();
        scheduler.stop();
    });
}

#[test]
fn works_registered_out_of_creation_order_are_found_unregistered_and_stopped() {
    // Created a, b, c, d, e; registered c, e, a, d, b. The scheduler keeps its table in index
    // (creation) order, so each late-registered older work goes to its place inside it.
    let ex = Executor::new();
    let trace = Trace::default();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        let mut works: Vec<Option<Work>> = ["a", "b", "c", "d", "e"]
            .into_iter()
            .map(|name| Some(pending_work(&trace, name)))
            .collect();
        let index: Vec<u64> = works.iter().flatten().map(Work::index).collect();
        for k in [2, 4, 0, 3, 1] {
            let work = works[k].take().unwrap();
            assert_eq!(scheduler.register(work), index[k]);
        }
        assert_eq!(scheduler.len(), 5);
        // The executor runs them in the order they were spawned, whatever their indices.
        tick().await;
        assert_eq!(
            trace.events(),
            events(&["c polled", "e polled", "a polled", "d polled", "b polled"])
        );
        // Each is found where it was put: d from the middle, then a from the front.
        assert!(scheduler.unregister(index[3]));
        assert!(!scheduler.unregister(index[3]));
        assert!(scheduler.unregister(index[0]));
        assert_eq!(scheduler.len(), 3);
        tick().await;
        assert_eq!(
            trace.events().split_off(5),
            events(&["d dropped", "a dropped"])
        );
        // `stop` cancels in index order: b, c, e, not the order they were registered in.
        scheduler.stop();
        tick().await;
        assert_eq!(
            trace.events().split_off(7),
            events(&["b dropped", "c dropped", "e dropped"])
        );
        assert_eq!(ex.stats().live_tasks, 0);
    });
}

#[test]
fn thousand_works_registered_in_shuffled_order_are_each_unregistered_once() {
    const N: usize = 1000;
    let ex = Executor::new();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        let mut works: Vec<Option<Work>> = (0..N)
            .map(|_| Some(Work::new(std::future::pending::<()>)))
            .collect();
        let index: Vec<u64> = works.iter().flatten().map(Work::index).collect();
        // 7 is coprime with N, so k -> 7k + 3 mod N visits every work once, out of order.
        let shuffled = |k: usize| (7 * k + 3) % N;
        for k in 0..N {
            let work = works[shuffled(k)].take().unwrap();
            scheduler.register(work);
            assert_eq!(scheduler.len(), k + 1);
        }
        tick().await;
        // Unregister in another order (13k + 5), each once; a second try finds nothing.
        for k in 0..N {
            let target = index[(13 * k + 5) % N];
            assert!(scheduler.unregister(target), "work {target}");
            assert!(!scheduler.unregister(target), "work {target} again");
            assert_eq!(scheduler.len(), N - k - 1);
            // `slots.rs`, rule T3: after a removal, room for at most 4 × max(len, 16).
            assert!(scheduler.capacity() <= 4 * scheduler.len().max(16));
        }
        assert!(scheduler.is_empty());
        assert_eq!(scheduler.capacity(), 16, "back to the floor");
        tick().await;
        let stats = ex.stats();
        assert_eq!(
            (stats.cancelled, stats.futures_dropped, stats.live_tasks),
            (N as u64, N as u64, 0)
        );
    });
}
