//! Hostile probes of `timeout`: nested timeouts, a timeout polled outside any executor, and a
//! loser whose destructor cancels another task now. Exact `Stats` and drop probes.

mod support;

use executor::{Executor, sleep, timeout};
use std::future::{pending, ready};
use std::time::Duration;
use support::{OnDrop, Probe, assert_stats, guarded};

const FOREVER: Duration = Duration::from_secs(1000);

#[test]
fn nested_the_inner_deadline_loses_first_and_the_outer_entry_goes_at_once() {
    let ex = Executor::new();
    let probe = Probe::new();
    let result = ex.block_on(async {
        let inner = timeout(
            Duration::from_millis(2),
            guarded(probe.guard(), sleep(FOREVER)),
        );
        timeout(FOREVER, inner).await
    });
    // The outer timeout's future won: it resolved (to the inner's `Elapsed`) first.
    assert!(matches!(result, Ok(Err(_))));
    assert_eq!(probe.drops(), 1);
    assert_stats!(ex.stats(), { timers_live: 0 });
}

#[test]
fn outside_any_executor_a_ready_future_wins_without_touching_a_timer() {
    // Polled first and ready: the `Timeout`'s sleep is never polled, so no executor is needed.
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let mut t = std::pin::pin!(timeout(Duration::ZERO, ready(9)));
    assert_eq!(t.as_mut().poll(&mut cx), std::task::Poll::Ready(Ok(9)));
    assert!(t.is_finished());
}

#[test]
fn the_losers_destructor_cancels_another_task_now() {
    let ex = Executor::new();
    let probe = Probe::new();
    let other = ex.spawn(guarded(probe.guard(), sleep(FOREVER)));
    let result = ex.block_on(async move {
        let loser = async move {
            let _cancel = OnDrop::new(move || assert!(other.cancel_now()));
            pending::<()>().await;
        };
        timeout(Duration::from_millis(2), loser).await
    });
    assert!(result.is_err());
    assert_eq!(
        probe.drops(),
        1,
        "dropped inside the loser's drop, inside the timeout's poll"
    );
    assert_stats!(ex.stats(), {
        cancelled: 1, tasks_freed: 1, live_tasks: 0, timers_live: 0,
    });
}
