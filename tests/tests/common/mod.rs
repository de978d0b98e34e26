//! Helpers shared by the cross-crate test binaries: the bench's sleeping work, one tick, an
//! exact view of the executor's counters, and the expected size of the one container that
//! grows with the number of works — the scheduler's table — computed from its documented
//! layout and growth rules. (The executor's timer keeps no storage of its own: each entry is
//! inside its `Sleep`, in the task's cell, and the wheel's list heads are part of the
//! executor's core, allocated once by `Executor::new`.)

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::hint::black_box;
use std::time::Duration;

use executor::{Stats, sleep, yield_now};
use scheduler::{Work, WorkScheduler};
use workspace_tests::counting::{Delta, Heap};

/// How long the bench's work sleeps: far longer than any test runs, so it only ever takes one
/// poll and ends by being cancelled or by shutdown.
pub const WORK_SLEEP: Duration = Duration::from_secs(1000);

/// The bench's work: "sleep 1000 seconds". Its function captures nothing (`Work::new`
/// allocates nothing); its first poll links the 32-byte timer entry inside its `Sleep` (in
/// the task's cell) into the executor's wheel, which allocates nothing.
pub fn sleeping_work() -> Work {
    Work::new(|| async { sleep(WORK_SLEEP).await })
}

/// One full tick of the executor, from inside `block_on`: every task runnable now is polled,
/// or, if cancelled, dropped, once.
pub async fn tick() {
    yield_now().await;
}

/// One entry of the scheduler's table (`slots.rs`): the work's index (`u64`) and its
/// `JoinHandle<()>` (one pointer), 16 bytes, and no per-entry overhead beyond it.
pub const TABLE_ENTRY_BYTES: usize = 16;

/// The table's capacity after `works` registrations in a row from empty, as `slots.rs` grows
/// it: room for exactly 16 on first use (rule T1), then doubling whenever full (rule T2).
pub fn table_capacity(works: usize) -> usize {
    if works == 0 {
        0
    } else {
        works.next_power_of_two().max(16)
    }
}

/// What the scheduler's table does to the heap while it grows, the way `slots.rs` grows it,
/// to hold `works` entries: measured on a reference `VecDeque` whose entries are 16 bytes like
/// the scheduler's, made room for exactly 16 on first use (rule T1) and then filled one
/// `push_back` at a time (rule T2, a `VecDeque` growing: each growth is one `realloc` to twice
/// the room). Checked against the same rules as arithmetic: one first block, one realloc per
/// doubling, `TABLE_ENTRY_BYTES` per entry of capacity. `table_growth(1).bytes` is the table's
/// floor.
pub fn table_growth(works: usize) -> Delta {
    let mut table: VecDeque<[u64; 2]> = VecDeque::new();
    let before = Heap::now();
    fill_table(&mut table, 0, works);
    let delta = Heap::now().since(before);
    drop(black_box(table));
    let capacity = table_capacity(works);
    assert_eq!(
        delta,
        Delta {
            allocs: u64::from(works > 0),
            frees: 0,
            reallocs: u64::from((capacity / 16).max(1).trailing_zeros()),
            bytes: (capacity * TABLE_ENTRY_BYTES) as i64,
        },
        "the reference table follows the documented growth rules"
    );
    delta
}

/// What inserting one more entry does to the heap when the scheduler's table holds `works`.
pub fn table_growth_at(works: usize) -> Delta {
    let mut table: VecDeque<[u64; 2]> = VecDeque::new();
    fill_table(&mut table, 0, works);
    let before = Heap::now();
    fill_table(&mut table, works, works + 1);
    let delta = Heap::now().since(before);
    drop(black_box(table));
    delta
}

fn fill_table(table: &mut VecDeque<[u64; 2]>, from: usize, to: usize) {
    for key in from as u64..to as u64 {
        if table.capacity() == 0 {
            table.reserve_exact(16);
        }
        table.push_back([key, key]);
    }
}

/// The heap bytes `WorkScheduler::new` allocates: its shared state, one `Rc`, no table yet.
pub fn scheduler_shell_bytes() -> i64 {
    let before = Heap::now();
    let scheduler = WorkScheduler::new();
    let bytes = Heap::now().since(before).bytes;
    drop(black_box(scheduler));
    bytes
}

/// The executor counters these tests assert, as one value so that a mismatch shows them all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tasks {
    pub spawned: u64,
    pub polls: u64,
    pub cancelled: u64,
    pub futures_dropped: u64,
    pub tasks_freed: u64,
    pub live_tasks: u64,
    pub live_task_bytes: u64,
    pub timers_live: u64,
}

impl From<Stats> for Tasks {
    fn from(stats: Stats) -> Tasks {
        Tasks {
            spawned: stats.spawned,
            polls: stats.polls,
            cancelled: stats.cancelled,
            futures_dropped: stats.futures_dropped,
            tasks_freed: stats.tasks_freed,
            live_tasks: stats.live_tasks,
            live_task_bytes: stats.live_task_bytes,
            timers_live: stats.timers_live,
        }
    }
}
