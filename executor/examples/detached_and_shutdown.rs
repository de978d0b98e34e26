//! Chapter 5: detached tasks and shutdown — who drops a future nobody holds a handle to.
//!
//! ```text
//! cargo run --release -p executor --example detached_and_shutdown
//! ```
//!
//! Dropping a `JoinHandle` detaches its task: the task keeps running, and its output is
//! dropped the moment it is produced. Three detached tasks: one finishes on its first poll
//! (**[F]** and **[M]** at once: nobody will take its output, nothing else refers to the cell),
//! one sleeps for an hour (its timer entry registered, inside its cell), and one waits for a
//! wake that will never come (idle, in no queue and in no timer: only the executor's list of
//! live futures still knows it). `shutdown()` drops both remaining futures on this thread, in
//! spawn order, unlinks the sleeper's timer entry with its future, and frees both cells —
//! then the executor's own bytes.

mod chapter;

use chapter::{Chapter, Step};
use executor::{sleep, yield_now};
use std::future::pending;
use std::time::Duration;
use workspace_tests::counting::CountingAlloc;

#[global_allocator]
static ALLOCATOR: CountingAlloc = CountingAlloc;

fn chapter(print: bool) -> Vec<Step> {
    let mut ch = Chapter::start("Chapter 5: detached tasks and shutdown", print);
    let ex = ch.new_executor();

    drop(ex.spawn(async { 7 }));
    drop(ex.spawn(async { sleep(Duration::from_secs(3600)).await }));
    drop(ex.spawn(pending::<()>()));
    ch.step(
        "[A]",
        "spawn three, drop their handles: three cells",
        ex.stats(),
    );

    ex.block_on(yield_now());
    ch.step(
        "[F][M]",
        "first polls: one finishes (gone), one sleeps, one idles",
        ex.stats(),
    );

    ex.block_on(yield_now());
    ch.step(
        "",
        "another tick: nothing to run, nothing changes",
        ex.stats(),
    );

    let stats = ex.shutdown();
    ch.step(
        "[F][M]",
        "shutdown: both futures dropped, both cells freed",
        stats,
    );
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
        let [new, spawned, polled, idle, shutdown] = &steps[..] else {
            panic!("five steps: {steps:#?}");
        };
        let executor = new.heap;
        let cells = spawned.stats.live_task_bytes as i64;
        assert_eq!((spawned.allocs, spawned.heap - executor), (3, cells));
        // The finished one is dropped and freed at once; two remain, one in the timer.
        let s = &polled.stats;
        assert_eq!((s.completed, s.futures_dropped, s.tasks_freed), (1, 1, 1));
        assert_eq!((s.live_tasks, s.timers_live), (2, 1));
        assert_eq!(polled.frees, 1);
        assert_eq!(polled.heap - executor, s.live_task_bytes as i64);
        assert_eq!((idle.stats.polls, idle.heap), (s.polls, polled.heap));
        // Shutdown drops and frees the rest, the timer entry with its future.
        let s = &shutdown.stats;
        assert_eq!((s.cancelled, s.futures_dropped, s.tasks_freed), (2, 3, 3));
        assert_eq!((s.live_tasks, s.timers_live), (0, 0));
        assert_eq!(shutdown.heap, 0);
    }
}
