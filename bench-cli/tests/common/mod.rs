//! Running the `bench-cli` binary from the tests.

#![allow(dead_code)] // each test file uses its own part of this

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

/// A fresh, empty directory under the system's temporary directory, named after the test file
/// (`label`), this process and `name`.
pub fn scratch(label: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bench-cli-{label}-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Whether `python3 --version` runs here; when it does not, says on stderr that the test is
/// skipped, since `--runtime asyncio` cannot run.
pub fn python3_runs() -> bool {
    let runs = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !runs {
        eprintln!("skipped: no python3 on the PATH, so --runtime asyncio cannot run here");
    }
    runs
}

/// Runs `bench-cli` with `args` and waits for it.
pub fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bench-cli"))
        .args(args)
        .output()
        .expect("bench-cli runs")
}

/// Runs `bench-cli --format json` with `args`, checks that it succeeded, parses its report.
pub fn report(args: &[&str]) -> Value {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let output = run(&all);
    assert!(
        output.status.success(),
        "bench-cli {all:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stderr(&output).is_empty(),
        "bench-cli {all:?} wrote to stderr: {}",
        stderr(&output)
    );
    serde_json::from_slice(&output.stdout).expect("the JSON report parses")
}

/// The report of one scenario run alone with `tasks` works.
pub fn scenario(name: &str, tasks: u64) -> Value {
    let tasks = tasks.to_string();
    let report = report(&["--scenario", name, "--tasks", &tasks]);
    let scenarios = report["scenarios"]
        .as_array()
        .expect("scenarios is an array");
    assert_eq!(scenarios.len(), 1);
    scenarios[0].clone()
}

/// The number at `path` (slash-separated, as in a JSON pointer) of `value`.
pub fn number(value: &Value, path: &str) -> u64 {
    let pointer = format!("/{path}");
    value
        .pointer(&pointer)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("{path} is not a whole number in {value:#}"))
}

/// The signed number at `path`.
pub fn signed(value: &Value, path: &str) -> i64 {
    let pointer = format!("/{path}");
    value
        .pointer(&pointer)
        .and_then(Value::as_i64)
        .unwrap_or_else(|| panic!("{path} is not a number in {value:#}"))
}

/// `value` without its wall times (and its samples' times and resident sets, and the report's
/// date): what must be the same on every run.
pub fn without_times(value: &Value) -> Value {
    let mut value = value.clone();
    if let Some(scenarios) = value.get_mut("scenarios").and_then(Value::as_array_mut) {
        for scenario in scenarios {
            strip_time(scenario);
        }
    } else {
        strip_time(&mut value);
    }
    // The report's date is to the second: two runs may straddle one.
    if let Some(meta) = value.get_mut("meta").and_then(Value::as_object_mut) {
        meta.remove("date");
    }
    // A sample's time and the process's resident set vary; its heap and counts do not.
    if let Some(samples) = value.get_mut("samples").and_then(Value::as_array_mut) {
        for sample in samples {
            let sample = sample.as_object_mut().expect("a sample is an object");
            sample.remove("t_s");
            sample.remove("rss_bytes");
        }
    }
    value
}

fn strip_time(scenario: &mut Value) {
    scenario
        .as_object_mut()
        .expect("a scenario is an object")
        .remove("time");
}

/// The warning a debug build prints first on standard error (the tests run the debug build).
pub const DEBUG_WARNING: &str = "bench-cli: warning: THIS IS A DEBUG BUILD";

/// Standard error as text, without the debug build's warning.
pub fn stderr(output: &Output) -> String {
    let text = String::from_utf8_lossy(&output.stderr);
    text.lines()
        .filter(|line| !line.starts_with(DEBUG_WARNING))
        .map(|line| format!("{line}\n"))
        .collect()
}

/// Splits one CSV line into its fields (RFC 4180: fields may be quoted, `""` is a quote).
pub fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                fields.last_mut().unwrap().push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(String::new()),
            (c, _) => fields.last_mut().unwrap().push(c),
        }
    }
    fields
}
