//! The report itself: every field in the JSON, the same numbers on every run, and the other
//! formats carrying the same scenarios.

mod common;

use common::{csv_fields, report, run, without_times};
use serde_json::Value;

const SCENARIOS: [(&str, &str); 4] = [
    ("cancel-each", "test1"),
    ("cancel-batch", "test2"),
    ("no-cancel", "test3"),
    ("baseline", "test4"),
];

/// Every field of a scenario's record, as a JSON pointer, with the kind of value it holds.
const SCENARIO_FIELDS: &[(&str, Kind)] = &[
    ("/name", Kind::Text),
    ("/alias", Kind::Text),
    ("/summary", Kind::Text),
    ("/runtime", Kind::Text),
    ("/n", Kind::Integer),
    ("/time/body/times_s", Kind::Reals),
    ("/time/body/mean_s", Kind::Real),
    ("/time/body/stddev_s", Kind::Null),
    ("/time/body/median_s", Kind::Real),
    ("/time/body/min_s", Kind::Real),
    ("/time/body/max_s", Kind::Real),
    ("/time/shutdown/times_s", Kind::Reals),
    ("/time/shutdown/mean_s", Kind::Real),
    ("/time/shutdown/stddev_s", Kind::Null),
    ("/time/shutdown/median_s", Kind::Real),
    ("/time/shutdown/min_s", Kind::Real),
    ("/time/shutdown/max_s", Kind::Real),
    ("/time/total/times_s", Kind::Reals),
    ("/time/total/mean_s", Kind::Real),
    ("/time/total/stddev_s", Kind::Null),
    ("/time/total/median_s", Kind::Real),
    ("/time/total/min_s", Kind::Real),
    ("/time/total/max_s", Kind::Real),
    ("/heap/at_end_bytes", Kind::Integer),
    ("/heap/peak_bytes", Kind::Integer),
    ("/heap/after_shutdown_bytes", Kind::Integer),
    ("/heap/allocations", Kind::Integer),
    ("/heap/reallocations", Kind::Integer),
    ("/heap/frees", Kind::Integer),
    ("/heap/allocations_per_task", Kind::RealOrNull),
    ("/heap/peak_bytes_per_task", Kind::RealOrNull),
    ("/heap/fixed_bytes", Kind::Integer),
    ("/heap/marginal_bytes_per_task", Kind::RealOrNull),
    ("/moments/after_cancel", Kind::MomentOrNull),
    ("/moments/at_end", Kind::Moment),
    ("/moments/after_tick", Kind::Moment),
    ("/moments/after_release", Kind::MomentOrNull),
    ("/moments/after_shutdown", Kind::Moment),
    ("/tasks/spawned", Kind::Integer),
    ("/tasks/polled", Kind::Integer),
    ("/tasks/polls", Kind::Integer),
    ("/tasks/cancels_requested", Kind::Integer),
    ("/tasks/cancelled", Kind::Integer),
    ("/tasks/futures_dropped", Kind::Integer),
    ("/tasks/tasks_freed", Kind::Integer),
    ("/tasks/live_at_end", Kind::Integer),
    ("/tasks/live_after_shutdown", Kind::Integer),
    ("/tasks/peak_live", Kind::Integer),
    ("/tasks/timers_live", Kind::Integer),
    ("/tasks/registered_at_end", Kind::Integer),
    ("/yields/start_total", Kind::Integer),
    ("/yields/start_most", Kind::Integer),
    ("/yields/catch_up", Kind::Integer),
    ("/verdict/heap_back_to_start", Kind::Bool),
    ("/verdict/bytes_not_returned", Kind::Integer),
    ("/verdict/leak_is_the_lesson", Kind::Bool),
    // Ours has no garbage collector.
    ("/gc", Kind::Null),
    ("/repeats_identical", Kind::Bool),
    // Ours alone: no peer to compare.
    ("/ratio_to_ours", Kind::Null),
];

const MOMENT_FIELDS: [&str; 8] = [
    "futures_dropped",
    "tasks_freed",
    "live_tasks",
    "timers_live",
    "husks",
    "husk_bytes",
    "husks_with_handle",
    "heap_bytes",
];

#[derive(Clone, Copy, Debug)]
enum Kind {
    Text,
    Real,
    /// A list of one or more times.
    Reals,
    RealOrNull,
    Integer,
    Bool,
    Null,
    Moment,
    MomentOrNull,
}

fn assert_kind(value: &Value, kind: Kind, path: &str) {
    let ok = match kind {
        Kind::Text => value.is_string(),
        Kind::Real => value.is_f64() && value.as_f64().unwrap() >= 0.0,
        Kind::Reals => value
            .as_array()
            .is_some_and(|items| !items.is_empty() && items.iter().all(Value::is_f64)),
        Kind::RealOrNull => value.is_null() || value.is_f64(),
        Kind::Integer => value.is_i64() || value.is_u64(),
        Kind::Bool => value.is_boolean(),
        Kind::Null => value.is_null(),
        Kind::Moment | Kind::MomentOrNull if value.is_null() => {
            matches!(kind, Kind::MomentOrNull)
        }
        Kind::Moment | Kind::MomentOrNull => {
            let fields = value.as_object().expect("a moment is an object");
            fields.len() == MOMENT_FIELDS.len()
                && MOMENT_FIELDS
                    .iter()
                    .all(|name| fields.get(*name).is_some_and(|v| v.is_i64() || v.is_u64()))
        }
    };
    assert!(ok, "{path} should be {kind:?}, is {value}");
}

/// Counts the leaves of `value`, so that a field added to the report but not to this test fails.
fn leaves(value: &Value) -> usize {
    match value {
        Value::Object(fields) => fields.values().map(leaves).sum(),
        _ => 1,
    }
}

#[test]
fn json_has_the_schema_version_and_every_field_of_every_scenario() {
    let report = report(&["--tasks", "20"]);
    assert_eq!(report["schema_version"], 3);
    assert_eq!(report["runtimes"], serde_json::json!(["ours"]));
    assert_eq!(report["tasks"], 20);
    assert_eq!(report["sweep"], serde_json::json!([20]));
    assert_eq!(report["repeat"], 1);
    assert_eq!(
        report["warmup"],
        serde_json::json!({"probe_tasks": 1025, "runs": 0})
    );
    assert!(report["growth"].is_null(), "one N: no growth table");
    assert!(report["comparison"].is_null());
    let meta = report["meta"].as_object().unwrap();
    let names: Vec<&str> = meta.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "version", "commit", "rustc", "profile", "os", "cpu", "python", "date"
        ]
    );
    assert!(meta["python"].is_null(), "asyncio did not run");
    assert_eq!(meta["profile"], "debug", "the tests run the debug build");
    assert_eq!(report["cancel"], "next-tick");
    assert_eq!(report["not_applicable"], serde_json::json!([]));
    assert!(report["samples"].is_array(), "the heap over time");
    assert_eq!(report.as_object().unwrap().len(), 13, "with the samples");

    let scenarios = report["scenarios"].as_array().unwrap();
    let names: Vec<(&str, &str)> = scenarios
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["alias"].as_str().unwrap()))
        .collect();
    assert_eq!(names, SCENARIOS, "all four, in the reference order");
    assert!(scenarios.iter().all(|s| s["runtime"] == "ours"));

    for scenario in scenarios {
        for &(path, kind) in SCENARIO_FIELDS {
            let value = scenario
                .pointer(path)
                .unwrap_or_else(|| panic!("{} has no {path}", scenario["name"]));
            assert_kind(value, kind, path);
        }
        // Fields listed above, with a null `after_cancel` counted as one leaf (`after_release`
        // is null in the study's four).
        let listed = SCENARIO_FIELDS.len() - 5 + 3 * MOMENT_FIELDS.len() + 1;
        let expected = if scenario["moments"]["after_cancel"].is_null() {
            listed + 1
        } else {
            listed + MOMENT_FIELDS.len()
        };
        assert_eq!(leaves(scenario), expected, "unlisted field in {scenario:#}");
    }
}

#[test]
fn the_same_n_gives_the_same_numbers_on_every_run() {
    let first = report(&["--tasks", "300"]);
    let second = report(&["--tasks", "300"]);
    assert_eq!(without_times(&first), without_times(&second));
}

#[test]
fn repeated_runs_count_exactly_the_same() {
    let report = report(&["--tasks", "200", "--repeat", "3"]);
    assert_eq!(report["repeat"], 3);
    for scenario in report["scenarios"].as_array().unwrap() {
        assert_eq!(scenario["repeats_identical"], true, "{}", scenario["name"]);
        let body = &scenario["time"]["body"];
        let (min, median, max) = (
            body["min_s"].as_f64().unwrap(),
            body["median_s"].as_f64().unwrap(),
            body["max_s"].as_f64().unwrap(),
        );
        assert!(min <= median && median <= max, "{body}");
        let times: Vec<f64> = body["times_s"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_f64().unwrap())
            .collect();
        assert_eq!(times.len(), 3, "every run's time");
        let mean = times.iter().sum::<f64>() / 3.0;
        assert!((body["mean_s"].as_f64().unwrap() - mean).abs() < 1e-12);
        assert!(body["stddev_s"].as_f64().unwrap() >= 0.0, "{body}");
    }
}

#[test]
fn a_scenario_counts_the_same_alone_or_after_others() {
    let all = report(&["--tasks", "150"]);
    for (index, (name, _)) in SCENARIOS.iter().enumerate() {
        let alone = report(&["--tasks", "150", "--scenario", name]);
        assert_eq!(
            without_times(&alone["scenarios"][0]),
            without_times(&all["scenarios"][index]),
            "{name}"
        );
    }
}

#[test]
fn scenarios_run_in_the_order_asked_and_once_each() {
    let report = report(&[
        "--tasks",
        "10",
        "--scenario",
        "test4,no-cancel",
        "--scenario",
        "baseline",
    ]);
    let names: Vec<&str> = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["baseline", "no-cancel"]);
}

#[test]
fn csv_has_one_line_per_scenario_with_the_json_fields_as_columns() {
    let output = run(&["--tasks", "20", "--format", "csv"]);
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1 + SCENARIOS.len());
    let header = csv_fields(lines[0]);
    for column in [
        "schema_version",
        "runtime",
        "tasks",
        "repeat",
        "name",
        "time.body.median_s",
        "heap.peak_bytes",
        "moments.after_cancel.futures_dropped",
        "moments.after_tick.tasks_freed",
        "tasks.peak_live",
        "verdict.heap_back_to_start",
    ] {
        assert!(
            header.iter().any(|c| c == column),
            "no column {column} in {header:?}"
        );
    }
    for (line, (name, _)) in lines[1..].iter().zip(SCENARIOS) {
        let fields = csv_fields(line);
        assert_eq!(fields.len(), header.len(), "{line}");
        let column = |key: &str| fields[header.iter().position(|c| c == key).unwrap()].as_str();
        assert_eq!(column("name"), name);
        assert_eq!(column("tasks"), "20");
        assert!(
            column("summary").contains(", "),
            "a quoted field with a comma"
        );
        assert_eq!(column("verdict.heap_back_to_start"), "true");
    }
}

#[test]
fn table_and_markdown_show_every_scenario_and_the_verdict() {
    for format in ["table", "markdown"] {
        let output = run(&["--tasks", "20", "--format", format, "--details"]);
        assert!(output.status.success(), "{format}");
        let text = String::from_utf8(output.stdout).unwrap();
        for (name, alias) in SCENARIOS {
            let shown = match format {
                "table" => format!(" {name} "),
                _ => format!("{name} {alias}"),
            };
            assert!(text.contains(&shown), "{format}: {text}");
        }
        assert!(text.contains("heap back to start"), "{format}");
        assert!(text.contains("N = 20 tasks"), "{format}");
    }
    let markdown =
        String::from_utf8(run(&["--tasks", "20", "--format", "markdown", "--details"]).stdout)
            .unwrap();
    assert!(markdown.contains("|---|---:|---:|---:|---:|"), "{markdown}");
}

#[test]
fn output_file_gets_the_report_and_stdout_stays_empty() {
    let dir = std::env::temp_dir().join(format!("bench-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("report.json");
    std::fs::write(&path, "old contents that are longer than nothing at all").unwrap();
    let output = run(&[
        "--tasks",
        "10",
        "--format",
        "json",
        "--output",
        path.to_str().unwrap(),
    ]);
    assert!(output.status.success());
    assert!(output.stdout.is_empty());
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(written["tasks"], 10);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn output_to_a_device_is_written_not_truncated() {
    // A device has no length to set: `--output /dev/null` must work like a file.
    if !std::path::Path::new("/dev/null").exists() {
        return; // no /dev/null on this system: nothing to check
    }
    let output = run(&["--tasks", "10", "--output", "/dev/null"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.stdout.is_empty());
}
