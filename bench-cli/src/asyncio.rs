//! `--runtime asyncio`: the same four scenarios in Python's asyncio, run as a child process.
//!
//! The script is the project's own (`asyncio/bench.py`), carried in the binary and run as
//! `python3 -c SCRIPT --tasks N --repeat K --scenario NAMES` with the `python3` found on the
//! PATH. It follows the Rust scenarios step by step (a WorkScheduler with `create_task`,
//! `cancel` and a done callback; the same waits for first polls and for cancelled coroutines to
//! end) and prints one JSON object, whose runs are read here into the same [`Measurement`]s as
//! the Rust runtimes'. Its heap figures are tracemalloc's; what asyncio cannot tell (task
//! objects freed or live, timer entries, polls, allocation calls) is `None`.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde::Deserialize;

use crate::ledger::{Accounting, Measurement};
use crate::sampling::Sample;
use crate::scenarios::Scenario;

/// The Python script.
pub const SCRIPT: &str = include_str!("../asyncio/bench.py");

/// The interpreter's name, looked up on the PATH.
pub const PYTHON: &str = "python3";

/// The `python3` on the PATH, if there is one: the first executable file of that name in a
/// PATH directory.
pub fn find_python() -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .map(|dir| dir.join(PYTHON))
        .find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// What one run of the script measured.
#[derive(Debug)]
pub struct AsyncioRuns {
    /// The interpreter's version, as Python says it (`3.11.7`).
    pub python_version: String,
    /// For each scenario asked for, in that order, its runs.
    pub scenarios: Vec<(Scenario, Vec<Measurement>)>,
    /// For each scenario, the heap over time of its first run (`sampling.rs`): the script
    /// samples at the same points as the Rust runtimes; it knows no cells, husks or RSS.
    pub samples: Vec<(Scenario, Vec<Sample>)>,
}

#[derive(Deserialize)]
struct ScriptOutput {
    python: String,
    scenarios: Vec<ScriptScenario>,
}

#[derive(Deserialize)]
struct ScriptScenario {
    name: String,
    runs: Vec<ScriptRun>,
}

#[derive(Deserialize)]
struct ScriptRun {
    body_s: f64,
    shutdown_s: f64,
    accounting: Accounting,
    /// Rows of (seconds, heap bytes, live futures, moment code); the first run only.
    #[serde(default)]
    samples: Vec<[f64; 4]>,
}

/// The moment a sample's code names (the script's `MOMENT_CODES`).
fn moment_of(code: f64) -> Option<&'static str> {
    match code as u8 {
        1 => Some("after_cancel"),
        2 => Some("at_end"),
        3 => Some("after_tick"),
        4 => Some("after_shutdown"),
        _ => None,
    }
}

/// The script's sample rows as samples.
fn samples_of(rows: &[[f64; 4]]) -> Vec<Sample> {
    rows.iter()
        .map(|&[t_s, heap_bytes, futures, code]| Sample {
            t_s,
            heap_bytes: heap_bytes as i64,
            futures: futures.max(0.0) as u64,
            moment: moment_of(code),
            ..Sample::default()
        })
        .collect()
}

/// Runs the script with `python` on `scenarios`, `tasks` works each, `repeat` times; the
/// one-line reason if it could not run or said something this side cannot read.
pub fn run(
    python: &Path,
    scenarios: &[Scenario],
    tasks: u64,
    repeat: u32,
) -> Result<AsyncioRuns, String> {
    let names: Vec<&str> = scenarios.iter().map(|s| s.name()).collect();
    let output = Command::new(python)
        .arg("-c")
        .arg(SCRIPT)
        .args(["--tasks", &tasks.to_string()])
        .args(["--repeat", &repeat.to_string()])
        .args(["--scenario", &names.join(",")])
        .output()
        .map_err(|error| format!("asyncio: cannot run {}: {error}", python.display()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().rev().find(|line| !line.trim().is_empty());
        return Err(format!(
            "asyncio: {} failed ({}): {}",
            python.display(),
            output.status,
            last.unwrap_or("no message")
        ));
    }
    parse(&output.stdout, scenarios)
}

/// Reads the script's JSON into measurements, one list per scenario in `scenarios`.
fn parse(stdout: &[u8], scenarios: &[Scenario]) -> Result<AsyncioRuns, String> {
    let output: ScriptOutput = serde_json::from_slice(stdout)
        .map_err(|error| format!("asyncio: the script's report does not parse: {error}"))?;
    let mut found = Vec::with_capacity(scenarios.len());
    let mut samples = Vec::with_capacity(scenarios.len());
    for &scenario in scenarios {
        let record = output
            .scenarios
            .iter()
            .find(|record| record.name == scenario.name())
            .filter(|record| !record.runs.is_empty())
            .ok_or_else(|| format!("asyncio: the script reported no run of {}", scenario.name()))?;
        let runs = record
            .runs
            .iter()
            .map(|run| Measurement {
                body_time: Duration::from_secs_f64(run.body_s.max(0.0)),
                shutdown_time: Duration::from_secs_f64(run.shutdown_s.max(0.0)),
                accounting: run.accounting,
            })
            .collect();
        found.push((scenario, runs));
        samples.push((scenario, samples_of(&record.runs[0].samples)));
    }
    Ok(AsyncioRuns {
        python_version: output.python,
        scenarios: found,
        samples,
    })
}

#[cfg(test)]
mod tests {
    use super::parse;
    use crate::scenarios::Scenario;

    const ONE_RUN: &str = r#"{"python": "3.11.7", "scenarios": [{"name": "no-cancel", "runs": [
        {"body_s": 0.5, "shutdown_s": 0.25, "accounting": {
            "heap": {"at_end_bytes": 100, "peak_bytes": 200, "after_shutdown_bytes": 0,
                     "peak_bytes_per_task": 20.0},
            "moments": {"after_cancel": null,
                        "at_end": {"futures_dropped": 0, "heap_bytes": 100},
                        "after_tick": {"futures_dropped": 0, "heap_bytes": 100},
                        "after_shutdown": {"futures_dropped": 10, "heap_bytes": 0}},
            "tasks": {"spawned": 10, "polled": 10, "cancels_requested": 0, "cancelled": 0,
                      "futures_dropped": 0, "registered_at_end": 10},
            "yields": {"start_total": 1, "start_most": 1, "catch_up": 1}}}]}]}"#;

    #[test]
    fn the_scripts_report_reads_into_measurements_with_what_it_cannot_give_as_none() {
        let runs = parse(ONE_RUN.as_bytes(), &[Scenario::NoCancel]).unwrap();
        assert_eq!(runs.python_version, "3.11.7");
        let (scenario, measurements) = &runs.scenarios[0];
        assert_eq!(*scenario, Scenario::NoCancel);
        let accounting = measurements[0].accounting;
        assert_eq!(accounting.heap.peak_bytes, 200);
        assert_eq!(accounting.heap.allocations, None);
        assert_eq!(accounting.tasks.polls, None);
        assert_eq!(accounting.tasks.live_at_end, None);
        assert_eq!(accounting.moments.after_shutdown.futures_dropped, 10);
        assert_eq!(accounting.moments.after_shutdown.tasks_freed, None);
        assert_eq!(measurements[0].body_time.as_secs_f64(), 0.5);
    }

    #[test]
    fn the_first_runs_samples_come_with_their_moments() {
        let with_samples = ONE_RUN.replace(
            r#""body_s": 0.5,"#,
            r#""body_s": 0.5, "samples": [[0.001, 50.0, 5.0, 0.0], [0.002, 100.0, 10.0, 2.0]],"#,
        );
        let runs = parse(with_samples.as_bytes(), &[Scenario::NoCancel]).unwrap();
        let (scenario, samples) = &runs.samples[0];
        assert_eq!(*scenario, Scenario::NoCancel);
        assert_eq!(samples.len(), 2);
        assert_eq!(
            (samples[0].heap_bytes, samples[0].futures, samples[0].moment),
            (50, 5, None)
        );
        assert_eq!((samples[1].t_s, samples[1].moment), (0.002, Some("at_end")));
        assert_eq!((samples[1].cells, samples[1].husks), (None, None));
        // A report without samples reads as no samples.
        let runs = parse(ONE_RUN.as_bytes(), &[Scenario::NoCancel]).unwrap();
        assert!(runs.samples[0].1.is_empty());
    }

    #[test]
    fn a_scenario_missing_from_the_report_is_an_error() {
        let message = parse(ONE_RUN.as_bytes(), &[Scenario::Baseline]).unwrap_err();
        assert!(message.contains("no run of baseline"), "{message}");
        assert!(parse(b"not json", &[Scenario::Baseline]).is_err());
    }
}
