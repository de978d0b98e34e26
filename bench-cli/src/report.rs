//! The report: every scenario's runs folded into one record per runtime, ready to print in any
//! format.
//!
//! With `--repeat K` a scenario runs K times on each runtime. Wall times differ from run to run,
//! so they are reported as median and min…max. The accounting (bytes, calls, counts) is taken
//! from the first run, and `repeats_identical` says whether all K runs counted exactly the same
//! (on ours they always do; a peer with a helper thread of its own may not).
//!
//! With more than one runtime, each peer's record also carries its ratio to ours in the same
//! scenario: peer ÷ ours, so 3.0 means the peer took three times as long, or used three times
//! the bytes. The JSON form of [`Report`] is the stable one; it carries [`SCHEMA_VERSION`].

use std::time::Duration;

use serde::Serialize;

use crate::ledger::{Accounting, HeapFigures, Measurement, Moments, TaskFigures, Yields};
use crate::sampling::SampleRow;
use crate::scenarios::Scenario;

/// Version of the JSON layout. Raised whenever a field is renamed, moved or removed.
///
/// 2: `runtime` moved from the top level into each record (the top level lists `runtimes`);
/// figures a runtime does not expose became nullable; `yields`, `time.total` and
/// `ratio_to_ours` were added.
pub const SCHEMA_VERSION: u32 = 2;

/// The whole bench run.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// See [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The runtimes the scenarios ran on, in the order asked for.
    pub runtimes: Vec<&'static str>,
    /// N: works per scenario.
    pub tasks: u64,
    /// K: runs per scenario and runtime.
    pub repeat: u32,
    /// One record per scenario and runtime: scenario by scenario, each with its runtimes in the
    /// order of `runtimes`.
    pub scenarios: Vec<ScenarioReport>,
    /// The heap over time (`sampling.rs`): one row per sample of each scenario's first run on
    /// each runtime, long-form (`pandas.DataFrame(report["samples"])`).
    pub samples: Vec<SampleRow>,
    /// Set when the run was traced (`--trace`): its timings are not comparable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traced: Option<&'static str>,
}

/// One scenario on one runtime, all its runs folded together.
#[derive(Clone, Debug, Serialize)]
pub struct ScenarioReport {
    /// The scenario's name.
    pub name: &'static str,
    /// The reference study's name for it.
    pub alias: &'static str,
    /// What it does, in one line.
    pub summary: &'static str,
    /// The runtime it ran on.
    pub runtime: &'static str,
    /// Wall times.
    pub time: Times,
    /// Heap bytes and calls (from the first run).
    pub heap: HeapFigures,
    /// Task counts and heap at the moments that matter (from the first run).
    pub moments: Moments,
    /// Tasks (from the first run).
    pub tasks: TaskFigures,
    /// Yields the scenario needed (from the first run).
    pub yields: Yields,
    /// Whether the heap came back to where the scenario started.
    pub verdict: Verdict,
    /// Whether every run counted exactly the same bytes, calls and tasks.
    pub repeats_identical: bool,
    /// This runtime ÷ ours in the same scenario; `None` for ours itself, or when ours did not
    /// run.
    pub ratio_to_ours: Option<Ratios>,
}

/// Wall times of a scenario.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Times {
    /// The scenario's body.
    pub body: Spread,
    /// The executor's shutdown.
    pub shutdown: Spread,
    /// Body and shutdown of each run, added.
    pub total: Spread,
}

/// Median, minimum and maximum of K wall times, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Spread {
    /// The median (for an even K, the mean of the two middle values).
    pub median_s: f64,
    /// The fastest run.
    pub min_s: f64,
    /// The slowest run.
    pub max_s: f64,
}

/// Did the heap come back after shutdown?
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// `true` when the heap after shutdown is exactly where the scenario started.
    pub heap_back_to_start: bool,
    /// Bytes still above the start after shutdown (0 when back to start).
    pub bytes_not_returned: i64,
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
    /// Folds the runs of `scenario` on `runtime` into one record. `runs` must not be empty.
    pub fn fold(scenario: Scenario, runtime: &'static str, runs: &[Measurement]) -> ScenarioReport {
        let first: Accounting = runs[0].accounting;
        let bytes_not_returned = first.heap.after_shutdown_bytes;
        ScenarioReport {
            name: scenario.name(),
            alias: scenario.alias(),
            summary: scenario.summary(),
            runtime,
            time: Times {
                body: Spread::of(runs.iter().map(|run| run.body_time)),
                shutdown: Spread::of(runs.iter().map(|run| run.shutdown_time)),
                total: Spread::of(runs.iter().map(|run| run.body_time + run.shutdown_time)),
            },
            heap: first.heap,
            moments: first.moments,
            tasks: first.tasks,
            yields: first.yields,
            verdict: Verdict {
                heap_back_to_start: bytes_not_returned == 0,
                bytes_not_returned,
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
                self.heap.peak_bytes_per_task,
                ours.heap.peak_bytes_per_task,
            ),
            allocations_per_task: divide(
                self.heap.allocations_per_task,
                ours.heap.allocations_per_task,
            ),
        }
    }
}

impl Report {
    /// Fills in every peer record's [`ScenarioReport::ratio_to_ours`], from ours in the same
    /// scenario.
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
            if let Some(reference) = ours.iter().find(|ours| ours.name == record.name) {
                record.ratio_to_ours = Some(record.ratios_to(reference));
            }
        }
    }
}

impl Spread {
    /// The spread of `times`, which must not be empty.
    pub fn of(times: impl Iterator<Item = Duration>) -> Spread {
        let mut seconds: Vec<f64> = times.map(|time| time.as_secs_f64()).collect();
        seconds.sort_by(f64::total_cmp);
        let middle = seconds.len() / 2;
        let median_s = if seconds.len() % 2 == 1 {
            seconds[middle]
        } else {
            (seconds[middle - 1] + seconds[middle]) / 2.0
        };
        Spread {
            median_s,
            min_s: seconds[0],
            max_s: seconds[seconds.len() - 1],
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
        assert_eq!(
            spread(&[30, 10, 20]),
            Spread {
                median_s: 0.02,
                min_s: 0.01,
                max_s: 0.03
            }
        );
    }

    #[test]
    fn median_of_even_count_is_the_mean_of_the_middle_two() {
        let s = spread(&[40, 10, 20, 30]);
        assert!((s.median_s - 0.025).abs() < 1e-12);
        assert_eq!((s.min_s, s.max_s), (0.01, 0.04));
    }
}
