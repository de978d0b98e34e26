//! The heap over time: samples taken during a scenario run, into storage allocated beforehand.
//!
//! A run takes a [`Sample`] at every k-th work (`k` = N / [`SAMPLES_PER_RUN`], at least 1) and at
//! each moment of the ledger (cancel returned, end of the body, next tick, shutdown). A sample
//! is the time since the run's start, the heap above the run's start (from the counting
//! allocator), the live task cells, live futures and husks (where the runtime says), and the
//! process's resident set size.
//!
//! Sampling allocates nothing: the buffer is allocated when the sampler is made — before the
//! ledger takes its starting heap reading, so it is part of the run's baseline and never shows
//! in its figures — and a full buffer counts what it misses ([`Sampler::missed`]) instead of
//! growing. The resident set size is read from `/proc/self/status` (Linux; `None` elsewhere)
//! through a file opened beforehand and a buffer on the stack.
//!
//! In the JSON report the samples are long-form rows ([`SampleRow`]): one row per sample, with
//! its runtime and scenario, so that `pandas.json_normalize(report["samples"])` or
//! `pandas.DataFrame(report["samples"])` loads them as they are.

use std::fs::File;
use std::time::Instant;

use serde::Serialize;

/// How many samples a run aims for, spread evenly over its N works (the moments come on top).
pub const SAMPLES_PER_RUN: u64 = 200;

/// Room for the moments and for the samples a body takes on top of the k-th works.
const SLACK: usize = 64;

/// The figures of one moment in a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Sample {
    /// Seconds since the run's start (the ledger was opened).
    pub t_s: f64,
    /// Heap bytes above the run's start.
    pub heap_bytes: i64,
    /// Live task cells; `None` where the runtime keeps them to itself.
    pub cells: Option<u64>,
    /// Live futures: spawned minus futures dropped.
    pub futures: u64,
    /// Husks: cells whose future is dropped but whose memory is held; `None` where the
    /// runtime does not say.
    pub husks: Option<u64>,
    /// The husks' bytes.
    pub husk_bytes: Option<u64>,
    /// The process's resident set size in bytes; `None` where it cannot be read.
    pub rss_bytes: Option<u64>,
    /// The moment this sample is, if it is one (`after_cancel`, `at_end`, `after_tick`,
    /// `after_shutdown`); `None` for the k-th-work samples.
    pub moment: Option<&'static str>,
}

/// What the caller reads at a sample: everything but the time and the resident set size,
/// which the sampler reads itself.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Reading {
    /// Heap bytes above the run's start.
    pub heap_bytes: i64,
    /// Live task cells, if known.
    pub cells: Option<u64>,
    /// Live futures.
    pub futures: u64,
    /// Husks, if known.
    pub husks: Option<u64>,
    /// Husk bytes, if known.
    pub husk_bytes: Option<u64>,
}

/// A run's samples: a buffer with a fixed capacity, and the clock they count from.
#[derive(Debug)]
pub struct Sampler {
    start: Instant,
    every: u64,
    samples: Vec<Sample>,
    missed: u64,
    status: Option<File>,
}

impl Sampler {
    /// A sampler for a run of `tasks` works, its buffer allocated now. Its clock starts at
    /// [`Sampler::restart`] (or now).
    pub fn new(tasks: u64) -> Sampler {
        let every = (tasks / SAMPLES_PER_RUN).max(1);
        // One row per due work (fewer than 2 × SAMPLES_PER_RUN), and the slack.
        let capacity = tasks.div_ceil(every) as usize + SLACK;
        Sampler {
            start: Instant::now(),
            every,
            samples: Vec::with_capacity(capacity),
            missed: 0,
            status: File::open("/proc/self/status").ok(),
        }
    }

    /// Sets the instant the samples' times count from (the run's start).
    pub fn restart(&mut self, start: Instant) {
        self.start = start;
    }

    /// The instant the samples' times count from.
    pub fn start(&self) -> Instant {
        self.start
    }

    /// k: a sample is due at every k-th work.
    pub fn every(&self) -> u64 {
        self.every
    }

    /// Whether work number `index` (counting from 0) is one to sample at.
    pub fn is_due(&self, index: u64) -> bool {
        index % self.every == 0
    }

    /// Takes one sample. Allocates nothing; if the buffer is full, counts it as missed.
    pub fn record(&mut self, reading: Reading, moment: Option<&'static str>) {
        let sample = Sample {
            t_s: self.start.elapsed().as_secs_f64(),
            heap_bytes: reading.heap_bytes,
            cells: reading.cells,
            futures: reading.futures,
            husks: reading.husks,
            husk_bytes: reading.husk_bytes,
            rss_bytes: self.status.as_ref().and_then(resident_set_size),
            moment,
        };
        if self.samples.len() < self.samples.capacity() {
            self.samples.push(sample);
        } else {
            self.missed += 1;
        }
    }

    /// The samples taken, in order.
    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }

    /// Samples that found the buffer full.
    pub fn missed(&self) -> u64 {
        self.missed
    }

    /// The samples, giving up the sampler.
    pub fn into_samples(self) -> Vec<Sample> {
        self.samples
    }
}

/// `VmRSS` from `/proc/self/status`, in bytes, read without allocating.
#[cfg(unix)]
fn resident_set_size(status: &File) -> Option<u64> {
    use std::os::unix::fs::FileExt;
    let mut buffer = [0u8; 4096];
    let length = status.read_at(&mut buffer, 0).ok()?;
    parse_vm_rss(&buffer[..length])
}

#[cfg(not(unix))]
fn resident_set_size(_: &File) -> Option<u64> {
    None
}

/// The `VmRSS:  1234 kB` line of `/proc/self/status`, in bytes.
fn parse_vm_rss(status: &[u8]) -> Option<u64> {
    let line = status
        .split(|&byte| byte == b'\n')
        .find(|line| line.starts_with(b"VmRSS:"))?;
    let value = &line[b"VmRSS:".len()..];
    let start = value.iter().position(|byte| !byte.is_ascii_whitespace())?;
    let value = &value[start..];
    let end = value
        .iter()
        .position(|byte| !byte.is_ascii_digit())
        .unwrap_or(value.len());
    if end == 0 {
        return None;
    }
    let kilobytes = value[..end].iter().try_fold(0u64, |total, &digit| {
        total.checked_mul(10)?.checked_add(u64::from(digit - b'0'))
    })?;
    kilobytes.checked_mul(1024)
}

/// One sample as a long-form row of the JSON report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SampleRow {
    /// The runtime the sample was taken on.
    pub runtime: &'static str,
    /// The scenario it was taken in.
    pub scenario: &'static str,
    /// The sample itself, its fields flattened into the row.
    #[serde(flatten)]
    pub sample: Sample,
}

/// `samples` of `scenario` on `runtime`, as rows.
pub fn rows(
    runtime: &'static str,
    scenario: &'static str,
    samples: &[Sample],
) -> impl Iterator<Item = SampleRow> {
    samples.iter().map(move |&sample| SampleRow {
        runtime,
        scenario,
        sample,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k_spreads_about_samples_per_run_over_n() {
        assert_eq!(Sampler::new(100).every(), 1);
        assert_eq!(Sampler::new(200).every(), 1);
        assert_eq!(Sampler::new(100_000).every(), 500);
        let sampler = Sampler::new(100_000);
        let due = (0..100_000).filter(|&index| sampler.is_due(index)).count();
        assert_eq!(due as u64, SAMPLES_PER_RUN);
    }

    #[test]
    fn every_due_sample_and_the_moments_fit_in_the_buffer() {
        for tasks in [1, 7, 100, 399, 1000, 12_345, 100_000] {
            let mut sampler = Sampler::new(tasks);
            for index in 0..tasks {
                if sampler.is_due(index) {
                    sampler.record(Reading::default(), None);
                }
            }
            for moment in ["after_cancel", "at_end", "after_tick", "after_shutdown"] {
                sampler.record(Reading::default(), Some(moment));
            }
            assert_eq!(sampler.missed(), 0, "N = {tasks}");
        }
    }

    #[test]
    fn a_full_buffer_counts_what_it_misses() {
        let mut sampler = Sampler::new(1);
        let capacity = sampler.samples.capacity();
        for _ in 0..capacity + 5 {
            sampler.record(Reading::default(), None);
        }
        assert_eq!((sampler.samples().len(), sampler.missed()), (capacity, 5));
    }

    #[test]
    fn samples_keep_their_reading_and_go_forward_in_time() {
        let mut sampler = Sampler::new(10);
        let reading = Reading {
            heap_bytes: -3,
            cells: Some(2),
            futures: 1,
            husks: Some(1),
            husk_bytes: Some(88),
        };
        sampler.record(reading, None);
        sampler.record(reading, Some("at_end"));
        let [first, second] = sampler.samples() else {
            panic!("two samples")
        };
        assert_eq!(
            (
                first.heap_bytes,
                first.cells,
                first.futures,
                first.husks,
                first.husk_bytes
            ),
            (-3, Some(2), 1, Some(1), Some(88))
        );
        assert!(first.t_s <= second.t_s);
        assert_eq!((first.moment, second.moment), (None, Some("at_end")));
    }

    #[test]
    fn vm_rss_is_parsed_in_bytes() {
        let status = b"Name:\tbench\nVmPeak:\t  9999 kB\nVmRSS:\t    1234 kB\nThreads: 1\n";
        assert_eq!(parse_vm_rss(status), Some(1234 * 1024));
        assert_eq!(parse_vm_rss(b"Name: x\n"), None);
        assert_eq!(parse_vm_rss(b"VmRSS: kB\n"), None);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn this_process_has_a_resident_set() {
        let mut sampler = Sampler::new(1);
        sampler.record(Reading::default(), None);
        assert!(sampler.samples()[0].rss_bytes.unwrap() > 0);
    }

    #[test]
    fn rows_are_long_form_with_runtime_and_scenario() {
        let sample = Sample {
            t_s: 0.5,
            heap_bytes: 10,
            futures: 3,
            moment: Some("at_end"),
            ..Sample::default()
        };
        let rows: Vec<_> = rows("ours", "cancel-each", &[sample]).collect();
        let json = serde_json::to_value(&rows).unwrap();
        assert_eq!(
            json,
            serde_json::json!([{
                "runtime": "ours", "scenario": "cancel-each", "t_s": 0.5, "heap_bytes": 10,
                "cells": null, "futures": 3, "husks": null, "husk_bytes": null,
                "rss_bytes": null, "moment": "at_end"
            }])
        );
    }
}
