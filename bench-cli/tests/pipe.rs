//! Output into a closed pipe (`bench-cli | head`) ends quietly: no panic, nothing on stderr.

use std::io::Read;
use std::process::{Command, Stdio};

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
        assert_eq!(stderr, "", "{format}");
        assert!(status.success(), "{format}: {status}");
    }
}

#[test]
fn help_into_a_closed_pipe_ends_quietly() {
    let (status, stderr) = run_into_closed_pipe(&["--help"]);
    assert_eq!(stderr, "");
    assert!(status.success(), "{status}");
}

#[test]
fn report_into_head_ends_quietly() {
    let shell = format!(
        "'{}' --tasks 500 --repeat 2 | head -n 2 >/dev/null",
        env!("CARGO_BIN_EXE_bench-cli")
    );
    let output = Command::new("bash")
        .args(["-o", "pipefail", "-c", &shell])
        .output()
        .expect("sh runs");
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}
