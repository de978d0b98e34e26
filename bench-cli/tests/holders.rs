//! "Why the heap is not back after shutdown": printed after the table for a run whose heap is
//! not back, with what holds it — and nothing when every heap is back.

mod common;

use common::run;

/// The table's standard output for `args`.
fn table(args: &[&str]) -> String {
    let output = run(args);
    assert!(output.status.success(), "bench-cli {args:?} failed");
    String::from_utf8(output.stdout).expect("the table is UTF-8")
}

#[test]
fn a_leak_outside_any_task_cell_is_said_to_be_no_tasks() {
    // The cycle lesson leaks its works' Rc cycles on purpose; every task cell is freed.
    let text = table(&["--scenario", "cycle", "--tasks", "100", "-q"]);
    let (_, report) = text
        .split_once("Why the heap is not back after shutdown:\n")
        .expect("the report follows the table");
    let line = report.lines().next().unwrap().trim();
    assert!(line.starts_with("ours · cycle: "), "{line}");
    assert!(
        line.ends_with(" B not returned; no task cell is held, so none of it is a task's"),
        "{line}"
    );
}

#[test]
fn nothing_is_said_when_every_heap_is_back() {
    let text = table(&["--scenario", "cancel-batch,husk", "--tasks", "100", "-q"]);
    assert!(!text.contains("Why the heap is not back"), "{text}");
}
