//! What the measured runs leave behind for `--trace`, `--plot` and the JSON's samples: each
//! run's heap over time (`sampling.rs`) and, with `--trace`, our executor's per-task events.
//!
//! [`Observer::measure`] replaces a plain measured run: it allocates the run's sample buffer
//! (and, traced, the recorder's event buffer) before the run's ledger opens, so that neither is
//! in the run's heap figures, runs the scenario, and keeps what it saw. Every measured run is
//! sampled, so that the sampling's small cost falls on every run alike; only the first run of
//! each scenario and runtime is kept (the one the report's accounting comes from), and only
//! that one is traced.

use std::time::Instant;

use serde_json::Value;

use crate::ledger::Measurement;
use crate::ours::Ours;
#[cfg(feature = "peers")]
use crate::peers::{Smol, Tokio};
use crate::plot::{self, Chart, Line};
use crate::runtime::{Runtime, RuntimeKind};
use crate::sampling::{self, Sample, SampleRow, Sampler};
use crate::scenarios::{Cancel, Scenario, measure_sampled};

/// What a traced run says about its timings (on stderr, in the report and in the trace).
pub const NOT_COMPARABLE: &str = "timings of a traced run are not comparable with an untraced \
    run's: each task event takes a lock and reads the clock";

/// Room in the recorder's buffer per task: a traced task records about nine events (\[A\], a
/// poll's start and end, a waker clone and drop, cancel, handle dropped, \[F\], \[M\]), and the
/// run loop one queue length per look at its timer.
#[cfg(feature = "trace")]
pub const EVENTS_PER_TASK: u64 = 16;

/// The executor's events of one run.
#[cfg(feature = "trace")]
#[derive(Debug)]
pub struct Traced {
    /// The events, in the order they were recorded.
    pub events: Vec<executor::trace::Event>,
    /// The instant the events' times count from.
    pub start: Instant,
    /// Events the buffer had no room for.
    pub dropped: u64,
}

/// What one kept run saw.
#[derive(Debug)]
pub struct Observed {
    /// The runtime.
    pub runtime: &'static str,
    /// The scenario.
    pub scenario: &'static str,
    /// N.
    pub tasks: u64,
    /// The instant the samples' times count from (the run's start).
    pub start: Instant,
    /// The heap over time.
    pub samples: Vec<Sample>,
    /// The executor's events, if traced.
    #[cfg(feature = "trace")]
    pub traced: Option<Traced>,
}

/// The runs kept so far, and the clock the trace counts from.
#[derive(Debug)]
pub struct Observer {
    origin: Instant,
    trace: bool,
    runs: Vec<Observed>,
}

impl Observer {
    /// An observer; `trace`: record our executor's events too (`--trace`).
    pub fn new(trace: bool) -> Observer {
        Observer {
            origin: Instant::now(),
            trace,
            runs: Vec::new(),
        }
    }

    /// Whether runs are traced.
    pub fn traces(&self) -> bool {
        self.trace
    }

    /// Runs `scenario` once with `tasks` works on a fresh `runtime`, sampled; keeps what it saw
    /// if `keep` (traced, if this observer traces and the runtime can be).
    pub fn measure(
        &mut self,
        runtime: RuntimeKind,
        scenario: Scenario,
        tasks: u64,
        cancel: Cancel,
        keep: bool,
    ) -> Measurement {
        match runtime {
            RuntimeKind::Ours => self.measure_on::<Ours>(runtime, scenario, tasks, cancel, keep),
            #[cfg(feature = "peers")]
            RuntimeKind::Tokio => self.measure_on::<Tokio>(runtime, scenario, tasks, cancel, keep),
            #[cfg(feature = "peers")]
            RuntimeKind::Smol => self.measure_on::<Smol>(runtime, scenario, tasks, cancel, keep),
            other => unreachable!("{} does not run in this process", other.name()),
        }
    }

    fn measure_on<R: Runtime>(
        &mut self,
        runtime: RuntimeKind,
        scenario: Scenario,
        tasks: u64,
        cancel: Cancel,
        keep: bool,
    ) -> Measurement {
        let sampler = Sampler::new(tasks);
        #[cfg(feature = "trace")]
        let recorder = (keep && self.trace && runtime == RuntimeKind::Ours).then(|| {
            let capacity = tasks.saturating_mul(EVENTS_PER_TASK).saturating_add(4096);
            executor::trace::Recorder::with_capacity(capacity as usize)
        });
        #[cfg(feature = "trace")]
        let attach = |made: &R| {
            if let Some(recorder) = &recorder {
                made.trace_into(recorder);
            }
        };
        #[cfg(not(feature = "trace"))]
        let attach = |_: &R| {};
        let (measurement, sampler) = measure_sampled::<R>(scenario, tasks, cancel, sampler, attach);
        if keep {
            self.runs.push(Observed {
                runtime: runtime.name(),
                scenario: scenario.name(),
                tasks,
                start: sampler.start(),
                samples: sampler.into_samples(),
                #[cfg(feature = "trace")]
                traced: recorder.map(|recorder| Traced {
                    events: recorder.events(),
                    start: recorder.start(),
                    dropped: recorder.dropped(),
                }),
            });
        }
        measurement
    }

    /// Keeps the samples of a run made elsewhere (asyncio's, in its child process).
    pub fn keep(
        &mut self,
        runtime: &'static str,
        scenario: &'static str,
        tasks: u64,
        samples: Vec<Sample>,
    ) {
        self.runs.push(Observed {
            runtime,
            scenario,
            tasks,
            start: self.origin,
            samples,
            #[cfg(feature = "trace")]
            traced: None,
        });
    }

    /// The runs kept, in the order they ran.
    pub fn runs(&self) -> &[Observed] {
        &self.runs
    }

    /// Every sample of every kept run, as long-form rows for the JSON report.
    pub fn rows(&self) -> Vec<SampleRow> {
        self.runs
            .iter()
            .flat_map(|run| sampling::rows(run.runtime, run.scenario, &run.samples))
            .collect()
    }

    /// The `--plot` SVG: a chart per scenario and N, a line per runtime.
    pub fn plot(&self, title: &str) -> Result<String, String> {
        let mut charts: Vec<Chart<'_>> = Vec::new();
        for run in &self.runs {
            let line = Line {
                runtime: run.runtime,
                samples: &run.samples,
            };
            match charts
                .iter_mut()
                .find(|chart| chart.scenario == run.scenario && chart.tasks == run.tasks)
            {
                Some(chart) => chart.lines.push(line),
                None => charts.push(Chart {
                    scenario: run.scenario,
                    tasks: run.tasks,
                    lines: vec![line],
                }),
            }
        }
        plot::svg(&charts, title)
    }

    /// The `--trace` document (Chrome trace-event JSON). `others` are the runtimes that ran
    /// but are not in it (asyncio), for the note on what each peer allows.
    #[cfg(feature = "trace")]
    pub fn trace(&self, others: &[&str]) -> Value {
        use crate::trace_export::{TraceRun, chrome_trace};
        let micros = |at: Instant| match at.checked_duration_since(self.origin) {
            Some(after) => after.as_secs_f64() * 1e6,
            None => -(self.origin.duration_since(at).as_secs_f64() * 1e6),
        };
        let runs: Vec<TraceRun<'_>> = self
            .runs
            .iter()
            .filter(|run| run.runtime != "asyncio")
            .map(|run| TraceRun {
                runtime: run.runtime,
                scenario: run.scenario,
                start_us: micros(run.start),
                samples: &run.samples,
                events: run
                    .traced
                    .as_ref()
                    .map(|traced| (traced.events.as_slice(), micros(traced.start))),
                events_dropped: run.traced.as_ref().map_or(0, |traced| traced.dropped),
            })
            .collect();
        chrome_trace(&runs, others)
    }

    /// Without the `trace` feature there is nothing to write.
    #[cfg(not(feature = "trace"))]
    pub fn trace(&self, _others: &[&str]) -> Value {
        Value::Null
    }
}
