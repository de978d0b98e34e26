//! The eager cancel, byte for byte: `JoinHandle::cancel_now` and the scheduler's
//! `unregister_now` / `stop_now` give every byte back inside the call — the cell, the future's
//! own heap, its timer entry — with no tick of the executor in between; and `timeout` keeps its
//! timer entry inside the task's cell, so it allocates nothing and leaves nothing behind.
//!
//! Exact heap counts from the counting allocator (kept per thread: everything measured runs on
//! the test's own thread, the executor's), next to the executor's exact `Stats`.

mod common;

use common::{Tasks, WORK_SLEEP, sleeping_work, table_growth, tick};
use executor::{Executor, Sleep, Timeout, sleep, timeout};
use scheduler::WorkScheduler;
use std::time::Duration;
use workspace_tests::counting::{CountingAlloc, Delta, Heap, assert_installed};

#[global_allocator]
static ALLOCATOR: CountingAlloc = CountingAlloc;

const N: u64 = if cfg!(miri) { 5 } else { 100 };

#[test]
fn cancel_now_then_drop_the_handle_gives_the_heap_back_with_no_tick() {
    assert_installed();
    let ex = Executor::new();
    let start = Heap::now();
    // Each future owns a 1 KiB buffer of its own besides its cell and its sleep's timer entry.
    let handles: Vec<_> = (0..N)
        .map(|_| {
            let buffer = vec![1u8; 1024];
            ex.spawn(async move {
                sleep(WORK_SLEEP).await;
                buffer.len()
            })
        })
        .collect();
    tick_outside(&ex);
    let cell = ex.stats().live_task_bytes / N;
    let vec_bytes = (N as usize * size_of::<executor::JoinHandle<usize>>()) as i64;
    let sleeping = Heap::now();
    assert_eq!(
        sleeping.since(start).bytes,
        (N * (cell + 1024)) as i64 + vec_bytes
    );
    assert_eq!(ex.stats().timers_live, N);

    for (i, handle) in handles.into_iter().enumerate() {
        let before = Heap::now();
        assert!(handle.cancel_now());
        drop(handle);
        // [F] and [M] for this one task, right here: its buffer and its cell, nothing else.
        assert_eq!(
            Heap::now().since(before),
            Delta {
                allocs: 0,
                frees: 2,
                reallocs: 0,
                bytes: -((cell + 1024) as i64)
            },
            "task {i}"
        );
        assert_eq!(ex.stats().timers_live, N - 1 - i as u64);
    }
    // Only the (now empty) vector's block was left, and it went with `into_iter`.
    assert_eq!(Heap::now().since(start).bytes, 0);
    assert_eq!(
        Tasks::from(ex.stats()),
        Tasks {
            spawned: N,
            polls: N,
            cancelled: N,
            futures_dropped: N,
            tasks_freed: N,
            live_tasks: 0,
            live_task_bytes: 0,
            timers_live: 0,
        }
    );
}

#[test]
fn cancel_now_of_never_polled_tasks_unlinks_them_from_the_run_queue() {
    assert_installed();
    let ex = Executor::new();
    let start = Heap::now();
    // Cancelled last first: each is at the back of the queue, the worst case of the walk.
    let mut handles: Vec<_> = (0..N).map(|_| ex.spawn(sleep(WORK_SLEEP))).collect();
    let cell = ex.stats().live_task_bytes / N;
    while let Some(handle) = handles.pop() {
        let before = Heap::now();
        assert!(handle.cancel_now());
        drop(handle);
        assert_eq!(Heap::now().since(before).bytes, -(cell as i64));
    }
    drop(handles);
    assert_eq!(Heap::now().since(start).bytes, 0);
    tick_outside(&ex);
    assert_eq!(
        Tasks::from(ex.stats()),
        Tasks {
            spawned: N,
            polls: 0,
            cancelled: N,
            futures_dropped: N,
            tasks_freed: N,
            ..Tasks::default()
        }
    );
}

#[test]
fn unregister_now_gives_the_cell_back_inside_the_call() {
    assert_installed();
    let ex = Executor::new();
    let scheduler = WorkScheduler::new();
    ex.block_on(async {
        let table = table_growth(1);
        let start = Heap::now();
        let index = scheduler.register(sleeping_work());
        let cell = ex.stats().live_task_bytes;
        tick().await;
        let polled = Heap::now();
        assert_eq!(
            polled.since(start),
            Delta {
                allocs: 1 + table.allocs,
                frees: 0,
                reallocs: 0,
                bytes: cell as i64 + table.bytes,
            }
        );
        assert!(scheduler.unregister_now(index));
        // [F] and [M] inside: one free, the cell. The table keeps its floor (as `unregister`).
        assert_eq!(
            Heap::now().since(polled),
            Delta {
                allocs: 0,
                frees: 1,
                reallocs: 0,
                bytes: -(cell as i64),
            }
        );
        assert_eq!(Heap::now().last_free as u64, cell);
        assert_eq!(
            Tasks::from(ex.stats()),
            Tasks {
                spawned: 1,
                polls: 1,
                cancelled: 1,
                futures_dropped: 1,
                tasks_freed: 1,
                ..Tasks::default()
            }
        );
    });
    drop(scheduler);
    assert_eq!(ex.shutdown().live_tasks, 0);
}

#[test]
fn stop_now_gives_every_byte_back_inside_the_call() {
    assert_installed();
    let table = table_growth(N as usize);
    let ex = Executor::new();
    let scheduler = WorkScheduler::new();
    ex.block_on(async {
        let start = Heap::now();
        for _ in 0..N {
            scheduler.register(sleeping_work());
        }
        let cell = ex.stats().live_task_bytes / N;
        tick().await;
        let polled = Heap::now();
        assert_eq!(
            polled.since(start),
            Delta {
                allocs: N + table.allocs,
                frees: table.frees,
                reallocs: table.reallocs,
                bytes: (N * cell) as i64 + table.bytes,
            }
        );
        assert_eq!(ex.stats().timers_live, N);

        scheduler.stop_now();
        // The table and the N cells, inside the call: the heap is where it started.
        assert_eq!(
            Heap::now().since(polled),
            Delta {
                allocs: 0,
                frees: N + 1,
                reallocs: 0,
                bytes: -((N * cell) as i64 + table.bytes),
            }
        );
        assert_eq!(Heap::now().since(start).bytes, 0);
        assert_eq!(
            Tasks::from(ex.stats()),
            Tasks {
                spawned: N,
                polls: N,
                cancelled: N,
                futures_dropped: N,
                tasks_freed: N,
                ..Tasks::default()
            }
        );
        // The next tick has nothing left to do.
        let stopped = Heap::now();
        tick().await;
        assert_eq!(Heap::now().since(stopped), Delta::default());
    });
}

#[test]
fn timeout_keeps_its_entry_in_the_cell_and_leaves_nothing_behind() {
    assert_installed();
    // The timeout is the inner future (in an `Option`, dropped when it resolves) next to a
    // `Sleep` of 32 bytes: its timer entry.
    assert_eq!(size_of::<Sleep>(), 32);
    assert_eq!(
        size_of::<Timeout<Sleep>>(),
        size_of::<Option<Sleep>>() + size_of::<Sleep>()
    );
    let ex = Executor::new();
    ex.block_on(async {
        let start = Heap::now();
        let handles: Vec<_> = (0..N)
            .map(|_| executor::spawn(timeout(Duration::from_millis(1), sleep(WORK_SLEEP))))
            .collect();
        let cell = ex.stats().live_task_bytes / N;
        let vec_bytes = (N as usize * size_of::<executor::JoinHandle<()>>()) as i64;
        tick().await;
        // Two entries per task (the inner sleep's and the timeout's), both inside the cell.
        assert_eq!(ex.stats().timers_live, 2 * N);
        assert_eq!(
            Heap::now().since(start),
            Delta {
                allocs: N + 1,
                frees: 0,
                reallocs: 0,
                bytes: (N * cell) as i64 + vec_bytes,
            }
        );
        for handle in handles {
            assert!(handle.await.unwrap().is_err(), "the deadline won");
        }
        // Every loser dropped when its timeout resolved, every entry released, every cell
        // freed with its handle (the first await allocated the join-waker table, kept).
        assert_eq!(ex.stats().timers_live, 0);
        let left = Heap::now().since(start);
        assert_eq!((left.allocs - left.frees, left.reallocs), (1, 0));
        assert_eq!(
            Tasks::from(ex.stats()),
            Tasks {
                spawned: N,
                polls: ex.stats().polls,
                tasks_freed: N,
                futures_dropped: N,
                ..Tasks::default()
            }
        );
    });
    assert_eq!(ex.shutdown().completed, N);
}

/// One tick from outside the executor: `block_on(yield_now())`.
fn tick_outside(ex: &Executor) {
    ex.block_on(executor::yield_now());
}
