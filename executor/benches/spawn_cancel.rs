//! Timing of the cancel path: what a spawn + cancel cycle costs, alone and in bulk.
//!
//! Every task is a `sleep` far in the future, so it registers a timer entry on its first poll
//! and is still waiting when it is cancelled: the cycle covers [A] the allocation, one poll,
//! `cancel`, [F] the drop of the future (with its timer entry) and [M] the free of the cell.
//! One executor is reused for all iterations; after each benchmark its `Stats` are checked
//! (every cell freed, no timer left), so a broken cancel path cannot produce a fast number.
//!
//! - `spawn_cancel_one_at_a_time`: spawn, one tick (`block_on(yield_now())`), cancel and drop
//!   the handle, one more tick. Reported per cycle.
//! - `spawn_n_then_cancel_all/N`: N spawns, one tick (all N register their timers), cancel
//!   all N, one tick (all N are dropped and freed). Reported per task (throughput = N).
//! - `spawn_n_then_cancel_all_outside_run_loop/N`: the same, but `cancel` is called while no
//!   executor is running on the thread. The thread-local then names no executor, so each cancel
//!   finds its task's executor through `Shared::owner_core` (this is its owning thread) and still
//!   goes into the local queue, without touching the remote queue or the parker (the allocation
//!   test `wakes_and_cancels_between_block_on_calls_allocate_nothing` checks that path).
//!
//! - `spawn_n_then_cancel_now_all/N`: N spawns, one tick, then `cancel_now` and drop each
//!   handle: [F] and [M] inside the loop, no second tick. Reported per task.
//!
//! `cancel` is otherwise called inside `block_on`, where a task or the `block_on` future would
//! call it.
//!
//! Byte counts are not measured here: see `bench-cli` and the allocation tests.

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_main};
use executor::{Executor, JoinHandle, sleep, yield_now};
use std::hint::black_box;
use std::time::Duration;

/// Long enough never to fire during a benchmark.
const FOREVER: Duration = Duration::from_secs(3600);

/// Panics unless every task spawned on `ex` has been dropped and freed.
fn assert_all_freed(ex: Executor) {
    let stats = ex.shutdown();
    assert_eq!(stats.futures_dropped, stats.spawned, "{stats}");
    assert_eq!(stats.cancelled, stats.spawned, "{stats}");
    assert_eq!((stats.live_tasks, stats.timers_live), (0, 0), "{stats}");
}

fn spawn_cancel_one_at_a_time(c: &mut Criterion) {
    let ex = Executor::new();
    c.bench_function("spawn_cancel_one_at_a_time", |b| {
        b.iter(|| {
            let handle = ex.spawn(sleep(FOREVER));
            ex.block_on(yield_now()); // first poll: the timer entry is registered
            ex.block_on(async {
                handle.cancel();
                drop(handle);
                yield_now().await; // the future is dropped and the cell freed
            });
        })
    });
    assert_all_freed(ex);
}

/// N spawns, one tick, cancel all N, one tick. `cancel` runs where `from_outside` says: inside
/// `block_on` (as a task or the `block_on` future would call it), or on the executor's thread
/// while no executor is running, where each cancel goes through the remote queue and unparks.
fn spawn_n_then_cancel_all_with(
    c: &mut Criterion,
    group_name: &str,
    sizes: &[usize],
    from_outside: bool,
) {
    let mut group = c.benchmark_group(group_name);
    for &n in sizes {
        if n >= 100_000 {
            group.sample_size(10);
        }
        group.throughput(Throughput::Elements(n as u64));
        let ex = Executor::new();
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
            // The handle vector is allocated outside the timing; the timed part is the
            // executor's work for N tasks.
            b.iter_batched_ref(
                || Vec::<JoinHandle<()>>::with_capacity(n),
                |handles| {
                    handles.extend((0..n).map(|_| ex.spawn(sleep(FOREVER))));
                    ex.block_on(yield_now()); // N first polls, N timer entries
                    if from_outside {
                        handles.drain(..).for_each(|handle| handle.cancel());
                        ex.block_on(yield_now());
                    } else {
                        ex.block_on(async {
                            handles.drain(..).for_each(|handle| handle.cancel());
                            yield_now().await; // N futures dropped, N cells freed
                        });
                    }
                    black_box(handles.len())
                },
                BatchSize::PerIteration,
            )
        });
        assert_all_freed(ex);
    }
    group.finish();
}

fn spawn_n_then_cancel_all(c: &mut Criterion) {
    spawn_n_then_cancel_all_with(c, "spawn_n_then_cancel_all", &[1_000, 100_000], false);
}

/// The same with `cancel` called outside `block_on`: every cancel finds the local queue through
/// `Shared::owner_core` instead of the thread-local.
fn spawn_n_then_cancel_all_outside_run_loop(c: &mut Criterion) {
    spawn_n_then_cancel_all_with(
        c,
        "spawn_n_then_cancel_all_outside_run_loop",
        &[1_000],
        true,
    );
}

/// N spawns, one tick, then `cancel_now` + drop for each handle, in spawn order (each task is
/// idle, so no run-queue walk): the future and the cell go inside the loop.
fn spawn_n_then_cancel_now_all(c: &mut Criterion) {
    let mut group = c.benchmark_group("spawn_n_then_cancel_now_all");
    for n in [1_000, 100_000] {
        if n >= 100_000 {
            group.sample_size(10);
        }
        group.throughput(Throughput::Elements(n as u64));
        let ex = Executor::new();
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
            b.iter_batched_ref(
                || Vec::<JoinHandle<()>>::with_capacity(n),
                |handles| {
                    handles.extend((0..n).map(|_| ex.spawn(sleep(FOREVER))));
                    ex.block_on(yield_now()); // N first polls, N timer entries
                    ex.block_on(async {
                        for handle in handles.drain(..) {
                            assert!(handle.cancel_now()); // [F] here; [M] as it goes
                        }
                    });
                    black_box(handles.len())
                },
                BatchSize::PerIteration,
            )
        });
        assert_all_freed(ex);
    }
    group.finish();
}

// Written out rather than with `criterion_group!`, whose `pub fn` has no doc comment and trips
// the workspace's `missing_docs` lint.
fn benches() {
    let mut c = Criterion::default().configure_from_args();
    spawn_cancel_one_at_a_time(&mut c);
    spawn_n_then_cancel_all(&mut c);
    spawn_n_then_cancel_all_outside_run_loop(&mut c);
    spawn_n_then_cancel_now_all(&mut c);
}

criterion_main!(benches);
