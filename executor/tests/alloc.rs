//! Allocation accounting, in its own test binary with a counting global allocator: each task
//! costs exactly one allocation of exactly `Stats::live_task_bytes` bytes ([A]), cells go back
//! to the allocator when their last reference goes ([M]), and spawn+cancel or sleep+cancel
//! cycles leave the heap at its baseline. The counts are kept per thread, so tests running in
//! parallel, and the test harness, do not disturb each other.

mod support;

use executor::{Executor, JoinHandle, sleep, spawn, yield_now};
use std::future::{Future, pending, poll_fn};
use std::task::Poll;
use std::thread;
use std::time::Duration;
use support::{WakerSlot, assert_stats, pending_with_waker, tick, yield_forever};
use workspace_tests::counting::{CountingAlloc, Delta, Heap};

/// The workspace's counting allocator (`tests/src/counting.rs`), counting per thread.
#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// What happened between two readings: (allocations, frees, reallocations, bytes).
fn counts(delta: Delta) -> (u64, u64, u64, i64) {
    (delta.allocs, delta.frees, delta.reallocs, delta.bytes)
}

/// Spawns `future` and checks that this cost exactly one allocation, of exactly the bytes
/// `live_task_bytes` went up by. Returns the handle and the cell's size.
fn spawn_one<F>(ex: &Executor, future: F) -> (JoinHandle<F::Output>, u64)
where
    F: Future + 'static,
    F::Output: 'static,
{
    let stats_before = ex.stats();
    let before = Heap::now();
    let h = ex.spawn(future);
    let after = Heap::now();
    let cell = ex.stats().live_task_bytes - stats_before.live_task_bytes;
    assert_eq!(
        counts(after.since(before)),
        (1, 0, 0, cell as i64),
        "spawn = one allocation of live_task_bytes"
    );
    assert_eq!(after.last_alloc as u64, cell);
    (h, cell)
}

/// Runs `h` to completion and checks that this allocated nothing and freed exactly the cell.
fn join_one<T>(ex: &Executor, h: JoinHandle<T>, cell: u64) -> T {
    let before = Heap::now();
    let out = ex.block_on(h).unwrap();
    let after = Heap::now();
    assert_eq!(counts(after.since(before)), (0, 1, 0, -(cell as i64)));
    assert_eq!(after.last_free as u64, cell);
    out
}

#[test]
fn each_task_costs_exactly_one_allocation_of_live_task_bytes() {
    let ex = Executor::new();

    let (h, small) = spawn_one(&ex, async { 1u8 });
    // The first await of a handle on an executor allocates its join-waker table, which keeps
    // its capacity: one allocation, once. Every later join below allocates nothing.
    let before = Heap::now();
    assert_eq!(ex.block_on(h).unwrap(), 1);
    let after = Heap::now();
    let (allocs, frees, reallocs, bytes) = counts(after.since(before));
    assert_eq!((allocs, frees, reallocs), (1, 1, 0));
    assert!(bytes > -(small as i64), "the table stays allocated");
    assert_eq!(after.last_free as u64, small, "the one free is the cell");

    let captured = [3u8; 1000];
    let (h, big_future) = spawn_one(&ex, async move {
        captured.iter().map(|&b| u32::from(b)).sum::<u32>()
    });
    assert!(
        big_future > small && big_future >= 1000,
        "the cell holds the future"
    );
    assert_eq!(join_one(&ex, h, big_future), 3000);

    let (h, big_output) = spawn_one(&ex, async { [5u8; 4096] });
    assert!(
        big_output > small && big_output >= 4096,
        "the cell also has room for the output"
    );
    assert_eq!(join_one(&ex, h, big_output)[4095], 5);

    // Spawned from inside a task, with the free function: the same single allocation.
    let outer = ex.spawn(async {
        let before = Heap::now();
        let h = spawn(async { 2u8 });
        let after = Heap::now();
        assert_eq!(counts(after.since(before)).0, 1);
        h.await.unwrap()
    });
    assert_eq!(ex.block_on(outer).unwrap(), 2);

    assert_stats!(ex.stats(), {
        spawned: 5, completed: 5, tasks_freed: 5, live_tasks: 0, live_task_bytes: 0,
        peak_task_bytes: big_output,
    });
}

#[test]
fn spawn_cancel_cycles_leave_the_heap_at_its_baseline() {
    const CYCLES: u64 = if cfg!(miri) { 50 } else { 10_000 };
    let ex = Executor::new();
    ex.block_on(async {
        let base = Heap::now();
        let mut cell = 0;
        for _ in 0..CYCLES {
            let h = spawn(pending::<()>());
            cell = ex.stats().live_task_bytes;
            yield_now().await; // first poll
            h.cancel();
            yield_now().await; // [F]
            drop(h); // [M]
            assert_eq!(Heap::now().bytes, base.bytes);
        }
        let (allocs, frees, reallocs, bytes) = counts(Heap::now().since(base));
        assert_eq!((allocs, frees, reallocs, bytes), (CYCLES, CYCLES, 0, 0));
        assert_stats!(ex.stats(), {
            spawned: CYCLES, polls: CYCLES, cancelled: CYCLES, futures_dropped: CYCLES,
            tasks_freed: CYCLES, live_tasks: 0, peak_live_tasks: 1, peak_task_bytes: cell,
        });
    });
}

#[test]
fn batch_spawn_then_cancel_all_leaves_the_heap_at_its_baseline() {
    const TASKS: u64 = if cfg!(miri) { 50 } else { 10_000 };
    let ex = Executor::new();
    let mut handles = Vec::with_capacity(TASKS as usize);
    let base = Heap::now();
    for _ in 0..TASKS {
        handles.push(ex.spawn(pending::<()>()));
    }
    let cell = ex.stats().live_task_bytes / TASKS;
    assert_eq!(
        counts(Heap::now().since(base)),
        (TASKS, 0, 0, (TASKS * cell) as i64)
    );
    tick(&ex);
    ex.block_on(async {
        for h in &handles {
            h.cancel();
        }
        yield_now().await;
    });
    assert_stats!(ex.stats(), {
        cancelled: TASKS, futures_dropped: TASKS, tasks_freed: 0, live_tasks: TASKS,
        live_task_bytes: TASKS * cell,
    });
    handles.clear();
    assert_eq!(counts(Heap::now().since(base)), (TASKS, TASKS, 0, 0));
    assert_stats!(ex.stats(), {
        tasks_freed: TASKS, live_tasks: 0, live_task_bytes: 0, peak_live_tasks: TASKS,
        peak_task_bytes: TASKS * cell,
    });
}

const WARM_UP: u64 = if cfg!(miri) { 10 } else { 200 };

/// `cycles` sleep+cancel cycles after a warm-up: each costs the task cell and nothing else, and
/// the timer's storage ends where it started.
fn sleep_cancel_cycles(cycles: u64) {
    let ex = Executor::new();
    ex.block_on(async {
        let cycle = || async {
            let h = spawn(sleep(Duration::from_secs(1000)));
            yield_now().await; // registers
            assert_eq!(ex.stats().timers_live, 1);
            h.cancel();
            yield_now().await; // the Sleep is dropped and leaves the timer
            assert_eq!(ex.stats().timers_live, 0);
            drop(h);
        };
        // The timer has no storage of its own to grow (its entries live in the `Sleep`s); the
        // warm-up only makes sure nothing else in the executor grows lazily either.
        for _ in 0..WARM_UP {
            cycle().await;
        }
        let base = Heap::now();
        for _ in 0..cycles {
            cycle().await;
        }
        assert_eq!(
            counts(Heap::now().since(base)),
            (cycles, cycles, 0, 0),
            "one allocation per cycle (the cell): the timer's storage did not grow"
        );
        assert_stats!(ex.stats(), {
            cancelled: cycles + WARM_UP, live_tasks: 0, peak_live_tasks: 1, timers_live: 0,
        });
    });
}

#[test]
#[cfg_attr(miri, ignore = "a million cycles would take hours under miri")]
fn million_sleep_cancel_cycles_keep_timer_storage_flat() {
    sleep_cancel_cycles(1_000_000);
}

#[test]
fn sleep_cancel_cycles_keep_timer_storage_flat() {
    // Under miri too: the timer's entries are linked through raw pointers into the `Sleep`s.
    sleep_cancel_cycles(if cfg!(miri) { 50 } else { 10_000 });
}

#[test]
fn wakes_on_the_executor_thread_allocate_nothing() {
    let ex = Executor::new();
    let slot = WakerSlot::new();
    let idle = ex.spawn(pending_with_waker(slot.clone()));
    let busy = ex.spawn(yield_forever());
    tick(&ex);
    let waker = slot.take();
    let rounds = if cfg!(miri) { 20 } else { 1000 };
    ex.block_on(async {
        let base = Heap::now();
        for _ in 0..rounds {
            waker.wake_by_ref();
            let by_value = waker.clone();
            by_value.wake();
            drop(waker.clone());
            yield_now().await;
        }
        assert_eq!(counts(Heap::now().since(base)), (0, 0, 0, 0));
    });
    drop(waker);
    drop(slot.take());
    idle.cancel();
    busy.cancel();
    tick(&ex);
    drop((idle, busy));
    assert_stats!(ex.stats(), { live_tasks: 0 });
}

#[test]
fn wakes_and_cancels_between_block_on_calls_allocate_nothing() {
    // A wake on the executor's own thread goes into the local run queue, without allocating
    // (`waker.rs`, `core.rs`). That must hold between two `block_on` calls too, when the test
    // (or a bench) wakes or cancels tasks from outside the run loop; and a cancel is such a
    // wake.
    // More than one 31-entry block of a `crossbeam` `SegQueue`.
    const ROUNDS: u64 = if cfg!(miri) { 4 } else { 310 };
    let ex = Executor::new();
    let slot = WakerSlot::new();
    let idle = ex.spawn(pending_with_waker(slot.clone()));
    tick(&ex);
    let base = Heap::now();
    for _ in 0..ROUNDS {
        slot.take().wake();
        tick(&ex);
    }
    assert_eq!(
        counts(Heap::now().since(base)),
        (0, 0, 0, 0),
        "wakes allocated"
    );
    let base = Heap::now();
    for _ in 0..ROUNDS {
        let h = ex.spawn(pending::<()>());
        tick(&ex);
        h.cancel();
        tick(&ex);
    }
    assert_eq!(
        counts(Heap::now().since(base)),
        (ROUNDS, ROUNDS, 0, 0),
        "spawn+cancel cycles cost more than the cells"
    );
    drop((idle, slot.take()));
}

#[test]
fn waker_outliving_its_executor_frees_the_cell_on_last_drop() {
    let slot = WakerSlot::new();
    let base = Heap::now();
    let ex = Executor::new();
    drop(ex.spawn(pending_with_waker(slot.clone())));
    tick(&ex);
    let cell = ex.stats().live_task_bytes;
    drop(ex);
    let waker = slot.take();
    let before = Heap::now();
    assert!(
        counts(before.since(base)).3 >= cell as i64,
        "the husk is still allocated"
    );
    drop(waker);
    // The cell went, and with it the executor's shared half, which it kept alive.
    assert_eq!(
        counts(Heap::now().since(base)).3,
        0,
        "the heap is back where it started"
    );
    assert!(counts(Heap::now().since(before)).1 >= 1);
}

#[test]
fn cell_is_freed_on_the_thread_that_drops_the_last_waker() {
    let ex = Executor::new();
    let slot = WakerSlot::new();
    let h = ex.spawn({
        let slot = slot.clone();
        poll_fn(move |cx| {
            slot.put(cx.waker());
            Poll::Ready(())
        })
    });
    ex.block_on(h).unwrap();
    let cell = ex.stats().live_task_bytes;
    assert_stats!(ex.stats(), { futures_dropped: 1, tasks_freed: 0, live_tasks: 1 });
    let waker = slot.take();
    let (frees, bytes, size) = thread::spawn(move || {
        let before = Heap::now();
        drop(waker);
        let after = Heap::now();
        let (_, frees, _, bytes) = counts(after.since(before));
        (frees, bytes, after.last_free)
    })
    .join()
    .unwrap();
    assert_eq!((frees, bytes, size as u64), (1, -(cell as i64), cell));
    assert_stats!(ex.stats(), { tasks_freed: 1, live_tasks: 0, live_task_bytes: 0 });
}

#[test]
fn shutdown_frees_every_cell_nothing_else_holds() {
    let base = Heap::now();
    let ex = Executor::new();
    let sleeping = ex.spawn(sleep(Duration::from_secs(1000)));
    drop(ex.spawn(pending::<()>()));
    tick(&ex);
    let queued = ex.spawn(async {});
    let stats = ex.shutdown();
    // The detached cell is freed; the two with handles wait for them.
    assert_stats!(stats, { cancelled: 3, tasks_freed: 1, live_tasks: 2 });
    let before = Heap::now();
    drop(sleeping);
    let (_, frees, _, bytes) = counts(Heap::now().since(before));
    assert_eq!(frees, 1);
    assert!(bytes < 0);
    drop(queued);
    assert_eq!(
        counts(Heap::now().since(base)).3,
        0,
        "the heap is back where it started"
    );
}

#[test]
fn executor_lifetime_leaves_the_heap_at_its_baseline() {
    let base = Heap::now();
    {
        let ex = Executor::new();
        for i in 0..10 {
            drop(ex.spawn(async move {
                sleep(Duration::from_millis(i)).await;
            }));
        }
        let h = ex.spawn(async { yield_now().await });
        ex.block_on(h).unwrap();
    }
    assert_eq!(counts(Heap::now().since(base)).3, 0);
}
