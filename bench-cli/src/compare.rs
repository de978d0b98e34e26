//! `--compare OLD.json`: every figure of this run against a report saved before, as criterion
//! compares against a saved baseline.
//!
//! Records are matched by scenario, runtime and N. For each figure the two reports share, the
//! comparison gives old, new and new ÷ old. The exact figures (bytes, counts, everything outside
//! `time`) must not move at all for the same code: any change is flagged. Times always move a
//! little, so a time is flagged only beyond [`TIME_NOISE`], and only the medians are (a mean,
//! a minimum, a maximum of a few microseconds move by more than that from run to run).
//!
//! The saved report must have this build's schema ([`SCHEMA_VERSION`]): figures that were
//! renamed or moved would otherwise be silently missing. A file that cannot be read, is not a
//! report, or has another schema is refused before any work (exit code 2).

use std::fs;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use crate::report::{Report, SCHEMA_VERSION};

/// A time is flagged when new ÷ old is beyond 1 ± this.
pub const TIME_NOISE: f64 = 0.10;

/// The figures shown for every record, changed or not (the others only when they change, or with
/// `--details`).
const HEADLINE: [&str; 5] = [
    "time.body.median_s",
    "time.total.median_s",
    "heap.peak_bytes",
    "heap.allocations_per_task",
    "heap.after_shutdown_bytes",
];

/// A report saved before, read and checked.
#[derive(Clone, Debug)]
pub struct Saved {
    /// The file, as given.
    pub path: String,
    /// Its JSON.
    pub report: Value,
}

/// This run against a saved report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Comparison {
    /// The saved report's file.
    pub against: String,
    /// The saved report's `meta.commit`, if it had one.
    pub old_commit: Option<String>,
    /// The saved report's `meta.date`.
    pub old_date: Option<String>,
    /// One per record of this run that the saved report also has.
    pub records: Vec<RecordComparison>,
    /// Records of this run the saved report does not have (`name/runtime/N`).
    pub unmatched: Vec<String>,
}

/// One record (scenario, runtime, N) against its saved counterpart.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RecordComparison {
    /// The scenario.
    pub name: String,
    /// The runtime.
    pub runtime: String,
    /// N.
    pub tasks: u64,
    /// Every numeric figure both have, in the report's order.
    pub figures: Vec<FigureChange>,
}

/// One figure, old and new.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FigureChange {
    /// Its dotted path in the record (`heap.peak_bytes`).
    pub figure: String,
    /// The saved value (`true` is 1).
    pub old: f64,
    /// This run's value.
    pub new: f64,
    /// new ÷ old; `None` when old is 0 (and new is not).
    pub ratio: Option<f64>,
    /// Whether the figure is exact (bytes, counts), not a time.
    pub exact: bool,
    /// An exact figure that changed, or a time beyond [`TIME_NOISE`].
    pub flagged: bool,
    /// Shown for every record (one of the headline figures).
    #[serde(skip)]
    pub headline: bool,
}

/// Reads and checks the saved report at `path`; the one-line reason if it cannot be used.
pub fn load(path: &Path) -> Result<Saved, String> {
    let shown = path.display();
    let text = fs::read_to_string(path)
        .map_err(|error| format!("error: cannot read --compare {shown}: {error}"))?;
    let report: Value = serde_json::from_str(&text).map_err(|error| {
        format!("error: --compare {shown} is not a JSON report of bench-cli: {error}")
    })?;
    let schema = report.get("schema_version").and_then(Value::as_u64);
    match schema {
        Some(version) if version == u64::from(SCHEMA_VERSION) => {}
        Some(version) => {
            return Err(format!(
                "error: --compare {shown} has schema {version}, this bench-cli reads schema \
                 {SCHEMA_VERSION}: run the old one again with this build"
            ));
        }
        None => {
            return Err(format!(
                "error: --compare {shown} is not a JSON report of bench-cli: no schema_version"
            ));
        }
    }
    if !report.get("scenarios").is_some_and(Value::is_array) {
        return Err(format!(
            "error: --compare {shown} is not a JSON report of bench-cli: no scenarios"
        ));
    }
    Ok(Saved {
        path: shown.to_string(),
        report,
    })
}

impl Saved {
    /// `report` against this saved one.
    pub fn compare(&self, report: &Report) -> Comparison {
        let old_records = self.report["scenarios"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut records = Vec::new();
        let mut unmatched = Vec::new();
        for record in &report.scenarios {
            let new = serde_json::to_value(record).expect("a record is JSON");
            let old = old_records.iter().find(|old| {
                old["name"] == new["name"]
                    && old["runtime"] == new["runtime"]
                    && old["n"] == new["n"]
            });
            match old {
                Some(old) => records.push(RecordComparison {
                    name: record.name.to_string(),
                    runtime: record.runtime.to_string(),
                    tasks: record.n,
                    figures: figures(old, &new),
                }),
                None => unmatched.push(format!("{}/{}/{}", record.name, record.runtime, record.n)),
            }
        }
        let meta = |field: &str| self.report["meta"][field].as_str().map(str::to_string);
        Comparison {
            against: self.path.clone(),
            old_commit: meta("commit"),
            old_date: meta("date"),
            records,
            unmatched,
        }
    }
}

impl Comparison {
    /// `commit 1a2b3c, 2026-12-03T08:00:00Z`: what the saved report says of itself.
    pub fn old_meta_line(&self) -> String {
        let commit = self.old_commit.as_deref().unwrap_or("no commit");
        let date = self.old_date.as_deref().unwrap_or("no date");
        format!("commit {commit}, {date}")
    }
}

/// Every numeric leaf both records have, compared.
fn figures(old: &Value, new: &Value) -> Vec<FigureChange> {
    let mut leaves = Vec::new();
    numeric_leaves("", new, &mut leaves);
    leaves
        .into_iter()
        .filter_map(|(figure, new)| {
            let old = number(old.pointer(&format!("/{}", figure.replace('.', "/")))?)?;
            let exact = !figure.starts_with("time.");
            let ratio = if old == new {
                Some(1.0)
            } else if old != 0.0 {
                Some(new / old)
            } else {
                None
            };
            let flagged = if exact {
                old != new
            } else {
                figure.ends_with(".median_s")
                    && ratio.is_none_or(|ratio| (ratio - 1.0).abs() > TIME_NOISE)
            };
            Some(FigureChange {
                headline: HEADLINE.contains(&figure.as_str()),
                figure,
                old,
                new,
                ratio,
                exact,
                flagged,
            })
        })
        .collect()
}

/// The numeric (and boolean) leaves of `value` by dotted path, leaving out what is not a figure
/// of the run: N itself, the list of every run's time, the ratios to ours.
fn numeric_leaves(prefix: &str, value: &Value, out: &mut Vec<(String, f64)>) {
    match value {
        Value::Object(fields) => {
            for (name, field) in fields {
                let path = if prefix.is_empty() {
                    name.clone()
                } else {
                    format!("{prefix}.{name}")
                };
                if matches!(path.as_str(), "n" | "ratio_to_ours") || name == "times_s" {
                    continue;
                }
                numeric_leaves(&path, field, out);
            }
        }
        other => {
            if let Some(value) = number(other) {
                out.push((prefix.to_string(), value));
            }
        }
    }
}

/// A number, or a boolean as 0 or 1.
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Bool(flag) => Some(f64::from(u8::from(*flag))),
        other => other.as_f64(),
    }
}

#[cfg(test)]
mod tests {
    use super::figures;
    use serde_json::json;

    #[test]
    fn an_exact_figure_that_moves_is_flagged_and_a_time_only_beyond_the_noise() {
        let old = json!({"time": {"body": {"median_s": 1.0, "times_s": [1.0], "min_s": 1.0}},
                         "heap": {"peak_bytes": 100, "after_shutdown_bytes": 0},
                         "verdict": {"heap_back_to_start": true}});
        let new = json!({"time": {"body": {"median_s": 1.05, "times_s": [1.05], "min_s": 2.0}},
                         "heap": {"peak_bytes": 101, "after_shutdown_bytes": 0},
                         "verdict": {"heap_back_to_start": true}});
        let changes = figures(&old, &new);
        let names: Vec<&str> = changes.iter().map(|c| c.figure.as_str()).collect();
        assert_eq!(
            names,
            [
                "time.body.median_s",
                "time.body.min_s",
                "heap.peak_bytes",
                "heap.after_shutdown_bytes",
                "verdict.heap_back_to_start"
            ]
        );
        let flagged: Vec<bool> = changes.iter().map(|c| c.flagged).collect();
        assert_eq!(
            flagged,
            [false, false, true, false, false],
            "only medians of times"
        );
        assert_eq!(changes[2].ratio, Some(1.01));

        let slower = json!({"time": {"body": {"median_s": 1.5}}});
        assert!(figures(&old, &slower)[0].flagged);
        let from_zero = json!({"heap": {"after_shutdown_bytes": 8}});
        let change = &figures(&old, &from_zero)[0];
        assert_eq!((change.ratio, change.flagged), (None, true));
    }
}
