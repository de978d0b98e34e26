//! Where a registered work's memory is at each moment of `unregister`, `stop` and shutdown,
//! with the scheduler and the executor working together: exact heap counts from the counting
//! allocator (kept per thread: everything measured runs on the test's own thread, the
//! executor's) next to the executor's exact `Stats` and the scheduler's `len()`.
//!
//! The work is the bench's: "sleep 1000 seconds", so each one holds a timer entry — inside its
//! `Sleep`, in the task's cell. Linking it into the executor's wheel (the first poll) and
//! unlinking it (when the future is dropped) allocate and free nothing, so the timer never
//! shows in the heap counts. What stays allocated once every task is gone is the capacity the
//! scheduler's table keeps — its floor after `unregister`, nothing after `stop` — and each of
//! its bytes is accounted for from the table's layout and growth rules (see `common/mod.rs`),
//! not copied from a run.

mod common;

use common::{Tasks, scheduler_shell_bytes, sleeping_work, table_growth, tick};
use executor::Executor;
use scheduler::WorkScheduler;
use workspace_tests::counting::{CountingAlloc, Delta, Heap, assert_installed};

#[global_allocator]
static ALLOCATOR: CountingAlloc = CountingAlloc;

/// One cancel-each cycle (the bench's `cancel-each`, once), checked at each of its moments.
/// `k` is the cycle's number on this executor; `table` is what the scheduler's table should
/// grow by at `register` (room for 16 on first use, nothing later). Returns the task cell's
/// size.
async fn cancel_each_cycle(ex: &Executor, scheduler: &WorkScheduler, k: u64, table: Delta) -> u64 {
    let done = k - 1;
    let start = Heap::now();

    // register: [A] the cell, and nothing is polled yet.
    let index = scheduler.register(sleeping_work());
    let registered = Heap::now();
    let cell = ex.stats().live_task_bytes;
    assert_eq!(
        registered.since(start),
        Delta {
            allocs: 1 + table.allocs,
            frees: table.frees,
            reallocs: table.reallocs,
            bytes: cell as i64 + table.bytes,
        },
        "register: the task cell (plus the table, on first use)"
    );
    assert_eq!(registered.last_alloc as u64, cell, "the cell came last");
    assert_eq!(scheduler.len(), 1);
    let moment = Tasks {
        spawned: k,
        polls: done,
        cancelled: done,
        futures_dropped: done,
        tasks_freed: done,
        live_tasks: 1,
        live_task_bytes: cell,
        timers_live: 0,
    };
    assert_eq!(Tasks::from(ex.stats()), moment);

    // yield: the work's first poll links the entry inside its sleep into the timer wheel.
    tick().await;
    let polled = Heap::now();
    assert_eq!(
        polled.since(registered),
        Delta::default(),
        "first poll: the timer entry is in the cell already; nothing is allocated"
    );
    let moment = Tasks {
        polls: k,
        timers_live: 1,
        ..moment
    };
    assert_eq!(Tasks::from(ex.stats()), moment);

    // unregister: the entry leaves and the cancel is asked for; nothing is dropped or freed.
    assert!(scheduler.unregister(index));
    let unregistered = Heap::now();
    assert_eq!(scheduler.len(), 0);
    assert_eq!(unregistered.since(polled), Delta::default());
    assert_eq!(
        Tasks::from(ex.stats()),
        moment,
        "after unregister the future and its timer entry are still there, the cell is live"
    );

    // yield: [F] the future is dropped (its timer entry is unlinked, freeing nothing) and, the
    // scheduler's handle being gone already, [M] the cell is freed in the same step: the one
    // free of this tick.
    tick().await;
    let ticked = Heap::now();
    assert_eq!(
        ticked.since(unregistered),
        Delta {
            allocs: 0,
            frees: 1,
            reallocs: 0,
            bytes: -(cell as i64),
        }
    );
    assert_eq!(ticked.last_free as u64, cell, "the block freed is the cell");
    assert_eq!(
        Tasks::from(ex.stats()),
        Tasks {
            cancelled: k,
            futures_dropped: k,
            tasks_freed: k,
            live_tasks: 0,
            live_task_bytes: 0,
            timers_live: 0,
            ..moment
        }
    );
    assert_eq!(
        ticked.since(start).bytes,
        table.bytes,
        "back to the pre-register level, but for the table's first block"
    );
    cell
}

#[test]
fn scheduler_cancel_each_cycle_frees_cell_on_next_tick() {
    assert_installed();
    let cold = table_growth(1);
    let ex = Executor::new();
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        // The first cycle leaves the table at its floor (room for 16 works: 16 entries of
        // 16 bytes, 256 bytes), which it keeps when it empties. The timer leaves nothing: its
        // entry was in the cell, and it has no storage of its own to grow.
        assert_eq!(cold.bytes, 256);
        assert_eq!(scheduler.capacity(), 0);
        let first = cancel_each_cycle(&ex, &scheduler, 1, cold).await;
        assert_eq!(scheduler.capacity(), 16);
        // Every later cycle costs the cell alone and ends exactly where it started.
        let second = cancel_each_cycle(&ex, &scheduler, 2, Delta::default()).await;
        assert_eq!(scheduler.capacity(), 16);
        assert_eq!(first, second);
    });
    let stats = ex.shutdown();
    assert_eq!((stats.spawned, stats.live_tasks), (2, 0));
}

#[test]
fn stop_then_tick_gives_everything_back() {
    // Not a power of two, so capacity and length differ.
    const N: usize = 100;
    assert_installed();
    // The scheduler's table grows by doubling from 16: 16 → 32 → 64 → 128 entries of 16
    // bytes, a first block and then three reallocations.
    let table = table_growth(N);
    assert_eq!((table.allocs, table.reallocs, table.bytes), (1, 3, 2048));

    let base = Heap::now();
    let ex = Executor::new();
    let scheduler = WorkScheduler::new();
    ex.block_on(async {
        let start = Heap::now();
        for round in 1..=2u64 {
            let round_start = Heap::now();
            let before = Tasks::from(ex.stats());
            for _ in 0..N {
                scheduler.register(sleeping_work());
            }
            let registered = Heap::now();
            let cell = ex.stats().live_task_bytes / N as u64;
            // N cells and the table, grown from nothing (`stop` gave the last one back).
            assert_eq!(
                registered.since(round_start),
                Delta {
                    allocs: N as u64 + table.allocs,
                    frees: table.frees,
                    reallocs: table.reallocs,
                    bytes: (N as u64 * cell) as i64 + table.bytes,
                }
            );

            tick().await;
            let polled = Heap::now();
            // N first polls, N timer entries linked: in either round, nothing allocated.
            assert_eq!(
                polled.since(registered),
                Delta::default(),
                "round {round}: registering the sleeps allocates nothing"
            );
            let n = N as u64;
            let moment = Tasks {
                spawned: before.spawned + n,
                polls: before.polls + n,
                cancelled: before.cancelled,
                futures_dropped: before.futures_dropped,
                tasks_freed: before.tasks_freed,
                live_tasks: n,
                live_task_bytes: n * cell,
                timers_live: n,
            };
            assert_eq!(Tasks::from(ex.stats()), moment);

            // stop: every entry leaves at once and the whole table goes back; the N cancels
            // are asked for, nothing of the tasks is dropped or freed yet.
            scheduler.stop();
            let stopped = Heap::now();
            assert_eq!((scheduler.len(), scheduler.capacity()), (0, 0));
            assert_eq!(
                stopped.since(polled),
                Delta {
                    allocs: 0,
                    frees: 1,
                    reallocs: 0,
                    bytes: -table.bytes,
                },
                "stop frees the table, and only the table"
            );
            assert_eq!(Tasks::from(ex.stats()), moment);

            // tick: [F] and [M] for all N: each future's timer entry is unlinked with it (no
            // free of its own), and the N frees are the N cells.
            tick().await;
            let ticked = Heap::now();
            assert_eq!(
                ticked.since(stopped),
                Delta {
                    allocs: 0,
                    frees: n,
                    reallocs: 0,
                    bytes: -((n * cell) as i64),
                }
            );
            assert_eq!(
                Tasks::from(ex.stats()),
                Tasks {
                    cancelled: before.cancelled + n,
                    futures_dropped: before.futures_dropped + n,
                    tasks_freed: before.tasks_freed + n,
                    live_tasks: 0,
                    live_task_bytes: 0,
                    timers_live: 0,
                    ..moment
                }
            );
            // What is left above the start, byte for byte: nothing.
            // - the timer: 0, its entries were in the cells and its wheel of list heads is
            //   part of the executor's core, allocated before `start` and never resized;
            // - the remote queue: 0, no wake came from another thread (it allocates its first
            //   block on the first remote wake);
            // - the run queue and the list of live tasks: 0, both are intrusive;
            // - the scheduler's table: 0, `stop` gave all of it back (unlike `unregister`,
            //   which keeps the floor).
            assert_eq!(scheduler.capacity(), 0);
            assert_eq!(
                ticked.since(round_start),
                Delta {
                    allocs: n + table.allocs,
                    frees: n + 1,
                    reallocs: table.reallocs,
                    bytes: 0,
                },
                "round {round}: every block allocated was freed, the table's in one piece"
            );
            assert_eq!(ticked.since(start).bytes, 0);
        }
    });
    let stats = ex.shutdown();
    assert_eq!(stats.live_tasks, 0);
    drop(scheduler);
    assert_eq!(
        Heap::now().since(base).bytes,
        0,
        "shutdown gives the rest back"
    );
}

#[test]
fn executor_shutdown_with_registered_works_empties_scheduler() {
    const N: usize = 100;
    assert_installed();
    let shell = scheduler_shell_bytes();
    let floor = table_growth(1).bytes;

    let base = Heap::now();
    let scheduler = WorkScheduler::new();
    assert_eq!(Heap::now().since(base).bytes, shell);
    let ex = Executor::new();
    let indices = ex.block_on(async {
        let indices: Vec<u64> = (0..N)
            .map(|_| scheduler.register(sleeping_work()))
            .collect();
        tick().await;
        // Half of them unregistered: cancelled, not yet dropped when shutdown comes.
        for index in indices.iter().step_by(2) {
            assert!(scheduler.unregister(*index));
        }
        indices
    });
    let n = N as u64;
    assert_eq!(scheduler.len(), N / 2);
    let cell = ex.stats().live_task_bytes / n;
    assert_eq!(
        Tasks::from(ex.stats()),
        Tasks {
            spawned: n,
            polls: n,
            cancelled: 0,
            futures_dropped: 0,
            tasks_freed: 0,
            live_tasks: n,
            live_task_bytes: n * cell,
            timers_live: n,
        }
    );

    // Shutdown drops all N futures on this thread: the 50 cancelled ones and the 50 still
    // registered, whose done hooks remove their entries (and drop the scheduler's handles).
    let stats = ex.shutdown();
    assert_eq!(
        Tasks::from(stats),
        Tasks {
            spawned: n,
            polls: n,
            cancelled: n,
            futures_dropped: n,
            tasks_freed: n,
            live_tasks: 0,
            live_task_bytes: 0,
            timers_live: 0,
        }
    );
    assert_eq!(scheduler.len(), 0);
    for index in indices {
        assert!(!scheduler.unregister(index), "work {index} is gone");
    }
    // The executor is gone with every cell, its timer and its shared half; what is left is
    // the scheduler's shared state and its table, shrunk back to its floor as it emptied.
    assert_eq!(Heap::now().since(base).bytes, shell + floor);
    drop(scheduler);
    assert_eq!(Heap::now().since(base).bytes, 0);
}
