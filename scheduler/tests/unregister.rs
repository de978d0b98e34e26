//! `unregister`: the entry leaves and the cancel is asked for at once; the future is dropped
//! on the executor's next run of its queue; the cell is freed when its last reference goes.

mod common;

use common::{Counts, Trace, events, pending_work, returning_work, tick, yielding_work};
use executor::Executor;
use scheduler::{Work, WorkScheduler};

#[test]
fn register_then_unregister_then_tick_drops_the_future_unpolled() {
    let ex = Executor::new();
    let trace = Trace::default();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        let index = scheduler.register(pending_work(&trace, "a"));
        assert!(scheduler.unregister(index));
        // Now: the entry is gone. The future is still in its cell, waiting for the executor.
        assert_eq!(scheduler.len(), 0);
        assert_eq!(trace.events(), events(&[]));
        assert_eq!(ex.stats().futures_dropped, 0);
        assert_eq!(ex.stats().live_tasks, 1);
        tick().await;
        // Next tick: dropped without ever being polled; nothing else held the cell.
        assert_eq!(trace.events(), events(&["a dropped"]));
        assert_eq!(
            Counts::from(ex.stats()),
            Counts {
                spawned: 1,
                polls: 0,
                completed: 0,
                cancelled: 1,
                panicked: 0,
                futures_dropped: 1,
                tasks_freed: 1,
                live_tasks: 0,
            }
        );
    });
}

#[test]
fn register_then_tick_then_unregister_then_tick_drops_the_polled_future() {
    let ex = Executor::new();
    let trace = Trace::default();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        let index = scheduler.register(pending_work(&trace, "a"));
        tick().await;
        assert_eq!(trace.events(), events(&["a polled"]));
        assert!(scheduler.unregister(index));
        assert_eq!(scheduler.len(), 0);
        assert_eq!(trace.events(), events(&["a polled"]));
        tick().await;
        assert_eq!(trace.events(), events(&["a polled", "a dropped"]));
        assert_eq!(
            Counts::from(ex.stats()),
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
    });
}

#[test]
fn unregister_of_an_index_never_registered_returns_false() {
    let ex = Executor::new();
    let trace = Trace::default();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        let stranger = Work::new(|| async {});
        assert!(!scheduler.unregister(stranger.index()));
        scheduler.register(pending_work(&trace, "a"));
        assert!(!scheduler.unregister(stranger.index()));
        assert_eq!(scheduler.len(), 1);
    });
}

#[test]
fn unregister_twice_returns_true_then_false() {
    let ex = Executor::new();
    let trace = Trace::default();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        let index = scheduler.register(pending_work(&trace, "a"));
        assert!(scheduler.unregister(index));
        assert!(!scheduler.unregister(index));
        tick().await;
        assert_eq!(trace.events(), events(&["a dropped"]));
        assert_eq!(ex.stats().cancelled, 1);
    });
}

#[test]
fn work_returns_then_unregister_returns_false() {
    let ex = Executor::new();
    let trace = Trace::default();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        let index = scheduler.register(returning_work(&trace, "a"));
        tick().await;
        assert!(!scheduler.unregister(index));
        assert_eq!(ex.stats().cancelled, 0);
        assert_eq!(ex.stats().completed, 1);
    });
}

#[test]
fn unregister_one_of_three_then_tick_drops_it_and_polls_the_others() {
    let ex = Executor::new();
    let trace = Trace::default();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        scheduler.register(yielding_work(&trace, "a"));
        let b = scheduler.register(yielding_work(&trace, "b"));
        scheduler.register(yielding_work(&trace, "c"));
        tick().await;
        assert!(scheduler.unregister(b));
        assert_eq!(scheduler.len(), 2);
        tick().await;
        assert_eq!(
            trace.events(),
            events(&[
                "a polled",
                "b polled",
                "c polled", // first tick
                "a polled",
                "b dropped",
                "c polled", // second tick, in queue order
            ])
        );
        let stats = ex.stats();
        assert_eq!(
            (stats.cancelled, stats.futures_dropped, stats.live_tasks),
            (1, 1, 2)
        );
    });
}

#[test]
fn unregister_then_register_reuses_the_table_without_growing_it() {
    let ex = Executor::new();
    let trace = Trace::default();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        assert_eq!(scheduler.capacity(), 0);
        let index = scheduler.register(pending_work(&trace, "a"));
        let capacity = scheduler.capacity();
        assert_eq!(capacity, 16, "room for 16 works on first use");
        assert!(scheduler.unregister(index));
        // The last entry left, but the table keeps its floor for the next work.
        assert_eq!(scheduler.capacity(), capacity);
        scheduler.register(pending_work(&trace, "b"));
        assert_eq!(scheduler.capacity(), capacity);
    });
}
