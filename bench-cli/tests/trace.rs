//! `--trace FILE` (Chrome trace-event JSON) and `--plot FILE.svg`, run as a user runs them: the
//! binary, at N = 100, and the files it writes.

// Parts of this file need the `trace` or the `peers` feature (both on by default).
#![cfg_attr(
    not(all(feature = "trace", feature = "peers")),
    allow(dead_code, unused_imports)
)]

mod common;

use std::collections::HashMap;
use std::path::PathBuf;

use common::run;
use serde_json::Value;

const N: u64 = 100;

/// A fresh path under the test's temporary directory.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bench-cli-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    path
}

/// Runs bench-cli with `args` plus `--format json`, checks that it succeeded, and returns the
/// report and what it wrote on stderr.
fn report_and_stderr(args: &[&str]) -> (Value, String) {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let output = run(&all);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "bench-cli {all:?} failed: {stderr}"
    );
    let report = serde_json::from_slice(&output.stdout).expect("the JSON report parses");
    (report, stderr)
}

fn read_json(path: &PathBuf) -> Value {
    let text = std::fs::read_to_string(path).expect("the file was written");
    serde_json::from_str(&text).expect("the file is JSON")
}

#[cfg(feature = "trace")]
#[test]
fn every_task_of_a_traced_run_comes_in_lifecycle_order() {
    let path = scratch("cancel-batch.json");
    let n = N.to_string();
    let (report, stderr) = report_and_stderr(&[
        "--tasks",
        &n,
        "--scenario",
        "cancel-batch",
        "--trace",
        path.to_str().unwrap(),
    ]);
    assert!(
        stderr.contains("not comparable"),
        "a traced run says its timings are not comparable: {stderr:?}"
    );
    // A traced run that makes no husk ends with every cell freed: the recorder holds nothing.
    let record = &report["scenarios"][0];
    assert_eq!(record["tasks"]["spawned"], N);
    assert_eq!(record["moments"]["after_shutdown"]["tasks_freed"], N);
    assert_eq!(record["moments"]["after_shutdown"]["husks"], 0);

    let trace = read_json(&path);
    let events = trace["traceEvents"].as_array().expect("traceEvents");
    let mut by_task: HashMap<u64, Vec<(f64, &str)>> = HashMap::new();
    for event in events.iter().filter(|e| e["ph"] == "i" && e["tid"] != 0) {
        by_task
            .entry(event["tid"].as_u64().unwrap())
            .or_default()
            .push((
                event["ts"].as_f64().unwrap(),
                event["name"].as_str().unwrap(),
            ));
    }
    assert_eq!(by_task.len() as u64, N, "one track per task");
    for (task, seen) in &by_task {
        let at = |name: &str| {
            seen.iter()
                .find(|(_, n)| *n == name)
                .map(|(ts, _)| *ts)
                .unwrap_or_else(|| panic!("task {task}: no {name} in {seen:?}"))
        };
        let (a, poll, cancel, f, m) = (at("A"), at("poll"), at("cancel"), at("F"), at("M"));
        assert!(
            a <= poll && poll <= cancel && cancel <= f && f <= m,
            "task {task}: {seen:?}"
        );
    }
    let counters: Vec<&str> = events
        .iter()
        .filter(|e| e["ph"] == "C")
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    for track in ["heap", "cells", "futures", "husks"] {
        assert!(counters.contains(&track), "no {track} counter track");
    }
    assert!(
        trace["otherData"]["note"]
            .as_str()
            .unwrap()
            .contains("not comparable")
    );
}

#[cfg(feature = "trace")]
#[test]
fn every_scenario_traced_at_once() {
    let path = scratch("all.json");
    let n = N.to_string();
    let (_, _) = report_and_stderr(&["--tasks", &n, "--trace", path.to_str().unwrap()]);
    let trace = read_json(&path);
    let processes: Vec<&str> = trace["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "process_name")
        .map(|e| e["args"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        processes,
        [
            "ours · cancel-each",
            "ours · cancel-batch",
            "ours · no-cancel",
            "ours · baseline"
        ]
    );
}

#[test]
fn the_samples_are_long_form_rows() {
    let n = N.to_string();
    let (report, _) = report_and_stderr(&["--tasks", &n, "--scenario", "no-cancel"]);
    let rows = report["samples"].as_array().expect("samples");
    assert!(
        rows.len() as u64 >= N,
        "one sample per work at N = 100, and the moments"
    );
    for row in rows {
        assert_eq!(row["runtime"], "ours");
        assert_eq!(row["scenario"], "no-cancel");
        for field in [
            "t_s",
            "heap_bytes",
            "cells",
            "futures",
            "husks",
            "rss_bytes",
        ] {
            assert!(row.get(field).is_some(), "no {field} in {row}");
        }
    }
    let moments: Vec<&str> = rows.iter().filter_map(|r| r["moment"].as_str()).collect();
    assert_eq!(moments, ["at_end", "after_tick", "after_shutdown"]);
}

#[cfg(feature = "peers")]
#[test]
fn the_plot_has_a_line_per_runtime() {
    let path = scratch("heap.svg");
    let n = N.to_string();
    let (_, _) = report_and_stderr(&[
        "--tasks",
        &n,
        "--runtime",
        "ours,tokio,smol",
        "--scenario",
        "cancel-batch,no-cancel",
        "--plot",
        path.to_str().unwrap(),
    ]);
    let svg = std::fs::read_to_string(&path).expect("the SVG was written");
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    for runtime in ["ours", "tokio", "smol"] {
        assert_eq!(
            bench_cli::plot::lines_of(&svg, runtime),
            2,
            "{runtime}: one line in each of the two charts"
        );
    }
    for text in [
        "cancel-batch (N = 100)",
        "no-cancel (N = 100)",
        "next tick",
        "shutdown",
    ] {
        assert!(svg.contains(text), "no {text:?} in the SVG");
    }
}

#[test]
fn an_unwritable_plot_or_trace_is_refused_before_any_work() {
    for flag in ["--plot", "--trace"] {
        let output = run(&[flag, "/nonexistent-dir/x.out", "--tasks", "10"]);
        assert_eq!(output.status.code(), Some(2), "{flag}");
        let stderr = common::stderr(&output);
        assert_eq!(stderr.lines().count(), 1, "{flag}: one line: {stderr:?}");
        assert!(stderr.contains(flag), "{flag}: {stderr:?}");
    }
}
