//! Output into a closed pipe (`bench-cli | head`) ends quietly: no panic, nothing on stderr.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};

/// `stderr` without the debug build's warning.
fn quiet(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|line| !line.starts_with(common::DEBUG_WARNING))
        .collect()
}

/// Starts bench-cli with `args` and closes the reading end of its stdout at once, so that its
/// report goes into a pipe nobody reads.
fn run_into_closed_pipe(args: &[&str]) -> (std::process::ExitStatus, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bench-cli"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bench-cli starts");
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (child.wait().unwrap(), stderr)
}

#[test]
fn report_into_a_closed_pipe_ends_quietly() {
    for format in ["table", "json", "csv", "markdown"] {
        let (status, stderr) = run_into_closed_pipe(&["--tasks", "500", "--format", format]);
        assert_eq!(quiet(&stderr), "", "{format}");
        assert!(status.success(), "{format}: {status}");
    }
}

/// Runs `shell` in bash with `pipefail`, so that a failing bench-cli fails the pipeline.
fn pipeline(shell: &str) -> std::process::Output {
    Command::new("bash")
        .args(["-o", "pipefail", "-c", shell])
        .output()
        .expect("bash runs")
}

#[test]
fn help_into_a_closed_pipe_ends_quietly() {
    // `true` exits at once, without reading; bench-cli only starts after a pause, so its help
    // surely goes into a pipe with no reader left.
    let output = pipeline(&format!(
        "{{ sleep 0.3; exec '{}' --help; }} | true",
        env!("CARGO_BIN_EXE_bench-cli")
    ));
    assert_eq!(quiet(&String::from_utf8_lossy(&output.stderr)), "");
    assert!(output.status.success(), "{}", output.status);
}

/// The everyday case. `head` may exit before or after the report is written (it is one write,
/// smaller than a pipe's buffer), so this checks only that neither way makes a sound.
#[test]
fn report_into_head_ends_quietly() {
    let output = pipeline(&format!(
        "'{}' --tasks 500 --repeat 2 | head -n 2 >/dev/null",
        env!("CARGO_BIN_EXE_bench-cli")
    ));
    assert_eq!(quiet(&String::from_utf8_lossy(&output.stderr)), "");
    assert!(output.status.success(), "{}", output.status);
}

/// Any other write error is reported, in one line, with exit code 1.
#[test]
fn report_into_a_full_device_is_one_line_and_exit_code_1() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        return; // no /dev/full on this system: nothing to check
    };
    let output = Command::new(env!("CARGO_BIN_EXE_bench-cli"))
        .args(["--tasks", "10"])
        .stdout(full)
        .output()
        .expect("bench-cli runs");
    let stderr = quiet(&String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("cannot write to standard output"),
        "{stderr}"
    );
}
