//! Chapter 3: cancel while sleeping — the timer entry goes with the future.
//!
//! ```text
//! cargo run --release -p executor --example cancel_while_sleeping
//! ```
//!
//! A task sleeps for an hour. Its first poll registers the `Sleep`'s timer entry, which lives
//! *inside* the future, so inside the cell: registering allocates nothing (`timer` goes to 1,
//! the heap does not move). `cancel()` drops nothing. At the next tick the run loop drops the
//! future (**[F]**); dropping the `Sleep` unlinks its entry from the timer and drops the waker
//! the entry held, in the same step (`timer` back to 0). The handle was already dropped, so
//! that waker and the run loop's queue entry were the cell's last references: **[M]** in the
//! same tick. Nothing is left waiting for the hour to pass.

mod chapter;

use chapter::{Chapter, Step};
use executor::{sleep, yield_now};
use std::time::Duration;
use workspace_tests::counting::CountingAlloc;

#[global_allocator]
static ALLOCATOR: CountingAlloc = CountingAlloc;

fn chapter(print: bool) -> Vec<Step> {
    let mut ch = Chapter::start("Chapter 3: cancel while sleeping", print);
    let ex = ch.new_executor();

    let handle = ex.spawn(async { sleep(Duration::from_secs(3600)).await });
    ch.step(
        "[A]",
        "spawn: the cell, a 32-byte Sleep inside it",
        ex.stats(),
    );

    ex.block_on(yield_now());
    ch.step(
        "",
        "first poll: the Sleep's entry joins the timer",
        ex.stats(),
    );

    handle.cancel();
    drop(handle);
    ch.step(
        "",
        "cancel() and drop the handle: nothing dropped yet",
        ex.stats(),
    );

    ex.block_on(yield_now());
    ch.step(
        "[F][M]",
        "next tick: future, timer entry and cell go",
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
        let [new, spawn, polled, cancel, tick, shutdown] = &steps[..] else {
            panic!("six steps: {steps:#?}");
        };
        let executor = new.heap;
        let cell = spawn.stats.live_task_bytes as i64;
        assert_eq!((spawn.allocs, spawn.heap - executor), (1, cell));
        // Registering the timer entry allocates nothing: it is inside the cell.
        assert_eq!(polled.stats.timers_live, 1);
        assert_eq!((polled.allocs, polled.heap), (0, spawn.heap));
        assert_eq!(
            (cancel.stats.timers_live, cancel.stats.futures_dropped),
            (1, 0)
        );
        // One tick: the future, its timer entry and the cell, all at once.
        assert_eq!(tick.stats.timers_live, 0);
        assert_eq!((tick.stats.futures_dropped, tick.stats.tasks_freed), (1, 1));
        assert_eq!((tick.frees, tick.heap - executor), (1, 0));
        assert_eq!(shutdown.heap, 0);
    }
}
