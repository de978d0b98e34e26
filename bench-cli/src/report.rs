//! The report: every scenario's runs folded into one record, ready to print in any format.
//!
//! With `--repeat K` a scenario runs K times. Wall times differ from run to run, so they are
//! reported as median and min…max. The accounting (bytes, calls, counts) must not differ: it is
//! taken from the first run, and `repeats_identical` says whether all K runs counted exactly the
//! same. The JSON form of [`Report`] is the stable one; it carries [`SCHEMA_VERSION`].

use std::time::Duration;

use serde::Serialize;

use crate::ledger::{Accounting, HeapFigures, Measurement, Moments, TaskFigures};
use crate::scenarios::Scenario;

/// Version of the JSON layout. Raised whenever a field is renamed, moved or removed.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole bench run.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// See [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The runtime the scenarios ran on.
    pub runtime: &'static str,
    /// N: works per scenario.
    pub tasks: u64,
    /// K: runs per scenario.
    pub repeat: u32,
    /// One record per scenario, in the order they ran.
    pub scenarios: Vec<ScenarioReport>,
}

/// One scenario, all its runs folded together.
#[derive(Clone, Debug, Serialize)]
pub struct ScenarioReport {
    /// The scenario's name.
    pub name: &'static str,
    /// The reference study's name for it.
    pub alias: &'static str,
    /// What it does, in one line.
    pub summary: &'static str,
    /// Wall times.
    pub time: Times,
    /// Heap bytes and calls (from the first run).
    pub heap: HeapFigures,
    /// Task counts and heap at the moments that matter (from the first run).
    pub moments: Moments,
    /// Tasks (from the first run).
    pub tasks: TaskFigures,
    /// Whether the heap came back to where the scenario started.
    pub verdict: Verdict,
    /// Whether every run counted exactly the same bytes, calls and tasks.
    pub repeats_identical: bool,
}

/// Wall times of a scenario.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Times {
    /// The scenario's body.
    pub body: Spread,
    /// The executor's shutdown.
    pub shutdown: Spread,
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

impl ScenarioReport {
    /// Folds the runs of `scenario` into one record. `runs` must not be empty.
    pub fn fold(scenario: Scenario, runs: &[Measurement]) -> ScenarioReport {
        let first: Accounting = runs[0].accounting;
        let bytes_not_returned = first.heap.after_shutdown_bytes;
        ScenarioReport {
            name: scenario.name(),
            alias: scenario.alias(),
            summary: scenario.summary(),
            time: Times {
                body: Spread::of(runs.iter().map(|run| run.body_time)),
                shutdown: Spread::of(runs.iter().map(|run| run.shutdown_time)),
            },
            heap: first.heap,
            moments: first.moments,
            tasks: first.tasks,
            verdict: Verdict {
                heap_back_to_start: bytes_not_returned == 0,
                bytes_not_returned,
            },
            repeats_identical: runs.iter().all(|run| run.accounting == first),
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
