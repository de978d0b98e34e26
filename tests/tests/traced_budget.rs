//! The lifecycle trace costs a task nothing in memory: this crate builds the executor with the
//! `trace` feature (see its `Cargo.toml`), so the hooks are compiled in here, and with a recorder
//! attached a sleeping task is still one allocation, of the same cell size as with no
//! recorder — the recorder's buffer was allocated before, and recording allocates nothing.

mod common;

use common::{WORK_SLEEP, tick};
use executor::trace::{EventKind, Recorder};
use executor::{Executor, sleep};
use workspace_tests::counting::{CountingAlloc, Delta, Heap, assert_installed};

#[global_allocator]
static ALLOCATOR: CountingAlloc = CountingAlloc;

const WORKS: usize = 64;

/// Spawns `WORKS` sleeping works one by one, lets them take their first poll and cancels
/// them; returns what each spawn cost, what the polls cost, and what the cancels cost.
fn run(recorder: Option<&Recorder>) -> (Vec<Delta>, Delta, Delta) {
    let ex = Executor::new();
    if let Some(recorder) = recorder {
        ex.trace_into(recorder);
    }
    let mut spawns = Vec::with_capacity(WORKS);
    let mut handles = Vec::with_capacity(WORKS);
    for _ in 0..WORKS {
        let before = Heap::now();
        handles.push(ex.spawn(sleep(WORK_SLEEP)));
        spawns.push(Heap::now().since(before));
    }
    let before = Heap::now();
    ex.block_on(tick()); // first polls: each links its timer entry, inside its cell
    let polls = Heap::now().since(before);
    let before = Heap::now();
    ex.block_on(async {
        for handle in handles.drain(..) {
            handle.cancel();
        }
        tick().await; // [F] and [M] for every work
    });
    let cancels = Heap::now().since(before);
    (spawns, polls, cancels)
}

#[test]
fn a_recorder_adds_no_allocation_and_no_byte_to_a_task() {
    assert_installed();
    let untraced = run(None);
    let recorder = Recorder::with_capacity(64 * WORKS);
    let traced = run(Some(&recorder));
    assert_eq!(traced, untraced);
    let (spawns, polls, cancels) = traced;
    for spawn in &spawns {
        assert_eq!((spawn.allocs, spawn.frees, spawn.reallocs), (1, 0, 0));
        assert_eq!(spawn.bytes, spawns[0].bytes, "the same cell each time");
    }
    assert_eq!((polls.allocs, polls.bytes), (0, 0));
    assert_eq!((cancels.allocs, cancels.frees), (0, WORKS as u64));
    assert_eq!(cancels.bytes, -(WORKS as i64) * spawns[0].bytes);
    let freed = recorder
        .events()
        .iter()
        .filter(|event| matches!(event.kind, EventKind::Freed { .. }))
        .count();
    assert_eq!(freed, WORKS, "every cell's [M] was recorded");
    assert_eq!(recorder.dropped(), 0);
}
