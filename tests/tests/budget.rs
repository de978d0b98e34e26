//! What one registered sleeping work costs in heap bytes, and in allocations, with the
//! executor and the scheduler together, from the counting allocator (kept per thread) and the
//! executor's `Stats`.
//!
//! Two parts, each measured at the moment it is allocated:
//!
//! - the **task cell**, at `register`: one allocation of exactly the size the executor reports
//!   (`Stats::live_task_bytes`): header, the work's future — whose `Sleep` holds the 32-byte
//!   timer entry — and the scheduler's done hook;
//! - the **scheduler's slot**, at `register`: what the table allocates beyond the cells.
//!
//! The work's first poll links its timer entry into the executor's wheel, whose list heads were
//! allocated with the executor: it allocates nothing, and the timer costs nothing outside the
//! cell. (Only a `Sleep` polled by a waker that is neither one of its executor's tasks nor its
//! `block_on` future boxes that waker; the last test here measures that box.)
//!
//! A work's cell is its own allocation; the slot lives in the scheduler's table, which grows by
//! doubling, so one work's share of it depends on how full it is. The budget is measured at
//! N = 1024 works, where the table is exactly full.

mod common;

use std::cell::RefCell;
use std::future::{Future, poll_fn};
use std::mem::size_of;
use std::pin::{Pin, pin};
use std::ptr::NonNull;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use common::{
    TABLE_ENTRY_BYTES, Tasks, WORK_SLEEP, scheduler_shell_bytes, sleeping_work, table_capacity,
    table_growth, table_growth_at, tick,
};
use executor::{Executor, Sleep, sleep};
use scheduler::{Work, WorkScheduler};
use workspace_tests::counting::{CountingAlloc, Delta, Heap, assert_installed};

#[global_allocator]
static ALLOCATOR: CountingAlloc = CountingAlloc;

/// The timer entry inside every `Sleep`, as `entry.rs` lays it out: two links (one pointer
/// each), the deadline in nanoseconds (`u64`) and the waker in one word. 32 bytes.
const TIMER_ENTRY_BYTES: usize = size_of::<(
    Option<NonNull<()>>,
    Option<NonNull<()>>,
    u64,
    Option<NonNull<()>>,
)>();

/// A future laid out like `Sleep` was while the timer kept its entries in storage of its own:
/// the deadline (`None`: never) and the registration, a handle to the timer (one `Rc`) and the
/// entry's key (slot index and generation, two `u32`s). It is never polled: it only sizes the
/// cell the bench's work had then, under today's task header.
struct OldSleepLayout {
    _deadline: Option<Instant>,
    _registration: Option<(Rc<RefCell<()>>, [u32; 2])>,
}

impl Future for OldSleepLayout {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

/// What `sleep` returned then: the deadline, not yet registered.
fn old_layout_sleep(duration: Duration) -> OldSleepLayout {
    OldSleepLayout {
        _deadline: Instant::now().checked_add(duration),
        _registration: None,
    }
}

/// The bench's work with the old `Sleep` layout in place of `Sleep`: the same `async` block.
fn old_layout_work() -> Work {
    Work::new(|| async { old_layout_sleep(WORK_SLEEP).await })
}

/// A waker from outside the executor (as a combinator such as `FuturesUnordered` would pass):
/// waking it does nothing, cloning it allocates nothing (one more reference to its `Arc`).
struct ForeignWaker;

impl Wake for ForeignWaker {
    fn wake(self: Arc<Self>) {}
}

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

/// The README's account of how the `Sleep` stayed 32 bytes while taking the timer entry in:
/// the old registration (16) became the two links (16), and the deadline as a `u64` (8 instead
/// of an `Instant`'s 16) paid for the waker kept in one word (a full `Waker` is two).
#[test]
#[cfg(target_pointer_width = "64")]
fn the_sleep_took_the_timer_entry_in_and_stayed_32_bytes() {
    assert_eq!(size_of::<OldSleepLayout>(), 32);
    assert_eq!(
        size_of::<Option<(Rc<RefCell<()>>, [u32; 2])>>(),
        16,
        "old registration"
    );
    assert_eq!(
        size_of::<[Option<NonNull<()>>; 2]>(),
        16,
        "the entry's two links"
    );
    assert_eq!(size_of::<Option<Instant>>(), 16, "old deadline");
    assert_eq!(size_of::<u64>(), 8, "new deadline");
    assert_eq!(size_of::<Waker>(), 16, "a full waker");
    assert_eq!(size_of::<Option<NonNull<()>>>(), 8, "the one-word waker");
    assert_eq!(size_of::<Sleep>(), 32);
    assert_eq!(size_of::<Sleep>(), TIMER_ENTRY_BYTES);
}

#[test]
fn byte_budget_of_one_sleeping_work() {
    // A power of two: the scheduler's table grows to exactly N, no slack.
    const N: usize = 1024;
    let n = N as u64;
    assert_installed();
    let table = table_growth(N);
    let floor = table_growth(1).bytes;
    let shell = scheduler_shell_bytes();
    assert_eq!(TIMER_ENTRY_BYTES, 32);
    assert_eq!(
        size_of::<Sleep>(),
        TIMER_ENTRY_BYTES,
        "a `Sleep` is its timer entry and nothing more"
    );
    assert!(
        size_of::<Sleep>() <= size_of::<OldSleepLayout>(),
        "the entry moved into the `Sleep` without making it bigger"
    );

    let before_executor = Heap::now();
    let ex = Executor::new();
    // Fixed, once per executor: its core (the timer wheel's list heads included) and the rest
    // of what `Executor::new` sets up.
    let executor_bytes = Heap::now().since(before_executor).bytes;
    ex.block_on(async {
        // The same future spawned bare, for the hook's share of the cell.
        let bytes_before = ex.stats().live_task_bytes;
        let bare = ex.spawn(async { sleep(WORK_SLEEP).await });
        let bare_cell = ex.stats().live_task_bytes - bytes_before;
        bare.cancel();
        drop(bare);
        tick().await;

        // The bench's work with the old `Sleep` layout, for the cell it had then (its own
        // scheduler, so that the one measured below starts with no table).
        let old = WorkScheduler::new();
        let bytes_before = ex.stats().live_task_bytes;
        old.register(old_layout_work());
        let old_cell = ex.stats().live_task_bytes - bytes_before;
        old.stop();
        tick().await;
        drop(old);
        assert_eq!(ex.stats().live_tasks, 0);

        let scheduler = WorkScheduler::new();
        let start = Heap::now();
        let stats_start = Tasks::from(ex.stats());
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
        assert_eq!(table_capacity(N), N, "the table exactly full");
        assert_eq!(slots, (N * TABLE_ENTRY_BYTES) as i64);
        assert!(
            cell <= old_cell,
            "the bench's cell ({cell} B) is no bigger than with the old `Sleep` ({old_cell} B)"
        );

        // The first polls: each links the entry inside its `Sleep` into the wheel.
        tick().await;
        let polled = Heap::now();
        assert_eq!(
            Tasks::from(ex.stats()),
            Tasks {
                spawned: stats_start.spawned + n,
                polls: stats_start.polls + n,
                live_tasks: n,
                live_task_bytes: n * cell,
                timers_live: n,
                ..stats_start
            },
            "{N} first polls, {N} timer entries registered"
        );
        // Outside the cells, the timer entries cost nothing: no allocation at all.
        let timer = polled.since(registered).bytes;
        assert_eq!(
            polled.since(registered),
            Delta::default(),
            "registering {N} sleeps allocates nothing"
        );

        // The parts add up to the whole.
        let total = polled.since(start).bytes;
        assert_eq!(total, cells as i64 + slots + timer);
        assert_eq!(total, cells as i64 + slots);

        let capacity = scheduler.capacity();
        assert_eq!(capacity, table_capacity(N));
        scheduler.stop();
        tick().await;
        assert_eq!(ex.stats().live_tasks, 0);
        assert_eq!(ex.stats().timers_live, 0);
        assert_eq!(
            Heap::now().since(start).bytes,
            0,
            "after stop and a tick nothing of the {N} works is left"
        );
        // Printed after the last measurement: captured output allocates on this thread.
        let per = |bytes: i64| bytes as f64 / N as f64;
        eprintln!("byte budget of one registered sleeping work (sleep {WORK_SLEEP:?}), N = {N}:");
        eprintln!(
            "  task cell       {cell:>6} B  one allocation, the {TIMER_ENTRY_BYTES}-byte timer entry \
             included (bare spawn of the same future: {bare_cell} B; the scheduler's done hook: \
             {} B; with the old Sleep layout: {old_cell} B)",
            cell - bare_cell
        );
        eprintln!(
            "  timer entry     {:>6.2} B  0 B outside the cell: the {TIMER_ENTRY_BYTES}-byte entry \
             is inside the Sleep, in the cell",
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
            "  fixed: executor {executor_bytes} B (the timer wheel included), scheduler shell \
             {shell} B, table floor {floor} B; nothing of the works is kept after they are gone"
        );
    });
}

/// The one case in which registering a sleep allocates: a waker that is neither a task of the
/// sleep's executor nor its `block_on` future is kept in a box of its own — the `Waker` and a
/// pointer to the executor's core — freed when the entry leaves the timer.
#[test]
fn only_a_foreign_waker_makes_a_sleep_allocate() {
    assert_installed();
    let boxed_waker = size_of::<(Waker, NonNull<()>)>();
    assert_eq!(boxed_waker, 24);
    let ex = Executor::new();
    ex.block_on(async {
        // Polled by the `block_on` future's own waker: nothing is allocated, ever.
        let start = Heap::now();
        {
            let mut own = pin!(sleep(WORK_SLEEP));
            poll_fn(|cx| {
                assert!(own.as_mut().poll(cx).is_pending());
                assert!(own.as_mut().poll(cx).is_pending());
                Poll::Ready(())
            })
            .await;
            assert!(own.is_registered());
            assert_eq!(ex.stats().timers_live, 1);
        }
        assert_eq!(ex.stats().timers_live, 0);
        assert_eq!(
            Heap::now().since(start),
            Delta::default(),
            "the block_on waker: no allocation"
        );

        // Polled by a foreign waker: one box at registration, kept while the same waker polls
        // again, freed when the `Sleep` is dropped.
        let mut foreign = Box::pin(sleep(WORK_SLEEP));
        let waker = Waker::from(Arc::new(ForeignWaker));
        let mut cx = Context::from_waker(&waker);
        let before = Heap::now();
        assert!(foreign.as_mut().poll(&mut cx).is_pending());
        let registered = Heap::now();
        assert_eq!(
            registered.since(before),
            Delta {
                allocs: 1,
                frees: 0,
                reallocs: 0,
                bytes: boxed_waker as i64,
            },
            "a foreign waker: one box"
        );
        assert_eq!(registered.last_alloc, boxed_waker);
        assert_eq!(ex.stats().timers_live, 1);
        assert!(foreign.as_mut().poll(&mut cx).is_pending());
        let polled_again = Heap::now();
        assert_eq!(
            polled_again.since(registered),
            Delta::default(),
            "the same waker again: the box is kept"
        );
        let sleep_box = size_of::<Sleep>();
        drop(foreign);
        let dropped = Heap::now();
        assert_eq!(
            dropped.since(polled_again),
            Delta {
                allocs: 0,
                frees: 2,
                reallocs: 0,
                bytes: -((boxed_waker + sleep_box) as i64),
            },
            "dropping the sleep frees the waker's box (and the sleep's own)"
        );
        assert_eq!(ex.stats().timers_live, 0);
    });
}
