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
//! block_on(catch_up)              ── moment `after_tick` (yield until every cancelled
//!                                    future is dropped: one yield on ours)
//! shutdown, scheduler dropped     ── timed
//! R::finish_shutdown()            ── not timed (smol: a turn of its global reactor);
//!                                    moment `after_shutdown`
//! ledger closed                   ── figures relative to the heap start
//! ```
//!
//! The bodies are generic over [`Runtime`], so a peer runtime runs the same code. The only
//! place where runtimes differ in how long they must be given is `let_works_start` (and
//! `catch_up`, its counterpart for the tick): both yield until the works' own counts say the
//! runtime is through, and report how many yields that took.

mod baseline;
mod cancel_batch;
mod cancel_each;
mod no_cancel;

use std::time::{Duration, Instant};

use crate::ledger::{Ledger, Measurement, Moment, Moments, Observations, Yields};
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
                "N times: register a work, yield until it takes its first poll, unregister it"
            }
            Scenario::CancelBatch => {
                "register N works, yield until all take their first poll, stop() the scheduler"
            }
            Scenario::NoCancel => {
                "register N works, yield until all take their first poll, return; shutdown frees them"
            }
            Scenario::Baseline => "yield once and return: the runtime's own cost, no tasks",
        }
    }

    /// What it teaches, in one line (`--list`, `--help`).
    pub fn lesson(self) -> &'static str {
        match self {
            Scenario::CancelEach => {
                "a cancelled task's memory is back at the next tick: two cells live at most, any N"
            }
            Scenario::CancelBatch => {
                "stop() drops nothing; the next tick drops every future and frees every cell"
            }
            Scenario::NoCancel => "nothing comes back before shutdown: the point of comparison",
            Scenario::Baseline => "the runtime's fixed cost, with no task at all",
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
    /// The body's waits in [`let_works_start`]: yields in all, and the most in one wait.
    start_yields: u64,
    start_yields_most: u64,
}

impl Outcome {
    /// Notes one wait of [`let_works_start`] that took `yields` yields.
    fn note_start(&mut self, yields: u64) {
        self.start_yields += yields;
        self.start_yields_most = self.start_yields_most.max(yields);
    }
}

/// How many yields without a single new first poll mean the runtime is not running its works:
/// a bug, reported as one rather than as a hang.
const YIELDS_WITHOUT_PROGRESS: u64 = 1_000_000;

/// Lets every registered work take its first poll; returns how many yields that took.
///
/// Fairness: in every runtime each spawned work takes its first poll before the body goes on to
/// cancel or stop, as in the reference. So this yields until the works' own count of first
/// polls reaches the number of works spawned, at least once. On our executor one `yield_now()`
/// is always enough: it re-queues the body behind every task that is runnable, and the queue is
/// FIFO. asyncio's `sleep(0)` does the same. tokio's `yield_now` resumes the yielder after
/// about 61 task polls and smol's after about 200, so there it takes about N/61 and N/200
/// yields; the reports show the count.
async fn let_works_start<R: Runtime>(runtime: &R) -> u64 {
    let target = runtime.counts().spawned;
    yield_until(runtime, "works polled", target, work::first_polls).await
}

/// The executor's next tick, for any runtime: yields until every future whose cancel was asked
/// for has been dropped, at least once; returns how many yields that took.
///
/// On our executor that is one `yield_now()`: the tick that drops every cancelled task's future.
/// A peer's single yield may resume the yielder before its queue is worked off (tokio after
/// about 61 tasks, smol after about 200), so the `after_tick` moment would show a runtime
/// stopped half-way through its queue; this waits until it is through, and says how long.
async fn catch_up<R: Runtime>(runtime: &R, cancels_requested: u64) -> u64 {
    yield_until(
        runtime,
        "cancelled futures dropped",
        cancels_requested,
        || runtime.counts().futures_dropped,
    )
    .await
}

/// The one wait loop of the scenarios: yields at least once, then until `count()` reaches
/// `target`; returns the yields. A count that stops moving for [`YIELDS_WITHOUT_PROGRESS`]
/// yields is a runtime that does not run its tasks: a bug, reported as one rather than as a
/// hang. Reads counters only: it allocates nothing.
async fn yield_until<R: Runtime>(
    runtime: &R,
    what: &str,
    target: u64,
    count: impl Fn() -> u64,
) -> u64 {
    let mut yields = 0;
    let mut last = (count(), 0);
    loop {
        runtime.yield_now().await;
        yields += 1;
        let now = count();
        if now >= target {
            return yields;
        }
        if now > last.0 {
            last = (now, yields);
        } else if yields - last.1 >= YIELDS_WITHOUT_PROGRESS {
            panic!(
                "{}: {now} of {target} {what} after {yields} yields, none for the last \
                 {YIELDS_WITHOUT_PROGRESS}",
                R::NAME
            );
        }
    }
}

/// Runs `scenario` once with `tasks` works on a fresh `R` and measures it.
pub fn measure<R: Runtime>(scenario: Scenario, tasks: u64) -> Measurement {
    work::reset_counters();
    let ledger = Ledger::open();
    let runtime = R::new();

    let started = Instant::now();
    let outcome = runtime.block_on(scenario.body(&runtime, tasks, &ledger));
    let body_time = started.elapsed();
    let end_counts = runtime.counts();
    let at_end = ledger.moment(end_counts);
    let registered_at_end = runtime.registered();

    let tick_yields = runtime.block_on(catch_up(&runtime, outcome.cancels_requested));
    let after_tick = ledger.moment(runtime.counts());

    let started = Instant::now();
    let shutdown_counts = runtime.shutdown();
    let shutdown_time = started.elapsed();
    R::finish_shutdown();
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
        yields: Yields {
            start_total: outcome.start_yields,
            start_most: outcome.start_yields_most,
            catch_up: tick_yields,
        },
    });
    Measurement {
        body_time,
        shutdown_time,
        accounting,
    }
}

/// The wall time of `scenario`'s body alone, on a fresh `R`, for the criterion benches: the
/// same body as [`measure`] times, without the moments, the tick and the accounting around it.
/// The runtime is made before the clock starts and shut down after it stops; a peer's
/// [`Runtime::finish_shutdown`] is left out (it waits on purpose), so whatever a runtime defers
/// past its shutdown is paid where it really lands, in the runs that follow.
pub fn time_body<R: Runtime>(scenario: Scenario, tasks: u64) -> Duration {
    work::reset_counters();
    let ledger = Ledger::open();
    let runtime = R::new();
    let started = Instant::now();
    runtime.block_on(scenario.body(&runtime, tasks, &ledger));
    let elapsed = started.elapsed();
    debug_assert_eq!(runtime.counts().first_polls, runtime.counts().spawned);
    runtime.shutdown();
    elapsed
}
