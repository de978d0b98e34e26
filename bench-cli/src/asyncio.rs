//! `--runtime asyncio`: the same four scenarios in Python's asyncio, run as a child process.
//!
//! The script is the project's own (`asyncio/bench.py`), carried in the binary and run as
//! `PYTHON -c SCRIPT --tasks N --repeat K --warmup W --probe P --scenario NAMES` with the
//! interpreter `--python` names, or `python3` on the PATH; it must be Python 3.9 or later, which
//! [`Python::find`] checks before any work. The script has the reference study's code shape (its
//! `Work` class, its WorkScheduler with `create_task`, `cancel` and a done callback) and follows
//! the Rust scenarios step by step (the same waits for first polls and for cancelled coroutines
//! to end, the same moments); it prints one JSON object, whose runs are read here into the same
//! [`Measurement`]s as the Rust runtimes'. Its heap figures are tracemalloc's; what asyncio
//! cannot tell (task objects freed or live, timer entries, polls, allocation calls) is `None`.
//!
//! The child is handed to `interrupt.rs` while it runs, so that Ctrl-C or SIGTERM ends it with
//! the run. Whatever it prints is checked, never trusted: a figure that does not fit (a time of
//! `1e300` seconds, a negative count) is a one-line error, not a panic.

use std::env;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

use serde::Deserialize;

use crate::interrupt;
use crate::ledger::{Accounting, Measurement};
use crate::sampling::Sample;
use crate::scenarios::Scenario;

/// The Python script.
pub const SCRIPT: &str = include_str!("../asyncio/bench.py");

/// The interpreter's name, looked up on the PATH when `--python` is not given.
pub const PYTHON: &str = "python3";

/// The oldest Python the script runs on.
pub const OLDEST: (u32, u32) = (3, 9);

/// A Python interpreter that can run the script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Python {
    /// The interpreter.
    pub path: PathBuf,
    /// Its version (`3.11.7`).
    pub version: String,
}

impl Python {
    /// The interpreter at `requested` (`--python`), or `python3` on the PATH, checked to run
    /// and to be Python 3.9 or later; the one-line reason if not.
    pub fn find(requested: Option<&Path>) -> Result<Python, String> {
        let path = match requested {
            Some(path) => path.to_path_buf(),
            None => find_on_path().ok_or_else(|| {
                format!(
                    "error: --runtime asyncio needs {PYTHON} on the PATH, and there is none \
                     (or name one with --python PATH)"
                )
            })?,
        };
        let output = Command::new(&path)
            .args(["-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"])
            .stdin(Stdio::null())
            .output()
            .map_err(|error| format!("error: cannot run Python at {}: {error}", path.display()))?;
        let version = String::from_utf8_lossy(&output.stdout).trim().to_string();
        let parsed = parse_version(&version).filter(|_| output.status.success());
        match parsed {
            Some(found) if found >= OLDEST => Ok(Python { path, version }),
            Some(_) => Err(format!(
                "error: --runtime asyncio needs Python {}.{} or later; {} is Python {version}",
                OLDEST.0,
                OLDEST.1,
                path.display()
            )),
            None => Err(format!(
                "error: {} does not answer as a Python interpreter (it said {:?})",
                path.display(),
                version
            )),
        }
    }
}

/// `3.11.7` as `(3, 11)`.
fn parse_version(text: &str) -> Option<(u32, u32)> {
    let mut parts = text.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// The `python3` on the PATH, if there is one: the first executable file of that name in a
/// PATH directory.
pub fn find_on_path() -> Option<PathBuf> {
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
    /// The peak heap of a loop and a scheduler with no task: asyncio's fixed cost.
    pub fixed_bytes: u64,
    /// For each scenario asked for, in that order, its runs.
    pub scenarios: Vec<(Scenario, Vec<Measurement>)>,
    /// For each scenario, the heap over time of its first run (`sampling.rs`): the script
    /// samples at the same points as the Rust runtimes; it knows no cells, husks or RSS.
    pub samples: Vec<(Scenario, Vec<Sample>)>,
}

#[derive(Deserialize)]
struct ScriptOutput {
    python: String,
    fixed_bytes: u64,
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
        5 => Some("after_release"),
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

/// What to ask the script for.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// The scenarios, in order.
    pub scenarios: &'a [Scenario],
    /// N.
    pub tasks: u64,
    /// Measured runs per scenario.
    pub repeat: u32,
    /// Unmeasured runs per scenario at N, after the probe.
    pub warmup: u32,
    /// Tasks of the probe run (or N, if smaller).
    pub probe: u64,
    /// `gc.set_threshold` for the run.
    pub gc_threshold: [u64; 3],
}

/// Runs the script with `python` as `request` says; the one-line reason if it could not run
/// or said something this side cannot read.
pub fn run(python: &Python, request: Request<'_>) -> Result<AsyncioRuns, String> {
    let names: Vec<&str> = request.scenarios.iter().map(|s| s.name()).collect();
    let shown = python.path.display();
    let mut child = Command::new(&python.path)
        .arg("-c")
        .arg(SCRIPT)
        .args(["--tasks", &request.tasks.to_string()])
        .args(["--repeat", &request.repeat.to_string()])
        .args(["--warmup", &request.warmup.to_string()])
        .args(["--probe", &request.probe.to_string()])
        .args([
            "--gc-threshold",
            &request.gc_threshold.map(|t| t.to_string()).join(","),
        ])
        .args(["--scenario", &names.join(",")])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("error: asyncio: cannot run {shown}: {error}"))?;
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    interrupt::watch_child(child);
    let errors = thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stderr.read_to_end(&mut text);
        text
    });
    let mut report = Vec::new();
    let read = stdout.read_to_end(&mut report);
    let errors = errors.join().unwrap_or_default();
    let status = interrupt::wait_child()
        .ok_or_else(|| "error: asyncio: the Python child was ended".to_string())?
        .map_err(|error| format!("error: asyncio: waiting for {shown}: {error}"))?;
    read.map_err(|error| format!("error: asyncio: reading from {shown}: {error}"))?;
    if !status.success() {
        let errors = String::from_utf8_lossy(&errors);
        let last = errors.lines().rev().find(|line| !line.trim().is_empty());
        return Err(format!(
            "error: asyncio: {shown} failed ({status}): {}",
            last.unwrap_or("no message")
        ));
    }
    parse(&report, request.scenarios)
}

/// Reads the script's JSON into measurements, one list per scenario in `scenarios`.
fn parse(stdout: &[u8], scenarios: &[Scenario]) -> Result<AsyncioRuns, String> {
    let output: ScriptOutput = serde_json::from_slice(stdout)
        .map_err(|error| format!("error: asyncio: the script's report does not parse: {error}"))?;
    let mut found = Vec::with_capacity(scenarios.len());
    let mut samples = Vec::with_capacity(scenarios.len());
    for &scenario in scenarios {
        let record = output
            .scenarios
            .iter()
            .find(|record| record.name == scenario.name())
            .filter(|record| !record.runs.is_empty())
            .ok_or_else(|| {
                format!(
                    "error: asyncio: the script reported no run of {}",
                    scenario.name()
                )
            })?;
        let runs = record
            .runs
            .iter()
            .map(|run| {
                Ok(Measurement {
                    body_time: duration("body_s", run.body_s)?,
                    shutdown_time: duration("shutdown_s", run.shutdown_s)?,
                    accounting: run.accounting,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        found.push((scenario, runs));
        samples.push((scenario, samples_of(&record.runs[0].samples)));
    }
    Ok(AsyncioRuns {
        python_version: output.python,
        fixed_bytes: output.fixed_bytes,
        scenarios: found,
        samples,
    })
}

/// A time the script reported, checked: finite, not negative, and within what a `Duration`
/// holds.
fn duration(name: &str, seconds: f64) -> Result<Duration, String> {
    if seconds < 0.0 {
        return Err(format!(
            "error: asyncio: the script reported a negative time: {name} = {seconds}"
        ));
    }
    Duration::try_from_secs_f64(seconds).map_err(|_| {
        format!(
            "error: asyncio: the script reported a time that is no duration: {name} = {seconds}"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::parse;
    use crate::scenarios::Scenario;

    const ONE_RUN: &str = r#"{"python": "3.11.7", "fixed_bytes": 8282,
        "scenarios": [{"name": "no-cancel", "runs": [
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
    fn figures_that_do_not_fit_are_errors_not_panics() {
        for (from, to) in [
            ("\"body_s\": 0.5", "\"body_s\": 1e300"),
            ("\"body_s\": 0.5", "\"body_s\": -1"),
            ("\"shutdown_s\": 0.25", "\"shutdown_s\": 1e20"),
            ("\"peak_bytes\": 200", "\"peak_bytes\": -200"),
            ("\"spawned\": 10", "\"spawned\": 1e400"),
            ("\"fixed_bytes\": 8282", "\"fixed_bytes\": \"many\""),
            (
                "\"at_end_bytes\": 100",
                "\"at_end_bytes\": 99999999999999999999",
            ),
        ] {
            let text = ONE_RUN.replace(from, to);
            assert_ne!(text, ONE_RUN, "{to}");
            let message = parse(text.as_bytes(), &[Scenario::NoCancel]).unwrap_err();
            assert!(message.starts_with("error: asyncio: "), "{to}: {message}");
            assert!(!message.contains('\n'), "{message}");
        }
    }

    #[test]
    fn versions_read_as_major_and_minor() {
        assert_eq!(super::parse_version("3.11.7"), Some((3, 11)));
        assert_eq!(super::parse_version("3.9.0"), Some((3, 9)));
        assert!(super::parse_version("3.8.10") < Some(super::OLDEST));
        assert_eq!(super::parse_version("Python"), None);
        assert_eq!(super::parse_version(""), None);
    }

    #[test]
    fn a_scenario_missing_from_the_report_is_an_error() {
        let message = parse(ONE_RUN.as_bytes(), &[Scenario::Baseline]).unwrap_err();
        assert!(message.contains("no run of baseline"), "{message}");
        assert!(parse(b"not json", &[Scenario::Baseline]).is_err());
    }
}
