//! Shutdown: `shutdown()` and `Drop` drop every remaining future — queued,
//! sleeping, detached — on the executor thread, in spawn order, resolve their handles to
//! cancelled, and free every cell that nothing outside still references.

mod support;

use executor::{Executor, JoinHandle, Stats, sleep, spawn};
use std::future::{Future, pending};
use std::thread;
use std::time::Duration;
use support::{Log, Probe, WakerSlot, assert_stats, guarded, pending_with_waker, poll_once, tick};

/// `future`, logging `name` to `log` when dropped (also if it is never polled).
fn logged<F: Future>(log: &Log, name: &str, future: F) -> impl Future<Output = F::Output> + use<F> {
    let on_drop = log.on_drop(format!("{name} dropped"));
    async move {
        let _on_drop = on_drop;
        future.await
    }
}

struct Spawned {
    sleeping: JoinHandle<()>,
    finished: JoinHandle<u32>,
    queued: JoinHandle<()>,
}

/// One task in each state: sleeping, detached and idle, finished, queued and never polled.
fn spawn_one_of_each(ex: &Executor, log: &Log, probe: &Probe) -> Spawned {
    let sleeping = ex.spawn(guarded(
        probe.guard(),
        logged(log, "sleeping", sleep(Duration::from_secs(1000))),
    ));
    drop(ex.spawn(guarded(
        probe.guard(),
        logged(log, "detached", pending::<()>()),
    )));
    let finished = ex.spawn(guarded(probe.guard(), async { 9 }));
    tick(ex);
    let queued = ex.spawn(guarded(probe.guard(), logged(log, "queued", async {})));
    assert_stats!(ex.stats(), {
        spawned: 4, polls: 3, completed: 1, futures_dropped: 1, tasks_freed: 0, live_tasks: 4,
        timers_live: 1,
    });
    Spawned {
        sleeping,
        finished,
        queued,
    }
}

fn check_handles_after_shutdown(spawned: Spawned) {
    let Spawned {
        sleeping,
        finished,
        queued,
    } = spawned;
    assert!(sleeping.is_finished() && queued.is_finished());
    let other = Executor::new();
    assert!(other.block_on(sleeping).unwrap_err().is_cancelled());
    assert!(other.block_on(queued).unwrap_err().is_cancelled());
    assert_eq!(other.block_on(finished).unwrap(), 9);
}

#[test]
fn shutdown_drops_queued_sleeping_and_detached() {
    let (log, probe) = (Log::new(), Probe::new());
    let ex = Executor::new();
    let spawned = spawn_one_of_each(&ex, &log, &probe);
    let stats = ex.shutdown();
    // In spawn order, on this thread.
    assert_eq!(
        log.take(),
        ["sleeping dropped", "detached dropped", "queued dropped"]
    );
    assert_eq!(probe.drops(), 4);
    probe.assert_dropped_on_this_thread();
    // The detached cell is freed; the three with handles wait for them.
    assert_stats!(stats, {
        spawned: 4, polls: 3, completed: 1, cancelled: 3, panicked: 0, futures_dropped: 4,
        tasks_freed: 1, live_tasks: 3, peak_live_tasks: 4, timers_live: 0,
    });
    check_handles_after_shutdown(spawned);
}

#[test]
fn drop_of_executor_drops_queued_sleeping_and_detached() {
    let (log, probe) = (Log::new(), Probe::new());
    let ex = Executor::new();
    let spawned = spawn_one_of_each(&ex, &log, &probe);
    drop(ex);
    assert_eq!(
        log.take(),
        ["sleeping dropped", "detached dropped", "queued dropped"]
    );
    assert_eq!(probe.drops(), 4);
    probe.assert_dropped_on_this_thread();
    check_handles_after_shutdown(spawned);
}

#[test]
fn shutdown_of_an_empty_executor_reports_nothing() {
    assert_eq!(Executor::new().shutdown(), Stats::default());
    let ex = Executor::new();
    ex.block_on(async {});
    assert_eq!(ex.shutdown(), Stats::default());
}

#[test]
fn shutdown_keeps_cells_held_by_outside_wakers() {
    let ex = Executor::new();
    let slot = WakerSlot::new();
    drop(ex.spawn(pending_with_waker(slot.clone())));
    drop(ex.spawn(pending::<()>()));
    tick(&ex);
    let stats = ex.shutdown();
    assert_stats!(stats, { cancelled: 2, futures_dropped: 2, tasks_freed: 1, live_tasks: 1 });
    // The waker's reference is the last; dropping it frees the cell (miri checks for leaks).
    drop(slot.take());
}

#[test]
fn shutdown_drops_tasks_spawned_by_destructors() {
    let log = Log::new();
    let ex = Executor::new();
    struct SpawnOnDrop(Log);
    impl Drop for SpawnOnDrop {
        fn drop(&mut self) {
            let log = self.0.clone();
            drop(spawn(logged(&self.0, "late", async move {
                log.push("late task polled");
            })));
        }
    }
    let spawner = SpawnOnDrop(log.clone());
    drop(ex.spawn(async move {
        let _spawner = spawner;
        pending::<()>().await
    }));
    tick(&ex);
    let stats = ex.shutdown();
    assert_eq!(log.take(), ["late dropped"]);
    assert_stats!(stats, {
        spawned: 2, polls: 1, cancelled: 2, futures_dropped: 2, tasks_freed: 2, live_tasks: 0,
    });
}

#[test]
fn shutdown_discards_wakes_from_destructors() {
    let log = Log::new();
    let ex = Executor::new();
    let slot = WakerSlot::new();
    struct WakeOnDrop(WakerSlot);
    impl Drop for WakeOnDrop {
        fn drop(&mut self) {
            self.0.take().wake();
        }
    }
    let waker_of_second = WakeOnDrop(slot.clone());
    drop(ex.spawn(logged(&log, "first", async move {
        let _wake = waker_of_second;
        pending::<()>().await
    })));
    drop(ex.spawn(logged(&log, "second", pending_with_waker(slot))));
    tick(&ex);
    let stats = ex.shutdown();
    // The wake queued the second task, but shutdown drops it without polling it.
    assert_eq!(log.take(), ["first dropped", "second dropped"]);
    assert_stats!(stats, {
        spawned: 2, polls: 2, cancelled: 2, futures_dropped: 2, tasks_freed: 2, live_tasks: 0,
    });
}

#[test]
fn shutdown_discards_remote_wakes_not_yet_run() {
    let ex = Executor::new();
    let slot = WakerSlot::new();
    let h = ex.spawn(pending_with_waker(slot.clone()));
    tick(&ex);
    let waker = slot.take();
    thread::spawn(move || waker.wake()).join().unwrap();
    let stats = ex.shutdown();
    assert_stats!(stats, {
        spawned: 1, polls: 1, cancelled: 1, futures_dropped: 1, tasks_freed: 0, live_tasks: 1,
    });
    assert!(futures::executor::block_on(h).unwrap_err().is_cancelled());
}

#[test]
fn executor_dropped_inside_a_task_of_another_executor() {
    let outer = Executor::new();
    let probe = Probe::new();
    let inner_probe = probe.clone();
    let stats = outer.block_on(spawn_in_outer(async move {
        let inner = Executor::new();
        drop(inner.spawn(guarded(inner_probe.guard(), pending::<()>())));
        inner.shutdown()
    }));
    assert_eq!(probe.drops(), 1);
    assert_stats!(stats, { spawned: 1, polls: 0, cancelled: 1, tasks_freed: 1, live_tasks: 0 });
    // The outer executor is still the one running inside its `block_on` afterwards.
    assert_eq!(
        outer.block_on(async { spawn(async { 4 }).await.unwrap() }),
        4
    );
}

/// Runs `future` as a task of the executor running on this thread and awaits it.
async fn spawn_in_outer<T: 'static>(future: impl Future<Output = T> + 'static) -> T {
    spawn(future).await.unwrap()
}

#[test]
#[allow(
    clippy::async_yields_async,
    reason = "the registered sleep is handed out on purpose, to outlive its executor"
)]
fn a_panicking_waker_does_not_cut_shutdown_short() {
    struct Boom;
    impl std::task::Wake for Boom {
        fn wake(self: std::sync::Arc<Self>) {
            panic!("boom");
        }
    }
    let ex = Executor::new();
    let probe = Probe::new();
    // A handle awaited with a waker that panics when shutdown completes its task...
    let mut awaited = ex.spawn(guarded(probe.guard(), std::future::pending::<()>()));
    let later = ex.spawn(guarded(probe.guard(), std::future::pending::<()>()));
    let boom = std::task::Waker::from(std::sync::Arc::new(Boom));
    let mut cx = std::task::Context::from_waker(&boom);
    assert!(std::pin::Pin::new(&mut awaited).poll(&mut cx).is_pending());
    // ...and a sleep registered by the block_on future, kept outside the executor.
    let sleep = ex.block_on(async {
        let mut s = Box::pin(sleep(Duration::from_secs(1000)));
        assert!(poll_once(&mut s).await.is_pending());
        s
    });
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| ex.shutdown()));
    let payload = result.expect_err("the waker's panic is resumed");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
    // Shutdown still finished: both futures dropped, the sleep detached (dropping it later
    // must not reach the freed executor).
    assert_eq!(probe.drops(), 2);
    assert!(!sleep.is_registered());
    drop(sleep);
    assert!(awaited.is_finished() && later.is_finished());
}
