//! `timeout`: every work is `timeout(1 ms, sleep(1000 s))` — when does a runtime let go of the
//! losers' timer entries?
//!
//! Register N works; each sleeps 1000 s inside a 1 ms timeout. Let them start, then wait (on the
//! runtime's own sleep, a millisecond at a time) until every timeout has fired and its work has
//! returned. When a timeout fires, the inner sleep loses: it is dropped with the `Timeout`, and
//! on ours its timer entry goes with it (the entry lives inside the `Sleep`), so at the end no
//! timer entry is left: `timers_live` = 0, and every cell is freed with its finished task. A
//! runtime that purges cancelled timers lazily keeps them until it gets round to it (asyncio's
//! `timers_live` counts the handles still in its loop's heap).

use std::time::{Duration, Instant};

use crate::ledger::Ledger;
use crate::runtime::Runtime;
use crate::work::{self, TIMEOUT, WorkKind};

use super::{Outcome, register_and_start};

/// How long the body waits for every timeout before it calls the runtime broken.
const PATIENCE: Duration = Duration::from_secs(600);

/// Registers N timeout works, lets them start, waits until every timeout has fired.
pub async fn body<R: Runtime>(runtime: &R, tasks: u64, ledger: &Ledger) -> Outcome {
    let outcome = register_and_start(runtime, WorkKind::Timeout, tasks, ledger).await;
    let started = Instant::now();
    while work::timed_out() < tasks {
        runtime.sleep(TIMEOUT).await;
        assert!(
            started.elapsed() < PATIENCE,
            "{}: {} of {tasks} timeouts fired in {PATIENCE:?}",
            R::NAME,
            work::timed_out()
        );
    }
    // The last work to time out has counted itself but may not have returned yet: one more
    // turn of the queue lets it.
    runtime.yield_now().await;
    outcome
}
