//! A hostile review of `unregister_now` and `stop_now`: works whose destructors wake their own
//! task, and eager calls made from outside the executor's run. Exact `Stats` throughout.

mod common;

use common::{Counts, OnDrop, Trace, events, pending_work, tick};
use executor::Executor;
use scheduler::{Work, WorkScheduler};
use std::cell::RefCell;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Poll, Waker};

/// A work whose destructor wakes its own task, on this thread — as a future that holds both
/// ends of a channel does when its sender's drop wakes its own receiver.
fn self_waking_work(trace: &Trace, name: &'static str) -> Work {
    let trace = trace.clone();
    Work::new(move || {
        let slot: Rc<RefCell<Option<Waker>>> = Rc::default();
        let wake_on_drop = {
            let slot = slot.clone();
            OnDrop::new(move || {
                trace.push(format!("{name} dropped"));
                if let Some(waker) = slot.borrow_mut().take() {
                    waker.wake();
                }
            })
        };
        async move {
            let _wake_on_drop = wake_on_drop;
            poll_fn(|cx| {
                *slot.borrow_mut() = Some(cx.waker().clone());
                Poll::<()>::Pending
            })
            .await;
        }
    })
}

#[test]
fn stop_now_gives_back_the_cells_of_works_that_wake_themselves_when_dropped() {
    let ex = Executor::new();
    let trace = Trace::default();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        scheduler.register(self_waking_work(&trace, "a"));
        let b = scheduler.register(self_waking_work(&trace, "b"));
        scheduler.register(self_waking_work(&trace, "c"));
        tick().await;
        assert!(scheduler.unregister_now(b));
        assert_eq!(ex.stats().live_tasks, 2, "b's cell is back inside the call");
        scheduler.stop_now();
        assert_eq!(
            trace.events(),
            events(&["b dropped", "a dropped", "c dropped"])
        );
        // Every cell is back inside the calls: no self-wake left a queue entry holding one.
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
fn stop_now_from_outside_the_run_a_destructor_that_registers_panics_inside_the_drop() {
    // Between two `block_on`s no executor is running: the destructor's `register` (through
    // `executor::spawn`) panics; `cancel_now` contains it, the reserved slot goes with the
    // unwinding, and the scheduler is empty when `stop_now` returns.
    let ex = Executor::new();
    let trace = Trace::default();
    let scheduler = WorkScheduler::new();
    ex.block_on(async {
        let (s, t) = (scheduler.clone(), trace.clone());
        scheduler.register(Work::new(move || {
            let probe = OnDrop::new(move || {
                t.push("a dropped");
                s.register(pending_work(&t, "late"));
                t.push("unreachable: register returned");
            });
            async move {
                let _probe = probe;
                std::future::pending::<()>().await;
            }
        }));
        scheduler.register(pending_work(&trace, "b"));
        tick().await;
    });
    scheduler.stop_now();
    assert_eq!(
        trace.events(),
        events(&["b polled", "a dropped", "late dropped", "b dropped"])
    );
    assert!(scheduler.is_empty());
    let stats = ex.shutdown();
    assert_eq!(
        (
            stats.spawned,
            stats.panicked,
            stats.cancelled,
            stats.live_tasks
        ),
        (2, 1, 1, 0)
    );
}

/// A panic payload whose own destructor panics.
struct PayloadBomb;

impl Drop for PayloadBomb {
    fn drop(&mut self) {
        panic!("the panic payload's destructor panicked");
    }
}

/// A value whose destructor panics with a [`PayloadBomb`] as the payload.
struct PanicsWithABomb;

impl Drop for PanicsWithABomb {
    fn drop(&mut self) {
        std::panic::panic_any(PayloadBomb);
    }
}

#[test]
fn stop_now_stops_every_work_even_if_dropping_a_handle_panics() {
    // `cancel_now` catches the destructor's panic and keeps its payload as the output; the
    // scheduler's handle then drops that output, and the payload's destructor panics. That
    // panic must not leave the works after it in the table's snapshot detached (their handles
    // dropped during unwinding, their futures running on): each is still dropped inside the
    // call, and then the panic goes on.
    let ex = Executor::new();
    let trace = Trace::default();
    let scheduler = WorkScheduler::new();
    ex.block_on(async {
        scheduler.register(Work::new(|| async {
            let _bomb = PanicsWithABomb;
            std::future::pending::<()>().await;
        }));
        scheduler.register(pending_work(&trace, "b"));
        scheduler.register(pending_work(&trace, "c"));
        tick().await;
    });
    let escaped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| scheduler.stop_now()));
    let payload = escaped.expect_err("the payload's panic is reported");
    assert_eq!(
        payload.downcast_ref::<&str>(),
        Some(&"the panic payload's destructor panicked")
    );
    assert_eq!(
        trace.events(),
        events(&["b polled", "c polled", "b dropped", "c dropped"])
    );
    assert!(scheduler.is_empty());
    let stats = ex.stats();
    assert_eq!(
        (
            stats.panicked,
            stats.cancelled,
            stats.tasks_freed,
            stats.live_tasks
        ),
        (1, 2, 3, 0)
    );
}
