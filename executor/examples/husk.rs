//! Chapter 4: the husk — a stray `Waker` keeps the cell, not the future.
//!
//! ```text
//! cargo run --release -p executor --example husk
//! ```
//!
//! On its first poll the task makes a 4096-byte buffer and leaves a clone of its waker in a
//! stash that outlives it (as a channel, a foreign timer or another thread might). A waker is a
//! counted reference to the cell. The task is cancelled and its handle dropped; at the next tick
//! the run loop drops the future (**[F]**): its buffer is freed at once. But the stashed waker
//! still refers to the cell, so the cell stays — a *husk*: no future, no output, just its bytes
//! (`[F]` and `[M]` differ by one). Waking it does nothing. **[M]** comes only when the stash
//! lets go of the waker.

mod chapter;

use chapter::{Chapter, Step};
use executor::yield_now;
use std::cell::RefCell;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Poll, Waker};
use workspace_tests::counting::CountingAlloc;

#[global_allocator]
static ALLOCATOR: CountingAlloc = CountingAlloc;

/// The future's own buffer, made on its first poll.
const BUFFER: usize = 4096;

fn chapter(print: bool) -> Vec<Step> {
    let mut ch = Chapter::start("Chapter 4: the husk", print);
    let ex = ch.new_executor();

    // Somewhere outside the task that keeps a waker: made before the spawn, so its `Rc` is not
    // part of the task's figures.
    let stash: Rc<RefCell<Option<Waker>>> = Rc::default();
    ch.step("", "a stash for a waker, outside the task", ex.stats());

    let handle = ex.spawn({
        let stash = stash.clone();
        async move {
            let buffer = vec![7u8; BUFFER];
            poll_fn(|cx| {
                *stash.borrow_mut() = Some(cx.waker().clone());
                Poll::<()>::Pending
            })
            .await;
            drop(buffer);
        }
    });
    ch.step("[A]", "spawn: one allocation, the cell", ex.stats());

    ex.block_on(yield_now());
    ch.step(
        "",
        "first poll: a 4 KiB buffer; a waker clone stashed",
        ex.stats(),
    );

    handle.cancel();
    drop(handle);
    ex.block_on(yield_now());
    ch.step(
        "[F]",
        "cancel, next tick: future and buffer gone, cell stays",
        ex.stats(),
    );

    stash.borrow().as_ref().expect("stashed").wake_by_ref();
    ex.block_on(yield_now());
    ch.step(
        "",
        "waking the husk: nothing to run, nothing changes",
        ex.stats(),
    );

    let waker = stash.borrow_mut().take();
    drop(waker);
    ch.step(
        "[M]",
        "the stash drops the waker: last reference, cell freed",
        ex.stats(),
    );

    drop(stash);
    let stats = ex.shutdown();
    ch.step("", "shutdown: the stash and the executor's bytes go", stats);
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
        let [new, stash, spawn, polled, cancelled, woken, freed, shutdown] = &steps[..] else {
            panic!("eight steps: {steps:#?}");
        };
        let base = stash.heap;
        assert!(base > new.heap, "the stash is an allocation of its own");
        let cell = spawn.stats.live_task_bytes as i64;
        assert_eq!((spawn.allocs, spawn.heap - base), (1, cell));
        assert_eq!(
            (polled.allocs, polled.heap - base),
            (1, cell + BUFFER as i64)
        );
        // [F] without [M]: the husk.
        let husk = &cancelled.stats;
        assert_eq!(
            (husk.futures_dropped, husk.tasks_freed, husk.live_tasks),
            (1, 0, 1)
        );
        assert_eq!((cancelled.frees, cancelled.heap - base), (1, cell));
        // A wake of a complete task queues nothing and polls nothing.
        assert_eq!(woken.stats, cancelled.stats);
        assert_eq!(
            (woken.allocs, woken.frees, woken.heap),
            (0, 0, cancelled.heap)
        );
        // [M] when the last waker goes.
        assert_eq!((freed.stats.tasks_freed, freed.stats.live_tasks), (1, 0));
        assert_eq!((freed.frees, freed.heap - base), (1, 0));
        assert_eq!(shutdown.heap, 0);
    }
}
