//! The `bench-cli` binary: installs the counting allocator and runs the bench (the library's
//! docs, `lib.rs`, say what is where).
//!
//! A run goes:
//!
//! 1. Parse the flags (`cli.rs`); bad input is one line on stderr and exit code 2. So is
//!    `--runtime asyncio` without a Python 3.9 or later, a `--compare` file that cannot be
//!    used, and an output file that cannot be written: every file is opened now, before any
//!    work (`export.rs`). SIGINT and SIGTERM are handled from here on (`interrupt.rs`).
//! 2. The probe: run every selected scenario once on 1,025 tasks (or N, if smaller), and the
//!    baseline, on every selected runtime. This pays one-time costs (lazy thread-locals, a
//!    peer's global reactor and the like) outside the measured runs, so that the measured
//!    figures depend on N alone; it measures each runtime's fixed cost (the baseline's peak);
//!    and it measures the peak heap per task, from which `limits.rs` decides whether the
//!    largest N fits in memory.
//! 3. For each N: `--warmup K` unmeasured runs, then each scenario `--repeat K` times on each
//!    Rust runtime, each run on a fresh runtime with its own ledger; the runtimes take turns run
//!    by run, so that a slow spell of the machine does not fall on one runtime only. Then
//!    asyncio, in one child process, if asked for. Progress is drawn on stderr meanwhile
//!    (`progress.rs`), without touching a counted byte.
//! 4. Fold the runs into the report, with each peer's ratio to ours, the growth table of a
//!    sweep and the `--compare` ratios; write every file (each renamed into place whole), then
//!    print the terminal view. Output into a closed pipe ends quietly.

use std::io::{self, Write};
use std::process::ExitCode;

use bench_cli::alloc::CountingAlloc;
use bench_cli::asyncio::{self, Python, Request};
use bench_cli::cli::{self, Cli, Export, Stop};
use bench_cli::compare;
use bench_cli::export::{self, OutputFile};
use bench_cli::format::{self, Format, View};
use bench_cli::holders;
use bench_cli::interrupt;
use bench_cli::ledger::Measurement;
use bench_cli::limits::{self, PROBE_TASKS};
use bench_cli::meta::{DEBUG_BUILD, Meta};
use bench_cli::observe::{NOT_COMPARABLE, Observer};
use bench_cli::ours::Ours;
#[cfg(feature = "peers")]
use bench_cli::peers::{Smol, Tokio};
use bench_cli::progress::Progress;
use bench_cli::report::{Report, SCHEMA_VERSION, ScenarioReport, Warmup};
use bench_cli::runtime::RuntimeKind;
use bench_cli::scenarios::{Cancel, Scenario, measure};

/// Everything the process allocates is counted, from `main` on (but for the progress thread,
/// which keeps itself apart).
#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

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

/// What the run measures: the same for the probe, the warm-up and the measured runs.
struct Plan<'a> {
    cli: &'a Cli,
    scenarios: Vec<Scenario>,
    runtimes: Vec<RuntimeKind>,
    sweep: Vec<u64>,
    python: Option<Python>,
}

fn run(args: impl Iterator<Item = std::ffi::OsString>) -> Result<(), Failure> {
    let cli = match cli::parse(args) {
        Ok(cli) => cli,
        Err(Stop::Show(text)) => return write_stdout(&text),
        Err(Stop::Usage(line)) => return Err(Failure::Usage(line)),
    };
    if DEBUG_BUILD {
        say_on_stderr(
            "warning: THIS IS A DEBUG BUILD: its times mean nothing (bytes and counts still \
             hold); run `cargo run --release`",
        );
    }
    let runtimes = cli.selected_runtimes();
    let python = if runtimes.contains(&RuntimeKind::Asyncio) {
        Some(Python::find(cli.python.as_deref()).map_err(Failure::Usage)?)
    } else {
        None
    };
    let saved = cli
        .compare
        .as_deref()
        .map(compare::load)
        .transpose()
        .map_err(Failure::Usage)?;
    interrupt::install().map_err(Failure::Output)?;
    let files = open_files(&cli)?;
    let (trace_file, plot_file) = match open_pictures(&cli) {
        Ok(pictures) => pictures,
        Err(failure) => {
            for file in files {
                file.abandon();
            }
            return Err(failure);
        }
    };
    if cli.trace.is_some() {
        say_on_stderr(&format!("note: {NOT_COMPARABLE}"));
    }
    let mut observer = Observer::new(cli.trace.is_some());
    let plan = Plan {
        cli: &cli,
        scenarios: cli.selected_scenarios(),
        runtimes,
        sweep: cli.sweep(),
        python,
    };
    let meta = Meta::now(plan.python.as_ref().map(|p| p.version.clone()));

    let progress = Progress::start(plan.total_tasks(), cli.quiet);
    let measured = probe(&plan, &progress)
        .and_then(|fixed| measure_all(&plan, &fixed, &progress, &mut observer));
    progress.finish();
    let records = match measured {
        Ok(records) => records,
        Err(failure) => {
            for file in files.into_iter().chain(trace_file).chain(plot_file) {
                file.abandon();
            }
            return Err(failure);
        }
    };

    let mut report = Report {
        schema_version: SCHEMA_VERSION,
        meta,
        runtimes: plan.runtimes.iter().map(|runtime| runtime.name()).collect(),
        tasks: plan.sweep[0],
        sweep: plan.sweep.clone(),
        repeat: cli.repeat,
        warmup: Warmup {
            probe_tasks: PROBE_TASKS,
            runs: cli.warmup,
        },
        cancel: cli.cancel.name(),
        not_applicable: plan.not_applicable(),
        scenarios: records,
        samples: observer.rows(),
        traced: observer.traces().then_some(NOT_COMPARABLE),
        growth: None,
        comparison: None,
    };
    report.compute_ratios();
    report.growth = report.growth();
    report.comparison = saved.map(|saved| saved.compare(&report));

    let mut written: Vec<(OutputFile, String)> = files
        .into_iter()
        .map(|file| {
            let text = format::render(&report, file.format(), View::for_file(cli.details));
            (file, text)
        })
        .collect();
    if let Some(file) = trace_file {
        let others: Vec<&str> = plan
            .runtimes
            .iter()
            .filter(|&&runtime| runtime == RuntimeKind::Asyncio)
            .map(|runtime| runtime.name())
            .collect();
        written.push((file, observer.trace(&others).to_string()));
    }
    if let Some(file) = plot_file {
        let svg = observer
            .plot("Heap above each scenario's start, over time")
            .map_err(|error| Failure::Output(format!("error: cannot draw --plot: {error}")))?;
        written.push((file, svg));
    }
    export::finish_all(written).map_err(Failure::Output)?;
    if cli.output.is_none() {
        let view = View::for_stdout(cli.details);
        let mut text = format::render(&report, cli.main_format(), view);
        if cli.main_format() == Format::Table {
            if let Some(lines) = holders::report(&holders::leftovers(&report.scenarios)) {
                text.push('\n');
                text.push_str(&lines);
            }
        }
        write_stdout(&text)?;
    }
    Ok(())
}

/// Opens `--trace` and `--plot`, before any work; refuses `--trace` in a build without the
/// executor's trace; if one cannot be written, the other is given up again.
fn open_pictures(cli: &Cli) -> Result<(Option<OutputFile>, Option<OutputFile>), Failure> {
    if cli.trace.is_some() && !cfg!(feature = "trace") {
        return Err(Failure::Usage(
            "error: --trace needs a build with the `trace` feature (on by default)".to_string(),
        ));
    }
    let open = |path: &Option<std::path::PathBuf>, flag: &str| {
        path.as_ref()
            .map(|path| {
                let export = Export {
                    path: path.clone(),
                    format: Format::Json,
                };
                OutputFile::open(&export, flag)
            })
            .transpose()
            .map_err(Failure::Usage)
    };
    let trace = open(&cli.trace, "--trace")?;
    match open(&cli.plot, "--plot") {
        Ok(plot) => Ok((trace, plot)),
        Err(failure) => {
            if let Some(file) = trace {
                file.abandon();
            }
            Err(failure)
        }
    }
}

/// Opens `--output` and every `--export-*` file, before any work; if one cannot be written,
/// the ones already opened are given up again.
fn open_files(cli: &Cli) -> Result<Vec<OutputFile>, Failure> {
    let mut wanted: Vec<(Export, &str)> = Vec::new();
    if let Some(path) = &cli.output {
        let export = Export {
            path: path.clone(),
            format: cli.main_format(),
        };
        wanted.push((export, "--output"));
    }
    for export in cli.exports() {
        let flag = match export.format {
            Format::Json => "--export-json",
            Format::Csv => "--export-csv",
            Format::Markdown | Format::Table => "--export-markdown",
        };
        wanted.push((export, flag));
    }
    let mut files = Vec::new();
    for (export, flag) in &wanted {
        match OutputFile::open(export, flag) {
            Ok(file) => files.push(file),
            Err(line) => {
                for file in files {
                    file.abandon();
                }
                return Err(Failure::Usage(line));
            }
        }
    }
    Ok(files)
}

impl Plan<'_> {
    /// The runtimes that run in this process (all but asyncio).
    fn in_process(&self) -> Vec<RuntimeKind> {
        self.runtimes
            .iter()
            .copied()
            .filter(|&runtime| runtime != RuntimeKind::Asyncio)
            .collect()
    }

    /// Tasks of the probe: [`PROBE_TASKS`], or the largest N if smaller.
    fn probe_tasks(&self) -> u64 {
        self.sweep
            .iter()
            .copied()
            .max()
            .unwrap_or(1)
            .min(PROBE_TASKS)
    }

    /// The scenarios asyncio runs: all, but with `--cancel now` none that cancels.
    fn asyncio_scenarios(&self) -> Vec<Scenario> {
        let cancels_now = RuntimeKind::Asyncio.cancels_now();
        self.scenarios
            .iter()
            .copied()
            .filter(|&scenario| self.cli.cancel.applies(scenario, cancels_now))
            .collect()
    }

    /// `scenario/runtime` of every pair that `--cancel now` leaves out: the runtime has no eager
    /// cancel, and the report says n/a rather than fake a figure.
    fn not_applicable(&self) -> Vec<String> {
        let mut skipped = Vec::new();
        for &scenario in &self.scenarios {
            for &runtime in &self.runtimes {
                if !self.cli.cancel.applies(scenario, runtime.cancels_now()) {
                    skipped.push(format!("{}/{}", scenario.name(), runtime.name()));
                }
            }
        }
        skipped
    }

    /// Every task the warm-up and measured runs will register, for the progress bar.
    fn total_tasks(&self) -> u64 {
        let runs = u64::from(self.cli.warmup) + u64::from(self.cli.repeat);
        let per_n = (self.scenarios.len() * self.runtimes.len()) as u64 * runs;
        self.sweep.iter().fold(0u64, |total, &n| {
            total.saturating_add(n.saturating_mul(per_n))
        })
    }
}

/// Runs `scenario` once with `tasks` works on a fresh `runtime` of this process.
fn measure_on(runtime: RuntimeKind, scenario: Scenario, tasks: u64, cancel: Cancel) -> Measurement {
    match runtime {
        RuntimeKind::Ours => measure::<Ours>(scenario, tasks, cancel),
        #[cfg(feature = "peers")]
        RuntimeKind::Tokio => measure::<Tokio>(scenario, tasks, cancel),
        #[cfg(feature = "peers")]
        RuntimeKind::Smol => measure::<Smol>(scenario, tasks, cancel),
        other => unreachable!("{} does not run in this process", other.name()),
    }
}

/// Each runtime's fixed cost: the peak heap of the baseline (no task at all), in bytes.
struct FixedCosts(Vec<(RuntimeKind, u64)>);

impl FixedCosts {
    fn of(&self, runtime: RuntimeKind) -> Option<u64> {
        self.0
            .iter()
            .find(|(kind, _)| *kind == runtime)
            .map(|&(_, bytes)| bytes)
    }
}

/// Step 2: runs each scenario once on the probe's tasks on each runtime, then the baseline;
/// checks that the largest N fits in memory at the largest peak heap per task seen; returns
/// each runtime's fixed cost.
fn probe(plan: &Plan<'_>, progress: &Progress) -> Result<FixedCosts, Failure> {
    let probe_tasks = plan.probe_tasks();
    let mut bytes_per_task: Option<f64> = None;
    let mut note = |per_task: Option<f64>| {
        if let Some(per_task) = per_task {
            bytes_per_task = Some(bytes_per_task.map_or(per_task, |most| most.max(per_task)));
        }
    };
    let mut fixed = Vec::new();
    for runtime in plan.in_process() {
        for &scenario in &plan.scenarios {
            progress.start_run(scenario.name(), runtime.name(), 0);
            let probed = measure_on(runtime, scenario, probe_tasks, Cancel::NextTick);
            note(probed.accounting.heap.peak_bytes_per_task);
            progress.end_run();
        }
        let baseline = measure_on(runtime, Scenario::Baseline, probe_tasks, Cancel::NextTick);
        fixed.push((runtime, baseline.accounting.heap.peak_bytes));
    }
    if let Some(python) = &plan.python {
        progress.start_run("probe", "asyncio", 0);
        let request = Request {
            scenarios: &plan.scenarios,
            tasks: probe_tasks,
            repeat: 1,
            warmup: 0,
            probe: probe_tasks,
            gc_threshold: plan.cli.gc_threshold,
        };
        let probed = asyncio::run(python, request).map_err(Failure::Output)?;
        progress.end_run();
        for (_, runs) in &probed.scenarios {
            note(runs[0].accounting.heap.peak_bytes_per_task);
        }
    }
    let largest = plan.sweep.iter().copied().max().unwrap_or(1);
    match (bytes_per_task, limits::available_memory()) {
        (Some(per_task), Some(available)) if per_task > 0.0 => {
            limits::check_fits(largest, per_task, probe_tasks, available)
                .map_err(|reason| Failure::Usage(format!("error: {reason}")))?;
        }
        _ => {}
    }
    Ok(FixedCosts(fixed))
}

/// Step 3: for every N, the warm-up, then every scenario K times on every runtime; one record
/// per N, scenario and runtime: N by N, scenario by scenario, runtimes in the order asked for.
fn measure_all(
    plan: &Plan<'_>,
    fixed: &FixedCosts,
    progress: &Progress,
    observer: &mut Observer,
) -> Result<Vec<ScenarioReport>, Failure> {
    let mut ordered = Vec::new();
    for &tasks in &plan.sweep {
        ordered.extend(measure_n(plan, fixed, progress, observer, tasks)?);
    }
    Ok(ordered)
}

fn measure_n(
    plan: &Plan<'_>,
    fixed: &FixedCosts,
    progress: &Progress,
    observer: &mut Observer,
    tasks: u64,
) -> Result<Vec<ScenarioReport>, Failure> {
    let cancel = plan.cli.cancel;
    let mut folded: Vec<Vec<(RuntimeKind, ScenarioReport)>> = Vec::new();
    for &scenario in &plan.scenarios {
        // With `--cancel now`, a cancelling scenario runs only where the runtime can cancel
        // now; elsewhere it is n/a (see `Plan::not_applicable`).
        let here: Vec<RuntimeKind> = plan
            .in_process()
            .into_iter()
            .filter(|runtime| cancel.applies(scenario, runtime.cancels_now()))
            .collect();
        let timed = |runtime: RuntimeKind| {
            progress.start_run(scenario.name(), runtime.name(), tasks);
            let run = measure_on(runtime, scenario, tasks, cancel);
            progress.end_run();
            run
        };
        for _ in 0..plan.cli.warmup {
            for &runtime in &here {
                timed(runtime);
            }
        }
        let mut runs: Vec<Vec<Measurement>> = vec![Vec::new(); here.len()];
        for repeat in 0..plan.cli.repeat {
            for (index, &runtime) in here.iter().enumerate() {
                // Every measured run is sampled; the first of each is kept (and traced).
                progress.start_run(scenario.name(), runtime.name(), tasks);
                runs[index].push(observer.measure(runtime, scenario, tasks, cancel, repeat == 0));
                progress.end_run();
            }
        }
        folded.push(
            here.iter()
                .zip(&runs)
                .map(|(&runtime, runs)| {
                    let record = ScenarioReport::fold(
                        scenario,
                        runtime.name(),
                        tasks,
                        fixed.of(runtime),
                        runs,
                    );
                    (runtime, record)
                })
                .collect(),
        );
    }
    if let Some(python) = &plan.python {
        let scenarios = plan.asyncio_scenarios();
        if !scenarios.is_empty() {
            let weight = tasks.saturating_mul(
                scenarios.len() as u64 * (u64::from(plan.cli.warmup) + u64::from(plan.cli.repeat)),
            );
            progress.start_run("every scenario", "asyncio", weight);
            let request = Request {
                scenarios: &scenarios,
                tasks,
                repeat: plan.cli.repeat,
                warmup: plan.cli.warmup,
                probe: plan.probe_tasks(),
                gc_threshold: plan.cli.gc_threshold,
            };
            let asyncio = asyncio::run(python, request).map_err(Failure::Output)?;
            progress.end_run();
            for (scenario, samples) in asyncio.samples {
                observer.keep("asyncio", scenario.name(), tasks, samples);
            }
            for (scenario, runs) in &asyncio.scenarios {
                let at = plan
                    .scenarios
                    .iter()
                    .position(|s| s == scenario)
                    .expect("asyncio ran only scenarios asked for");
                let record = ScenarioReport::fold(
                    *scenario,
                    RuntimeKind::Asyncio.name(),
                    tasks,
                    Some(asyncio.fixed_bytes),
                    runs,
                );
                folded[at].push((RuntimeKind::Asyncio, record));
            }
        }
    }
    let mut ordered = Vec::with_capacity(plan.scenarios.len() * plan.runtimes.len());
    for mut records in folded {
        for runtime in &plan.runtimes {
            if let Some(at) = records.iter().position(|(kind, _)| kind == runtime) {
                ordered.push(records.swap_remove(at).1);
            }
        }
    }
    Ok(ordered)
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
