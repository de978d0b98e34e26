//! Will N tasks fit in this machine's memory? Answered before the measured runs allocate them.
//!
//! The estimate is measured, not guessed: before the real runs, every selected scenario runs once
//! on [`PROBE_TASKS`] tasks (the probe, see `main.rs`), and the largest peak heap per task seen
//! there is the cost of one task on this build — cell, scheduler slot, timer entry, queue. N
//! times that must fit in the memory the kernel says is available (`MemAvailable` in
//! `/proc/meminfo`: free memory plus what it can reclaim without swapping). Where there is no
//! `/proc/meminfo`, nothing is checked.
//!
//! Why 1 025 and not 1 024: the tables that grow with N (the scheduler's, the run queue) double
//! their capacity when they fill up. At N = 2^k they are exactly full, their best case; at
//! N = 2^k + 1 they have just doubled and are half empty, their worst case, which peaks about
//! 7 % higher per task than 2^k (measured on ours at 2^14 and 2^14 + 1). A probe at 2^10 + 1 sees
//! a table in its worst state, so its bytes per task bound every N above it.

use std::fs;

use crate::format::count;

/// The probe's tasks: 2^10 + 1, a table's worst fill (see the module docs).
pub const PROBE_TASKS: u64 = 1025;

/// Where the kernel reports memory.
const MEMINFO: &str = "/proc/meminfo";

/// Memory available for new allocations, in bytes, if the system says.
pub fn available_memory() -> Option<u64> {
    parse_mem_available(&fs::read_to_string(MEMINFO).ok()?)
}

/// The `MemAvailable` line of a `/proc/meminfo` text, in bytes.
pub fn parse_mem_available(meminfo: &str) -> Option<u64> {
    let line = meminfo
        .lines()
        .find(|line| line.starts_with("MemAvailable:"))?;
    let mut words = line.split_whitespace().skip(1);
    let kibibytes: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") => kibibytes.checked_mul(1024),
        _ => None,
    }
}

/// Checks that `tasks` tasks at `bytes_per_task` each fit in `available` bytes; if not, the
/// one-line reason, with the limit.
pub fn check_fits(
    tasks: u64,
    bytes_per_task: f64,
    measured_on: u64,
    available: u64,
) -> Result<(), String> {
    let needed = tasks as f64 * bytes_per_task;
    if needed <= available as f64 {
        return Ok(());
    }
    let limit = (available as f64 / bytes_per_task).floor() as u64;
    Err(format!(
        "--tasks {tasks} does not fit in this machine's memory: {} tasks × {bytes_per_task:.0} \
         bytes per task (the peak heap per task measured on {} tasks) is {}, but only {} is \
         available (MemAvailable in {MEMINFO}); the limit here is {} tasks",
        count(tasks),
        count(measured_on),
        gibibytes(needed),
        gibibytes(available as f64),
        count(limit),
    ))
}

fn gibibytes(bytes: f64) -> String {
    format!("{:.1} GiB", bytes / (1u64 << 30) as f64)
}

#[cfg(test)]
mod tests {
    use super::{check_fits, parse_mem_available};

    const MEMINFO: &str = "MemTotal:       24684092 kB\n\
                           MemFree:        20000000 kB\n\
                           MemAvailable:   24385636 kB\n\
                           Buffers:          123456 kB\n";

    #[test]
    fn mem_available_is_read_in_bytes() {
        assert_eq!(parse_mem_available(MEMINFO), Some(24_385_636 * 1024));
    }

    #[test]
    fn mem_available_missing_or_garbled_is_none() {
        assert_eq!(parse_mem_available("MemTotal: 1 kB\n"), None);
        assert_eq!(parse_mem_available("MemAvailable: lots kB\n"), None);
        assert_eq!(parse_mem_available("MemAvailable: 12 MB\n"), None);
    }

    #[test]
    fn tasks_that_fit_pass_and_the_rest_get_the_limit() {
        let gib = 1u64 << 30;
        assert_eq!(check_fits(1_000_000, 256.0, 1024, gib), Ok(()));
        let message = check_fits(10_000_000, 256.0, 1024, gib).unwrap_err();
        assert!(
            message.contains("the limit here is 4,194,304 tasks"),
            "{message}"
        );
        assert!(message.contains("2.4 GiB"), "{message}");
        assert!(message.contains("MemAvailable"), "{message}");
        assert!(!message.contains('\n'));
    }
}
