//! Chapter 2: cancel before the first poll — the future is dropped without ever running, and
//! the cell outlives it for as long as the `JoinHandle` does.
//!
//! ```text
//! cargo run --release -p executor --example cancel_before_first_poll
//! ```
//!
//! The future owns a 4096-byte box from the start (it captured it). `cancel()` only sets a flag
//! and drops nothing. At the executor's next tick the run loop pops the task, sees the flag and
//! drops the future **without polling it** (**[F]**: `polls` stays 0); the box goes with it. The
//! cell stays: the `JoinHandle` still holds a reference, and the cell now holds the output
//! (`Err(cancelled)`). **[M]** comes when the handle reports the cancel and goes.

mod chapter;

use chapter::{Chapter, Step};
use executor::yield_now;
use workspace_tests::counting::CountingAlloc;

#[global_allocator]
static ALLOCATOR: CountingAlloc = CountingAlloc;

/// The future's own buffer, allocated before it is spawned.
const BUFFER: usize = 4096;

fn chapter(print: bool) -> Vec<Step> {
    let mut ch = Chapter::start("Chapter 2: cancel before the first poll", print);
    let ex = ch.new_executor();

    let buffer = Box::new([7u8; BUFFER]);
    let handle = ex.spawn(async move {
        yield_now().await;
        buffer.len()
    });
    ch.step(
        "[A]",
        "spawn: the cell; the future owns a 4 KiB box",
        ex.stats(),
    );

    handle.cancel();
    ch.step("", "cancel(): a flag; nothing is dropped", ex.stats());

    ex.block_on(yield_now());
    ch.step(
        "[F]",
        "next tick: future dropped unpolled, box too",
        ex.stats(),
    );

    let error = ex.block_on(handle).expect_err("the task was cancelled");
    assert!(error.is_cancelled());
    ch.step(
        "[M]",
        "the handle reports the cancel and goes: cell freed",
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
        let [new, spawn, cancel, tick, gone, shutdown] = &steps[..] else {
            panic!("six steps: {steps:#?}");
        };
        let executor = new.heap;
        let cell = spawn.stats.live_task_bytes as i64;
        assert_eq!(spawn.heap - executor, cell + BUFFER as i64);
        // cancel() allocates, frees and drops nothing.
        assert_eq!(
            (cancel.allocs, cancel.frees, cancel.heap),
            (0, 0, spawn.heap)
        );
        assert_eq!(cancel.stats.futures_dropped, 0);
        // [F] without a poll: the box is freed, the cell is not.
        assert_eq!((tick.stats.polls, tick.stats.futures_dropped), (0, 1));
        assert_eq!((tick.stats.cancelled, tick.stats.tasks_freed), (1, 0));
        assert_eq!((tick.frees, tick.heap - executor), (1, cell));
        // [M] when the handle goes.
        assert_eq!(
            (gone.stats.tasks_freed, gone.frees, gone.heap - executor),
            (1, 1, 0)
        );
        assert_eq!(shutdown.heap, 0);
    }
}
