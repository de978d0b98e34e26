//! Re-entrancy: the scheduler reached from inside itself — from a work's body, from the
//! work's function while `register` runs, from a future's destructor while works are being
//! cancelled. None of these may panic on a `RefCell` double borrow or leave a stale entry.

mod common;

use common::{
    Counts, OnDrop, Trace, events, pending_work, tick, work_knowing_its_index, yielding_work,
};
use executor::{Executor, yield_now};
use scheduler::{Work, WorkScheduler};

#[test]
fn work_unregisters_itself_then_its_poll_finishes_then_it_is_dropped_in_the_same_tick() {
    let ex = Executor::new();
    let trace = Trace::default();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        let (s, t) = (scheduler.clone(), trace.clone());
        scheduler.register(work_knowing_its_index(move |me| async move {
            let _dropped = t.on_drop("a dropped");
            assert!(s.unregister(me));
            t.push(format!("a unregistered itself, len {}", s.len()));
            yield_now().await;
            t.push("a resumed after unregistering itself");
        }));
        tick().await;
        // The poll that unregistered runs to its `Pending`; the executor then sees the
        // cancel and drops the future at once, in the same tick. It is never resumed.
        assert_eq!(
            trace.events(),
            events(&["a unregistered itself, len 0", "a dropped"])
        );
        tick().await;
        assert_eq!(
            trace.events(),
            events(&["a unregistered itself, len 0", "a dropped"])
        );
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
fn work_unregisters_itself_then_returns_and_its_output_wins() {
    let ex = Executor::new();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        let s = scheduler.clone();
        scheduler.register(work_knowing_its_index(move |me| async move {
            assert!(s.unregister(me));
            assert!(!s.unregister(me));
        }));
        tick().await;
        assert!(scheduler.is_empty());
        let stats = ex.stats();
        assert_eq!((stats.completed, stats.cancelled), (1, 0));
        assert_eq!(
            (stats.futures_dropped, stats.tasks_freed, stats.live_tasks),
            (1, 1, 0)
        );
    });
}

#[test]
fn work_registers_another_then_returns_then_the_other_runs_next_tick() {
    let ex = Executor::new();
    let trace = Trace::default();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        let (s, t) = (scheduler.clone(), trace.clone());
        scheduler.register(Work::new(move || async move {
            s.register(yielding_work(&t, "b"));
            t.push(format!("a registered b, len {}", s.len()));
        }));
        tick().await;
        // a's entry left as it returned; b was queued behind this tick.
        assert_eq!(trace.events(), events(&["a registered b, len 2"]));
        assert_eq!(scheduler.len(), 1);
        tick().await;
        assert_eq!(
            trace.events(),
            events(&["a registered b, len 2", "b polled"])
        );
        scheduler.stop();
        tick().await;
        assert_eq!(
            Counts::from(ex.stats()),
            Counts {
                spawned: 2,
                polls: 2,
                completed: 1,
                cancelled: 1,
                panicked: 0,
                futures_dropped: 2,
                tasks_freed: 2,
                live_tasks: 0,
            }
        );
    });
}

#[test]
fn work_registers_and_unregisters_another_in_one_poll_then_the_other_is_never_polled() {
    let ex = Executor::new();
    let trace = Trace::default();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        let (s, t) = (scheduler.clone(), trace.clone());
        scheduler.register(Work::new(move || async move {
            let b = s.register(pending_work(&t, "b"));
            assert!(s.unregister(b));
        }));
        tick().await;
        tick().await;
        assert_eq!(trace.events(), events(&["b dropped"]));
        assert!(scheduler.is_empty());
        let stats = ex.stats();
        assert_eq!((stats.spawned, stats.polls, stats.cancelled), (2, 1, 1));
        assert_eq!(
            (stats.futures_dropped, stats.tasks_freed, stats.live_tasks),
            (2, 2, 0)
        );
    });
}

#[test]
fn work_calls_stop_from_its_body_then_it_is_dropped_at_once_and_the_others_next_tick() {
    let ex = Executor::new();
    let trace = Trace::default();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        scheduler.register(pending_work(&trace, "b"));
        scheduler.register(pending_work(&trace, "c"));
        let (s, t) = (scheduler.clone(), trace.clone());
        scheduler.register(Work::new(move || async move {
            let _dropped = t.on_drop("a dropped");
            s.stop();
            t.push(format!("a stopped all, len {}", s.len()));
            std::future::pending::<()>().await;
        }));
        tick().await;
        // a cancelled itself too: it is dropped right after the poll that called `stop`;
        // b and c, idle, are queued one last time and dropped on the next tick.
        assert_eq!(
            trace.events(),
            events(&["b polled", "c polled", "a stopped all, len 0", "a dropped"])
        );
        tick().await;
        // In the order `stop` cancelled them: registration order.
        assert_eq!(
            trace.events().split_off(4),
            events(&["b dropped", "c dropped"])
        );
        assert!(scheduler.is_empty());
        assert_eq!(
            Counts::from(ex.stats()),
            Counts {
                spawned: 3,
                polls: 3,
                completed: 0,
                cancelled: 3,
                panicked: 0,
                futures_dropped: 3,
                tasks_freed: 3,
                live_tasks: 0,
            }
        );
    });
}

#[test]
fn work_function_stops_the_scheduler_while_being_registered_then_the_work_is_cancelled() {
    // The work's function runs inside `register`, after the slot is reserved and before
    // the handle is stored. `stop` takes the reserved slot; `register` then finds it gone
    // and cancels the task instead of storing a stale entry (rule S3).
    let ex = Executor::new();
    let trace = Trace::default();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        let (s, t) = (scheduler.clone(), trace.clone());
        let index = scheduler.register(Work::new(move || {
            s.stop();
            t.push(format!("a's function stopped all, len {}", s.len()));
            let dropped = t.on_drop("a dropped");
            async move {
                let _dropped = dropped;
                std::future::pending::<()>().await;
            }
        }));
        assert_eq!(scheduler.len(), 0);
        assert!(!scheduler.unregister(index));
        tick().await;
        assert_eq!(
            trace.events(),
            events(&["a's function stopped all, len 0", "a dropped"])
        );
        let stats = ex.stats();
        assert_eq!((stats.polls, stats.cancelled), (0, 1));
        assert_eq!(
            (stats.futures_dropped, stats.tasks_freed, stats.live_tasks),
            (1, 1, 0)
        );
    });
}

#[test]
fn work_function_unregisters_its_own_index_while_being_registered_then_the_work_is_cancelled() {
    let ex = Executor::new();
    let trace = Trace::default();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        let (s, t) = (scheduler.clone(), trace.clone());
        scheduler.register(work_knowing_its_index(move |me| {
            // The slot is reserved, so the index counts as registered.
            t.push(format!(
                "unregister from the function: {}",
                s.unregister(me)
            ));
            let dropped = t.on_drop("a dropped");
            async move {
                let _dropped = dropped;
                std::future::pending::<()>().await;
            }
        }));
        assert!(scheduler.is_empty());
        tick().await;
        assert_eq!(
            trace.events(),
            events(&["unregister from the function: true", "a dropped"])
        );
        assert_eq!(ex.stats().polls, 0);
        assert_eq!(ex.stats().live_tasks, 0);
    });
}

#[test]
fn work_function_registers_another_while_being_registered_then_both_run() {
    let ex = Executor::new();
    let trace = Trace::default();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        let (s, t) = (scheduler.clone(), trace.clone());
        scheduler.register(Work::new(move || {
            s.register(yielding_work(&t, "b"));
            let t = t.clone();
            async move {
                loop {
                    t.push("a polled");
                    yield_now().await;
                }
            }
        }));
        assert_eq!(scheduler.len(), 2);
        tick().await;
        // b's spawn finished first (inside a's function), so b is ahead in the queue.
        assert_eq!(trace.events(), events(&["b polled", "a polled"]));
        scheduler.stop();
        tick().await;
        assert_eq!(ex.stats().live_tasks, 0);
    });
}

#[test]
fn destructor_reaches_the_scheduler_after_stop_then_its_registration_stands() {
    // `stop` has emptied the table; a's destructor runs on the next tick, calls into the
    // scheduler (len, unregister of a work `stop` already took, register, stop of the new
    // table) with no borrow outstanding.
    let ex = Executor::new();
    let trace = Trace::default();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        let b = scheduler.register(pending_work(&trace, "b"));
        let (s, t) = (scheduler.clone(), trace.clone());
        scheduler.register(Work::new(move || {
            let probe = OnDrop::new(move || {
                t.push(format!(
                    "a dropped, len {}, b unregistered: {}",
                    s.len(),
                    s.unregister(b)
                ));
                s.register(yielding_work(&t, "c"));
                t.push(format!("a's destructor registered c, len {}", s.len()));
            });
            async move {
                let _probe = probe;
                std::future::pending::<()>().await;
            }
        }));
        tick().await;
        scheduler.stop();
        assert!(scheduler.is_empty());
        tick().await;
        // b and a dropped in the table's order, which is registration order; c was
        // registered during this tick.
        assert_eq!(
            trace.events(),
            events(&[
                "b polled",
                "b dropped",
                "a dropped, len 0, b unregistered: false",
                "a's destructor registered c, len 1",
            ])
        );
        assert_eq!(scheduler.len(), 1);
        tick().await;
        assert_eq!(trace.events().last().map(String::as_str), Some("c polled"));
        scheduler.stop();
        tick().await;
        assert_eq!(ex.stats().live_tasks, 0);
        assert!(scheduler.is_empty());
    });
}

#[test]
fn destructor_calls_stop_while_the_executor_drops_a_cancelled_work() {
    let ex = Executor::new();
    let trace = Trace::default();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        let (s, t) = (scheduler.clone(), trace.clone());
        let a = scheduler.register(Work::new(move || {
            let probe = OnDrop::new(move || {
                s.stop();
                t.push(format!("a dropped and stopped all, len {}", s.len()));
            });
            async move {
                let _probe = probe;
                std::future::pending::<()>().await;
            }
        }));
        scheduler.register(pending_work(&trace, "b"));
        tick().await;
        assert!(scheduler.unregister(a));
        assert_eq!(scheduler.len(), 1);
        tick().await;
        // a's destructor ran on this tick and stopped b, whose drop comes on the next.
        assert_eq!(
            trace.events(),
            events(&["b polled", "a dropped and stopped all, len 0"])
        );
        tick().await;
        assert_eq!(
            trace.events(),
            events(&["b polled", "a dropped and stopped all, len 0", "b dropped"])
        );
        assert_eq!(ex.stats().live_tasks, 0);
    });
}
