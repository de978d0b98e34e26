//! The four scenarios of the reference study, and the one driver that runs any of them.
//!
//! Each scenario file holds only its body: what happens between "the runtime is ready" and "the
//! scenario returns". Everything around it is the same for all four and lives here, in
//! [`measure`]:
//!
//! ```text
//! ledger opened (peak reset)      ── heap start
//! runtime made (executor + scheduler)
//! block_on(body)                  ── timed; the body may record `after_cancel`
//!                                 ── moment `at_end`
//! block_on(yield_now())           ── moment `after_tick`
//! shutdown, scheduler dropped     ── timed; moment `after_shutdown`
//! ledger closed                   ── figures relative to the heap start
//! ```
//!
//! The bodies are generic over [`Runtime`], so a peer runtime runs the same code.

mod baseline;
mod cancel_batch;
mod cancel_each;
mod no_cancel;

use std::time::Instant;

use crate::ledger::{Ledger, Measurement, Moment, Moments, Observations};
use crate::runtime::Runtime;
use crate::work;

/// One of the four scenarios.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// N times: register a work, let it take its first poll, unregister it.
    CancelEach,
    /// Register N works, let them all take their first poll, `stop()`.
    CancelBatch,
    /// Register N works, let them all take their first poll, return.
    NoCancel,
    /// Only the yield: the cost of the runtime itself.
    Baseline,
}

impl Scenario {
    /// All four, in the reference study's order (test1 … test4).
    pub const ALL: [Scenario; 4] = [
        Scenario::CancelEach,
        Scenario::CancelBatch,
        Scenario::NoCancel,
        Scenario::Baseline,
    ];

    /// The scenario's name.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::CancelEach => "cancel-each",
            Scenario::CancelBatch => "cancel-batch",
            Scenario::NoCancel => "no-cancel",
            Scenario::Baseline => "baseline",
        }
    }

    /// The reference study's name for it.
    pub fn alias(self) -> &'static str {
        match self {
            Scenario::CancelEach => "test1",
            Scenario::CancelBatch => "test2",
            Scenario::NoCancel => "test3",
            Scenario::Baseline => "test4",
        }
    }

    /// What it does, in one line.
    pub fn summary(self) -> &'static str {
        match self {
            Scenario::CancelEach => {
                "N times: register a work, yield once (it takes its first poll), unregister it"
            }
            Scenario::CancelBatch => {
                "register N works, yield once (all take their first poll), stop() the scheduler"
            }
            Scenario::NoCancel => {
                "register N works, yield once, return; they are freed at executor shutdown"
            }
            Scenario::Baseline => "yield once and return: the runtime's own cost, no tasks",
        }
    }

    /// The scenario called `name` (a name or an alias).
    pub fn from_name(name: &str) -> Option<Scenario> {
        Scenario::ALL
            .into_iter()
            .find(|scenario| scenario.name() == name || scenario.alias() == name)
    }

    /// Runs the body on `runtime`.
    async fn body<R: Runtime>(self, runtime: &R, tasks: u64, ledger: &Ledger) -> Outcome {
        match self {
            Scenario::CancelEach => cancel_each::body(runtime, tasks, ledger).await,
            Scenario::CancelBatch => cancel_batch::body(runtime, tasks, ledger).await,
            Scenario::NoCancel => no_cancel::body(runtime, tasks).await,
            Scenario::Baseline => baseline::body(runtime).await,
        }
    }
}

/// What a body saw that only the body can see.
#[derive(Clone, Copy, Debug, Default)]
pub struct Outcome {
    /// The moment right after the last `unregister()` / `stop()` returned, if the body cancels.
    after_cancel: Option<Moment>,
    /// Works whose cancel the body asked for: `unregister()` calls that found their work, plus
    /// the works registered when `stop()` was called. The executor's own `cancelled` count only
    /// rises when a cancelled future is actually dropped, which may be later.
    cancels_requested: u64,
}

/// Lets every registered work take its first poll.
///
/// On our executor one `yield_now()` is enough: it re-queues the body behind every task that is
/// runnable, and the queue is FIFO. This is the one place to change for a runtime whose yield
/// resumes the yielder sooner.
async fn let_works_start<R: Runtime>(runtime: &R) {
    runtime.yield_now().await;
}

/// Runs `scenario` once with `tasks` works on a fresh `R` and measures it.
pub fn measure<R: Runtime>(scenario: Scenario, tasks: u64) -> Measurement {
    work::reset_first_polls();
    let ledger = Ledger::open();
    let runtime = R::new();

    let started = Instant::now();
    let outcome = runtime.block_on(scenario.body(&runtime, tasks, &ledger));
    let body_time = started.elapsed();
    let end_counts = runtime.counts();
    let at_end = ledger.moment(end_counts);
    let registered_at_end = runtime.registered();

    runtime.block_on(runtime.yield_now());
    let after_tick = ledger.moment(runtime.counts());

    let started = Instant::now();
    let shutdown_counts = runtime.shutdown();
    let shutdown_time = started.elapsed();
    let after_shutdown = ledger.moment(shutdown_counts);

    let accounting = ledger.close(Observations {
        at_end: end_counts,
        registered_at_end,
        cancels_requested: outcome.cancels_requested,
        moments: Moments {
            after_cancel: outcome.after_cancel,
            at_end,
            after_tick,
            after_shutdown,
        },
        after_shutdown: shutdown_counts,
    });
    Measurement {
        body_time,
        shutdown_time,
        accounting,
    }
}
