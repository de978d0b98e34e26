//! The report: every scenario's runs folded into one record per runtime, ready to print in any
//! format.
//!
//! With `--repeat K` a scenario runs K times on each runtime. Wall times differ from run to run,
//! so each is reported as every run's time, and their mean, standard deviation, median, minimum
//! and maximum (hyperfine's figures). The accounting (bytes, calls, counts) is taken
//! from the first run, and `repeats_identical` says whether all K runs counted exactly the same
//! (on ours they always do; a peer with a helper thread of its own may not).
//!
//! With more than one runtime, each peer's record also carries its ratio to ours in the same
//! scenario: peer ÷ ours, so 3.0 means the peer took three times as long, or used three times
//! the bytes. With several N (`--tasks 1000,10000`) every N runs in turn, and [`Growth`] puts each
//! scenario's time and bytes per task side by side against N. The JSON form of [`Report`] is the
//! stable one; it carries [`SCHEMA_VERSION`] and a [`Meta`] saying what produced it.

use std::time::Duration;

use serde::Serialize;

use crate::compare::Comparison;
use crate::ledger::{
    Accounting, GcFigures, HeapFigures, Measurement, Moments, TaskFigures, Yields,
};
use crate::meta::Meta;
use crate::sampling::SampleRow;
use crate::scenarios::Scenario;

/// Version of the JSON layout. Raised whenever a field is renamed, moved or removed.
///
/// 2: `runtime` moved from the top level into each record (the top level lists `runtimes`);
/// figures a runtime does not expose became nullable; `yields`, `time.total` and
/// `ratio_to_ours` were added.
///
/// 3: `meta`, `sweep`, `warmup`, `cancel`, `not_applicable`, `growth` and `comparison` at the
/// top level; `gc` in each record; `husks`, `husk_bytes` in each moment, and the moment
/// `after_release`; `verdict.leak_is_the_lesson`; each record has its
/// own N (`n`); each time object has `times_s`, `mean_s` and `stddev_s` beside `median_s`,
/// `min_s`, `max_s`; `heap` has `fixed_bytes` and `marginal_bytes_per_task`.
pub const SCHEMA_VERSION: u32 = 3;

/// The whole bench run.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// See [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// What produced the report: version, commit, compiler, machine, date.
    pub meta: Meta,
    /// The runtimes the scenarios ran on, in the order asked for.
    pub runtimes: Vec<&'static str>,
    /// N: works per scenario (with several, the first; see `sweep`).
    pub tasks: u64,
    /// Every N asked for, in order: one element unless this is a sweep.
    pub sweep: Vec<u64>,
    /// K: runs per scenario and runtime.
    pub repeat: u32,
    /// What ran before the measured runs.
    pub warmup: Warmup,
    /// How the cancelling scenarios cancelled (`--cancel`): `next-tick` or `now`.
    pub cancel: &'static str,
    /// `scenario/runtime` pairs not run because the runtime cannot cancel that way (`--cancel
    /// now` on a peer): n/a, not a figure.
    pub not_applicable: Vec<String>,
    /// One record per N, scenario and runtime: N by N, scenario by scenario, each with its
    /// runtimes in the order of `runtimes`.
    pub scenarios: Vec<ScenarioReport>,
    /// The heap over time (`sampling.rs`): one row per sample of each scenario's first run on
    /// each runtime, long-form (`pandas.DataFrame(report["samples"])`).
    pub samples: Vec<SampleRow>,
    /// Set when the run was traced (`--trace`): its timings are not comparable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traced: Option<&'static str>,
    /// With several N: each scenario's cost per task against N. `None` for one N.
    pub growth: Option<Vec<Growth>>,
    /// With `--compare`: this run against a saved one.
    pub comparison: Option<Comparison>,
}

/// What ran before the measured runs, unmeasured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Warmup {
    /// The probe: every scenario once on this many tasks (or N, if smaller), on every runtime.
    /// It pays one-time costs and measures the bytes per task for the memory check.
    pub probe_tasks: u64,
    /// Then, `--warmup K`: K more runs of every scenario at the full N, on every runtime.
    pub runs: u32,
}

/// One scenario on one runtime, all its runs folded together.
#[derive(Clone, Debug, Serialize)]
pub struct ScenarioReport {
    /// The scenario's name.
    pub name: &'static str,
    /// The reference study's name for it; `None` for a lesson.
    pub alias: Option<&'static str>,
    /// What it does, in one line.
    pub summary: &'static str,
    /// The runtime it ran on.
    pub runtime: &'static str,
    /// N: the works the scenario was asked to register (the sweep's N for this record).
    pub n: u64,
    /// Wall times.
    pub time: Times,
    /// Heap bytes and calls (from the first run).
    pub heap: Heap,
    /// Task counts and heap at the moments that matter (from the first run).
    pub moments: Moments,
    /// Tasks (from the first run).
    pub tasks: TaskFigures,
    /// Yields the scenario needed (from the first run).
    pub yields: Yields,
    /// What the garbage collector did (from the first run); `None` for a runtime without one.
    pub gc: Option<GcFigures>,
    /// Whether the heap came back to where the scenario started.
    pub verdict: Verdict,
    /// Whether every run counted exactly the same bytes, calls and tasks.
    pub repeats_identical: bool,
    /// This runtime ÷ ours in the same scenario; `None` for ours itself, or when ours did not
    /// run.
    pub ratio_to_ours: Option<Ratios>,
}

/// The heap figures of a record: the run's own, and its fixed cost apart from its cost per task.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Heap {
    /// The run's figures.
    #[serde(flatten)]
    pub figures: HeapFigures,
    /// The runtime's fixed cost: the peak heap of the same runtime with no task at all (the
    /// `baseline` scenario, measured in the probe). `None` where it was not measured.
    pub fixed_bytes: Option<u64>,
    /// `(peak_bytes - fixed_bytes) / tasks spawned`: what one more task costs at its peak.
    /// `None` when no task was spawned or there is no fixed cost.
    pub marginal_bytes_per_task: Option<f64>,
}

/// Wall times of a scenario.
#[derive(Clone, Debug, Serialize)]
pub struct Times {
    /// The scenario's body.
    pub body: Spread,
    /// The executor's shutdown.
    pub shutdown: Spread,
    /// Body and shutdown of each run, added.
    pub total: Spread,
}

/// K wall times in seconds, and what users of hyperfine expect of them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Spread {
    /// Every run's time, in the order they ran.
    pub times_s: Vec<f64>,
    /// The mean.
    pub mean_s: f64,
    /// The sample standard deviation (divided by K - 1); `None` for a single run.
    pub stddev_s: Option<f64>,
    /// The median (for an even K, the mean of the two middle values).
    pub median_s: f64,
    /// The fastest run.
    pub min_s: f64,
    /// The slowest run.
    pub max_s: f64,
}

/// One scenario on one runtime across the N of a sweep.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Growth {
    /// The scenario's name.
    pub name: &'static str,
    /// The runtime.
    pub runtime: &'static str,
    /// One point per N, in the order asked for.
    pub points: Vec<GrowthPoint>,
}

/// The cost per task at one N. Per-task figures are `None` when no task was spawned.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct GrowthPoint {
    /// N.
    pub tasks: u64,
    /// Median body time ÷ tasks spawned, in nanoseconds.
    pub body_ns_per_task: Option<f64>,
    /// Median body + shutdown time ÷ tasks spawned, in nanoseconds.
    pub total_ns_per_task: Option<f64>,
    /// Peak heap ÷ tasks spawned.
    pub peak_bytes_per_task: Option<f64>,
    /// (Peak heap - the fixed cost) ÷ tasks spawned.
    pub marginal_bytes_per_task: Option<f64>,
    /// Allocations ÷ tasks spawned.
    pub allocations_per_task: Option<f64>,
}

/// Did the heap come back after shutdown?
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// `true` when the heap after shutdown is exactly where the scenario started.
    pub heap_back_to_start: bool,
    /// Bytes still above the start after shutdown (0 when back to start).
    pub bytes_not_returned: i64,
    /// The bytes not returned are what the scenario teaches (`cycle`: a reference cycle that
    /// ownership cannot free, on a runtime without a garbage collector), not a failed run.
    pub leak_is_the_lesson: bool,
}

/// A peer's figures divided by ours, in the same scenario and run. `None` where either side
/// has no figure (baseline spawns no task; asyncio counts no allocation calls).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Ratios {
    /// Median body time ÷ ours.
    pub body_time: f64,
    /// Median body + shutdown time ÷ ours.
    pub total_time: f64,
    /// Peak heap bytes per task ÷ ours.
    pub peak_bytes_per_task: Option<f64>,
    /// Allocations per task ÷ ours.
    pub allocations_per_task: Option<f64>,
}

impl ScenarioReport {
    /// Folds the runs of `scenario` on `runtime` with `tasks` works into one record; `fixed_bytes`
    /// is the runtime's fixed cost, if measured. `runs` must not be empty.
    pub fn fold(
        scenario: Scenario,
        runtime: &'static str,
        tasks: u64,
        fixed_bytes: Option<u64>,
        runs: &[Measurement],
    ) -> ScenarioReport {
        let first: Accounting = runs[0].accounting;
        let bytes_not_returned = first.heap.after_shutdown_bytes;
        let spawned = first.tasks.spawned;
        let marginal_bytes_per_task = fixed_bytes
            .filter(|_| spawned > 0)
            .map(|fixed| (first.heap.peak_bytes as f64 - fixed as f64) / spawned as f64);
        ScenarioReport {
            name: scenario.name(),
            alias: scenario.alias(),
            summary: scenario.summary(),
            runtime,
            n: tasks,
            time: Times {
                body: Spread::of(runs.iter().map(|run| run.body_time)),
                shutdown: Spread::of(runs.iter().map(|run| run.shutdown_time)),
                total: Spread::of(runs.iter().map(|run| run.body_time + run.shutdown_time)),
            },
            heap: Heap {
                figures: first.heap,
                fixed_bytes,
                marginal_bytes_per_task,
            },
            moments: first.moments,
            tasks: first.tasks,
            yields: first.yields,
            gc: first.gc,
            verdict: Verdict {
                heap_back_to_start: bytes_not_returned == 0,
                bytes_not_returned,
                // A runtime with a collector frees the cycle: what it keeps is something else.
                leak_is_the_lesson: scenario.leaks_on_purpose()
                    && bytes_not_returned > 0
                    && first.gc.is_none(),
            },
            repeats_identical: runs.iter().all(|run| run.accounting == first),
            ratio_to_ours: None,
        }
    }

    /// This record's figures divided by `ours`'s.
    pub fn ratios_to(&self, ours: &ScenarioReport) -> Ratios {
        let divide = |peer: Option<f64>, ours: Option<f64>| match (peer, ours) {
            (Some(peer), Some(ours)) if ours > 0.0 => Some(peer / ours),
            _ => None,
        };
        Ratios {
            body_time: self.time.body.median_s / ours.time.body.median_s,
            total_time: self.time.total.median_s / ours.time.total.median_s,
            peak_bytes_per_task: divide(
                self.heap.figures.peak_bytes_per_task,
                ours.heap.figures.peak_bytes_per_task,
            ),
            allocations_per_task: divide(
                self.heap.figures.allocations_per_task,
                ours.heap.figures.allocations_per_task,
            ),
        }
    }
}

impl Report {
    /// Fills in every peer record's [`ScenarioReport::ratio_to_ours`], from ours in the same
    /// scenario and N.
    pub fn compute_ratios(&mut self) {
        let ours: Vec<ScenarioReport> = self
            .scenarios
            .iter()
            .filter(|record| record.runtime == "ours")
            .cloned()
            .collect();
        for record in &mut self.scenarios {
            if record.runtime == "ours" {
                continue;
            }
            if let Some(reference) = ours
                .iter()
                .find(|ours| ours.name == record.name && ours.n == record.n)
            {
                record.ratio_to_ours = Some(record.ratios_to(reference));
            }
        }
    }

    /// With several N, each scenario's cost per task against N: one [`Growth`] per scenario
    /// and runtime, in the order of the first N's records. `None` for a single N.
    pub fn growth(&self) -> Option<Vec<Growth>> {
        if self.sweep.len() < 2 {
            return None;
        }
        let first = self.sweep[0];
        let growth = self
            .scenarios
            .iter()
            .filter(|record| record.n == first)
            .map(|head| Growth {
                name: head.name,
                runtime: head.runtime,
                points: self
                    .scenarios
                    .iter()
                    .filter(|r| r.name == head.name && r.runtime == head.runtime)
                    .map(GrowthPoint::of)
                    .collect(),
            })
            .collect();
        Some(growth)
    }
}

impl GrowthPoint {
    fn of(record: &ScenarioReport) -> GrowthPoint {
        let spawned = record.tasks.spawned;
        let per_task = |value: f64| (spawned > 0).then(|| value / spawned as f64);
        GrowthPoint {
            tasks: record.n,
            body_ns_per_task: per_task(record.time.body.median_s * 1e9),
            total_ns_per_task: per_task(record.time.total.median_s * 1e9),
            peak_bytes_per_task: record.heap.figures.peak_bytes_per_task,
            marginal_bytes_per_task: record.heap.marginal_bytes_per_task,
            allocations_per_task: record.heap.figures.allocations_per_task,
        }
    }
}

impl Spread {
    /// The spread of `times`, which must not be empty.
    pub fn of(times: impl Iterator<Item = Duration>) -> Spread {
        let times_s: Vec<f64> = times.map(|time| time.as_secs_f64()).collect();
        let count = times_s.len() as f64;
        let mean_s = times_s.iter().sum::<f64>() / count;
        let stddev_s = (times_s.len() > 1).then(|| {
            let squares: f64 = times_s.iter().map(|t| (t - mean_s).powi(2)).sum();
            (squares / (count - 1.0)).sqrt()
        });
        let mut sorted = times_s.clone();
        sorted.sort_by(f64::total_cmp);
        let middle = sorted.len() / 2;
        let median_s = if sorted.len() % 2 == 1 {
            sorted[middle]
        } else {
            (sorted[middle - 1] + sorted[middle]) / 2.0
        };
        Spread {
            mean_s,
            stddev_s,
            median_s,
            min_s: sorted[0],
            max_s: sorted[sorted.len() - 1],
            times_s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Spread;
    use std::time::Duration;

    fn spread(millis: &[u64]) -> Spread {
        Spread::of(millis.iter().map(|&ms| Duration::from_millis(ms)))
    }

    #[test]
    fn median_of_odd_count_is_the_middle_value() {
        let s = spread(&[30, 10, 20]);
        assert_eq!(s.times_s, [0.03, 0.01, 0.02], "in the order they ran");
        assert_eq!((s.median_s, s.min_s, s.max_s), (0.02, 0.01, 0.03));
        assert!((s.mean_s - 0.02).abs() < 1e-12);
        // Deviations -10, 0, +10 ms: sqrt(200 / 2) = 10 ms.
        assert!((s.stddev_s.unwrap() - 0.01).abs() < 1e-12, "{s:?}");
    }

    #[test]
    fn median_of_even_count_is_the_mean_of_the_middle_two() {
        let s = spread(&[40, 10, 20, 30]);
        assert!((s.median_s - 0.025).abs() < 1e-12);
        assert!((s.mean_s - 0.025).abs() < 1e-12);
        assert_eq!((s.min_s, s.max_s), (0.01, 0.04));
    }

    #[test]
    fn one_run_has_no_standard_deviation() {
        let s = spread(&[7]);
        assert_eq!(s.stddev_s, None);
        assert_eq!(
            (s.mean_s, s.median_s, s.min_s, s.max_s),
            (0.007, 0.007, 0.007, 0.007)
        );
    }
}
