//! Allocation accounting, with the workspace's counting global allocator installed in this binary.
//!
//! Counters are thread-local, so tests running side by side on other threads do not disturb
//! each other: everything a test measures happens on its own thread, the executor's.
//!
//! What is shown, exactly:
//! - `Work::new` of a capture-free function allocates nothing; a capturing one allocates its
//!   captures once.
//! - `register` allocates one thing, the task cell, whose size the executor reports.
//! - A million register + unregister cycles (and a million works that return) end with the
//!   heap byte for byte where it started, at exactly one allocation and one free per cycle.
//! - A burst of works registered at once and then unregistered leaves the table at its
//!   floor again: the heap ends where a single cycle left it. The table's bytes are
//!   accounted exactly, against a `VecDeque` with the same entry size and capacity, and its
//!   capacities follow the growth rules in `slots.rs` (16 on first use, then doubling).
//! - `stop` and dropping the scheduler give the table back.

mod common;

use std::collections::VecDeque;
use std::future::pending;
use std::hint::black_box;

use common::tick;
use executor::Executor;
use scheduler::{Work, WorkScheduler};
use workspace_tests::counting::{self, CountingAlloc};

/// The workspace's counting allocator (`tests/src/counting.rs`), counting per thread.
#[global_allocator]
static ALLOCATOR: CountingAlloc = CountingAlloc;

/// This thread's heap counters at one moment, as these tests count: a `realloc` is a free of
/// the old block and an allocation of the new one, so growing the table shows up as one
/// allocation and one free.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Heap {
    allocs: u64,
    frees: u64,
    live_bytes: i64,
}

fn heap() -> Heap {
    let now = counting::Heap::now();
    Heap {
        allocs: now.allocs + now.reallocs,
        frees: now.frees + now.reallocs,
        live_bytes: now.bytes,
    }
}

/// A capture-free work that never ends: its start closure and its future are zero-sized.
fn idle_work() -> Work {
    Work::new(pending::<()>)
}

/// The heap bytes of an empty `VecDeque` whose entries are 16 bytes, like the scheduler's
/// entry (index + `JoinHandle`), made with the given capacity: the reference the
/// scheduler's table is measured against. It is exactly 16 bytes per entry of capacity.
fn table_bytes(capacity: usize) -> i64 {
    let before = heap();
    let table: VecDeque<[u64; 2]> = VecDeque::with_capacity(capacity);
    let bytes = heap().live_bytes - before.live_bytes;
    drop(black_box(table));
    assert_eq!(bytes, 16 * capacity as i64);
    bytes
}

/// The table's floor (`slots.rs`, rules T1 and T4): room for 16 works.
const FLOOR_CAPACITY: usize = 16;

/// The table's capacity after `works` registrations in a row from empty (`slots.rs`, rules
/// 1 and 2): 16 on first use, doubling whenever it is full.
fn grown_capacity(works: usize) -> usize {
    works.next_power_of_two().max(FLOOR_CAPACITY)
}

/// Registers `n` idle works at once, lets each take its first poll, unregisters them all,
/// and lets the executor drop them. Returns the largest capacity the table reached.
async fn burst(scheduler: &WorkScheduler, n: usize) -> usize {
    let indices: Vec<u64> = (0..n).map(|_| scheduler.register(idle_work())).collect();
    let peak_capacity = scheduler.capacity();
    tick().await;
    for index in indices {
        assert!(scheduler.unregister(index));
    }
    tick().await;
    peak_capacity
}

#[test]
fn work_new_of_a_capture_free_function_allocates_nothing() {
    let before = heap();
    let work = Work::new(|| async {});
    assert_eq!(heap(), before);
    drop(work);
    assert_eq!(heap(), before);
}

#[test]
fn work_new_of_a_capturing_function_allocates_its_captures_once() {
    let payload = [7u64; 3];
    let before = heap();
    let work = Work::new(move || async move {
        black_box(payload);
    });
    let after = heap();
    assert_eq!(after.allocs - before.allocs, 1);
    assert_eq!(after.live_bytes - before.live_bytes, 24);
    drop(work);
    assert_eq!(heap().live_bytes, before.live_bytes);
}

#[test]
fn register_allocates_only_the_task_cell_then_unregister_and_tick_free_it() {
    let ex = Executor::new();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        // Warm up: the first register allocates the table, the executor its queue.
        let index = scheduler.register(idle_work());
        scheduler.unregister(index);
        tick().await;

        let before = heap();
        let cell_bytes_before = ex.stats().live_task_bytes;
        let index = scheduler.register(idle_work());
        let after = heap();
        let cell_bytes = (ex.stats().live_task_bytes - cell_bytes_before) as i64;
        assert_eq!(
            after.allocs - before.allocs,
            1,
            "one allocation: the task cell"
        );
        assert_eq!(after.frees, before.frees);
        assert_eq!(after.live_bytes - before.live_bytes, cell_bytes);

        assert!(scheduler.unregister(index));
        tick().await;
        let end = heap();
        assert_eq!(end.frees - before.frees, 1);
        assert_eq!(end.live_bytes, before.live_bytes);
        eprintln!("task cell of a registered zero-sized work: {cell_bytes} bytes");
    });
}

const CYCLES: u64 = 1_000_000;

#[test]
fn million_register_unregister_tick_cycles_end_where_they_started() {
    let ex = Executor::new();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        let index = scheduler.register(idle_work());
        scheduler.unregister(index);
        tick().await;

        let before = heap();
        let stats_before = ex.stats();
        let capacity = scheduler.capacity();
        for _ in 0..CYCLES {
            let index = scheduler.register(idle_work());
            assert!(scheduler.unregister(index));
            tick().await;
        }
        let after = heap();
        let stats = ex.stats();
        assert_eq!(after.live_bytes, before.live_bytes);
        assert_eq!(after.allocs - before.allocs, CYCLES);
        assert_eq!(after.frees - before.frees, CYCLES);
        assert_eq!(stats.spawned - stats_before.spawned, CYCLES);
        assert_eq!(stats.cancelled - stats_before.cancelled, CYCLES);
        assert_eq!(stats.futures_dropped - stats_before.futures_dropped, CYCLES);
        assert_eq!(stats.tasks_freed - stats_before.tasks_freed, CYCLES);
        assert_eq!(stats.live_tasks, 0);
        assert_eq!(scheduler.capacity(), capacity);
        assert!(scheduler.is_empty());
        eprintln!(
            "{CYCLES} register+unregister cycles: {} allocations, {} frees, live bytes {} -> {}",
            after.allocs - before.allocs,
            after.frees - before.frees,
            before.live_bytes,
            after.live_bytes,
        );
    });
}

#[test]
fn million_works_return_and_their_hooks_leave_the_heap_where_it_started() {
    let ex = Executor::new();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        scheduler.register(Work::new(|| async {}));
        tick().await;

        let before = heap();
        let stats_before = ex.stats();
        for _ in 0..CYCLES {
            scheduler.register(Work::new(|| async {}));
            tick().await;
        }
        let after = heap();
        let stats = ex.stats();
        assert!(scheduler.is_empty());
        assert_eq!(after.live_bytes, before.live_bytes);
        assert_eq!(after.allocs - before.allocs, CYCLES);
        assert_eq!(after.frees - before.frees, CYCLES);
        assert_eq!(stats.completed - stats_before.completed, CYCLES);
        assert_eq!(stats.tasks_freed - stats_before.tasks_freed, CYCLES);
        assert_eq!(stats.live_tasks, 0);
    });
}

const BURST: usize = 100_000;

#[test]
fn burst_registered_then_unregistered_ends_where_one_work_ended() {
    let ex = Executor::new();
    ex.block_on(async {
        // Warm the executor's own containers (queue, task list) to this burst size with a
        // throwaway scheduler, so what follows measures the scheduler alone.
        burst(&WorkScheduler::new(), BURST).await;

        let start = heap();
        let scheduler = WorkScheduler::new();
        let with_shared_state = heap();
        assert_eq!(
            with_shared_state.allocs - start.allocs,
            1,
            "the Rc, no table yet"
        );
        let index = scheduler.register(idle_work());
        scheduler.unregister(index);
        tick().await;
        let one_cycle = heap();
        let floor = scheduler.capacity();
        assert_eq!(floor, FLOOR_CAPACITY);
        let table = one_cycle.live_bytes - with_shared_state.live_bytes;
        assert_eq!(table, table_bytes(floor));

        let peak_capacity = burst(&scheduler, BURST).await;
        assert_eq!(peak_capacity, grown_capacity(BURST));
        assert_eq!(peak_capacity, 131_072);
        let end = heap();
        assert_eq!(scheduler.capacity(), floor);
        assert_eq!(end.live_bytes, one_cycle.live_bytes);

        drop(scheduler);
        assert_eq!(heap().live_bytes, start.live_bytes);
        // Printed last: the test harness captures output into a buffer that allocates.
        eprintln!(
            "table: floor capacity {floor} = {table} bytes; after {BURST} works capacity \
             {peak_capacity} = {} bytes; back to {table} bytes",
            table_bytes(peak_capacity),
        );
    });
}

#[test]
fn register_hundred_then_stop_then_tick_gives_table_and_cells_back() {
    let ex = Executor::new();
    ex.block_on(async {
        burst(&WorkScheduler::new(), 100).await;

        let scheduler = WorkScheduler::new();
        let start = heap();
        for _ in 0..100 {
            scheduler.register(idle_work());
        }
        tick().await;
        scheduler.stop();
        assert_eq!(scheduler.capacity(), 0);
        tick().await;
        assert_eq!(heap().live_bytes, start.live_bytes);
        assert_eq!(ex.stats().live_tasks, 0);
    });
}

#[test]
fn scheduler_dropped_while_its_work_runs_then_only_the_table_is_freed_at_once() {
    let ex = Executor::new();
    let scheduler = WorkScheduler::new();
    ex.block_on(async {
        scheduler.register(idle_work());
        tick().await;
    });
    let capacity = scheduler.capacity();
    let before = heap();
    drop(scheduler);
    let after = heap();
    // The table goes with the last `WorkScheduler`. Its handle is dropped (detaching the
    // work), which frees nothing while the task lives. The `Rc`'s allocation stays until
    // the work's hook, a `Weak`, is dropped with the future. A hook holding an `Rc` would
    // keep the table too, and this would free nothing.
    assert_eq!(after.frees - before.frees, 1);
    assert_eq!(before.live_bytes - after.live_bytes, table_bytes(capacity));
    let stats = ex.shutdown();
    assert_eq!(
        (stats.futures_dropped, stats.tasks_freed, stats.live_tasks),
        (1, 1, 0)
    );
}
