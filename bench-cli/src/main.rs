//! The `bench-cli` binary: installs the counting allocator and runs the bench (the library's
//! docs, `lib.rs`, say what is where).
//!
//! A run goes:
//!
//! 1. Parse the flags (`cli.rs`); bad input is one line on stderr and exit code 2. So is
//!    `--runtime asyncio` without a `python3` on the PATH.
//! 2. Open the output file, if any, so that an unwritable one is refused before any work.
//! 3. Warm up: run every selected scenario once on a few tasks, on every selected runtime. This
//!    pays one-time costs (lazy thread-locals, a peer's global reactor and the like) outside the
//!    measured runs, so that the measured figures depend on N alone; and it measures the peak
//!    heap per task, from which `limits.rs` decides whether N tasks fit in memory.
//! 4. Run each scenario K times on each Rust runtime, each run on a fresh runtime with its own
//!    ledger; the runtimes take turns run by run, so that a slow spell of the machine does not
//!    fall on one runtime only. Then asyncio, in one child process, if asked for.
//! 5. Print the report, with each peer's ratio to ours. Output into a closed pipe ends quietly.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bench_cli::alloc::Counted;
use bench_cli::asyncio;
use bench_cli::cli::{self, Cli, Stop};
use bench_cli::format;
use bench_cli::holders;
use bench_cli::ledger::Measurement;
use bench_cli::limits;
use bench_cli::observe::{self, NOT_COMPARABLE, Observer};
use bench_cli::ours::Ours;
#[cfg(feature = "peers")]
use bench_cli::peers::{Smol, Tokio};
use bench_cli::report::{Report, SCHEMA_VERSION, ScenarioReport};
use bench_cli::runtime::RuntimeKind;
use bench_cli::scenarios::{Scenario, measure};

/// Everything the process allocates is counted, from `main` on.
#[global_allocator]
static GLOBAL: Counted = Counted;

/// Tasks per scenario in the warm-up (or N, if smaller).
const WARM_UP_TASKS: u64 = 1024;

/// How a run ended, when it did not succeed.
enum Failure {
    /// Bad input: one line on stderr, exit code 2.
    Usage(String),
    /// The report could not be written, or a peer could not run: one line on stderr, exit
    /// code 1.
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
    let runtimes = cli.selected_runtimes();
    let python = if runtimes.contains(&RuntimeKind::Asyncio) {
        Some(asyncio::find_python().ok_or_else(|| {
            Failure::Usage(format!(
                "error: --runtime asyncio needs {} on the PATH, and there is none",
                asyncio::PYTHON
            ))
        })?)
    } else {
        None
    };
    let Files {
        output,
        trace: trace_file,
        plot: plot_file,
    } = Files::open(&cli)?;
    if cli.trace.is_some() {
        if !cfg!(feature = "trace") {
            Files::abandon([output, trace_file, plot_file]);
            return Err(Failure::Usage(
                "error: --trace needs a build with the `trace` feature (on by default)".to_string(),
            ));
        }
        say_on_stderr(&format!("note: {NOT_COMPARABLE}"));
    }
    let mut observer = Observer::new(cli.trace.is_some());

    let measured = warm_up_and_check_memory(&cli, &scenarios, &runtimes, python.as_deref())
        .and_then(|()| {
            measure_all(
                &cli,
                &scenarios,
                &runtimes,
                python.as_deref(),
                &mut observer,
            )
        });
    let records = match measured {
        Ok(records) => records,
        Err(failure) => {
            Files::abandon([output, trace_file, plot_file]);
            return Err(failure);
        }
    };

    let mut report = Report {
        schema_version: SCHEMA_VERSION,
        runtimes: runtimes.iter().map(|runtime| runtime.name()).collect(),
        tasks: cli.tasks,
        repeat: cli.repeat,
        scenarios: records,
        samples: observer.rows(),
        traced: observer.traces().then_some(NOT_COMPARABLE),
    };
    report.compute_ratios();
    if let Some(file) = trace_file {
        let others: Vec<&str> = runtimes
            .iter()
            .filter(|&&runtime| runtime == RuntimeKind::Asyncio)
            .map(|runtime| runtime.name())
            .collect();
        file.write(&observer.trace(&others).to_string())?;
    }
    if let Some(file) = plot_file {
        let title = "Heap above each scenario's start, over time";
        let svg = observer
            .plot(title)
            .map_err(|error| Failure::Output(format!("error: cannot draw --plot: {error}")))?;
        file.write(&svg)?;
    }
    let mut text = format::render(&report, cli.format);
    if cli.format == format::Format::Table {
        if let Some(lines) = holders::report(&observe::leftovers(&report.scenarios)) {
            text.push('\n');
            text.push_str(&lines);
        }
    }
    match output {
        Some(file) => file.write(&text),
        None => write_stdout(&text),
    }
}

/// The files a run writes, opened before any work so that an unwritable one is refused first.
struct Files {
    output: Option<OutputFile>,
    trace: Option<OutputFile>,
    plot: Option<OutputFile>,
}

impl Files {
    /// Opens `--output`, `--trace` and `--plot`, as given; if one cannot be written, the ones
    /// already opened are given up again.
    fn open(cli: &Cli) -> Result<Files, Failure> {
        let mut opened: Vec<Option<OutputFile>> = Vec::new();
        for (path, flag) in [
            (&cli.output, "--output"),
            (&cli.trace, "--trace"),
            (&cli.plot, "--plot"),
        ] {
            match path
                .as_deref()
                .map(|path| OutputFile::open(path, flag))
                .transpose()
            {
                Ok(file) => opened.push(file),
                Err(failure) => {
                    Files::abandon(opened);
                    return Err(failure);
                }
            }
        }
        let mut opened = opened.into_iter();
        let mut next = || opened.next().flatten();
        Ok(Files {
            output: next(),
            trace: next(),
            plot: next(),
        })
    }

    /// Gives up every file given (the run failed).
    fn abandon(files: impl IntoIterator<Item = Option<OutputFile>>) {
        for file in files.into_iter().flatten() {
            file.abandon();
        }
    }
}

/// Runs `scenario` once with `tasks` works on a fresh `runtime` of this process.
fn measure_on(runtime: RuntimeKind, scenario: Scenario, tasks: u64) -> Measurement {
    match runtime {
        RuntimeKind::Ours => measure::<Ours>(scenario, tasks),
        #[cfg(feature = "peers")]
        RuntimeKind::Tokio => measure::<Tokio>(scenario, tasks),
        #[cfg(feature = "peers")]
        RuntimeKind::Smol => measure::<Smol>(scenario, tasks),
        other => unreachable!("{} does not run in this process", other.name()),
    }
}

/// The runtimes that run in this process (all but asyncio).
fn in_process(runtimes: &[RuntimeKind]) -> Vec<RuntimeKind> {
    runtimes
        .iter()
        .copied()
        .filter(|&runtime| runtime != RuntimeKind::Asyncio)
        .collect()
}

/// Step 3: runs each scenario once on a few tasks on each runtime, then checks that N tasks
/// fit in memory at the largest peak heap per task the warm-up saw.
fn warm_up_and_check_memory(
    cli: &Cli,
    scenarios: &[Scenario],
    runtimes: &[RuntimeKind],
    python: Option<&Path>,
) -> Result<(), Failure> {
    let warm_up_tasks = cli.tasks.min(WARM_UP_TASKS);
    let mut bytes_per_task: Option<f64> = None;
    let mut note = |per_task: Option<f64>| {
        if let Some(per_task) = per_task {
            bytes_per_task = Some(bytes_per_task.map_or(per_task, |most| most.max(per_task)));
        }
    };
    for runtime in in_process(runtimes) {
        for &scenario in scenarios {
            let warm_up = measure_on(runtime, scenario, warm_up_tasks);
            note(warm_up.accounting.heap.peak_bytes_per_task);
        }
    }
    if let Some(python) = python {
        let warm_up = asyncio::run(python, scenarios, warm_up_tasks, 1).map_err(Failure::Output)?;
        for (_, runs) in &warm_up.scenarios {
            note(runs[0].accounting.heap.peak_bytes_per_task);
        }
    }
    match (bytes_per_task, limits::available_memory()) {
        (Some(per_task), Some(available)) if per_task > 0.0 => {
            limits::check_fits(cli.tasks, per_task, warm_up_tasks, available)
                .map_err(|reason| Failure::Usage(format!("error: {reason}")))
        }
        _ => Ok(()),
    }
}

/// Step 4: every scenario K times on every runtime; one record per scenario and runtime, scenario
/// by scenario, runtimes in the order asked for.
fn measure_all(
    cli: &Cli,
    scenarios: &[Scenario],
    runtimes: &[RuntimeKind],
    python: Option<&Path>,
    observer: &mut Observer,
) -> Result<Vec<ScenarioReport>, Failure> {
    let here = in_process(runtimes);
    let mut folded: Vec<Vec<(RuntimeKind, ScenarioReport)>> = Vec::new();
    for &scenario in scenarios {
        let mut runs: Vec<Vec<Measurement>> = vec![Vec::new(); here.len()];
        for repeat in 0..cli.repeat {
            for (index, &runtime) in here.iter().enumerate() {
                // Every measured run is sampled; the first of each is kept (and traced).
                runs[index].push(observer.measure(runtime, scenario, cli.tasks, repeat == 0));
            }
        }
        folded.push(
            here.iter()
                .zip(&runs)
                .map(|(&runtime, runs)| {
                    (
                        runtime,
                        ScenarioReport::fold(scenario, runtime.name(), runs),
                    )
                })
                .collect(),
        );
    }
    if let Some(python) = python {
        let asyncio =
            asyncio::run(python, scenarios, cli.tasks, cli.repeat).map_err(Failure::Output)?;
        for (scenario, samples) in asyncio.samples {
            observer.keep("asyncio", scenario.name(), cli.tasks, samples);
        }
        for (records, (scenario, runs)) in folded.iter_mut().zip(&asyncio.scenarios) {
            records.push((
                RuntimeKind::Asyncio,
                ScenarioReport::fold(*scenario, RuntimeKind::Asyncio.name(), runs),
            ));
        }
    }
    let mut ordered = Vec::with_capacity(scenarios.len() * runtimes.len());
    for mut records in folded {
        for runtime in runtimes {
            if let Some(at) = records.iter().position(|(kind, _)| kind == runtime) {
                ordered.push(records.swap_remove(at).1);
            }
        }
    }
    Ok(ordered)
}

/// The `--output` file, opened before any work.
struct OutputFile {
    path: PathBuf,
    file: File,
    /// Whether we made it: if the run fails after all, we remove it again.
    created: bool,
    /// The flag that named it, for error messages.
    flag: String,
}

impl OutputFile {
    /// Opens `path` for writing without truncating it yet, so that a run refused later leaves
    /// an existing file as it was.
    fn open(path: &Path, flag: &str) -> Result<OutputFile, Failure> {
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
                flag: String::new(),
            })
            .map_err(|error| {
                Failure::Usage(format!(
                    "error: cannot write {flag} {}: {error}",
                    path.display()
                ))
            })
            .map(|mut file| {
                file.flag = flag.to_string();
                file
            })
    }

    /// Replaces the file's contents with `text`. Only a regular file is truncated first: a
    /// device such as `/dev/null` or a FIFO has no length to set.
    fn write(mut self, text: &str) -> Result<(), Failure> {
        let is_file = self.file.metadata().map(|m| m.is_file()).unwrap_or(false);
        (if is_file {
            self.file.set_len(0)
        } else {
            Ok(())
        })
        .and_then(|()| self.file.write_all(text.as_bytes()))
        .and_then(|()| self.file.flush())
        .map_err(|error| {
            Failure::Output(format!(
                "error: cannot write {} {}: {error}",
                self.flag,
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
            ..
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
