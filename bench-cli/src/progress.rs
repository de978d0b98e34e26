//! Progress on standard error, with an ETA (`indicatif`), while the runs go on.
//!
//! Drawing progress allocates (the bar's text, its state), and the figures must not move by a
//! byte because of it. So the bar lives on a thread of its own that the counting allocator
//! keeps apart ([`alloc::keep_this_thread_apart`]): none of its allocations or frees is
//! counted. The measured side never calls `indicatif`; it only stores numbers into atomics
//! ([`Progress::start_run`], [`Progress::end_run`]), which allocates nothing, and the thread
//! reads them ten times a second, together with the works' own count of first polls
//! (`work.rs`), which moves inside a run. No block crosses between the two sides: the thread
//! frees only what it allocated itself.
//!
//! The bar is drawn only when standard error is a terminal, and not with `--quiet`. The tests
//! check that the figures are the same with and without it.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::alloc;
use crate::format::count;
use crate::work;

/// What the measured side says: tasks of the finished runs, the running run's N, its label.
static DONE: AtomicU64 = AtomicU64::new(0);
static RUNNING: AtomicU64 = AtomicU64::new(0);
static STOP: AtomicBool = AtomicBool::new(false);
static STARTED: AtomicBool = AtomicBool::new(false);
static LABEL: Mutex<(&str, &str, u64)> = Mutex::new(("", "", 0));

/// How often the bar is redrawn.
const TICK: Duration = Duration::from_millis(100);

/// The progress of a run, drawn on standard error when it is a terminal.
pub struct Progress {
    thread: Option<JoinHandle<()>>,
}

impl Progress {
    /// Starts drawing, if standard error is a terminal and `quiet` is not set, towards `total`
    /// tasks (every measured and warm-up run's N, added). Call it before the first run.
    pub fn start(total: u64, quiet: bool) -> Progress {
        if quiet || !std::io::stderr().is_terminal() {
            return Progress { thread: None };
        }
        DONE.store(0, Relaxed);
        RUNNING.store(0, Relaxed);
        STOP.store(false, Relaxed);
        STARTED.store(false, Relaxed);
        let thread = thread::Builder::new()
            .name("progress".to_string())
            .spawn(move || draw(total))
            .ok();
        // Wait until the thread is kept apart, so that none of its allocations is counted.
        while thread.is_some() && !STARTED.load(Relaxed) {
            thread::yield_now();
        }
        Progress { thread }
    }

    /// A run of `scenario` on `runtime` with `tasks` works begins.
    pub fn start_run(&self, scenario: &'static str, runtime: &'static str, tasks: u64) {
        if self.thread.is_some() {
            *LABEL.lock().unwrap_or_else(|p| p.into_inner()) = (scenario, runtime, tasks);
            RUNNING.store(tasks, Relaxed);
        }
    }

    /// The run begun last is over.
    pub fn end_run(&self) {
        if self.thread.is_some() {
            DONE.fetch_add(RUNNING.swap(0, Relaxed), Relaxed);
        }
    }

    /// Clears the bar and ends its thread.
    pub fn finish(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(thread) = self.thread.take() {
            STOP.store(true, Relaxed);
            let _ = thread.join();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The thread: keeps itself apart, then redraws until told to stop.
fn draw(total: u64) {
    alloc::keep_this_thread_apart();
    STARTED.store(true, Relaxed);
    let bar = ProgressBar::new(total.max(1));
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {elapsed_precise} {wide_bar} {percent:>3}% ETA {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    while !STOP.load(Relaxed) {
        let running = RUNNING.load(Relaxed);
        let within = if running > 0 {
            work::first_polls().min(running)
        } else {
            0
        };
        bar.set_position(DONE.load(Relaxed) + within);
        let (scenario, runtime, tasks) = *LABEL.lock().unwrap_or_else(|p| p.into_inner());
        if !scenario.is_empty() {
            bar.set_message(format!("{scenario} on {runtime}, N = {}", count(tasks)));
        }
        thread::sleep(TICK);
    }
    bar.finish_and_clear();
}
