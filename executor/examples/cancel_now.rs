//! Chapter 6: `cancel_now` against the next tick — the same drop, sooner.
//!
//! ```text
//! cargo run --release -p executor --example cancel_now
//! ```
//!
//! Two tasks sleep for an hour, each holding a 4096-byte buffer. One is stopped with
//! `cancel()`: a flag, and nothing is dropped until the executor's next tick. The other with
//! `cancel_now()`: its future is dropped inside the call (**[F]**) — the buffer and the timer
//! entry go at once — and the cell stays only as long as its handle does (**[M]** when the
//! handle is dropped, with no tick in between). The next tick then does for the first task
//! what `cancel_now` did for the second. `cancel_now` can do this because a `JoinHandle` never
//! leaves the executor's thread and nobody else can be polling the task; it falls back to
//! `cancel()` when the task is in its own poll (see `src/cancel_now.rs`).

mod chapter;

use chapter::{Chapter, Step};
use executor::{sleep, yield_now};
use std::time::Duration;
use workspace_tests::counting::CountingAlloc;

#[global_allocator]
static ALLOCATOR: CountingAlloc = CountingAlloc;

/// Each future's own buffer, made on its first poll.
const BUFFER: usize = 4096;

fn chapter(print: bool) -> Vec<Step> {
    let mut ch = Chapter::start("Chapter 6: cancel_now against the next tick", print);
    let ex = ch.new_executor();

    let sleeper = || async {
        let buffer = vec![7u8; BUFFER];
        sleep(Duration::from_secs(3600)).await;
        drop(buffer);
    };
    let later = ex.spawn(sleeper());
    let now = ex.spawn(sleeper());
    ch.step("[A]", "spawn two sleepers: two cells", ex.stats());

    ex.block_on(yield_now());
    ch.step(
        "",
        "first polls: two buffers, two timer entries",
        ex.stats(),
    );

    later.cancel();
    drop(later);
    ch.step(
        "",
        "cancel() the first, drop its handle: nothing yet",
        ex.stats(),
    );

    assert!(now.cancel_now(), "an idle task is dropped inside the call");
    ch.step(
        "[F]",
        "cancel_now() the second: future, buffer, entry gone",
        ex.stats(),
    );

    drop(now);
    ch.step(
        "[M]",
        "drop its handle: its cell is freed, no tick needed",
        ex.stats(),
    );

    ex.block_on(yield_now());
    ch.step(
        "[F][M]",
        "next tick: the first one's future, entry and cell",
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
        let [new, spawned, polled, cancel, now, dropped, tick, shutdown] = &steps[..] else {
            panic!("eight steps: {steps:#?}");
        };
        let executor = new.heap;
        let cells = spawned.stats.live_task_bytes as i64;
        let cell = cells / 2;
        assert_eq!((spawned.allocs, spawned.heap - executor), (2, cells));
        assert_eq!(polled.heap - executor, cells + 2 * BUFFER as i64);
        assert_eq!(polled.stats.timers_live, 2);
        // cancel() drops nothing.
        assert_eq!((cancel.frees, cancel.stats.futures_dropped), (0, 0));
        // cancel_now(): [F] inside the call — the buffer and the timer entry — not [M].
        assert_eq!((now.stats.futures_dropped, now.stats.tasks_freed), (1, 0));
        assert_eq!((now.stats.timers_live, now.frees), (1, 1));
        assert_eq!(now.heap - executor, cells + BUFFER as i64);
        // [M] when its handle goes, with no tick.
        assert_eq!((dropped.stats.tasks_freed, dropped.frees), (1, 1));
        assert_eq!(dropped.heap - executor, cell + BUFFER as i64);
        assert_eq!(dropped.stats.polls, polled.stats.polls, "no tick ran");
        // The tick does the same for the first one: future, buffer, entry, cell.
        assert_eq!((tick.stats.futures_dropped, tick.stats.tasks_freed), (2, 2));
        assert_eq!(
            (tick.stats.timers_live, tick.frees, tick.heap - executor),
            (0, 2, 0)
        );
        assert_eq!(shutdown.heap, 0);
    }
}
