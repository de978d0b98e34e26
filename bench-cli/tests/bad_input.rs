//! Bad input: one clear line on stderr, exit code 2, no panic, nothing on stdout.

mod common;

use std::fs;
use std::path::PathBuf;

use common::{run, stderr};

/// Runs with `args`, checks the exit code 2 and the single line, returns the line.
fn refused(args: &[&str]) -> String {
    let output = run(args);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{args:?}: {message}");
    assert!(output.stdout.is_empty(), "{args:?} wrote to stdout");
    assert_eq!(
        message.lines().count(),
        1,
        "{args:?}: not one line: {message:?}"
    );
    assert!(
        message.starts_with("bench-cli: error: "),
        "{args:?}: {message}"
    );
    assert!(!message.contains("panicked"), "{args:?}: {message}");
    message
}

#[test]
fn zero_tasks() {
    assert!(refused(&["--tasks", "0"]).contains("must be at least 1"));
}

#[test]
fn negative_tasks() {
    for args in [&["--tasks", "-5"][..], &["--tasks=-5"]] {
        assert!(refused(args).contains("not a negative one"), "{args:?}");
    }
}

#[test]
fn non_numeric_tasks() {
    for value in ["many", "1.5", "1e6", ""] {
        let message = refused(&["--tasks", value]);
        assert!(
            message.contains("positive whole number"),
            "{value}: {message}"
        );
    }
}

#[test]
fn missing_tasks_value() {
    assert!(refused(&["--tasks"]).contains("a value is required for '--tasks <N[,N...]>'"));
}

#[test]
fn tasks_beyond_this_machines_memory_say_the_limit_and_why() {
    let message = refused(&["--tasks", "100000000000000"]);
    assert!(
        message.contains("does not fit in this machine's memory"),
        "{message}"
    );
    assert!(message.contains("bytes per task"), "{message}");
    assert!(message.contains("MemAvailable"), "{message}");
    assert!(message.contains("the limit here is"), "{message}");
}

#[test]
fn tasks_beyond_64_bits() {
    assert!(refused(&["--tasks", "99999999999999999999999"]).contains("too large"));
}

#[test]
fn unknown_scenario_lists_the_valid_ones() {
    let message = refused(&["--scenario", "test5"]);
    for valid in [
        "cancel-each (test1)",
        "cancel-batch (test2)",
        "no-cancel (test3)",
        "baseline (test4)",
    ] {
        assert!(message.contains(valid), "{message}");
    }
    // Also when it hides in a list with valid ones.
    assert!(refused(&["--scenario", "test1,nope"]).contains("'nope'"));
}

#[test]
fn unknown_runtime_lists_the_valid_ones() {
    let message = refused(&["--runtime", "go"]);
    assert!(
        message.contains("no such runtime; valid ones are ours, tokio, smol, asyncio"),
        "{message}"
    );
    // Also when it hides in a list with valid ones, or repeats the flag.
    assert!(refused(&["--runtime", "ours,nope"]).contains("'nope'"));
    assert!(refused(&["--runtime", "ours", "--runtime", "rayon"]).contains("'rayon'"));
}

#[test]
fn zero_or_negative_repeat() {
    assert!(refused(&["--repeat", "0"]).contains("must be at least 1"));
    assert!(refused(&["--repeat", "-1"]).contains("not a negative one"));
    assert!(refused(&["--repeat", "99999999999"]).contains("too large"));
}

#[test]
fn unknown_format_lists_the_formats() {
    let message = refused(&["--format", "xml"]);
    assert!(message.contains("table, json, csv, markdown"), "{message}");
}

#[test]
fn unknown_flag() {
    assert!(refused(&["--tasks", "5", "--frobnicate"]).contains("'--frobnicate'"));
}

#[test]
fn output_in_a_missing_directory() {
    let message = refused(&["--output", "/no/such/directory/report.json"]);
    assert!(
        message.contains("cannot write --output /no/such/directory/report.json"),
        "{message}"
    );
}

#[test]
fn output_that_is_a_directory() {
    let dir = std::env::temp_dir();
    let message = refused(&["--output", dir.to_str().unwrap()]);
    assert!(message.contains("cannot write --output"), "{message}");
}

/// The output file is checked before any work: with a bad output and too many tasks, the
/// output is what is refused, although the memory check would refuse the tasks too.
#[test]
fn output_is_checked_before_any_work() {
    let message = refused(&[
        "--tasks",
        "100000000000000",
        "--output",
        "/no/such/directory/report.json",
    ]);
    assert!(message.contains("cannot write --output"), "{message}");
}

fn scratch(name: &str) -> PathBuf {
    common::scratch("bad", name)
}

#[test]
fn a_refused_run_leaves_an_existing_output_file_as_it_was() {
    let dir = scratch("existing");
    let path = dir.join("report.txt");
    fs::write(&path, "yesterday's report").unwrap();
    refused(&[
        "--tasks",
        "100000000000000",
        "--output",
        path.to_str().unwrap(),
    ]);
    assert_eq!(fs::read_to_string(&path).unwrap(), "yesterday's report");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_refused_run_leaves_no_new_output_file_behind() {
    let dir = scratch("new");
    let path = dir.join("report.txt");
    refused(&[
        "--tasks",
        "100000000000000",
        "--output",
        path.to_str().unwrap(),
    ]);
    assert!(!path.exists());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_list_of_tasks_with_a_bad_n() {
    assert!(refused(&["--tasks", "10,x"]).contains("positive whole number"));
    assert!(refused(&["-n", "10,0,20"]).contains("must be at least 1"));
    assert!(refused(&["-n", "10,-20"]).contains("not a negative one"));
}

#[test]
fn negative_warmup() {
    assert!(refused(&["--warmup", "-1"]).contains("not a negative one"));
}

#[test]
fn a_compare_file_that_cannot_be_read_is_not_json_or_has_another_schema() {
    let dir = scratch("compare");
    let missing = dir.join("missing.json");
    assert!(refused(&["--compare", missing.to_str().unwrap()]).contains("cannot read --compare"));
    let garbage = dir.join("garbage.json");
    fs::write(&garbage, "not json at all").unwrap();
    assert!(
        refused(&["--compare", garbage.to_str().unwrap()])
            .contains("is not a JSON report of bench-cli")
    );
    let old = dir.join("old.json");
    fs::write(&old, r#"{"schema_version": 2, "scenarios": []}"#).unwrap();
    let message = refused(&["--compare", old.to_str().unwrap()]);
    assert!(message.contains("has schema 2"), "{message}");
    assert!(message.contains("reads schema 3"), "{message}");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn two_exports_to_one_file() {
    let message = refused(&["--export-json", "r.json", "--export-csv", "./r.json"]);
    assert!(
        message.contains("two reports would go to one file"),
        "{message}"
    );
    assert!(refused(&["-o", "r.md", "--export-markdown", "r.md"]).contains("one file"));
}

#[test]
fn an_export_that_cannot_be_written_is_refused_before_any_work() {
    let message = refused(&[
        "--tasks",
        "100000000000000",
        "--export-csv",
        "/no/such/directory/r.csv",
    ]);
    assert!(message.contains("cannot write --export-csv"), "{message}");
}

#[test]
fn a_python_that_is_missing_or_too_old() {
    let dir = scratch("python");
    let missing = dir.join("python9");
    let message = refused(&[
        "--runtime",
        "asyncio",
        "--python",
        missing.to_str().unwrap(),
    ]);
    assert!(message.contains("cannot run Python at"), "{message}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let old = dir.join("python3.8");
        fs::write(&old, "#!/bin/sh\necho 3.8.10\n").unwrap();
        fs::set_permissions(&old, fs::Permissions::from_mode(0o755)).unwrap();
        let message = refused(&["--runtime", "asyncio", "--python", old.to_str().unwrap()]);
        assert!(message.contains("needs Python 3.9 or later"), "{message}");
        assert!(message.contains("is Python 3.8.10"), "{message}");
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_unknown_cancel_mode_or_a_malformed_threshold() {
    assert!(refused(&["--cancel", "soon"]).contains("valid ones are next-tick, now"));
    for bad in ["700,10", "700,x,10", "700,10,10,10", "-1,0,0", ""] {
        let message = refused(&["--gc-threshold", bad]);
        assert!(message.contains("three whole numbers"), "{bad}: {message}");
    }
}

#[test]
fn an_unknown_scenario_lists_the_lessons_and_all() {
    let message = refused(&["--scenario", "leak"]);
    for valid in [
        "husk",
        "detach",
        "timeout",
        "cycle",
        "cycle-weak",
        "and all",
    ] {
        assert!(message.contains(valid), "{message}");
    }
}
