//! What every chapter shares: a log of steps, each with the executor's `Stats` and the heap
//! at that moment, marked with the lifecycle's moments — **[A]** the cell is allocated,
//! **[F]** the future's destructor runs, **[M]** the cell's memory is returned.
//!
//! The heap is counted by the workspace's counting allocator (`tests/src/counting.rs`), which
//! each chapter installs as its global allocator: every `alloc` and `dealloc` of this thread,
//! in exact bytes as the program asked for them. Figures are bytes above the chapter's start,
//! taken before the executor is made, so the executor's own fixed cost shows as the first step.
//!
//! A chapter runs twice: `cargo run --release -p executor --example NAME` prints it, and its
//! `#[test]` (the examples are built and run by `cargo test --workspace`) checks its figures.

// The figures a step records are read by the chapters' tests, not by their `main`.
#![cfg_attr(not(test), allow(dead_code))]

use executor::{Executor, Stats};
use std::fmt::Write as _;
use workspace_tests::counting::Heap;

/// One moment of a chapter.
#[derive(Clone, Debug)]
pub struct Step {
    /// `[A]`, `[F]`, `[M]`, a combination, or empty.
    pub mark: &'static str,
    /// What just happened.
    pub what: &'static str,
    /// The executor's counters right after it.
    pub stats: Stats,
    /// Heap bytes above the chapter's start.
    pub heap: i64,
    /// Blocks allocated and freed since the previous step.
    pub allocs: u64,
    /// Blocks freed since the previous step.
    pub frees: u64,
}

/// The log of a chapter; prints each step as it is taken if asked to.
pub struct Chapter {
    start: Heap,
    last: Heap,
    steps: Vec<Step>,
    print: bool,
}

impl Chapter {
    /// Starts a chapter: prints its title (if `print`) and takes the heap's reading.
    pub fn start(title: &str, print: bool) -> Chapter {
        if print {
            println!("{title}\n");
            println!(
                "{:<7}{:>7}  {:>5} {:>6} {:>5} {:>5} {:>6} {:>5}  what happened",
                "", "heap B", "cells", "cell B", "polls", "[F]", "[M]", "timer"
            );
        }
        // Room for every step, made before the start: the log itself must not show in the heap.
        let steps = Vec::with_capacity(16);
        let start = Heap::now();
        Chapter {
            start,
            last: start,
            steps,
            print,
        }
    }

    /// Makes the chapter's executor and records its first step: the executor's own fixed bytes,
    /// before any task.
    pub fn new_executor(&mut self) -> Executor {
        let ex = Executor::new();
        self.step(
            "",
            "Executor::new: the executor's own fixed bytes",
            ex.stats(),
        );
        ex
    }

    /// Records (and prints) a step. `stats` is what `Executor::stats` (or `shutdown`) returned
    /// right after it.
    pub fn step(&mut self, mark: &'static str, what: &'static str, stats: Stats) {
        let now = Heap::now();
        let step = Step {
            mark,
            what,
            stats,
            heap: now.bytes - self.start.bytes,
            allocs: now.allocs - self.last.allocs,
            frees: now.frees - self.last.frees,
        };
        assert!(
            self.steps.len() < self.steps.capacity(),
            "more steps than room"
        );
        if self.print {
            // Formatted into a `String` that is freed before the next reading: it does not
            // show in the figures.
            let mut line = String::new();
            let _ = write!(
                line,
                "{:<7}{:>7}  {:>5} {:>6} {:>5} {:>5} {:>6} {:>5}  {}",
                step.mark,
                step.heap,
                stats.live_tasks,
                stats.live_task_bytes,
                stats.polls,
                stats.futures_dropped,
                stats.tasks_freed,
                stats.timers_live,
                step.what
            );
            println!("{line}");
        }
        self.steps.push(step);
        self.last = Heap::now();
    }

    /// Ends the chapter: prints the legend (if printing) and returns the steps.
    pub fn end(self) -> Vec<Step> {
        if self.print {
            println!(
                "\nheap B: bytes above the start; cells, cell B: live task cells and their bytes \
                 (Stats::live_tasks, live_task_bytes);\npolls: Stats::polls; [F]: \
                 Stats::futures_dropped; [M]: Stats::tasks_freed; timer: Stats::timers_live"
            );
        }
        self.steps
    }
}
