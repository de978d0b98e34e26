//! `JoinHandle` as an ordinary future: awaited by tasks, by `block_on`, by another executor on
//! the same thread, after its own executor shut down; detach on drop; `JoinError`.

mod support;

use executor::{Executor, JoinError, JoinHandle, spawn, yield_now};
use std::collections::HashSet;
use std::future::{Future, pending};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use support::{Log, Probe, assert_stats, guarded, tick};

/// A waker that counts its wakes; `Arc::strong_count` tells how many clones are alive.
#[derive(Default)]
struct CountingWake {
    wakes: AtomicUsize,
}

impl Wake for CountingWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::Relaxed);
    }
}

impl CountingWake {
    fn wakes(&self) -> usize {
        self.wakes.load(Ordering::Relaxed)
    }
}

/// Polls `h` once, outside any executor, with `waker`.
fn poll_with<T>(h: &mut JoinHandle<T>, waker: &Waker) -> Poll<Result<T, JoinError>> {
    Pin::new(h).poll(&mut Context::from_waker(waker))
}

#[test]
fn join_handle_yields_output_of_completed_task() {
    let ex = Executor::new();
    let h = ex.spawn(async { String::from("done") });
    assert!(!h.is_finished());
    tick(&ex);
    assert!(h.is_finished());
    assert_eq!(ex.block_on(h).unwrap(), "done");
    assert_stats!(ex.stats(), {
        spawned: 1, polls: 1, completed: 1, cancelled: 0, panicked: 0, futures_dropped: 1,
        tasks_freed: 1, live_tasks: 0, live_task_bytes: 0,
    });
}

#[test]
fn join_handle_awaited_before_completion_wakes_the_awaiting_task() {
    let ex = Executor::new();
    let log = Log::new();
    let worker = ex.spawn({
        let log = log.clone();
        async move {
            for i in 0..3 {
                log.push(format!("worker {i}"));
                yield_now().await;
            }
            log.push("worker done");
            5
        }
    });
    let waiter = ex.spawn({
        let log = log.clone();
        async move {
            log.push("waiter awaits");
            let v = worker.await.unwrap();
            log.push("waiter resumes");
            v * 2
        }
    });
    assert_eq!(ex.block_on(waiter).unwrap(), 10);
    assert_eq!(
        log.take(),
        [
            "worker 0",
            "waiter awaits",
            "worker 1",
            "worker 2",
            "worker done",
            "waiter resumes",
        ]
    );
    // The worker is polled four times; the waiter twice: once to register, once when woken.
    assert_stats!(ex.stats(), {
        spawned: 2, polls: 6, completed: 2, futures_dropped: 2, tasks_freed: 2, live_tasks: 0,
    });
}

#[test]
fn join_handle_awaited_after_executor_shutdown() {
    let probe = Probe::new();
    let ex = Executor::new();
    let h = ex.spawn(guarded(probe.guard(), pending::<u8>()));
    tick(&ex);
    let stats = ex.shutdown();
    assert_eq!(probe.drops(), 1);
    probe.assert_dropped_on_this_thread();
    // The handle still holds the cell.
    assert_stats!(stats, {
        spawned: 1, polls: 1, completed: 0, cancelled: 1, panicked: 0, futures_dropped: 1,
        tasks_freed: 0, live_tasks: 1,
    });

    let other = Executor::new();
    let err = other.block_on(h).unwrap_err();
    assert!(err.is_cancelled());
    // Awaiting a foreign handle spawns nothing on `other`.
    assert_stats!(other.stats(), { spawned: 0, polls: 0 });
}

#[test]
fn join_handle_of_finished_task_keeps_its_output_after_shutdown() {
    let ex = Executor::new();
    let h = ex.spawn(async { vec![1, 2, 3] });
    tick(&ex);
    let stats = ex.shutdown();
    assert_stats!(stats, { completed: 1, cancelled: 0, tasks_freed: 0, live_tasks: 1 });
    // Any executor will do: here, the `futures` crate's.
    assert_eq!(futures::executor::block_on(h).unwrap(), [1, 2, 3]);
}

#[test]
fn join_handle_awaited_by_other_executor() {
    let ex1 = Executor::new();
    let ex2 = Executor::new();
    let a = ex1.spawn(async {
        yield_now().await;
        5
    });
    let b = ex2.spawn(async move { a.await.unwrap() * 2 });

    // `b` polls `a`'s handle: pending, with `b`'s waker (an ex2 waker) stored in ex1's table of
    // join wakers.
    tick(&ex2);
    assert_stats!(ex2.stats(), { polls: 1, completed: 0 });
    // `a` yields once, so it completes in ex1's second tick, and wakes `b`: ex2 is not running,
    // but it belongs to this thread, so `b` goes straight into ex2's local queue.
    tick(&ex1);
    tick(&ex1);
    assert_stats!(ex1.stats(), { polls: 2, completed: 1, tasks_freed: 0, live_tasks: 1 });
    assert_eq!(ex2.block_on(b).unwrap(), 10);
    assert_stats!(ex2.stats(), {
        spawned: 1, polls: 2, completed: 1, tasks_freed: 1, live_tasks: 0,
    });
    // `b` consumed `a`'s handle on ex2's thread (the same thread): `a`'s cell went with it.
    assert_stats!(ex1.stats(), { tasks_freed: 1, live_tasks: 0, live_task_bytes: 0 });
}

#[test]
fn dropping_join_handle_detaches_the_task_which_keeps_running() {
    let ex = Executor::new();
    let log = Log::new();
    let h = ex.spawn({
        let log = log.clone();
        async move {
            yield_now().await;
            log.push("still running");
        }
    });
    drop(h);
    tick(&ex);
    tick(&ex);
    assert_eq!(log.take(), ["still running"]);
    assert_stats!(ex.stats(), {
        spawned: 1, polls: 2, completed: 1, cancelled: 0, futures_dropped: 1, tasks_freed: 1,
        live_tasks: 0,
    });
}

#[test]
fn join_handle_is_finished_only_once_the_future_is_dropped() {
    let ex = Executor::new();
    let h = ex.spawn(pending::<()>());
    tick(&ex);
    h.cancel();
    assert!(!h.is_finished(), "cancel() only asks");
    tick(&ex);
    assert!(h.is_finished());
    drop(h);
}

#[test]
fn join_handle_ids_are_unique_and_printable() {
    let ex = Executor::new();
    let handles: Vec<_> = (0..10).map(|_| ex.spawn(async {})).collect();
    let ids: HashSet<_> = handles.iter().map(|h| h.id()).collect();
    assert_eq!(ids.len(), 10);
    let id = handles[0].id();
    assert_eq!(id.to_string(), format!("task #{}", id.as_u64()));
    assert!(format!("{:?}", handles[0]).contains("JoinHandle"));
    // `spawn` inside `block_on` hands out ids from the same sequence.
    let inner = ex.block_on(async { spawn(async {}).id() });
    assert!(!ids.contains(&inner));
}

#[test]
#[should_panic(expected = "polled after it already returned its output")]
fn join_handle_polled_again_after_output_panics() {
    let ex = Executor::new();
    let mut h = ex.spawn(async { 1 });
    ex.block_on(async {
        assert_eq!((&mut h).await.unwrap(), 1);
        let _ = (&mut h).await;
    });
}

#[test]
fn join_error_reports_cancel_and_panic() {
    let ex = Executor::new();
    let cancelled = ex.spawn(async {});
    cancelled.cancel();
    let panicked = ex.spawn(async { panic!("boom") });
    let (cancelled, panicked) = ex.block_on(async { (cancelled.await, panicked.await) });

    let cancelled = cancelled.unwrap_err();
    assert!(cancelled.is_cancelled() && !cancelled.is_panic());
    assert_eq!(cancelled.to_string(), "task was cancelled");
    assert_eq!(format!("{cancelled:?}"), "JoinError::Cancelled");
    assert!(cancelled.into_panic().unwrap_err().is_cancelled());

    let panicked = panicked.unwrap_err();
    assert!(panicked.is_panic() && !panicked.is_cancelled());
    assert_eq!(panicked.to_string(), "task panicked: boom");
    assert_eq!(format!("{panicked:?}"), "JoinError::Panic(\"boom\")");
    let error: Box<dyn std::error::Error> = Box::new(panicked);
    let panicked = error.downcast::<JoinError>().unwrap();
    let payload = panicked.into_panic().unwrap();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
}

/// `?` into `Box<dyn Error + Send + Sync>` (what `anyhow` and most error stacks ask for) needs
/// `JoinError: Sync`; this does not compile without it.
fn join_with_question_mark(
    ex: &Executor,
    handle: JoinHandle<u32>,
) -> Result<u32, Box<dyn std::error::Error + Send + Sync>> {
    Ok(ex.block_on(handle)?)
}

#[test]
fn join_error_is_send_and_sync_and_goes_through_question_mark() {
    fn send_sync<T: Send + Sync + 'static>() {}
    send_sync::<JoinError>();

    let ex = Executor::new();
    let n = std::hint::black_box(7);
    let panicked = ex.spawn(async move { panic!("boom {n}") });
    let error = join_with_question_mark(&ex, panicked).unwrap_err();
    // Shared with another thread, the message still reads (a `String` payload, here).
    let shown = std::thread::scope(|s| s.spawn(|| error.to_string()).join().unwrap());
    assert_eq!(shown, "task panicked: boom 7");
    let payload = error.downcast::<JoinError>().unwrap().into_panic().unwrap();
    assert_eq!(
        payload.downcast_ref::<String>().map(String::as_str),
        Some("boom 7")
    );

    let cancelled = ex.spawn(async { 1 });
    cancelled.cancel();
    let error = join_with_question_mark(&ex, cancelled).unwrap_err();
    assert!(error.downcast_ref::<JoinError>().unwrap().is_cancelled());
}

#[test]
fn awaited_then_dropped_join_handle_releases_the_awaiting_waker_at_once() {
    let ex = Executor::new();
    let mut h = ex.spawn(pending::<()>());
    let counter = Arc::new(CountingWake::default());
    let waker = Waker::from(counter.clone());
    assert!(poll_with(&mut h, &waker).is_pending());
    assert_eq!(
        Arc::strong_count(&counter),
        3,
        "the executor keeps one clone"
    );
    // Polled again with the same waker: nothing is cloned.
    assert!(poll_with(&mut h, &waker).is_pending());
    assert_eq!(Arc::strong_count(&counter), 3);
    drop(waker);
    assert_eq!(Arc::strong_count(&counter), 2);
    drop(h);
    assert_eq!(
        Arc::strong_count(&counter),
        1,
        "dropping the handle released the waker"
    );
    assert_eq!(counter.wakes(), 0);
    // The detached task is still there until shutdown.
    assert_stats!(ex.stats(), { live_tasks: 1, futures_dropped: 0 });
    assert_stats!(ex.shutdown(), { live_tasks: 0, cancelled: 1 });
}

#[test]
fn join_handle_keeps_only_the_latest_awaiting_waker() {
    let ex = Executor::new();
    let mut h = ex.spawn(async {
        yield_now().await;
        7
    });
    let first = Arc::new(CountingWake::default());
    let second = Arc::new(CountingWake::default());
    assert!(poll_with(&mut h, &Waker::from(first.clone())).is_pending());
    assert_eq!(Arc::strong_count(&first), 2);
    // Another awaiter takes over: the first waker is released, not woken.
    assert!(poll_with(&mut h, &Waker::from(second.clone())).is_pending());
    assert_eq!(Arc::strong_count(&first), 1);
    assert_eq!(Arc::strong_count(&second), 2);
    tick(&ex);
    tick(&ex);
    // Completion woke the second waker once and let go of it.
    assert_eq!((first.wakes(), second.wakes()), (0, 1));
    assert_eq!(Arc::strong_count(&second), 1);
    assert!(matches!(
        poll_with(&mut h, Waker::noop()),
        Poll::Ready(Ok(7))
    ));
}

#[test]
fn shutdown_wakes_and_releases_the_waker_of_an_awaited_handle() {
    let ex = Executor::new();
    let mut h = ex.spawn(pending::<u8>());
    let counter = Arc::new(CountingWake::default());
    assert!(poll_with(&mut h, &Waker::from(counter.clone())).is_pending());
    assert_eq!(Arc::strong_count(&counter), 2);
    drop(ex);
    assert_eq!(counter.wakes(), 1);
    assert_eq!(Arc::strong_count(&counter), 1);
    // The executor is gone; the handle still resolves, and its drop needs nothing of it.
    assert!(matches!(poll_with(&mut h, Waker::noop()), Poll::Ready(Err(e)) if e.is_cancelled()));
    drop(h);
}

#[test]
fn ids_of_a_thousand_tasks_are_distinct() {
    let ex = Executor::new();
    let handles: Vec<_> = (0..1000).map(|_| ex.spawn(async {})).collect();
    let ids: HashSet<_> = handles.iter().map(|h| h.id()).collect();
    assert_eq!(ids.len(), 1000);
    drop(handles);
    ex.shutdown();
}
