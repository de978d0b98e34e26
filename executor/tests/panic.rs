//! Panics: a panic in a task's poll or in its future's destructor is caught and
//! reported through the handle; misuse (`block_on` inside a task, `spawn` or a `Sleep`'s first
//! poll outside an executor) panics with a message that says so.

mod support;

use executor::{Executor, sleep, spawn, yield_now};
use std::future::{Future, pending};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use support::{Log, Probe, assert_stats, guarded, tick};

/// A value whose destructor panics.
struct PanicOnDrop(&'static str);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("{}", self.0);
    }
}

#[test]
fn panic_in_poll_is_caught() {
    let ex = Executor::new();
    let probe = Probe::new();
    let log = Log::new();
    let bad = ex.spawn(guarded(probe.guard(), async {
        yield_now().await;
        panic!("boom in poll");
    }));
    let good = ex.spawn({
        let log = log.clone();
        async move {
            for i in 0..3 {
                log.push(format!("good {i}"));
                yield_now().await;
            }
            "good done"
        }
    });
    let err = ex.block_on(bad).unwrap_err();
    assert!(err.is_panic() && !err.is_cancelled());
    assert_eq!(err.to_string(), "task panicked: boom in poll");
    assert_eq!(probe.drops(), 1, "the panicked future was dropped");
    probe.assert_dropped_on_this_thread();
    // The other task kept running.
    assert_eq!(ex.block_on(good).unwrap(), "good done");
    assert_eq!(log.take(), ["good 0", "good 1", "good 2"]);
    assert_stats!(ex.stats(), {
        spawned: 2, polls: 6, completed: 1, cancelled: 0, panicked: 1, futures_dropped: 2,
        tasks_freed: 2, live_tasks: 0,
    });
}

#[test]
fn panic_in_drop_during_cancel_is_caught() {
    let ex = Executor::new();
    let probe = Probe::new();
    let guard = probe.guard();
    let h = ex.spawn(async move {
        // Dropped in reverse order of declaration: the panicking one first, then `guard`.
        let _guard = guard;
        let _bomb = PanicOnDrop("boom in drop");
        pending::<()>().await
    });
    tick(&ex);
    h.cancel();
    tick(&ex);
    // The drop glue went on past the panic: the rest of the future was dropped too.
    assert_eq!(probe.drops(), 1);
    assert_stats!(ex.stats(), {
        spawned: 1, polls: 1, completed: 0, cancelled: 0, panicked: 1, futures_dropped: 1,
        tasks_freed: 0, live_tasks: 1,
    });
    let err = ex.block_on(h).unwrap_err();
    assert!(err.is_panic(), "{err:?}");
    assert_eq!(err.to_string(), "task panicked: boom in drop");
    assert_stats!(ex.stats(), { tasks_freed: 1, live_tasks: 0 });
}

/// Ready with its output on the first poll; its own destructor panics afterwards. (An async
/// block cannot do this: its locals are dropped inside the poll that returns `Ready`.)
struct ReadyThenPanicOnDrop<T> {
    output: Option<T>,
    _bomb: PanicOnDrop,
}

impl<T: Unpin> Future for ReadyThenPanicOnDrop<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<T> {
        Poll::Ready(self.get_mut().output.take().expect("polled after Ready"))
    }
}

/// Panics in `poll`, and again in its destructor. (In an async block the second panic would
/// come while the first unwinds through the block's locals, and abort.)
struct PanicInPollAndDrop {
    _bomb: PanicOnDrop,
}

impl Future for PanicInPollAndDrop {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        panic!("first");
    }
}

#[test]
fn panic_in_drop_after_ready_is_caught_and_the_output_dropped() {
    let ex = Executor::new();
    let output_probe = Probe::new();
    let h = ex.spawn(ReadyThenPanicOnDrop {
        output: Some(output_probe.guard()),
        _bomb: PanicOnDrop("boom after ready"),
    });
    let err = ex.block_on(h).unwrap_err();
    assert_eq!(err.to_string(), "task panicked: boom after ready");
    assert_eq!(
        output_probe.drops(),
        1,
        "the output nobody can take was dropped"
    );
    output_probe.assert_dropped_on_this_thread();
    assert_stats!(ex.stats(), {
        polls: 1, completed: 0, panicked: 1, futures_dropped: 1, tasks_freed: 1, live_tasks: 0,
    });
}

#[test]
fn panic_in_poll_then_in_drop_reports_the_poll_panic() {
    let ex = Executor::new();
    let h = ex.spawn(PanicInPollAndDrop {
        _bomb: PanicOnDrop("second"),
    });
    let err = ex.block_on(h).unwrap_err();
    assert_eq!(err.to_string(), "task panicked: first");
    assert_stats!(ex.stats(), { panicked: 1, futures_dropped: 1, tasks_freed: 1 });
}

#[test]
fn panic_in_drop_during_shutdown_is_caught() {
    let ex = Executor::new();
    let probe = Probe::new();
    let guard = probe.guard();
    let bad = ex.spawn(async move {
        let _guard = guard;
        let _bomb = PanicOnDrop("boom at shutdown");
        pending::<()>().await
    });
    let fine = ex.spawn(pending::<()>());
    tick(&ex);
    let stats = ex.shutdown();
    assert_eq!(probe.drops(), 1);
    assert_stats!(stats, {
        spawned: 2, cancelled: 1, panicked: 1, futures_dropped: 2, tasks_freed: 0,
        live_tasks: 2,
    });
    assert!(futures::executor::block_on(bad).unwrap_err().is_panic());
    assert!(
        futures::executor::block_on(fine)
            .unwrap_err()
            .is_cancelled()
    );
}

#[test]
fn panic_in_output_drop_of_detached_task_is_contained() {
    let ex = Executor::new();
    drop(ex.spawn(async { PanicOnDrop("boom in output") }));
    let after = ex.spawn(async { 1 });
    // The detached task's output is dropped at completion; its panic has no one to go to.
    assert_eq!(ex.block_on(after).unwrap(), 1);
    assert_stats!(ex.stats(), {
        completed: 2, panicked: 0, futures_dropped: 2, tasks_freed: 2, live_tasks: 0,
    });
}

#[test]
fn panic_in_block_on_future_propagates_and_leaves_the_executor_usable() {
    let ex = Executor::new();
    let h = ex.spawn(async {
        yield_now().await;
        2
    });
    let caught = catch_unwind(AssertUnwindSafe(|| {
        ex.block_on(async {
            yield_now().await;
            panic!("main panics");
        })
    }));
    assert!(caught.is_err());
    // Nothing is left marked as running on this thread.
    assert_eq!(ex.block_on(h).unwrap(), 2);
    assert_eq!(Executor::new().block_on(async { 3 }), 3);
}

#[test]
fn block_on_inside_task_panics() {
    let ex = Executor::new();
    let h = ex.spawn(async { Executor::new().block_on(async {}) });
    let err = ex.block_on(h).unwrap_err();
    assert!(err.is_panic());
    let message = err.to_string();
    assert!(
        message.contains("`Executor::block_on` called while an executor is already running"),
        "{message}"
    );
    assert_stats!(ex.stats(), { panicked: 1, tasks_freed: 1 });
}

#[test]
#[should_panic(expected = "`Executor::block_on` called while an executor is already running")]
fn block_on_inside_block_on_panics() {
    let ex = Executor::new();
    ex.block_on(async { ex.block_on(async {}) });
}

#[test]
#[should_panic(expected = "`executor::spawn` called outside a running executor")]
fn spawn_outside_executor_panics() {
    let _executor_not_running = Executor::new();
    drop(spawn(async {}));
}

#[test]
#[should_panic(expected = "`sleep` polled outside a running executor")]
fn sleep_first_poll_outside_executor_panics() {
    // Creating it is fine; the first poll, here under another crate's executor, is not.
    let s = sleep(Duration::from_millis(1));
    futures::executor::block_on(s);
}
