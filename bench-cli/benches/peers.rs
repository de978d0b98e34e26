//! Criterion benches: ours, tokio and smol side by side, on the bench's own scenario bodies.
//!
//! - `spawn_cancel`: register a work, let it take its first poll, unregister it; one at a
//!   time (the body of `cancel-each`, N = the iteration count). Time per cycle.
//! - `batch_cancel_1000`: register 1 000 works, let them all take their first poll, `stop()`
//!   (the body of `cancel-batch`). Time per batch; throughput in works.
//!
//! Each sample runs on a fresh runtime made outside the timing (`scenarios::time_body`), with
//! the same schedulers, works and first-poll waits as `bench-cli` itself. This binary does not
//! install the counting allocator, so no counting is timed. The heap figures are `bench-cli`'s
//! job (`cargo run --release -- --runtime ours,tokio,smol`).

use std::time::Duration;

use bench_cli::ours::Ours;
use bench_cli::peers::{Smol, Tokio};
use bench_cli::runtime::Runtime;
use bench_cli::scenarios::{Scenario, time_body};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_main};

/// Works per batch in `batch_cancel_1000`.
const BATCH: u64 = 1000;

/// One spawn + first poll + cancel per iteration, on `R`.
fn spawn_cancel_on<R: Runtime>(group: &mut BenchmarkGroup<'_, WallTime>) {
    group.bench_function(R::NAME, |bencher| {
        bencher.iter_custom(|iterations| time_body::<R>(Scenario::CancelEach, iterations));
    });
}

/// One batch of [`BATCH`] spawns, first polls and a cancel of all per iteration, on `R`.
fn batch_cancel_on<R: Runtime>(group: &mut BenchmarkGroup<'_, WallTime>) {
    group.bench_function(R::NAME, |bencher| {
        bencher.iter_custom(|iterations| {
            (0..iterations)
                .map(|_| time_body::<R>(Scenario::CancelBatch, BATCH))
                .sum()
        });
    });
}

fn spawn_cancel(c: &mut Criterion) {
    let mut group = c.benchmark_group("spawn_cancel");
    group.throughput(Throughput::Elements(1));
    spawn_cancel_on::<Ours>(&mut group);
    spawn_cancel_on::<Tokio>(&mut group);
    spawn_cancel_on::<Smol>(&mut group);
    group.finish();
}

fn batch_cancel(c: &mut Criterion) {
    let mut group = c.benchmark_group("batch_cancel_1000");
    group.throughput(Throughput::Elements(BATCH));
    batch_cancel_on::<Ours>(&mut group);
    batch_cancel_on::<Tokio>(&mut group);
    batch_cancel_on::<Smol>(&mut group);
    group.finish();
}

// Written out rather than with `criterion_group!`, whose `pub fn` has no doc comment and trips
// the workspace's `missing_docs` lint (as in the executor's benches).
fn benches() {
    // A 2-core machine: short runs, enough samples for a stable median.
    let mut c = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    spawn_cancel(&mut c);
    batch_cancel(&mut c);
}

criterion_main!(benches);
