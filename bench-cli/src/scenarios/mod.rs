//! The four scenarios of the reference study, the lessons that follow them (when a cancelled
//! task's memory does *not* come back at the next tick), and the one driver that runs any of
//! them.
//!
//! Each scenario file holds only its body: what happens between "the runtime is ready" and "the
//! scenario returns". Everything around it is the same for all and lives here, in [`measure`]:
//!
//! ```text
//! ledger opened (peak reset)      ── heap start
//! runtime made (executor + scheduler)
//! block_on(body)                  ── timed; the body may record `after_cancel`, and samples
//!                                    the heap at every k-th work (`sampling.rs`)
//!                                 ── moment `at_end`
//! block_on(catch_up)              ── moment `after_tick` (yield until every cancelled
//!                                    future is dropped: one yield on ours)
//! parked wakers released          ── moment `after_release` (husk only)
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
mod cycle;
mod detach;
mod husk;
mod no_cancel;
mod timeout;

use std::time::{Duration, Instant};

use crate::ledger::{Ledger, Measurement, Moment, Moments, Observations, Yields};
use crate::runtime::Runtime;
use crate::sampling::Sampler;
use crate::work::{self, WorkKind};

/// A scenario: one of the study's four, or a lesson.
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
    /// Register N works that park their waker in a registry, `stop()`; the registry lets go.
    Husk,
    /// Spawn N works and drop their handles without cancelling.
    Detach,
    /// Register N works that build a reference cycle, `stop()`.
    Cycle,
    /// The same with a `Weak` back edge.
    CycleWeak,
    /// Register N works that sleep inside a short timeout; wait until every timeout fired.
    Timeout,
}

/// How the cancelling scenarios cancel (`--cancel`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Cancel {
    /// `cancel()`: the future is dropped at the executor's next tick (the study's semantics).
    #[default]
    NextTick,
    /// `cancel_now()`: the future is dropped inside the cancelling call (ours only).
    Now,
}

impl Cancel {
    /// The mode's name, as `--cancel` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Cancel::NextTick => "next-tick",
            Cancel::Now => "now",
        }
    }

    /// Whether `runtime` can run `scenario` in this mode: every runtime cancels at the next
    /// tick; only one with [`Runtime::CANCELS_NOW`] cancels now, and a scenario that cancels
    /// nothing runs the same in both modes.
    pub fn applies(self, scenario: Scenario, cancels_now: bool) -> bool {
        self == Cancel::NextTick || !scenario.cancels() || cancels_now
    }

    fn unregister<R: Runtime>(self, runtime: &R, index: u64) -> bool {
        match self {
            Cancel::Now if R::CANCELS_NOW => runtime.unregister_now(index),
            _ => runtime.unregister(index),
        }
    }

    fn stop<R: Runtime>(self, runtime: &R) {
        match self {
            Cancel::Now if R::CANCELS_NOW => runtime.stop_now(),
            _ => runtime.stop(),
        }
    }
}

impl Scenario {
    /// The study's four, in its order (test1 … test4): what runs by default.
    pub const ALL: [Scenario; 4] = [
        Scenario::CancelEach,
        Scenario::CancelBatch,
        Scenario::NoCancel,
        Scenario::Baseline,
    ];

    /// The lessons: when a cancelled task's memory does not come back at the next tick.
    pub const LESSONS: [Scenario; 5] = [
        Scenario::Husk,
        Scenario::Detach,
        Scenario::Timeout,
        Scenario::Cycle,
        Scenario::CycleWeak,
    ];

    /// Every scenario: the study's four, then the lessons (`--scenario all`).
    pub fn every() -> Vec<Scenario> {
        Scenario::ALL.into_iter().chain(Scenario::LESSONS).collect()
    }

    /// The scenario's name.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::CancelEach => "cancel-each",
            Scenario::CancelBatch => "cancel-batch",
            Scenario::NoCancel => "no-cancel",
            Scenario::Baseline => "baseline",
            Scenario::Husk => "husk",
            Scenario::Detach => "detach",
            Scenario::Cycle => "cycle",
            Scenario::CycleWeak => "cycle-weak",
            Scenario::Timeout => "timeout",
        }
    }

    /// The reference study's name for it; `None` for a lesson (the study has none).
    pub fn alias(self) -> Option<&'static str> {
        match self {
            Scenario::CancelEach => Some("test1"),
            Scenario::CancelBatch => Some("test2"),
            Scenario::NoCancel => Some("test3"),
            Scenario::Baseline => Some("test4"),
            _ => None,
        }
    }

    /// Whether the scenario cancels works (so `--cancel` changes how).
    pub fn cancels(self) -> bool {
        matches!(
            self,
            Scenario::CancelEach
                | Scenario::CancelBatch
                | Scenario::Husk
                | Scenario::Cycle
                | Scenario::CycleWeak
        )
    }

    /// Whether the scenario leaks on purpose: bytes it does not return are its lesson.
    pub fn leaks_on_purpose(self) -> bool {
        self == Scenario::Cycle
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
            Scenario::Husk => {
                "register N works that park a waker in a registry and sleep, stop(); then the \
                 registry drops the wakers"
            }
            Scenario::Detach => {
                "spawn N works and drop their handles without cancelling; shutdown frees them"
            }
            Scenario::Cycle => {
                "register N works that each hold two nodes pointing at each other, stop()"
            }
            Scenario::CycleWeak => {
                "the same as cycle, with the back edge a Weak: no cycle of strong references"
            }
            Scenario::Timeout => {
                "register N works that sleep 1000 s inside a 1 ms timeout; wait for every timeout"
            }
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
            Scenario::Husk => {
                "the tick drops every future, but stray wakers hold every cell until released"
            }
            Scenario::Detach => "a dropped handle cancels nothing: all is held until shutdown",
            Scenario::Cycle => {
                "the tick frees every cell, but a reference cycle's bytes never come back"
            }
            Scenario::CycleWeak => "a Weak back edge breaks the cycle: every byte comes back",
            Scenario::Timeout => "a timeout drops the loser, and its timer entry goes with it",
        }
    }

    /// The scenario called `name` (a name or an alias).
    pub fn from_name(name: &str) -> Option<Scenario> {
        Scenario::every()
            .into_iter()
            .find(|scenario| scenario.name() == name || scenario.alias() == Some(name))
    }

    /// Runs the body on `runtime`.
    async fn body<R: Runtime>(
        self,
        runtime: &R,
        tasks: u64,
        ledger: &Ledger,
        cancel: Cancel,
    ) -> Outcome {
        match self {
            Scenario::CancelEach => cancel_each::body(runtime, tasks, ledger, cancel).await,
            Scenario::CancelBatch => cancel_batch::body(runtime, tasks, ledger, cancel).await,
            Scenario::NoCancel => no_cancel::body(runtime, tasks, ledger).await,
            Scenario::Baseline => baseline::body(runtime).await,
            Scenario::Husk => husk::body(runtime, tasks, ledger, cancel).await,
            Scenario::Detach => detach::body(runtime, tasks, ledger).await,
            Scenario::Timeout => timeout::body(runtime, tasks, ledger).await,
            Scenario::Cycle => cycle::body(runtime, WorkKind::Cycle, tasks, ledger, cancel).await,
            Scenario::CycleWeak => {
                cycle::body(runtime, WorkKind::CycleWeak, tasks, ledger, cancel).await
            }
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

    /// Stops the scheduler the `cancel` way and records the moment right after `stop()`
    /// returned; every work registered then counts as a cancel requested.
    fn stop<R: Runtime>(&mut self, runtime: &R, ledger: &Ledger, cancel: Cancel) {
        self.cancels_requested = runtime.registered() as u64;
        cancel.stop(runtime);
        self.after_cancel = Some(ledger.moment(runtime.counts()));
    }
}

/// How the batch scenarios begin: registers `tasks` works of `kind` (sampling every k-th
/// registration), then lets every one take its first poll.
async fn register_and_start<R: Runtime>(
    runtime: &R,
    kind: WorkKind,
    tasks: u64,
    ledger: &Ledger,
) -> Outcome {
    for i in 0..tasks {
        runtime.register(kind);
        ledger.sample_kth(i, || runtime.counts());
    }
    let mut outcome = Outcome::default();
    outcome.note_start(let_works_start(runtime).await);
    outcome
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

/// Runs `scenario` once with `tasks` works on a fresh `R`, cancelling as `cancel` says, and
/// measures it.
pub fn measure<R: Runtime>(scenario: Scenario, tasks: u64, cancel: Cancel) -> Measurement {
    run::<R>(scenario, tasks, cancel, Ledger::open(), |_| {}).0
}

/// [`measure`], also sampling the heap over time into `sampler` (allocated by the caller,
/// before the run) at every k-th work and at each moment; `attach` is called with the runtime
/// right after it is made (`--trace` attaches a recorder there). Gives the sampler back.
pub fn measure_sampled<R: Runtime>(
    scenario: Scenario,
    tasks: u64,
    cancel: Cancel,
    sampler: Sampler,
    attach: impl FnOnce(&R),
) -> (Measurement, Sampler) {
    let ledger = Ledger::open_sampled(sampler);
    let (measurement, sampler) = run::<R>(scenario, tasks, cancel, ledger, attach);
    (
        measurement,
        sampler.expect("a sampled ledger gives its sampler back"),
    )
}

fn run<R: Runtime>(
    scenario: Scenario,
    tasks: u64,
    cancel: Cancel,
    ledger: Ledger,
    attach: impl FnOnce(&R),
) -> (Measurement, Option<Sampler>) {
    work::reset_counters();
    let runtime = R::new();
    attach(&runtime);
    ledger.sample(runtime.counts());

    let started = Instant::now();
    let outcome = runtime.block_on(scenario.body(&runtime, tasks, &ledger, cancel));
    let body_time = started.elapsed();
    let end_counts = runtime.counts();
    let at_end = ledger.moment(end_counts);
    if let Some(after_cancel) = &outcome.after_cancel {
        ledger.mark("after_cancel", end_counts.spawned, after_cancel);
    }
    ledger.mark("at_end", end_counts.spawned, &at_end);
    let registered_at_end = runtime.registered();

    let tick_yields = runtime.block_on(catch_up(&runtime, outcome.cancels_requested));
    let after_tick = ledger.moment(runtime.counts());
    ledger.mark("after_tick", end_counts.spawned, &after_tick);
    let after_release = (work::parked_wakers() > 0).then(|| {
        work::release_parked_wakers();
        let moment = ledger.moment(runtime.counts());
        ledger.mark("after_release", end_counts.spawned, &moment);
        moment
    });

    let started = Instant::now();
    let shutdown_counts = runtime.shutdown();
    let shutdown_time = started.elapsed();
    R::finish_shutdown();
    let after_shutdown = ledger.moment(shutdown_counts);
    ledger.mark("after_shutdown", end_counts.spawned, &after_shutdown);

    let (accounting, sampler) = ledger.close_sampled(Observations {
        at_end: end_counts,
        registered_at_end,
        cancels_requested: outcome.cancels_requested,
        moments: Moments {
            after_cancel: outcome.after_cancel,
            at_end,
            after_tick,
            after_release,
            after_shutdown,
        },
        after_shutdown: shutdown_counts,
        yields: Yields {
            start_total: outcome.start_yields,
            start_most: outcome.start_yields_most,
            catch_up: tick_yields,
        },
    });
    let measurement = Measurement {
        body_time,
        shutdown_time,
        accounting,
    };
    (measurement, sampler)
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
    runtime.block_on(scenario.body(&runtime, tasks, &ledger, Cancel::NextTick));
    let elapsed = started.elapsed();
    debug_assert_eq!(runtime.counts().first_polls, runtime.counts().spawned);
    runtime.shutdown();
    elapsed
}
