//! Husks in `Stats`: a cell whose future is dropped (\[F\]) but whose memory is held (not yet
//! \[M\]) is counted in `husks`, its size in `husk_bytes`, and, while its `JoinHandle` is alive,
//! in `husks_with_handle`. Each test walks one holder through [F] and [M] and checks the exact
//! counts at every step.

mod support;

use executor::{Executor, Stats, sleep};
use std::time::Duration;
use support::{WakerSlot, assert_stats, pending_with_waker, tick};

/// (husks, husk_bytes, husks_with_handle)
fn husks(stats: Stats) -> (u64, u64, u64) {
    (stats.husks, stats.husk_bytes, stats.husks_with_handle)
}

#[test]
fn complete_with_handle_alive_then_drop_handle() {
    let ex = Executor::new();
    let handle = ex.spawn(async { 7u64 });
    let cell = ex.stats().live_task_bytes;
    assert_eq!(husks(ex.stats()), (0, 0, 0));
    tick(&ex); // [F]: the future returned Ready; the handle holds the cell and the output
    assert_eq!(husks(ex.stats()), (1, cell, 1));
    assert_eq!(ex.block_on(handle).unwrap(), 7); // awaiting consumes the handle: [M]
    let stats = ex.stats();
    assert_eq!(husks(stats), (0, 0, 0));
    assert_eq!(stats.tasks_freed, 1);
}

#[test]
fn cancel_with_handle_kept() {
    let ex = Executor::new();
    let handle = ex.spawn(sleep(Duration::from_secs(1000)));
    let cell = ex.stats().live_task_bytes;
    tick(&ex);
    handle.cancel();
    assert_eq!(
        husks(ex.stats()),
        (0, 0, 0),
        "cancel() drops nothing by itself"
    );
    tick(&ex); // [F]
    let stats = ex.stats();
    assert_eq!(husks(stats), (1, cell, 1));
    assert_eq!((stats.futures_dropped, stats.live_tasks), (1, 1));
    drop(handle); // [M]
    assert_eq!(husks(ex.stats()), (0, 0, 0));
}

#[test]
fn detached_cancel_leaves_no_husk() {
    let ex = Executor::new();
    let handle = ex.spawn(sleep(Duration::from_secs(1000)));
    tick(&ex);
    handle.cancel();
    drop(handle);
    tick(&ex); // [F], then the queue entry goes: [M] in the same turn
    let stats = ex.stats();
    assert_eq!(husks(stats), (0, 0, 0));
    assert_eq!(stats.tasks_freed, 1);
}

#[test]
fn a_stashed_waker_holds_the_husk_without_a_handle() {
    let ex = Executor::new();
    let slot = WakerSlot::new();
    let handle = ex.spawn(pending_with_waker(slot.clone()));
    let cell = ex.stats().live_task_bytes;
    tick(&ex); // the first poll stashes a waker
    handle.cancel();
    drop(handle);
    tick(&ex); // [F]
    assert_eq!(husks(ex.stats()), (1, cell, 0), "held by the waker alone");
    let stats = ex.shutdown();
    assert_eq!(
        husks(stats),
        (1, cell, 0),
        "shutdown cannot free what a waker holds"
    );
    assert_eq!(stats.live_tasks, 1);
    drop(slot.take()); // [M], after the executor is gone
}

#[test]
fn shutdown_with_handles_kept() {
    let ex = Executor::new();
    let handles: Vec<_> = (0..3)
        .map(|_| ex.spawn(sleep(Duration::from_secs(1000))))
        .collect();
    let cells = ex.stats().live_task_bytes;
    tick(&ex);
    // [F] for all three; the handles still hold the cells.
    assert_stats!(ex.shutdown(), {
        futures_dropped: 3,
        live_tasks: 3,
        husks: 3,
        husk_bytes: cells,
        husks_with_handle: 3,
    });
    drop(handles);
}

#[test]
fn husks_of_different_sizes_add_up() {
    let ex = Executor::new();
    let small = ex.spawn(async {});
    let one = ex.stats().live_task_bytes;
    let big = ex.spawn(async { [0u64; 32] });
    let both = ex.stats().live_task_bytes;
    assert!(both - one > one, "the second cell is the larger");
    tick(&ex);
    assert_eq!(husks(ex.stats()), (2, both, 2));
    drop(big);
    assert_eq!(husks(ex.stats()), (1, one, 1));
    drop(small);
    assert_eq!(husks(ex.stats()), (0, 0, 0));
}

#[test]
fn cancel_now_leaves_a_husk_held_by_the_handle_until_it_is_dropped() {
    let ex = Executor::new();
    let handle = ex.spawn(sleep(Duration::from_secs(1000)));
    let cell = ex.stats().live_task_bytes;
    tick(&ex);
    assert!(handle.cancel_now()); // [F] inside the call
    assert_eq!(husks(ex.stats()), (1, cell, 1));
    drop(handle); // [M] at once, no tick
    assert_eq!(husks(ex.stats()), (0, 0, 0));
    assert_eq!(ex.stats().tasks_freed, 1);
}
