//! Outputs: an output lives in the task's cell until the handle takes it; one that
//! nobody will take is dropped on the executor thread the moment the task finishes, not when the
//! last waker goes.

mod support;

use executor::{Executor, yield_now};
use std::future::poll_fn;
use std::task::Poll;
use support::{Probe, WakerSlot, assert_stats, tick, wait_for_wake};

#[test]
fn output_of_detached_task_dropped_at_completion() {
    let ex = Executor::new();
    let output_probe = Probe::new();
    let output = output_probe.guard();
    let slot = WakerSlot::new();
    let h = ex.spawn({
        let slot = slot.clone();
        async move {
            // Leave a waker behind, so the cell outlives the task.
            poll_fn(|cx| {
                slot.put(cx.waker());
                Poll::Ready(())
            })
            .await;
            yield_now().await;
            output
        }
    });
    drop(h);
    // The task yields once, so it finishes in the second tick.
    tick(&ex);
    assert_eq!(output_probe.drops(), 0);
    tick(&ex);
    assert_eq!(
        output_probe.drops(),
        1,
        "dropped as soon as the task finished"
    );
    output_probe.assert_dropped_on_this_thread();
    assert_stats!(ex.stats(), {
        spawned: 1, polls: 2, completed: 1, futures_dropped: 1, tasks_freed: 0, live_tasks: 1,
    });
    // The waker alone keeps the husk; the output is not in it any more.
    drop(slot.take());
    assert_stats!(ex.stats(), { tasks_freed: 1, live_tasks: 0, live_task_bytes: 0 });
    assert_eq!(output_probe.drops(), 1);
}

#[test]
fn output_kept_until_handle_dropped_after_completion() {
    let ex = Executor::new();
    let output_probe = Probe::new();
    let output = output_probe.guard();
    let h = ex.spawn(async move { output });
    tick(&ex);
    tick(&ex);
    assert!(h.is_finished());
    assert_eq!(output_probe.drops(), 0, "the handle may still take it");
    assert_stats!(ex.stats(), { completed: 1, tasks_freed: 0, live_tasks: 1 });
    drop(h);
    assert_eq!(output_probe.drops(), 1, "dropped with the handle");
    output_probe.assert_dropped_on_this_thread();
    assert_stats!(ex.stats(), { tasks_freed: 1, live_tasks: 0 });
}

#[test]
fn output_taken_by_handle_belongs_to_the_awaiter() {
    let ex = Executor::new();
    let output_probe = Probe::new();
    let output = output_probe.guard();
    let h = ex.spawn(async move { output });
    let taken = ex.block_on(h).unwrap();
    assert_stats!(ex.stats(), { tasks_freed: 1, live_tasks: 0 });
    assert_eq!(
        output_probe.drops(),
        0,
        "the cell is gone, the output is not"
    );
    drop(taken);
    assert_eq!(output_probe.drops(), 1);
}

#[test]
fn output_larger_than_future_lives_in_the_same_cell() {
    let ex = Executor::new();
    let h = ex.spawn(async { [7u8; 8192] });
    let bytes = ex.stats().live_task_bytes;
    assert!(
        bytes >= 8192,
        "the cell is sized for the larger of future and output: {bytes}"
    );
    let output = ex.block_on(h).unwrap();
    assert!(output.iter().all(|&b| b == 7));
    assert_stats!(ex.stats(), { peak_task_bytes: bytes, live_task_bytes: 0 });
}

#[test]
fn output_of_task_detached_while_it_waits_is_dropped_at_completion() {
    let ex = Executor::new();
    let output_probe = Probe::new();
    let output = output_probe.guard();
    let slot = WakerSlot::new();
    let h = ex.spawn({
        let slot = slot.clone();
        async move {
            wait_for_wake(slot).await;
            output
        }
    });
    tick(&ex);
    assert!(!h.is_finished());
    drop(h);
    slot.take().wake();
    tick(&ex);
    assert_eq!(output_probe.drops(), 1);
    assert_stats!(ex.stats(), { polls: 2, completed: 1, tasks_freed: 1, live_tasks: 0 });
}
