//! `bench-cli`: when does a cancelled task's memory come back?
//!
//! It replays the reference study's four scenarios (cancel each work right after it starts,
//! cancel all at once, never cancel, no work at all) on our executor and scheduler, and reports
//! wall times and exact heap and task figures, counted by a hand-written global allocator.
//!
//! Reading order: `alloc.rs` (the counting allocator), `ledger.rs` (what is measured when),
//! `runtime.rs` and `ours.rs` (what a scenario needs from a runtime), `scenarios/` (the four
//! bodies and their driver), `report.rs` and `format.rs` (what is printed), `cli.rs` and
//! `limits.rs` (what is refused, and why).
//!
//! A run goes:
//!
//! 1. Parse the flags (`cli.rs`); bad input is one line on stderr and exit code 2.
//! 2. Open the output file, if any, so that an unwritable one is refused before any work.
//! 3. Warm up: run every selected scenario once on a few tasks. This pays one-time costs (lazy
//!    thread-locals and the like) outside the measured runs, so that the measured figures depend
//!    on N alone; and it measures the peak heap per task, from which `limits.rs` decides whether
//!    N tasks fit in memory.
//! 4. Run each scenario K times, each on a fresh runtime, each with its own ledger.
//! 5. Print the report. Output into a closed pipe ends quietly.

mod alloc;
mod cli;
mod format;
mod ledger;
mod limits;
mod ours;
mod report;
mod runtime;
mod scenarios;
mod work;

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::{Cli, Stop};
use crate::ours::Ours;
use crate::report::{Report, SCHEMA_VERSION, ScenarioReport};
use crate::runtime::Runtime;
use crate::scenarios::{Scenario, measure};

/// Tasks per scenario in the warm-up (or N, if smaller).
const WARM_UP_TASKS: u64 = 1024;

/// How a run ended, when it did not succeed.
enum Failure {
    /// Bad input: one line on stderr, exit code 2.
    Usage(String),
    /// The report could not be written: one line on stderr, exit code 1.
    Output(String),
    /// Standard output was closed by its reader (`| head`): nothing to say, exit code 0.
    ClosedPipe,
}

fn main() -> ExitCode {
    match run(std::env::args_os()) {
        Ok(()) | Err(Failure::ClosedPipe) => ExitCode::SUCCESS,
        Err(Failure::Usage(line)) => {
            say_on_stderr(&line);
            ExitCode::from(2)
        }
        Err(Failure::Output(line)) => {
            say_on_stderr(&line);
            ExitCode::from(1)
        }
    }
}

fn run(args: impl Iterator<Item = std::ffi::OsString>) -> Result<(), Failure> {
    let cli = match cli::parse(args) {
        Ok(cli) => cli,
        Err(Stop::Show(text)) => return write_stdout(&text),
        Err(Stop::Usage(line)) => return Err(Failure::Usage(line)),
    };
    let scenarios = cli.selected_scenarios();
    let mut output = cli.output.as_deref().map(OutputFile::open).transpose()?;

    if let Err(line) = warm_up_and_check_memory(&cli, &scenarios) {
        if let Some(file) = output.take() {
            file.abandon();
        }
        return Err(Failure::Usage(line));
    }

    let mut reports = Vec::with_capacity(scenarios.len());
    for &scenario in &scenarios {
        let mut runs = Vec::with_capacity(cli.repeat as usize);
        for _ in 0..cli.repeat {
            runs.push(measure::<Ours>(scenario, cli.tasks));
        }
        reports.push(ScenarioReport::fold(scenario, &runs));
    }
    let report = Report {
        schema_version: SCHEMA_VERSION,
        runtime: Ours::NAME,
        tasks: cli.tasks,
        repeat: cli.repeat,
        scenarios: reports,
    };
    let text = format::render(&report, cli.format);
    match output {
        Some(file) => file.write(&text),
        None => write_stdout(&text),
    }
}

/// Step 3: runs each scenario once on a few tasks, then checks that N tasks fit in memory at the
/// largest peak heap per task the warm-up saw.
fn warm_up_and_check_memory(cli: &Cli, scenarios: &[Scenario]) -> Result<(), String> {
    let warm_up_tasks = cli.tasks.min(WARM_UP_TASKS);
    let mut bytes_per_task: Option<f64> = None;
    for &scenario in scenarios {
        let warm_up = measure::<Ours>(scenario, warm_up_tasks);
        if let Some(per_task) = warm_up.accounting.heap.peak_bytes_per_task {
            bytes_per_task = Some(bytes_per_task.map_or(per_task, |most| most.max(per_task)));
        }
    }
    match (bytes_per_task, limits::available_memory()) {
        (Some(per_task), Some(available)) if per_task > 0.0 => {
            limits::check_fits(cli.tasks, per_task, warm_up_tasks, available)
                .map_err(|reason| format!("error: {reason}"))
        }
        _ => Ok(()),
    }
}

/// The `--output` file, opened before any work.
struct OutputFile {
    path: PathBuf,
    file: File,
    /// Whether we made it: if the run fails after all, we remove it again.
    created: bool,
}

impl OutputFile {
    /// Opens `path` for writing without truncating it yet, so that a run refused later leaves
    /// an existing file as it was.
    fn open(path: &Path) -> Result<OutputFile, Failure> {
        let created = !path.exists();
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map(|file| OutputFile {
                path: path.to_path_buf(),
                file,
                created,
            })
            .map_err(|error| {
                Failure::Usage(format!(
                    "error: cannot write --output {}: {error}",
                    path.display()
                ))
            })
    }

    /// Replaces the file's contents with `text`.
    fn write(mut self, text: &str) -> Result<(), Failure> {
        self.file
            .set_len(0)
            .and_then(|()| self.file.write_all(text.as_bytes()))
            .and_then(|()| self.file.flush())
            .map_err(|error| {
                Failure::Output(format!(
                    "error: cannot write --output {}: {error}",
                    self.path.display()
                ))
            })
    }

    /// Gives up on the file: removes it if this run created it.
    fn abandon(self) {
        let OutputFile {
            path,
            file,
            created,
        } = self;
        drop(file);
        if created {
            let _ = fs::remove_file(path);
        }
    }
}

/// Writes `text` to standard output. A reader that went away (`| head`) is not an error.
fn write_stdout(text: &str) -> Result<(), Failure> {
    let mut stdout = io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Err(Failure::ClosedPipe),
        Err(error) => Err(Failure::Output(format!(
            "error: cannot write to standard output: {error}"
        ))),
    }
}

/// Writes one line to standard error; if even that fails, there is no one left to tell.
fn say_on_stderr(line: &str) {
    let _ = writeln!(io::stderr().lock(), "bench-cli: {line}");
}
