//! `stop`: every work is asked to cancel and the scheduler is empty when `stop` returns;
//! after the executor's next tick every future is dropped; the scheduler stays usable.

mod common;

use common::{Counts, Trace, events, pending_work, returning_work, tick, yielding_work};
use executor::Executor;
use scheduler::{Work, WorkScheduler};

#[test]
fn register_five_then_tick_then_stop_then_tick_drops_all_five() {
    let ex = Executor::new();
    let trace = Trace::default();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        for name in ["a", "b", "c", "d", "e"] {
            scheduler.register(pending_work(&trace, name));
        }
        tick().await;
        scheduler.stop();
        assert_eq!(scheduler.len(), 0);
        assert_eq!(ex.stats().futures_dropped, 0);
        tick().await;
        // `stop` cancels in registration order and the executor drops in cancel order.
        assert_eq!(
            trace.events().split_off(5),
            events(&[
                "a dropped",
                "b dropped",
                "c dropped",
                "d dropped",
                "e dropped"
            ])
        );
        assert_eq!(
            Counts::from(ex.stats()),
            Counts {
                spawned: 5,
                polls: 5,
                completed: 0,
                cancelled: 5,
                panicked: 0,
                futures_dropped: 5,
                tasks_freed: 5,
                live_tasks: 0,
            }
        );
    });
}

#[test]
fn register_three_then_stop_before_any_poll_drops_them_unpolled() {
    let ex = Executor::new();
    let trace = Trace::default();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        for name in ["a", "b", "c"] {
            scheduler.register(yielding_work(&trace, name));
        }
        scheduler.stop();
        assert!(scheduler.is_empty());
        tick().await;
        assert_eq!(
            trace.events(),
            events(&["a dropped", "b dropped", "c dropped"])
        );
        let stats = ex.stats();
        assert_eq!(
            (
                stats.polls,
                stats.cancelled,
                stats.tasks_freed,
                stats.live_tasks
            ),
            (0, 3, 3, 0)
        );
    });
}

#[test]
fn stop_on_an_empty_scheduler_does_nothing() {
    let ex = Executor::new();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        scheduler.stop();
        assert!(scheduler.is_empty());
        assert_eq!(scheduler.capacity(), 0);
        assert_eq!(ex.stats().spawned, 0);
    });
}

#[test]
fn stop_twice_cancels_once() {
    let ex = Executor::new();
    let trace = Trace::default();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        scheduler.register(pending_work(&trace, "a"));
        scheduler.stop();
        scheduler.stop();
        tick().await;
        scheduler.stop();
        assert_eq!(trace.events(), events(&["a dropped"]));
        let stats = ex.stats();
        assert_eq!(
            (stats.cancelled, stats.futures_dropped, stats.live_tasks),
            (1, 1, 0)
        );
    });
}

#[test]
fn two_return_then_stop_cancels_the_other_two() {
    let ex = Executor::new();
    let trace = Trace::default();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        scheduler.register(returning_work(&trace, "a"));
        scheduler.register(pending_work(&trace, "b"));
        scheduler.register(returning_work(&trace, "c"));
        scheduler.register(pending_work(&trace, "d"));
        tick().await;
        assert_eq!(scheduler.len(), 2);
        scheduler.stop();
        assert_eq!(scheduler.len(), 0);
        tick().await;
        assert_eq!(
            Counts::from(ex.stats()),
            Counts {
                spawned: 4,
                polls: 4,
                completed: 2,
                cancelled: 2,
                panicked: 0,
                futures_dropped: 4,
                tasks_freed: 4,
                live_tasks: 0,
            }
        );
    });
}

#[test]
fn stop_then_register_runs_the_new_work() {
    let ex = Executor::new();
    let trace = Trace::default();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        scheduler.register(yielding_work(&trace, "a"));
        scheduler.stop();
        assert_eq!(scheduler.capacity(), 0, "stop gives the table back");
        let b = scheduler.register(yielding_work(&trace, "b"));
        assert_eq!(scheduler.len(), 1);
        tick().await;
        tick().await;
        assert_eq!(
            trace.events(),
            events(&["a dropped", "b polled", "b polled"])
        );
        assert!(scheduler.unregister(b));
    });
}

#[test]
fn stop_through_a_clone_empties_every_clone() {
    let ex = Executor::new();
    let trace = Trace::default();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        let other = scheduler.clone();
        scheduler.register(pending_work(&trace, "a"));
        other.register(pending_work(&trace, "b"));
        assert_eq!(scheduler.len(), 2);
        other.stop();
        assert_eq!(scheduler.len(), 0);
        tick().await;
        assert_eq!(ex.stats().futures_dropped, 2);
    });
}

#[test]
fn stop_cancels_in_registration_order_and_the_executor_drops_in_that_order() {
    // Enough works for the table to grow several times, some gone before `stop` (returned
    // or unregistered, leaving tombstones inside the table and at its ends), and the rest
    // dropped by the tick after `stop` in exactly the order they were registered.
    const N: usize = 201;
    let ex = Executor::new();
    let order = Trace::default();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        let mut indices = Vec::new();
        for k in 0..N {
            let order = order.clone();
            let work = Work::new(move || {
                let dropped = order.on_drop(format!("{k}"));
                async move {
                    let _dropped = dropped;
                    if k % 7 == 3 {
                        return; // ends by itself on its first poll
                    }
                    std::future::pending::<()>().await;
                }
            });
            indices.push(scheduler.register(work));
        }
        tick().await;
        // The ones that returned were dropped on that tick, in registration order too.
        let returned: Vec<usize> = (0..N).filter(|k| k % 7 == 3).collect();
        assert_eq!(order.events(), strings(&returned));
        // Unregister the first and the last, and every fifth of the rest.
        let unregistered: Vec<usize> = (0..N)
            .filter(|&k| (k == 0 || k == N - 1 || k % 5 == 2) && k % 7 != 3)
            .collect();
        for &k in &unregistered {
            assert!(scheduler.unregister(indices[k]));
        }
        tick().await;
        let mut expected = returned.clone();
        expected.extend(&unregistered);
        assert_eq!(order.events(), strings(&expected));

        let rest: Vec<usize> = (0..N)
            .filter(|k| !returned.contains(k) && !unregistered.contains(k))
            .collect();
        assert_eq!(scheduler.len(), rest.len());
        scheduler.stop();
        assert!(scheduler.is_empty());
        tick().await;
        expected.extend(&rest);
        assert_eq!(order.events(), strings(&expected));
        assert_eq!(ex.stats().live_tasks, 0);
    });
}

/// The numbers as the strings the drop probes log.
fn strings(numbers: &[usize]) -> Vec<String> {
    numbers.iter().map(usize::to_string).collect()
}
