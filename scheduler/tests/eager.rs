//! `unregister_now` and `stop_now`: the works' futures are dropped inside the call (with
//! `JoinHandle::cancel_now`) and their cells freed with the scheduler's handles — no tick in
//! between. Their destructors run inside the call and may call back into the scheduler:
//! register, unregister, stop, len — never a `RefCell` double-borrow panic, never a stale entry.

mod common;

use common::{
    Counts, OnDrop, Trace, events, pending_work, tick, work_knowing_its_index, yielding_work,
};
use executor::{Executor, sleep, yield_now};
use scheduler::{Work, WorkScheduler};
use std::time::Duration;

fn sleeping_work(trace: &Trace, name: &'static str) -> Work {
    let trace = trace.clone();
    Work::new(move || {
        let dropped = trace.on_drop(format!("{name} dropped"));
        async move {
            let _dropped = dropped;
            sleep(Duration::from_secs(1000)).await;
        }
    })
}

#[test]
fn unregister_now_drops_and_frees_inside_the_call() {
    let ex = Executor::new();
    let trace = Trace::default();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        let a = scheduler.register(sleeping_work(&trace, "a"));
        scheduler.register(pending_work(&trace, "b"));
        tick().await;
        assert_eq!(ex.stats().timers_live, 1);
        assert!(scheduler.unregister_now(a));
        // [F] and [M] already: no tick in between.
        assert_eq!(trace.events(), events(&["b polled", "a dropped"]));
        assert_eq!(scheduler.len(), 1);
        let stats = ex.stats();
        assert_eq!(stats.timers_live, 0);
        assert_eq!(
            Counts::from(stats),
            Counts {
                spawned: 2,
                polls: 2,
                completed: 0,
                cancelled: 1,
                panicked: 0,
                futures_dropped: 1,
                tasks_freed: 1,
                live_tasks: 1,
            }
        );
        assert!(!scheduler.unregister_now(a), "already gone");
        scheduler.stop_now();
    });
}

#[test]
fn unregister_now_of_a_work_not_yet_polled() {
    let ex = Executor::new();
    let trace = Trace::default();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        let a = scheduler.register(yielding_work(&trace, "a"));
        assert!(scheduler.unregister_now(a));
        assert_eq!(trace.events(), events(&["a dropped"]));
        assert_eq!((ex.stats().tasks_freed, ex.stats().live_tasks), (1, 0));
        tick().await;
        assert_eq!(ex.stats().polls, 0, "it left the run queue too");
    });
}

#[test]
fn stop_now_drops_every_work_in_index_order_inside_the_call() {
    let ex = Executor::new();
    let trace = Trace::default();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        for name in ["a", "b", "c", "d", "e"] {
            scheduler.register(sleeping_work(&trace, name));
        }
        tick().await;
        scheduler.stop_now();
        assert_eq!(
            trace.events(),
            events(&[
                "a dropped",
                "b dropped",
                "c dropped",
                "d dropped",
                "e dropped"
            ])
        );
        assert!(scheduler.is_empty());
        assert_eq!(scheduler.capacity(), 0);
        let stats = ex.stats();
        assert_eq!(stats.timers_live, 0);
        assert_eq!(
            Counts::from(stats),
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
fn work_calls_stop_now_from_its_body_then_the_others_go_inside_and_it_goes_after_its_poll() {
    let ex = Executor::new();
    let trace = Trace::default();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        scheduler.register(pending_work(&trace, "a"));
        let (s, t) = (scheduler.clone(), trace.clone());
        scheduler.register(Work::new(move || {
            let dropped = t.on_drop("stopper dropped");
            async move {
                let _dropped = dropped;
                yield_now().await; // a has been polled
                s.stop_now();
                t.push(format!("stopper's stop_now returned, len {}", s.len()));
                yield_now().await;
                t.push("stopper resumed");
            }
        }));
        tick().await;
        tick().await;
        assert_eq!(
            trace.events(),
            events(&[
                "a polled",
                "a dropped",
                "stopper's stop_now returned, len 0",
                "stopper dropped",
            ])
        );
        // The stopper's cell waits for its own `yield_now`'s queue entry to be popped.
        assert_eq!(ex.stats().live_tasks, 1);
        tick().await;
        assert_eq!(ex.stats().live_tasks, 0);
    });
}

#[test]
fn work_unregisters_itself_now_then_it_is_dropped_after_its_poll() {
    let ex = Executor::new();
    let trace = Trace::default();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        let (s, t) = (scheduler.clone(), trace.clone());
        scheduler.register(work_knowing_its_index(move |me| async move {
            let _dropped = t.on_drop("a dropped");
            assert!(s.unregister_now(me));
            t.push(format!("a unregistered itself now, len {}", s.len()));
            yield_now().await;
            t.push("a resumed");
        }));
        tick().await;
        assert_eq!(
            trace.events(),
            events(&["a unregistered itself now, len 0", "a dropped"])
        );
        // Its own `yield_now` queued it before the drop: that entry holds the cell one tick.
        assert_eq!((ex.stats().cancelled, ex.stats().live_tasks), (1, 1));
        tick().await;
        assert_eq!(ex.stats().live_tasks, 0);
    });
}

#[test]
fn destructors_call_back_into_the_scheduler_inside_stop_now() {
    // a's destructor runs inside `stop_now`: it reads len, unregisters b (which `stop_now` has
    // already taken: false), registers c (stopped by the same `stop_now` before it returns,
    // rule S4) and calls `stop_now` again (nested: finds c, or nothing). No double borrow.
    let ex = Executor::new();
    let trace = Trace::default();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        let b_index = std::rc::Rc::new(std::cell::Cell::new(0));
        let (s, t, b) = (scheduler.clone(), trace.clone(), b_index.clone());
        scheduler.register(Work::new(move || {
            let probe = OnDrop::new(move || {
                t.push(format!(
                    "a dropped, len {}, b unregistered: {}",
                    s.len(),
                    s.unregister_now(b.get())
                ));
                s.register(yielding_work(&t, "c"));
                t.push(format!("a's destructor registered c, len {}", s.len()));
                s.stop_now();
                t.push(format!("a's nested stop_now returned, len {}", s.len()));
            });
            async move {
                let _probe = probe;
                std::future::pending::<()>().await;
            }
        }));
        b_index.set(scheduler.register(pending_work(&trace, "b")));
        tick().await;
        scheduler.stop_now();
        assert_eq!(
            trace.events(),
            events(&[
                "b polled",
                "a dropped, len 0, b unregistered: false",
                "a's destructor registered c, len 1",
                "c dropped",
                "a's nested stop_now returned, len 0",
                "b dropped",
            ])
        );
        assert!(scheduler.is_empty());
        let stats = ex.stats();
        assert_eq!(
            (stats.spawned, stats.polls, stats.cancelled),
            (3, 2, 3),
            "c was never polled"
        );
        assert_eq!((stats.tasks_freed, stats.live_tasks), (3, 0));
    });
}

#[test]
fn destructor_unregisters_another_work_now_inside_unregister_now() {
    let ex = Executor::new();
    let trace = Trace::default();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        let b = scheduler.register(pending_work(&trace, "b"));
        let (s, t) = (scheduler.clone(), trace.clone());
        let a = scheduler.register(Work::new(move || {
            let probe = OnDrop::new(move || {
                t.push("a dropped");
                let removed = s.unregister_now(b);
                t.push(format!("a's destructor unregistered b: {removed}"));
            });
            async move {
                let _probe = probe;
                std::future::pending::<()>().await;
            }
        }));
        tick().await;
        assert!(scheduler.unregister_now(a));
        assert_eq!(
            trace.events(),
            events(&[
                "b polled",
                "a dropped",
                "b dropped",
                "a's destructor unregistered b: true"
            ])
        );
        assert!(scheduler.is_empty());
        assert_eq!(ex.stats().live_tasks, 0);
    });
}

#[test]
fn unregister_now_of_a_work_whose_function_is_still_running_is_honoured_by_register() {
    let ex = Executor::new();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        let s = scheduler.clone();
        scheduler.register(work_knowing_its_index(move |me| {
            // Inside `register`: the slot is reserved, the task does not exist yet.
            assert!(s.unregister_now(me));
            async {}
        }));
        assert!(scheduler.is_empty());
        tick().await;
        let stats = ex.stats();
        assert_eq!((stats.polls, stats.cancelled, stats.live_tasks), (0, 1, 0));
    });
}
