//! Ctrl-C (SIGINT) and SIGTERM during a run: exit 130 / 143, no partial file and no stray
//! temporary, an existing file intact, and no Python child left running.

#![cfg(unix)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

fn scratch(name: &str) -> PathBuf {
    common::scratch("signal", name)
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Waits until `ready` holds, at most 60 s.
fn wait_for(what: &str, ready: impl Fn() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{what}: never happened"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// The direct children of `pid`, from `/proc`.
fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .map(|task| {
            let path = task.unwrap().path().join("children");
            fs::read_to_string(path).unwrap_or_default()
        })
        .flat_map(|text| {
            text.split_whitespace()
                .filter_map(|pid| pid.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

/// Starts a long run whose exports go to `dir` (one of them over an existing file), waits
/// until it is under way, sends `name`, and checks what is left.
fn interrupt(label: &str, name: &str, code: i32, extra: &[&str]) -> Option<u32> {
    let dir = scratch(label);
    let existing = dir.join("kept.csv");
    fs::write(&existing, "yesterday's report\n").unwrap();
    let mut args = vec![
        "-q",
        "--export-json",
        "new.json",
        "--export-csv",
        "kept.csv",
        "-o",
        "new.md",
    ];
    args.extend_from_slice(extra);
    let mut child = Command::new(env!("CARGO_BIN_EXE_bench-cli"))
        .args(&args)
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Under way: the three temporaries exist (files are opened before any work).
    wait_for("the temporaries", || {
        names(&dir).iter().filter(|n| n.ends_with(".tmp")).count() == 3
    });
    let python = extra.contains(&"asyncio").then(|| {
        // The child that runs the scenarios (not the short one that tells Python's version).
        let runner = || {
            children(child.id()).into_iter().find(|pid| {
                fs::read_to_string(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|cmdline| cmdline.contains("--scenario"))
            })
        };
        wait_for("the Python child", || runner().is_some());
        runner().unwrap()
    });
    thread::sleep(Duration::from_millis(200));
    signal(&child, name);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(code), "{name}: {status}");
    assert_eq!(
        names(&dir),
        ["kept.csv"],
        "{name}: nothing new, nothing partial"
    );
    assert_eq!(
        fs::read_to_string(&existing).unwrap(),
        "yesterday's report\n"
    );
    fs::remove_dir_all(&dir).unwrap();
    python
}

#[test]
fn sigint_exits_130_and_leaves_nothing_partial() {
    interrupt(
        "int",
        "INT",
        130,
        &["-n", "3000000", "-s", "no-cancel", "-r", "50"],
    );
}

#[test]
fn sigterm_exits_143_and_leaves_nothing_partial() {
    interrupt(
        "term",
        "TERM",
        143,
        &["-n", "3000000", "-s", "cancel-batch", "-r", "50"],
    );
}

#[test]
fn sigterm_during_asyncio_ends_the_python_child() {
    if !common::python3_runs() {
        return;
    }
    let python = interrupt(
        "asyncio",
        "TERM",
        143,
        &[
            "-n",
            "2000000",
            "-s",
            "cancel-batch",
            "--runtime",
            "asyncio",
        ],
    )
    .expect("a Python child ran");
    // Killed and reaped: no process of that id is left (not even a zombie).
    let status = fs::read_to_string(format!("/proc/{python}/status")).unwrap_or_default();
    assert!(
        !status.contains("python"),
        "the Python child {python} outlived the run: {status}"
    );
}
