//! `--trace FILE`: a run as Chrome trace-event JSON, for Perfetto (ui.perfetto.dev) and
//! `chrome://tracing`.
//!
//! Each scenario run on each runtime is one process in the trace (`ours · cancel-each`, ...),
//! laid out on one timeline in the order the runs happened. In it:
//!
//! - **one track per task** (ours only): a span from \[A\] to \[M\] named after the task, and
//!   instant events named `A`, `poll`, `wake`, `cancel`, `F` and `M`, from the executor's
//!   recorder (`executor::trace`). `poll`'s arguments carry the poll's duration and whether it
//!   returned `Ready`, `wake`'s where it came from, `F`'s what still holds the husk (the
//!   `JoinHandle`, and how many waker clones are outstanding). A task never freed has a span
//!   to the end of its run, marked `freed: false`. Above [`MAX_TASK_TRACKS`] tasks, only a
//!   sample of them get a track: every k-th task in spawn order, k = ⌈tasks / 1000⌉. The
//!   counters always cover every task.
//! - **counter tracks** `heap` (bytes above the run's start), `cells` and `futures` (live),
//!   `husks` (count and bytes) and `rss` (bytes), from the run's samples (`sampling.rs`), and
//!   `run_queue` (ours: the run loop's queue length at each look at its timer).
//! - **the moments** (cancel returned, end of the body, next tick, shutdown) as instant events
//!   on the run's track 0.
//!
//! Peers get what their public APIs allow, and the trace says so in the process name and in
//! `otherData.peers`: tokio and smol expose no per-task events (tokio's task hooks need its
//! unstable cfg, `async-executor` has none), so their processes carry the counter tracks only —
//! heap from our counting allocator, live futures from the works' own counts. asyncio runs in
//! a child process and is not traced.
//!
//! A traced run records an event (a lock and a clock read) at every step of every task, so its
//! timings are not comparable with an untraced run's; `otherData.note` says so.

use std::collections::HashMap;

use executor::trace::{CancelSource, Ending, Event, EventKind, WakeSource};
use serde_json::{Value, json};

use crate::sampling::Sample;

/// The most tasks that get a track of their own in one run; above, a sample (see the module
/// docs).
pub const MAX_TASK_TRACKS: usize = 1000;

pub use crate::observe::NOT_COMPARABLE;

/// One scenario run on one runtime, as the trace shows it.
#[derive(Clone, Copy, Debug)]
pub struct TraceRun<'a> {
    /// The runtime's name.
    pub runtime: &'static str,
    /// The scenario's name.
    pub scenario: &'static str,
    /// Microseconds from the trace's origin to the run's start (its samples count from there).
    pub start_us: f64,
    /// The run's samples.
    pub samples: &'a [Sample],
    /// The executor's events (ours), and the microseconds from the trace's origin to the
    /// recorder's start (its events count from there); `None` for a peer.
    pub events: Option<(&'a [Event], f64)>,
    /// Events the recorder could not store (its buffer was full).
    pub events_dropped: u64,
}

/// What each peer's public API allows the trace to show.
pub fn peer_note(runtime: &str) -> Option<&'static str> {
    match runtime {
        "tokio" => Some(
            "counters only: tokio's public API has no per-task events (its task hooks need \
             --cfg tokio_unstable); heap from our counting allocator, live futures from the \
             works' own counts",
        ),
        "smol" => Some(
            "counters only: async-executor has no per-task hooks; heap from our counting \
             allocator, live futures from the works' own counts",
        ),
        "asyncio" => Some("not traced: it runs in a Python child process"),
        _ => None,
    }
}

/// The whole trace: every run, as one Chrome trace-event JSON document.
pub fn chrome_trace(runs: &[TraceRun<'_>], skipped_runtimes: &[&str]) -> Value {
    let mut events = Vec::new();
    let mut peers = serde_json::Map::new();
    let mut dropped = 0;
    for (index, run) in runs.iter().enumerate() {
        let pid = index as u64 + 1;
        let note = peer_note(run.runtime);
        if let Some(note) = note {
            peers.insert(run.runtime.to_string(), json!(note));
        }
        dropped += run.events_dropped;
        let name = match note {
            Some(_) => format!("{} · {} (counters only)", run.runtime, run.scenario),
            None => format!("{} · {}", run.runtime, run.scenario),
        };
        events.push(metadata("process_name", pid, None, json!({ "name": name })));
        events.push(metadata(
            "process_sort_index",
            pid,
            None,
            json!({ "sort_index": pid }),
        ));
        events.push(metadata(
            "thread_name",
            pid,
            Some(0),
            json!({ "name": "run" }),
        ));
        counters(&mut events, pid, run);
        if let Some((recorded, offset_us)) = run.events {
            let end_us = run.start_us + run.samples.last().map_or(0.0, |s| s.t_s * 1e6);
            tasks(&mut events, pid, recorded, offset_us, end_us);
        }
    }
    for runtime in skipped_runtimes {
        if let Some(note) = peer_note(runtime) {
            peers.insert(runtime.to_string(), json!(note));
        }
    }
    json!({
        "traceEvents": events,
        "displayTimeUnit": "ns",
        "otherData": {
            "note": NOT_COMPARABLE,
            "task_tracks": format!(
                "one track per task up to {MAX_TASK_TRACKS} tasks per run; above, every k-th \
                 task in spawn order (k = ceil(tasks / {MAX_TASK_TRACKS})); counters cover all"
            ),
            "events_dropped": dropped,
            "peers": peers,
        },
    })
}

fn metadata(name: &str, pid: u64, tid: Option<u64>, args: Value) -> Value {
    let mut event = json!({ "name": name, "ph": "M", "pid": pid, "args": args });
    if let Some(tid) = tid {
        event["tid"] = json!(tid);
    }
    event
}

/// The counter tracks and the moments, from the run's samples.
fn counters(out: &mut Vec<Value>, pid: u64, run: &TraceRun<'_>) {
    let counter = |name: &str, ts: f64, args: Value| json!({ "name": name, "ph": "C", "ts": ts, "pid": pid, "tid": 0, "args": args });
    for sample in run.samples {
        let ts = run.start_us + sample.t_s * 1e6;
        out.push(counter("heap", ts, json!({ "bytes": sample.heap_bytes })));
        if let Some(cells) = sample.cells {
            out.push(counter("cells", ts, json!({ "live": cells })));
        }
        out.push(counter("futures", ts, json!({ "live": sample.futures })));
        if let Some(husks) = sample.husks {
            let bytes = sample.husk_bytes.unwrap_or(0);
            out.push(counter(
                "husks",
                ts,
                json!({ "husks": husks, "bytes": bytes }),
            ));
        }
        if let Some(rss) = sample.rss_bytes {
            out.push(counter("rss", ts, json!({ "bytes": rss })));
        }
        if let Some(moment) = sample.moment {
            out.push(json!({
                "name": moment, "ph": "i", "s": "p", "ts": ts, "pid": pid, "tid": 0,
                "args": { "heap_bytes": sample.heap_bytes },
            }));
        }
    }
}

/// A task's state while its events are replayed.
#[derive(Default)]
struct Replay {
    /// `None` until its `A` is seen (a task spawned before the recorder was attached).
    spawned_us: Option<f64>,
    bytes: u64,
    wakers: i64,
    handle: bool,
    /// Where the last `poll` instant is in the output, to fill in its duration at `PollEnd`.
    open_poll: Option<(usize, f64)>,
    freed: bool,
}

/// The task tracks, from the recorder's events.
fn tasks(out: &mut Vec<Value>, pid: u64, recorded: &[Event], offset_us: f64, end_us: f64) {
    let spawned: Vec<u64> = recorded
        .iter()
        .filter(|event| matches!(event.kind, EventKind::Spawned { .. }))
        .filter_map(|event| event.task.map(|id| id.as_u64()))
        .collect();
    let every = spawned.len().div_ceil(MAX_TASK_TRACKS).max(1);
    let mut replays: HashMap<u64, Replay> = spawned
        .iter()
        .step_by(every)
        .map(|&id| (id, Replay::default()))
        .collect();
    for event in recorded {
        let ts = offset_us + event.at_nanos as f64 / 1e3;
        let Some(id) = event.task.map(|id| id.as_u64()) else {
            if let EventKind::RunQueue { len } = event.kind {
                out.push(json!({
                    "name": "run_queue", "ph": "C", "ts": ts, "pid": pid, "tid": 0,
                    "args": { "len": len },
                }));
            }
            continue;
        };
        let Some(task) = replays.get_mut(&id) else {
            continue;
        };
        let instant = |name: &str, args: Value| json!({ "name": name, "ph": "i", "s": "t", "ts": ts, "pid": pid, "tid": id, "args": args });
        match event.kind {
            EventKind::Spawned { bytes } => {
                *task = Replay {
                    spawned_us: Some(ts),
                    bytes,
                    handle: true,
                    ..Replay::default()
                };
                out.push(metadata(
                    "thread_name",
                    pid,
                    Some(id),
                    json!({ "name": format!("task #{id}") }),
                ));
                out.push(instant("A", json!({ "bytes": bytes })));
            }
            EventKind::PollStart => {
                task.open_poll = Some((out.len(), ts));
                out.push(instant("poll", json!({})));
            }
            EventKind::PollEnd { ready } => {
                if let Some((at, started)) = task.open_poll.take() {
                    out[at]["args"] = json!({ "duration_us": ts - started, "ready": ready });
                }
            }
            EventKind::Wake { from, by_ref } => {
                if !by_ref {
                    task.wakers -= 1;
                }
                let from = match from {
                    WakeSource::ExecutorThread => "executor thread",
                    WakeSource::OtherThread => "other thread",
                    WakeSource::Timer => "timer",
                    _ => "other",
                };
                out.push(instant("wake", json!({ "from": from, "by_ref": by_ref })));
            }
            EventKind::Cancel { by } => {
                let by = match by {
                    CancelSource::Handle => "JoinHandle::cancel",
                    CancelSource::Shutdown => "shutdown",
                    _ => "other",
                };
                out.push(instant("cancel", json!({ "by": by })));
            }
            EventKind::FutureDropped { outcome } => {
                let outcome = match outcome {
                    Ending::Completed => "completed",
                    Ending::Cancelled => "cancelled",
                    Ending::Panicked => "panicked",
                    _ => "other",
                };
                out.push(instant(
                    "F",
                    json!({
                        "outcome": outcome,
                        "held_by": { "join_handle": task.handle, "wakers": task.wakers },
                    }),
                ));
            }
            EventKind::Freed { bytes } => {
                task.freed = true;
                out.push(instant("M", json!({ "bytes": bytes })));
                out.push(span(pid, id, task, ts, true));
            }
            EventKind::WakerCloned => task.wakers += 1,
            EventKind::WakerDropped => task.wakers -= 1,
            EventKind::HandleDropped => task.handle = false,
            _ => {}
        }
    }
    let mut unfreed: Vec<(&u64, &Replay)> =
        replays.iter().filter(|(_, task)| !task.freed).collect();
    unfreed.sort_by_key(|(id, _)| **id);
    for (&id, task) in unfreed {
        if let Some(spawned_us) = task.spawned_us {
            out.push(span(pid, id, task, end_us.max(spawned_us), false));
        }
    }
}

/// The task's span from \[A\] to \[M\] (or to the end of its run, if it was never freed).
fn span(pid: u64, id: u64, task: &Replay, end_us: f64, freed: bool) -> Value {
    let start_us = task.spawned_us.unwrap_or(end_us);
    json!({
        "name": format!("task #{id}"), "ph": "X", "ts": start_us,
        "dur": end_us - start_us, "pid": pid, "tid": id,
        "args": {
            "bytes": task.bytes, "freed": freed,
            "held_by_at_end": { "join_handle": task.handle, "wakers": task.wakers },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use executor::trace::Recorder;
    use executor::{Executor, sleep, yield_now};
    use std::time::Duration;

    /// N sleeping tasks, traced: first poll, cancel, next tick.
    fn traced_run(tasks: usize) -> Recorder {
        let recorder = Recorder::with_capacity(20 * tasks + 100);
        let ex = Executor::new();
        ex.trace_into(&recorder);
        let handles: Vec<_> = (0..tasks)
            .map(|_| ex.spawn(sleep(Duration::from_secs(1000))))
            .collect();
        ex.block_on(async {
            yield_now().await;
            for handle in handles {
                handle.cancel();
            }
            yield_now().await;
        });
        ex.shutdown();
        recorder
    }

    fn names_of(trace: &Value, tid: u64) -> Vec<String> {
        trace["traceEvents"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|event| event["ph"] == "i" && event["tid"] == tid)
            .map(|event| event["name"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn every_task_gets_a_track_in_lifecycle_order() {
        let recorder = traced_run(10);
        let events = recorder.events();
        let samples = [Sample {
            t_s: 0.001,
            cells: Some(10),
            husks: Some(0),
            ..Sample::default()
        }];
        let run = TraceRun {
            runtime: "ours",
            scenario: "cancel-batch",
            start_us: 0.0,
            samples: &samples,
            events: Some((&events, 0.0)),
            events_dropped: 0,
        };
        let trace = chrome_trace(&[run], &[]);
        let ids: Vec<u64> = events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Spawned { .. }))
            .map(|e| e.task.unwrap().as_u64())
            .collect();
        assert_eq!(ids.len(), 10);
        for id in ids {
            assert_eq!(names_of(&trace, id), ["A", "poll", "cancel", "F", "M"]);
        }
        let counters: Vec<&str> = trace["traceEvents"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|event| event["ph"] == "C")
            .map(|event| event["name"].as_str().unwrap())
            .collect();
        for name in ["heap", "cells", "futures", "husks"] {
            assert!(counters.contains(&name), "no {name} counter");
        }
        assert_eq!(trace["otherData"]["note"], NOT_COMPARABLE);
    }

    #[test]
    fn above_the_limit_a_sample_of_tasks_gets_tracks() {
        let recorder = traced_run(2 * MAX_TASK_TRACKS + 10);
        let events = recorder.events();
        assert_eq!(recorder.dropped(), 0);
        let run = TraceRun {
            runtime: "ours",
            scenario: "cancel-batch",
            start_us: 0.0,
            samples: &[],
            events: Some((&events, 0.0)),
            events_dropped: 0,
        };
        let trace = chrome_trace(&[run], &[]);
        let spans = trace["traceEvents"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|event| event["ph"] == "X")
            .count();
        assert_eq!(spans, (2 * MAX_TASK_TRACKS + 10).div_ceil(3));
        assert!(spans <= MAX_TASK_TRACKS);
    }

    #[test]
    fn peers_say_plainly_what_they_show() {
        let samples = [Sample::default()];
        let run = TraceRun {
            runtime: "tokio",
            scenario: "no-cancel",
            start_us: 0.0,
            samples: &samples,
            events: None,
            events_dropped: 0,
        };
        let trace = chrome_trace(&[run], &["asyncio"]);
        assert!(
            trace["otherData"]["peers"]["tokio"]
                .as_str()
                .unwrap()
                .starts_with("counters only")
        );
        assert!(
            trace["otherData"]["peers"]["asyncio"]
                .as_str()
                .unwrap()
                .starts_with("not traced")
        );
    }

    #[test]
    fn a_husk_shows_what_holds_it_and_runs_to_the_end() {
        let recorder = Recorder::with_capacity(100);
        let ex = Executor::new();
        ex.trace_into(&recorder);
        let handle = ex.spawn(async {});
        let id = handle.id().as_u64();
        ex.block_on(yield_now());
        let events = recorder.events();
        let run = TraceRun {
            runtime: "ours",
            scenario: "x",
            start_us: 0.0,
            samples: &[],
            events: Some((&events, 0.0)),
            events_dropped: 0,
        };
        let trace = chrome_trace(&[run], &[]);
        let all = trace["traceEvents"].as_array().unwrap();
        let f = all
            .iter()
            .find(|e| e["name"] == "F" && e["tid"] == id)
            .unwrap();
        assert_eq!(f["args"]["held_by"]["join_handle"], true);
        let span = all
            .iter()
            .find(|e| e["ph"] == "X" && e["tid"] == id)
            .unwrap();
        assert_eq!(span["args"]["freed"], false);
        drop(handle);
        ex.shutdown();
    }
}
