//! Each scenario at a small N, with the exact counts it must give.
//!
//! The cell counts come from the executor's `Stats`, "polled" from the works themselves, the
//! bytes from the counting allocator. A scenario's numbers are relative to its own start.

mod common;

use common::{number, scenario, signed};

const N: u64 = 100;

/// What every scenario must end with: nothing live, every byte back.
fn assert_everything_returned(report: &serde_json::Value) {
    assert_eq!(number(report, "tasks/live_after_shutdown"), 0);
    assert_eq!(number(report, "moments/after_shutdown/live_tasks"), 0);
    assert_eq!(number(report, "moments/after_shutdown/timers_live"), 0);
    assert_eq!(signed(report, "moments/after_shutdown/heap_bytes"), 0);
    assert_eq!(signed(report, "heap/after_shutdown_bytes"), 0);
    assert_eq!(report["verdict"]["heap_back_to_start"], true);
    assert_eq!(signed(report, "verdict/bytes_not_returned"), 0);
    // Every block allocated during the scenario was freed again.
    assert_eq!(
        number(report, "heap/allocations"),
        number(report, "heap/frees")
    );
}

/// Every work was spawned and took exactly one poll: it went to sleep and never woke.
fn assert_every_work_started_once(report: &serde_json::Value, tasks: u64) {
    assert_eq!(number(report, "tasks/spawned"), tasks);
    assert_eq!(number(report, "tasks/polled"), tasks);
    assert_eq!(number(report, "tasks/polls"), tasks);
    // One cell per task at least; the scenario itself costs more than zero.
    assert!(number(report, "heap/allocations") >= tasks);
}

/// The most cells cancel-each ever has live: the work just registered, plus the one unregistered
/// in the cycle before if its future is only dropped when the queue next runs (this cycle's
/// yield) instead of inside `unregister()`.
const CANCEL_EACH_PEAK_LIVE: u64 = 2;

#[test]
fn cancel_each_keeps_at_most_two_tasks_live_and_returns_every_byte() {
    let report = scenario("cancel-each", N);
    assert_every_work_started_once(&report, N);
    let peak_live = number(&report, "tasks/peak_live");
    assert!(
        (1..=CANCEL_EACH_PEAK_LIVE).contains(&peak_live),
        "peak live {peak_live}"
    );
    assert_eq!(number(&report, "tasks/cancels_requested"), N);
    assert_eq!(number(&report, "tasks/registered_at_end"), 0);
    // The executor counts a cancel when it drops the future: now or on the next tick.
    let cancelled = number(&report, "tasks/cancelled");
    assert!(
        cancelled == N || cancelled == N - 1,
        "cancelled {cancelled}"
    );

    // Right after the last unregister(): that work's future is dropped now or on the next tick.
    let dropped = number(&report, "moments/after_cancel/futures_dropped");
    assert!(dropped == N || dropped == N - 1, "dropped {dropped}");
    // After one more tick every future is dropped and every cell freed.
    assert_eq!(number(&report, "moments/after_tick/futures_dropped"), N);
    assert_eq!(number(&report, "moments/after_tick/tasks_freed"), N);
    assert_eq!(number(&report, "moments/after_tick/live_tasks"), 0);
    assert_eq!(number(&report, "moments/after_tick/timers_live"), 0);
    assert_everything_returned(&report);
}

/// The peak heap of cancel-each is a constant, not a function of N. Its first cycles may still
/// grow containers to their working size (the scheduler's table to its floor), so compare two N
/// well past that.
#[test]
fn cancel_each_peak_heap_does_not_grow_with_n() {
    let smaller = scenario("test1", 1_000);
    let larger = scenario("test1", 10_000);
    assert_eq!(
        number(&larger, "tasks/peak_live"),
        number(&smaller, "tasks/peak_live")
    );
    assert_eq!(
        number(&larger, "heap/peak_bytes"),
        number(&smaller, "heap/peak_bytes"),
        "cancel-each's peak heap must be a constant, not grow with N"
    );
    assert_eq!(
        number(&larger, "heap/reallocations"),
        number(&smaller, "heap/reallocations"),
        "no container grows after the first cycles"
    );
}

#[test]
fn cancel_batch_peaks_at_n_and_one_tick_after_stop_drops_every_future() {
    let report = scenario("cancel-batch", N);
    assert_every_work_started_once(&report, N);
    assert_eq!(number(&report, "tasks/peak_live"), N);
    // stop() cancels all N and empties the scheduler at once.
    assert_eq!(number(&report, "tasks/cancels_requested"), N);
    assert_eq!(number(&report, "tasks/registered_at_end"), 0);
    assert!(report["moments"]["after_cancel"].is_object());

    // One tick after stop(): every future dropped, every cell freed, every timer entry gone.
    assert_eq!(number(&report, "moments/after_tick/futures_dropped"), N);
    assert_eq!(number(&report, "moments/after_tick/tasks_freed"), N);
    assert_eq!(number(&report, "moments/after_tick/live_tasks"), 0);
    assert_eq!(number(&report, "moments/after_tick/timers_live"), 0);
    // Shutdown had nothing left to do.
    assert_eq!(number(&report, "moments/after_shutdown/futures_dropped"), N);
    assert_eq!(number(&report, "moments/after_shutdown/tasks_freed"), N);
    assert_everything_returned(&report);
}

#[test]
fn no_cancel_leaves_n_tasks_sleeping_until_shutdown_frees_them() {
    let report = scenario("no-cancel", N);
    assert_every_work_started_once(&report, N);
    assert_eq!(number(&report, "tasks/peak_live"), N);
    assert_eq!(number(&report, "tasks/cancels_requested"), 0);
    assert_eq!(number(&report, "tasks/cancelled"), 0);
    assert!(report["moments"]["after_cancel"].is_null());

    // When the scenario returns, all N are asleep: live, each with a timer entry, registered.
    assert_eq!(number(&report, "tasks/live_at_end"), N);
    assert_eq!(number(&report, "tasks/timers_live"), N);
    assert_eq!(number(&report, "tasks/registered_at_end"), N);
    assert_eq!(number(&report, "tasks/futures_dropped"), 0);
    assert_eq!(number(&report, "tasks/tasks_freed"), 0);
    // A tick changes nothing: nobody is runnable.
    assert_eq!(number(&report, "moments/after_tick/live_tasks"), N);
    assert_eq!(number(&report, "moments/after_tick/futures_dropped"), 0);
    assert_eq!(
        signed(&report, "moments/after_tick/heap_bytes"),
        signed(&report, "moments/at_end/heap_bytes")
    );
    // Shutdown drops and frees all of them.
    assert_eq!(number(&report, "moments/after_shutdown/futures_dropped"), N);
    assert_eq!(number(&report, "moments/after_shutdown/tasks_freed"), N);
    assert!(signed(&report, "heap/at_end_bytes") > 0);
    assert_everything_returned(&report);
}

#[test]
fn baseline_spawns_nothing() {
    let report = scenario("baseline", N);
    for field in [
        "spawned",
        "polled",
        "polls",
        "cancels_requested",
        "cancelled",
        "futures_dropped",
        "tasks_freed",
        "live_at_end",
        "peak_live",
        "timers_live",
        "registered_at_end",
    ] {
        assert_eq!(number(&report, &format!("tasks/{field}")), 0, "{field}");
    }
    assert!(report["moments"]["after_cancel"].is_null());
    assert!(report["heap"]["allocations_per_task"].is_null());
    assert!(report["heap"]["peak_bytes_per_task"].is_null());
    assert_everything_returned(&report);
}

#[test]
fn per_task_figures_divide_by_tasks_spawned() {
    let report = scenario("cancel-batch", N);
    let per_task = |path: &str| {
        report
            .pointer(path)
            .and_then(serde_json::Value::as_f64)
            .unwrap()
    };
    let allocations = number(&report, "heap/allocations") as f64;
    let peak = number(&report, "heap/peak_bytes") as f64;
    assert_eq!(
        per_task("/heap/allocations_per_task"),
        allocations / N as f64
    );
    assert_eq!(per_task("/heap/peak_bytes_per_task"), peak / N as f64);
}
