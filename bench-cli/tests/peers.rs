//! The peer runtimes side by side: every work takes its first poll on every runtime, in every
//! scenario; the records carry every field (null where a runtime does not expose a figure) and
//! each peer's ratio to ours; asyncio runs when `python3` is on the PATH. The tokio and smol
//! tests need the `peers` feature (on by default).

// Without `peers`, only the asyncio tests are left, and the helpers they do not use idle.
#![cfg_attr(not(feature = "peers"), allow(dead_code, unused_imports))]

mod common;

use std::process::Command;

use common::{csv_fields, number, report, run, signed, stderr};
use serde_json::Value;

/// More works than tokio (about 61) or smol (about 200) poll before resuming a yielder, so one
/// yield is not enough there and the wait loop must do its job.
const N: u64 = 500;

const SCENARIOS: [&str; 4] = ["cancel-each", "cancel-batch", "no-cancel", "baseline"];

fn records(report: &Value) -> &Vec<Value> {
    report["scenarios"]
        .as_array()
        .expect("scenarios is an array")
}

fn record<'a>(report: &'a Value, scenario: &str, runtime: &str) -> &'a Value {
    records(report)
        .iter()
        .find(|r| r["name"] == scenario && r["runtime"] == runtime)
        .unwrap_or_else(|| panic!("no record of {scenario} on {runtime}"))
}

/// The figures a peer keeps to itself: `null`, never a guess.
const NOT_EXPOSED_BY_PEERS: [&str; 16] = [
    "/tasks/tasks_freed",
    "/tasks/live_at_end",
    "/tasks/live_after_shutdown",
    "/tasks/peak_live",
    "/tasks/timers_live",
    "/moments/at_end/tasks_freed",
    "/moments/at_end/live_tasks",
    "/moments/at_end/timers_live",
    "/moments/after_tick/tasks_freed",
    "/moments/after_tick/live_tasks",
    "/moments/after_shutdown/tasks_freed",
    "/moments/after_shutdown/live_tasks",
    "/moments/after_shutdown/timers_live",
    "/moments/after_shutdown/husks",
    "/moments/after_shutdown/husk_bytes",
    "/moments/after_shutdown/husks_with_handle",
];

/// What the works count from the outside, exactly, on every Rust runtime.
const COUNTED_BY_THE_WORKS: [&str; 6] = [
    "/tasks/polls",
    "/tasks/futures_dropped",
    "/tasks/cancelled",
    "/heap/allocations",
    "/heap/frees",
    "/heap/reallocations",
];

#[cfg(feature = "peers")]
#[test]
fn every_work_takes_its_first_poll_on_every_runtime_in_every_scenario() {
    let tasks = N.to_string();
    let report = report(&["--tasks", &tasks, "--runtime", "ours,tokio,smol"]);
    assert_eq!(records(&report).len(), 4 * 3);
    for scenario in SCENARIOS {
        let works = if scenario == "baseline" { 0 } else { N };
        for runtime in ["ours", "tokio", "smol"] {
            let r = record(&report, scenario, runtime);
            let at = format!("{scenario} on {runtime}");
            assert_eq!(number(r, "tasks/spawned"), works, "{at}");
            // The point of the fairness rule: every work polled before cancel or stop...
            assert_eq!(number(r, "tasks/polled"), works, "{at}");
            // ... exactly once (the sleep never wakes).
            assert_eq!(number(r, "tasks/polls"), works, "{at}");
            // Every future is dropped by the end, each exactly once.
            assert_eq!(
                number(r, "moments/after_shutdown/futures_dropped"),
                works,
                "{at}"
            );
            let cancels = match scenario {
                "cancel-each" | "cancel-batch" => works,
                _ => 0,
            };
            assert_eq!(number(r, "tasks/cancels_requested"), cancels, "{at}");
            // The tick drops every cancelled future, and nothing else.
            assert_eq!(
                number(r, "moments/after_tick/futures_dropped"),
                cancels,
                "{at}"
            );
            let registered = if scenario == "no-cancel" { N } else { 0 };
            assert_eq!(number(r, "tasks/registered_at_end"), registered, "{at}");
            assert!(number(r, "yields/start_most") >= 1, "{at}");
        }
        // Ours: one yield per wait, always, and one for the tick.
        let ours = record(&report, scenario, "ours");
        assert_eq!(number(ours, "yields/start_most"), 1, "{scenario}");
        assert_eq!(number(ours, "yields/catch_up"), 1, "{scenario}");
        let waits = if scenario == "cancel-each" { N } else { 1 };
        assert_eq!(number(ours, "yields/start_total"), waits, "{scenario}");
    }
    // With N works runnable at once, one yield is not enough on the peers: the loop did it.
    for scenario in ["cancel-batch", "no-cancel"] {
        for peer in ["tokio", "smol"] {
            let yields = number(record(&report, scenario, peer), "yields/start_most");
            assert!(yields > 1, "{scenario} on {peer}: {yields} yields");
        }
    }
    // tokio's shutdown and ours give every byte back; smol's timers live in a process-wide
    // reactor run by a thread of its own, so its figure is reported, not required.
    for scenario in SCENARIOS {
        for runtime in ["ours", "tokio"] {
            let r = record(&report, scenario, runtime);
            assert_eq!(
                signed(r, "heap/after_shutdown_bytes"),
                0,
                "{scenario}/{runtime}"
            );
        }
    }
}

#[cfg(feature = "peers")]
#[test]
fn peer_records_have_every_field_with_null_only_for_what_the_peer_does_not_expose() {
    let report = report(&[
        "--tasks",
        "50",
        "--runtime",
        "ours,tokio",
        "--runtime=smol",
        "--scenario",
        "cancel-batch",
    ]);
    assert_eq!(report["schema_version"], 3);
    assert_eq!(
        report["runtimes"],
        serde_json::json!(["ours", "tokio", "smol"])
    );
    let runtimes: Vec<&str> = records(&report)
        .iter()
        .map(|r| r["runtime"].as_str().unwrap())
        .collect();
    assert_eq!(
        runtimes,
        ["ours", "tokio", "smol"],
        "side by side, in order"
    );

    let ours = record(&report, "cancel-batch", "ours");
    assert!(ours["ratio_to_ours"].is_null());
    for peer in ["tokio", "smol"] {
        let r = record(&report, "cancel-batch", peer);
        for path in NOT_EXPOSED_BY_PEERS {
            let value = r
                .pointer(path)
                .unwrap_or_else(|| panic!("{peer}: no {path}"));
            assert!(value.is_null(), "{peer}: {path} is {value}, not null");
        }
        for path in COUNTED_BY_THE_WORKS {
            let value = r
                .pointer(path)
                .unwrap_or_else(|| panic!("{peer}: no {path}"));
            assert!(value.is_u64(), "{peer}: {path} is {value}");
        }
        // The same fields as ours, no more, no fewer.
        assert_eq!(
            paths(r, ""),
            paths(ours, "")
                .into_iter()
                .filter(|p| !p.starts_with("/ratio_to_ours"))
                .chain(
                    [
                        "/ratio_to_ours/body_time",
                        "/ratio_to_ours/total_time",
                        "/ratio_to_ours/peak_bytes_per_task",
                        "/ratio_to_ours/allocations_per_task",
                    ]
                    .map(String::from)
                )
                .collect::<std::collections::BTreeSet<_>>(),
            "{peer}"
        );
        let ratios = &r["ratio_to_ours"];
        for field in [
            "body_time",
            "total_time",
            "peak_bytes_per_task",
            "allocations_per_task",
        ] {
            let value = ratios[field].as_f64().unwrap_or_else(|| panic!("{field}"));
            assert!(value > 0.0, "{peer}: {field} = {value}");
        }
        // The ratio is the two figures divided (up to the last digit JSON keeps).
        let divided = r["heap"]["peak_bytes_per_task"].as_f64().unwrap()
            / ours["heap"]["peak_bytes_per_task"].as_f64().unwrap();
        let ratio = ratios["peak_bytes_per_task"].as_f64().unwrap();
        assert!(
            (ratio - divided).abs() <= 1e-12 * divided,
            "{ratio} vs {divided}"
        );
    }
}

/// Every leaf's JSON pointer.
fn paths(value: &Value, prefix: &str) -> std::collections::BTreeSet<String> {
    match value {
        Value::Object(fields) => fields
            .iter()
            .flat_map(|(name, field)| paths(field, &format!("{prefix}/{name}")))
            .collect(),
        _ => [prefix.to_string()].into(),
    }
}

#[cfg(feature = "peers")]
#[test]
fn a_peer_alone_has_no_ratios_and_its_name_in_the_title() {
    let report = report(&["--tasks", "30", "--runtime", "tokio"]);
    assert_eq!(report["runtimes"], serde_json::json!(["tokio"]));
    for r in records(&report) {
        assert_eq!(r["runtime"], "tokio");
        assert!(r["ratio_to_ours"].is_null());
    }
    let text = String::from_utf8(run(&["--tasks", "30", "--runtime", "tokio"]).stdout).unwrap();
    assert!(
        text.contains("bench-cli: runtime tokio, N = 30 tasks"),
        "{text}"
    );
    assert!(!text.contains("÷ ours"));
}

#[cfg(feature = "peers")]
#[test]
fn several_runtimes_print_a_table_per_scenario_with_the_ratios() {
    for format in ["table", "markdown"] {
        let output = run(&[
            "--tasks",
            "40",
            "--runtime",
            "ours,tokio,smol",
            "--format",
            format,
            "--details",
        ]);
        assert!(output.status.success(), "{format}: {}", stderr(&output));
        let text = String::from_utf8(output.stdout).unwrap();
        assert!(
            text.contains("bench-cli: runtimes ours, tokio, smol, N = 40 tasks"),
            "{format}: {text}"
        );
        for scenario in SCENARIOS {
            assert!(text.contains(&format!("{scenario} (test")), "{format}");
        }
        assert_eq!(
            text.matches("ratio to ours (this runtime ÷ ours)").count(),
            4,
            "{format}"
        );
        assert!(text.contains("1.00×"), "{format}");
        assert!(
            text.contains("to first-poll all works (most in one wait)"),
            "{format}"
        );
    }
    let markdown = String::from_utf8(
        run(&[
            "--tasks",
            "40",
            "--runtime",
            "ours,tokio,smol",
            "--format",
            "markdown",
            "--details",
        ])
        .stdout,
    )
    .unwrap();
    assert_eq!(markdown.matches("| | ours | tokio | smol |").count(), 0);
    assert_eq!(markdown.matches("|  | ours | tokio | smol |").count(), 4);
}

#[cfg(feature = "peers")]
#[test]
fn csv_has_one_line_per_scenario_and_runtime_with_the_ratio_columns() {
    let output = run(&["--tasks", "20", "--runtime", "ours,smol", "--format", "csv"]);
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1 + 4 * 2);
    let header = csv_fields(lines[0]);
    let column = |name: &str| {
        header
            .iter()
            .position(|c| c == name)
            .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
    };
    let (runtime, ratio, freed) = (
        column("runtime"),
        column("ratio_to_ours.body_time"),
        column("tasks.tasks_freed"),
    );
    for (index, line) in lines[1..].iter().enumerate() {
        let fields = csv_fields(line);
        assert_eq!(fields.len(), header.len(), "{line}");
        let expected = if index % 2 == 0 { "ours" } else { "smol" };
        assert_eq!(fields[runtime], expected);
        // Ours has no ratio to itself and counts its cells; smol has a ratio and does not.
        assert_eq!(fields[ratio].is_empty(), expected == "ours", "{line}");
        assert_eq!(fields[freed].is_empty(), expected == "smol", "{line}");
    }
}

/// Whether `python3` is on the PATH, as bench-cli looks for it.
fn python3_on_path() -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("python3").is_file()))
}

#[test]
fn asyncio_runs_the_four_scenarios_when_python3_is_on_the_path() {
    if !python3_on_path() {
        eprintln!("skipped: no python3 on the PATH, so --runtime asyncio cannot run here");
        return;
    }
    let report = report(&["--tasks", "300", "--runtime", "ours,asyncio"]);
    assert_eq!(report["runtimes"], serde_json::json!(["ours", "asyncio"]));
    for scenario in SCENARIOS {
        let works = if scenario == "baseline" { 0 } else { 300 };
        let r = record(&report, scenario, "asyncio");
        assert_eq!(number(r, "tasks/spawned"), works, "{scenario}");
        assert_eq!(number(r, "tasks/polled"), works, "{scenario}");
        assert_eq!(
            number(r, "moments/after_shutdown/futures_dropped"),
            works,
            "{scenario}"
        );
        // asyncio.sleep(0) runs every ready callback before the yielder: one yield is enough.
        assert_eq!(number(r, "yields/start_most"), 1, "{scenario}");
        // tracemalloc counts bytes, not calls; asyncio keeps its tasks and timers to itself.
        for path in [
            "/heap/allocations",
            "/heap/allocations_per_task",
            "/tasks/polls",
            "/tasks/live_at_end",
            "/tasks/timers_live",
        ] {
            assert!(r.pointer(path).unwrap().is_null(), "{scenario}: {path}");
        }
        assert!(r["heap"]["peak_bytes"].as_u64().unwrap() > 0, "{scenario}");
        let ratios = &r["ratio_to_ours"];
        assert!(ratios["body_time"].as_f64().unwrap() > 0.0, "{scenario}");
        assert!(ratios["allocations_per_task"].is_null(), "{scenario}");
    }
    let batch = record(&report, "cancel-batch", "asyncio");
    // `at_end` is taken as the body returns, before the loop's next turn, as ours is: stop()
    // has dropped nothing yet; the tick drops every coroutine.
    assert_eq!(number(batch, "moments/at_end/futures_dropped"), 0);
    assert_eq!(number(batch, "moments/after_tick/futures_dropped"), 300);
    assert!(number(batch, "heap/fixed_bytes") > 0);
    assert!(report["meta"]["python"].as_str().unwrap().starts_with("3."));
    assert!(
        batch["ratio_to_ours"]["peak_bytes_per_task"]
            .as_f64()
            .unwrap()
            > 0.0
    );
}

#[test]
fn asyncio_without_python3_is_one_line_and_exit_code_2() {
    let empty = std::env::temp_dir().join(format!("bench-cli-no-python-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_bench-cli"))
        .args(["--tasks", "10", "--runtime", "ours,asyncio"])
        .env("PATH", &empty)
        .output()
        .expect("bench-cli runs");
    std::fs::remove_dir_all(&empty).unwrap();
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{message}");
    assert!(output.stdout.is_empty());
    assert_eq!(message.lines().count(), 1, "{message:?}");
    assert!(
        message.starts_with("bench-cli: error: --runtime asyncio needs python3 on the PATH"),
        "{message}"
    );
}
