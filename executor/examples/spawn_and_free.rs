//! Chapter 1: spawn and free — the three moments of a task that runs to completion.
//!
//! ```text
//! cargo run --release -p executor --example spawn_and_free
//! ```
//!
//! **[A]** `spawn` makes one allocation: the task cell, a 48-byte header and the future.
//! The future's own heap (here a 1000-byte `Vec`, made on its first poll) is a separate
//! allocation owned by the future. **[F]** When the future returns `Ready` the run loop drops
//! it in place, and its `Vec` with it; the output is written into the same cell, where it waits
//! for the `JoinHandle`. **[M]** When the handle takes the output and goes, the last reference
//! to the cell goes with it, and its bytes return to the allocator.

mod chapter;

use chapter::{Chapter, Step};
use executor::yield_now;
use workspace_tests::counting::CountingAlloc;

#[global_allocator]
static ALLOCATOR: CountingAlloc = CountingAlloc;

/// The future's own buffer.
const BUFFER: usize = 1000;

fn chapter(print: bool) -> Vec<Step> {
    let mut ch = Chapter::start("Chapter 1: spawn and free", print);
    let ex = ch.new_executor();

    let handle = ex.spawn(async {
        let buffer = vec![7u8; BUFFER];
        yield_now().await;
        buffer.len()
    });
    ch.step(
        "[A]",
        "spawn: one allocation, the cell (header + future)",
        ex.stats(),
    );

    ex.block_on(yield_now());
    ch.step(
        "",
        "first poll: the future makes its Vec, and yields",
        ex.stats(),
    );

    ex.block_on(yield_now());
    ch.step(
        "[F]",
        "second poll: Ready; future (and Vec) dropped, output kept",
        ex.stats(),
    );

    let output = ex.block_on(handle).expect("the task completed");
    assert_eq!(output, BUFFER);
    ch.step(
        "[M]",
        "the handle takes the output and goes: cell freed",
        ex.stats(),
    );

    let stats = ex.shutdown();
    ch.step("", "shutdown: the executor's own bytes go", stats);
    ch.end()
}

fn main() {
    chapter(true);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures() {
        let steps = chapter(false);
        let [new, spawn, first, ready, taken, shutdown] = &steps[..] else {
            panic!("six steps: {steps:#?}");
        };
        let executor = new.heap;
        let cell = spawn.stats.live_task_bytes as i64;
        // [A]: one allocation, exactly the cell.
        assert_eq!((spawn.allocs, spawn.heap - executor), (1, cell));
        // The future's own heap is its own allocation.
        assert_eq!(
            (first.allocs, first.heap - executor),
            (1, cell + BUFFER as i64)
        );
        // [F]: the future and its Vec are gone; the cell stays, holding the output.
        assert_eq!(
            (ready.stats.futures_dropped, ready.stats.tasks_freed),
            (1, 0)
        );
        assert_eq!((ready.frees, ready.heap - executor), (1, cell));
        // [M]: the cell is freed when the handle goes.
        assert_eq!((taken.stats.tasks_freed, taken.stats.live_tasks), (1, 0));
        assert_eq!((taken.frees, taken.heap - executor), (1, 0));
        assert_eq!(shutdown.heap, 0, "the executor gives back everything");
    }
}
