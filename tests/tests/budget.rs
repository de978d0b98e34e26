//! What one registered sleeping work costs in heap bytes, and in allocations, with the
//! executor and the scheduler together, from the counting allocator (kept per thread) and the
//! executor's `Stats`.
//!
//! Three parts, each measured at the moment it is allocated:
//!
//! - the **task cell**, at `register`: one allocation of exactly the size the executor reports
//!   (`Stats::live_task_bytes`): header, the work's future and the scheduler's done hook;
//! - the **scheduler's slot**, at `register`: what the table allocates beyond the cells;
//! - the **timer entry**, at the work's first poll: what the executor's timer storage grows by.
//!
//! A work's cell is its own allocation; the other two parts live in shared containers that
//! grow by doubling, so one work's share of them depends on how full they are. The budget is
//! measured at N = 1024 works, where both timer vectors are exactly full.

mod common;

use common::{
    TABLE_ENTRY_BYTES, TIMER_RECORD_BYTES, TIMER_SLOT_BYTES, Tasks, WORK_SLEEP, grown_vec_capacity,
    scheduler_shell_bytes, sleeping_work, table_capacity, table_growth, table_growth_at, tick,
    timer_storage_bytes,
};
use executor::{Executor, sleep};
use scheduler::WorkScheduler;
use workspace_tests::counting::{CountingAlloc, Delta, Heap, assert_installed};

#[global_allocator]
static ALLOCATOR: CountingAlloc = CountingAlloc;

#[test]
fn one_allocation_per_registered_work() {
    assert_installed();
    let ex = Executor::new();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        // Warm up: one cycle leaves the table at its floor.
        let index = scheduler.register(sleeping_work());
        tick().await;
        scheduler.unregister(index);
        tick().await;
        let floor = scheduler.capacity();
        let growth = table_growth_at(floor);
        let before_all = Tasks::from(ex.stats());

        // Up to the table's capacity: `Work::new` + `register` is one allocation, the cell.
        let mut cell = None;
        for k in 1..=floor as u64 {
            let before = Heap::now();
            let bytes_before = ex.stats().live_task_bytes;
            scheduler.register(sleeping_work());
            let after = Heap::now();
            let this_cell = ex.stats().live_task_bytes - bytes_before;
            assert_eq!(
                after.since(before),
                Delta {
                    allocs: 1,
                    frees: 0,
                    reallocs: 0,
                    bytes: this_cell as i64,
                },
                "work {k}: one allocation, of the cell's size"
            );
            assert_eq!(after.last_alloc as u64, this_cell);
            assert_eq!(
                *cell.get_or_insert(this_cell),
                this_cell,
                "same size each time"
            );
        }
        let cell = cell.unwrap();
        let stats = ex.stats();
        assert_eq!(stats.live_tasks, floor as u64);
        assert_eq!(stats.live_task_bytes % stats.live_tasks, 0);
        assert_eq!(stats.live_task_bytes / stats.live_tasks, cell);

        // One past the table's capacity: the cell, and the table's growth (one `realloc`
        // to twice the room, no new block) — nothing else.
        let before = Heap::now();
        scheduler.register(sleeping_work());
        let after = Heap::now();
        assert_eq!((growth.allocs, growth.frees, growth.reallocs), (0, 0, 1));
        assert_eq!(growth.bytes, (floor * TABLE_ENTRY_BYTES) as i64);
        assert_eq!(
            after.since(before),
            Delta {
                allocs: 1 + growth.allocs,
                frees: growth.frees,
                reallocs: growth.reallocs,
                bytes: cell as i64 + growth.bytes,
            }
        );

        scheduler.stop();
        tick().await;
        let n = floor as u64 + 1;
        assert_eq!(
            Tasks::from(ex.stats()),
            Tasks {
                spawned: before_all.spawned + n,
                polls: before_all.polls,
                cancelled: before_all.cancelled + n,
                futures_dropped: before_all.futures_dropped + n,
                tasks_freed: before_all.tasks_freed + n,
                live_tasks: 0,
                live_task_bytes: 0,
                timers_live: 0,
            },
            "stopped before their first poll: dropped unpolled"
        );
    });
}

#[test]
fn byte_budget_of_one_sleeping_work() {
    // A power of two: the timer's slab and heap grow to exactly N, no slack.
    const N: usize = 1024;
    let n = N as u64;
    assert_installed();
    let table = table_growth(N);
    let floor = table_growth(1).bytes;
    let shell = scheduler_shell_bytes();
    assert_eq!(grown_vec_capacity(N), N);

    let ex = Executor::new();
    ex.block_on(async {
        // The same future spawned bare, for the hook's share of the cell.
        let bytes_before = ex.stats().live_task_bytes;
        let bare = ex.spawn(async { sleep(WORK_SLEEP).await });
        let bare_cell = ex.stats().live_task_bytes - bytes_before;
        bare.cancel();
        drop(bare);
        tick().await;

        let scheduler = WorkScheduler::new();
        let start = Heap::now();
        let stats_start = ex.stats();
        for _ in 0..N {
            scheduler.register(sleeping_work());
        }
        let registered = Heap::now();
        // Part 1, the task cells: as the executor counts them.
        let cells = ex.stats().live_task_bytes - stats_start.live_task_bytes;
        assert_eq!(cells % n, 0);
        let cell = cells / n;
        // Part 2, the scheduler's slots: what `register` allocated beyond the cells.
        let slots = registered.since(start).bytes - cells as i64;
        assert_eq!(slots, table.bytes, "the table grown to {N} works, no more");
        assert_eq!(
            registered.since(start).allocs,
            n + table.allocs,
            "one allocation per work, plus the table's first block"
        );
        assert_eq!(
            registered.since(start).reallocs,
            table.reallocs,
            "and the table's doublings, in place or moved"
        );
        assert_eq!(table_capacity(N), N, "the table exactly full too");
        assert_eq!(slots, (N * TABLE_ENTRY_BYTES) as i64);

        tick().await;
        let polled = Heap::now();
        assert_eq!(ex.stats().timers_live, n);
        // Part 3, the timer entries: what the first polls allocated.
        let timer = polled.since(registered).bytes;
        assert_eq!(timer, timer_storage_bytes(N));
        assert_eq!(
            timer,
            (N * (TIMER_SLOT_BYTES + TIMER_RECORD_BYTES)) as i64,
            "both timer vectors exactly full"
        );

        // The parts add up to the whole.
        let total = polled.since(start).bytes;
        assert_eq!(total, cells as i64 + slots + timer);

        let capacity = scheduler.capacity();
        assert_eq!(capacity, table_capacity(N));
        scheduler.stop();
        tick().await;
        assert_eq!(ex.stats().live_tasks, 0);
        // Printed after the last measurement: captured output allocates on this thread.
        let per = |bytes: i64| bytes as f64 / N as f64;
        eprintln!("byte budget of one registered sleeping work (sleep {WORK_SLEEP:?}), N = {N}:");
        eprintln!(
            "  task cell       {cell:>6} B  one allocation (bare spawn of the same future: \
             {bare_cell} B; the scheduler's done hook: {} B)",
            cell - bare_cell
        );
        eprintln!(
            "  timer entry     {:>6.2} B  slab slot {TIMER_SLOT_BYTES} B + heap record \
             {TIMER_RECORD_BYTES} B; vectors of capacity {N} ({timer} B)",
            per(timer)
        );
        eprintln!(
            "  scheduler slot  {:>6.2} B  {TABLE_ENTRY_BYTES} B entry per unit of capacity; \
             table of capacity {capacity} ({slots} B)",
            per(slots),
        );
        eprintln!(
            "  total           {:>6.2} B  ({total} B for {N} works)",
            per(total)
        );
        eprintln!(
            "  fixed: scheduler shell {shell} B, table floor {floor} B; \
             timer storage is kept after the works are gone"
        );
    });
}
