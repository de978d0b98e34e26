//! "Why the heap is not back": what still holds memory after a run's shutdown, and by what.
//!
//! After shutdown every future has been dropped, so a task cell still allocated is a husk, and
//! something holds it: a `JoinHandle` not dropped yet, or `Waker`s kept somewhere (no run-queue
//! entry survives a shutdown). Our executor counts both exactly (`Stats::husks`,
//! `husk_bytes`, `husks_with_handle`); what the heap holds beyond the husks' bytes is not in a
//! task cell (a table that kept its capacity, a runtime's own structures). A peer keeps its
//! task cells to itself: its line says only how many bytes are not back.
//!
//! The report is a few lines printed after the table, only when some run's heap is not back;
//! the same figures are in every record of the JSON (`moments.after_shutdown`).

use std::fmt::Write as _;

use crate::format::count;
use crate::report::ScenarioReport;

/// What one run left behind after its shutdown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Leftover {
    /// The runtime.
    pub runtime: &'static str,
    /// The scenario.
    pub scenario: &'static str,
    /// Heap bytes above the run's start after shutdown.
    pub heap_bytes: i64,
    /// Husks still allocated; `None` where the runtime does not say.
    pub husks: Option<u64>,
    /// Their bytes.
    pub husk_bytes: Option<u64>,
    /// Of those, the ones a `JoinHandle` still holds.
    pub husks_with_handle: Option<u64>,
}

/// What each record left after shutdown, for the "why the heap is not back" lines.
pub fn leftovers(records: &[ScenarioReport]) -> Vec<Leftover> {
    records
        .iter()
        .map(|record| {
            let after = &record.moments.after_shutdown;
            Leftover {
                runtime: record.runtime,
                scenario: record.name,
                heap_bytes: after.heap_bytes,
                husks: after.husks,
                husk_bytes: after.husk_bytes,
                husks_with_handle: after.husks_with_handle,
            }
        })
        .collect()
}

/// One line for a run whose heap is not back; `None` when it is.
pub fn explain(run: &Leftover) -> Option<String> {
    let husks = run.husks.unwrap_or(0);
    if run.heap_bytes == 0 && husks == 0 {
        return None;
    }
    let mut line = format!("{} · {}: ", run.runtime, run.scenario);
    if run.heap_bytes > 0 {
        let _ = write!(line, "{} B not returned", count(run.heap_bytes as u64));
    } else {
        let _ = write!(
            line,
            "heap {} B below its start",
            count(run.heap_bytes.unsigned_abs())
        );
    }
    match (run.husks, run.husk_bytes, run.husks_with_handle) {
        (Some(0), _, _) => line.push_str("; no task cell is held, so none of it is a task's"),
        (Some(husks), Some(bytes), Some(with_handle)) => {
            let _ = write!(
                line,
                "; {} task cells ({} B) still held: {} by a JoinHandle not dropped yet, {} by \
                 Wakers kept elsewhere",
                count(husks),
                count(bytes),
                count(with_handle),
                count(husks - with_handle)
            );
            let outside = run.heap_bytes - bytes as i64;
            if outside != 0 {
                let _ = write!(
                    line,
                    "; {} B outside task cells",
                    count(outside.unsigned_abs())
                );
                if outside < 0 {
                    line.push_str(" freed below the start");
                }
            }
        }
        _ => {
            let _ = write!(line, "; {} does not say what holds them", run.runtime);
        }
    }
    Some(line)
}

/// The "why the heap is not back" report for `runs`, or `None` when every heap is back.
pub fn report(runs: &[Leftover]) -> Option<String> {
    let lines: Vec<String> = runs.iter().filter_map(explain).collect();
    if lines.is_empty() {
        return None;
    }
    let mut text = String::from("Why the heap is not back after shutdown:\n");
    for line in lines {
        let _ = writeln!(text, "  {line}");
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours(heap_bytes: i64, husks: u64, husk_bytes: u64, with_handle: u64) -> Leftover {
        Leftover {
            runtime: "ours",
            scenario: "no-cancel",
            heap_bytes,
            husks: Some(husks),
            husk_bytes: Some(husk_bytes),
            husks_with_handle: Some(with_handle),
        }
    }

    #[test]
    fn nothing_to_say_when_everything_is_back() {
        assert_eq!(explain(&ours(0, 0, 0, 0)), None);
        assert_eq!(report(&[ours(0, 0, 0, 0)]), None);
    }

    #[test]
    fn husks_are_split_by_holder_and_the_rest_is_outside_cells() {
        let line = explain(&ours(10_000, 100, 8_800, 60)).unwrap();
        assert_eq!(
            line,
            "ours · no-cancel: 10,000 B not returned; 100 task cells (8,800 B) still held: 60 by \
             a JoinHandle not dropped yet, 40 by Wakers kept elsewhere; 1,200 B outside task cells"
        );
    }

    #[test]
    fn bytes_with_no_cell_held_are_not_a_tasks() {
        let line = explain(&ours(4096, 0, 0, 0)).unwrap();
        assert!(
            line.ends_with("4,096 B not returned; no task cell is held, so none of it is a task's")
        );
    }

    #[test]
    fn a_peer_says_only_what_it_can() {
        let tokio = Leftover {
            runtime: "tokio",
            scenario: "cancel-each",
            heap_bytes: 1234,
            ..Leftover::default()
        };
        assert_eq!(
            explain(&tokio).unwrap(),
            "tokio · cancel-each: 1,234 B not returned; tokio does not say what holds them"
        );
        let text = report(&[ours(0, 0, 0, 0), tokio]).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(text.starts_with("Why the heap is not back after shutdown:"));
    }
}
