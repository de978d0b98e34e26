//! `timeout`: the inner future is polled first; on the deadline it is dropped when the
//! `Timeout` resolves, with every timer entry; when it wins, the timeout's entry goes at once.
//! Counted exactly: drop probes, `Stats::timers_live`, and the heap (the workspace's counting
//! allocator, per thread).

mod support;

use executor::{Elapsed, Executor, Timeout, sleep, timeout, yield_now};
use std::future::{Future, pending, poll_fn, ready};
use std::pin::pin;
use std::time::Duration;
use support::{Counter, Probe, assert_stats, guarded, tick};
use workspace_tests::counting::{CountingAlloc, Heap};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

const FOREVER: Duration = Duration::from_secs(1000);

#[test]
fn elapsed_is_a_plain_error() {
    fn is_error<E: std::error::Error + std::fmt::Display + std::fmt::Debug + Send + Sync>() {}
    is_error::<Elapsed>();
    let ex = Executor::new();
    let err = ex
        .block_on(timeout(Duration::from_millis(1), pending::<()>()))
        .unwrap_err();
    assert_eq!(err.to_string(), "deadline has elapsed");
    assert_eq!(format!("{err:?}"), "Elapsed(())");
}

#[test]
fn a_ready_future_wins_even_against_zero() {
    let ex = Executor::new();
    assert_eq!(ex.block_on(timeout(Duration::ZERO, ready(5))), Ok(5));
    assert_eq!(ex.block_on(timeout(Duration::ZERO, async { 6 })), Ok(6));
    // A pending one does not: zero is due at once, without ever registering an entry.
    let probe = Probe::new();
    let result = ex.block_on(timeout(
        Duration::ZERO,
        guarded(probe.guard(), pending::<()>()),
    ));
    assert!(result.is_err());
    assert_eq!(probe.drops(), 1);
    assert_stats!(ex.stats(), { timers_live: 0 });
}

#[test]
fn on_the_deadline_the_inner_future_is_dropped_when_the_timeout_resolves() {
    let ex = Executor::new();
    let probe = Probe::new();
    let polls = Counter::new();
    ex.block_on(async {
        let inner = guarded(probe.guard(), sleep(FOREVER));
        let mut t = pin!(timeout(Duration::from_millis(2), inner));
        let result = poll_fn(|cx| {
            polls.bump();
            let result = t.as_mut().poll(cx);
            if result.is_pending() {
                // Two entries: the inner sleep's and the timeout's own.
                assert_eq!(ex.stats().timers_live, 2);
                assert_eq!(probe.drops(), 0);
            }
            result
        })
        .await;
        assert!(result.is_err());
        // The `Timeout` is still alive here, but the loser is gone, and every entry with it.
        assert!(t.is_finished());
        assert_eq!(probe.drops(), 1);
        assert_eq!(ex.stats().timers_live, 0);
    });
    assert!(polls.get() >= 2, "pending first, then fired");
}

#[test]
fn when_the_inner_future_wins_the_timeout_entry_goes_at_once() {
    let ex = Executor::new();
    let probe = Probe::new();
    ex.block_on(async {
        // Pending once (the timeout registers), ready on the next poll.
        let inner = guarded(probe.guard(), async {
            yield_now().await;
            9
        });
        let mut t = pin!(timeout(FOREVER, inner));
        let mut seen = Vec::new();
        let result = poll_fn(|cx| {
            let result = t.as_mut().poll(cx);
            seen.push(ex.stats().timers_live);
            result
        })
        .await;
        assert_eq!(result, Ok(9));
        assert_eq!(
            seen,
            [1, 0],
            "registered while pending, released in the poll that won"
        );
        assert_eq!(probe.drops(), 1, "the finished inner future is dropped too");
        assert!(t.is_finished());
    });
}

#[test]
fn a_timeout_costs_no_allocation_and_leaves_nothing_behind() {
    let ex = Executor::new();
    let before = Heap::now();
    let handle = ex.spawn(timeout(FOREVER, sleep(FOREVER)));
    let cell = ex.stats().live_task_bytes;
    tick(&ex); // registers both entries: still nothing allocated beyond the cell
    assert_eq!(Heap::now().since(before).allocs, 1);
    assert_eq!(Heap::now().since(before).bytes, cell as i64);
    assert_stats!(ex.stats(), { timers_live: 2 });
    // Cancelled like any task: both entries go with the future.
    assert!(handle.cancel_now());
    assert_stats!(ex.stats(), { timers_live: 0 });
    drop(handle);
    assert_eq!(Heap::now().since(before).bytes, 0);
    assert_stats!(ex.shutdown(), { cancelled: 1, tasks_freed: 1, live_tasks: 0 });
}

#[test]
fn many_timeouts_fire_and_every_entry_is_released() {
    let ex = Executor::new();
    let probe = Probe::new();
    let handles: Vec<_> = (0..50)
        .map(|i| {
            let inner = guarded(probe.guard(), sleep(FOREVER));
            ex.spawn(timeout(Duration::from_millis(1 + i % 3), inner))
        })
        .collect();
    tick(&ex);
    assert_stats!(ex.stats(), { timers_live: 100 });
    let results = ex.block_on(async {
        let mut results = Vec::new();
        for handle in handles {
            results.push(handle.await.unwrap());
        }
        results
    });
    assert!(results.iter().all(Result::is_err));
    assert_eq!(probe.drops(), 50);
    assert_stats!(ex.shutdown(), { completed: 50, timers_live: 0, live_tasks: 0 });
}

#[test]
#[should_panic(expected = "`Timeout` polled after it resolved")]
fn polling_after_it_resolved_panics() {
    let ex = Executor::new();
    ex.block_on(async {
        let mut t: std::pin::Pin<&mut Timeout<_>> = pin!(timeout(FOREVER, ready(1)));
        assert_eq!(t.as_mut().await, Ok(1));
        let _ = t.as_mut().await;
    });
}
