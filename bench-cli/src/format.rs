//! Printing a [`Report`] as a table, JSON, CSV or Markdown.
//!
//! - **JSON** is the report as it is (`serde`), with its schema version: the stable form.
//! - **CSV** is the same data, one line per scenario; its columns are the JSON fields, flattened
//!   to dotted names (`heap.peak_bytes`), so the two never drift apart.
//! - **table** and **Markdown** are for people: one column per scenario, one line per figure,
//!   grouped in sections, numbers grouped by thousands.
//!
//! Rendering happens after every scenario has run, so its allocations are never measured.

use std::fmt::Write as _;

use clap::ValueEnum;
use comfy_table::{CellAlignment, ContentArrangement, Table, presets};
use serde_json::Value;

use crate::ledger::Moment;
use crate::report::{Report, ScenarioReport, Spread};

/// An output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table for the terminal.
    Table,
    /// JSON, with a schema version.
    Json,
    /// CSV: a header line, then one line per scenario.
    Csv,
    /// A Markdown table.
    Markdown,
}

/// `report` in `format`, ending with a newline.
pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Json => json(report),
        Format::Csv => csv(report),
        Format::Table => table(report),
        Format::Markdown => markdown(report),
    }
}

fn json(report: &Report) -> String {
    let mut text = serde_json::to_string_pretty(report).expect("a report is always valid JSON");
    text.push('\n');
    text
}

// ---------------------------------------------------------------------------------------------
// CSV

fn csv(report: &Report) -> String {
    let mut records = Vec::new();
    for scenario in &report.scenarios {
        let mut record = vec![
            (
                "schema_version".to_string(),
                report.schema_version.to_string(),
            ),
            ("runtime".to_string(), report.runtime.to_string()),
            ("tasks".to_string(), report.tasks.to_string()),
            ("repeat".to_string(), report.repeat.to_string()),
        ];
        let value = serde_json::to_value(scenario).expect("a report is always valid JSON");
        flatten("", &value, &mut record);
        records.push(record);
    }
    let mut text = String::new();
    if let Some(first) = records.first() {
        let header: Vec<String> = first.iter().map(|(key, _)| csv_field(key)).collect();
        text.push_str(&header.join(","));
        text.push('\n');
    }
    for record in &records {
        let fields: Vec<String> = record.iter().map(|(_, value)| csv_field(value)).collect();
        text.push_str(&fields.join(","));
        text.push('\n');
    }
    text
}

/// Appends the leaves of `value` to `out`, named by their dotted path.
fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(fields) => {
            for (name, field) in fields {
                let path = if prefix.is_empty() {
                    name.clone()
                } else {
                    format!("{prefix}.{name}")
                };
                flatten(&path, field, out);
            }
        }
        // `after_cancel` is `null` for scenarios that cancel nothing: give it the columns of a
        // moment, empty, so that every line has the same columns.
        Value::Null if prefix.ends_with(".after_cancel") => {
            let template = serde_json::to_value(Moment::default()).expect("a moment is JSON");
            let mut columns = Vec::new();
            flatten(prefix, &template, &mut columns);
            out.extend(columns.into_iter().map(|(key, _)| (key, String::new())));
        }
        Value::Null => out.push((prefix.to_string(), String::new())),
        Value::String(text) => out.push((prefix.to_string(), text.clone())),
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

/// Quotes a CSV field when it holds a comma, a quote or a line break (RFC 4180).
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

// ---------------------------------------------------------------------------------------------
// Table and Markdown: the same lines, in two notations.

/// One line of the human table: a label and one cell per scenario.
enum Line {
    /// A section title.
    Section(&'static str),
    /// A figure.
    Figure(&'static str, Vec<String>),
}

fn lines(report: &Report) -> Vec<Line> {
    let scenarios = &report.scenarios;
    let each = |show: &dyn Fn(&ScenarioReport) -> String| -> Vec<String> {
        scenarios.iter().map(show).collect()
    };
    let repeated = report.repeat > 1;
    let mut lines = Vec::new();

    lines.push(Line::Section("wall time"));
    lines.push(Line::Figure(
        if repeated { "body (median)" } else { "body" },
        each(&|s| seconds(s.time.body.median_s)),
    ));
    if repeated {
        lines.push(Line::Figure(
            "body (min…max)",
            each(&|s| range(s.time.body)),
        ));
    }
    lines.push(Line::Figure(
        if repeated {
            "shutdown (median)"
        } else {
            "shutdown"
        },
        each(&|s| seconds(s.time.shutdown.median_s)),
    ));
    if repeated {
        lines.push(Line::Figure(
            "shutdown (min…max)",
            each(&|s| range(s.time.shutdown)),
        ));
    }

    lines.push(Line::Section("heap, bytes above the scenario's start"));
    lines.push(Line::Figure(
        "at end",
        each(&|s| signed(s.heap.at_end_bytes)),
    ));
    lines.push(Line::Figure("peak", each(&|s| count(s.heap.peak_bytes))));
    lines.push(Line::Figure(
        "after shutdown",
        each(&|s| signed(s.heap.after_shutdown_bytes)),
    ));
    lines.push(Line::Figure(
        "allocations",
        each(&|s| count(s.heap.allocations)),
    ));
    lines.push(Line::Figure(
        "reallocations",
        each(&|s| count(s.heap.reallocations)),
    ));
    lines.push(Line::Figure("frees", each(&|s| count(s.heap.frees))));
    lines.push(Line::Figure(
        "allocations per task",
        each(&|s| per_task(s.heap.allocations_per_task)),
    ));
    lines.push(Line::Figure(
        "peak bytes per task",
        each(&|s| per_task(s.heap.peak_bytes_per_task)),
    ));

    moment_lines(
        &mut lines,
        "right after unregister() / stop() returned",
        scenarios,
        |s| s.moments.after_cancel,
    );
    moment_lines(
        &mut lines,
        "after the executor's next tick",
        scenarios,
        |s| Some(s.moments.after_tick),
    );
    moment_lines(&mut lines, "after shutdown", scenarios, |s| {
        Some(s.moments.after_shutdown)
    });

    lines.push(Line::Section("tasks, when the scenario returned"));
    lines.push(Line::Figure("spawned", each(&|s| count(s.tasks.spawned))));
    lines.push(Line::Figure(
        "polled at least once",
        each(&|s| count(s.tasks.polled)),
    ));
    lines.push(Line::Figure("polls", each(&|s| count(s.tasks.polls))));
    lines.push(Line::Figure(
        "cancels requested",
        each(&|s| count(s.tasks.cancels_requested)),
    ));
    lines.push(Line::Figure(
        "cancelled (future dropped)",
        each(&|s| count(s.tasks.cancelled)),
    ));
    lines.push(Line::Figure(
        "futures dropped",
        each(&|s| count(s.tasks.futures_dropped)),
    ));
    lines.push(Line::Figure(
        "cells freed",
        each(&|s| count(s.tasks.tasks_freed)),
    ));
    lines.push(Line::Figure("live", each(&|s| count(s.tasks.live_at_end))));
    lines.push(Line::Figure(
        "timers live",
        each(&|s| count(s.tasks.timers_live)),
    ));
    lines.push(Line::Figure(
        "registered in scheduler",
        each(&|s| count(s.tasks.registered_at_end)),
    ));
    lines.push(Line::Figure(
        "peak live (through shutdown)",
        each(&|s| count(s.tasks.peak_live)),
    ));
    lines.push(Line::Figure(
        "live after shutdown",
        each(&|s| count(s.tasks.live_after_shutdown)),
    ));

    lines.push(Line::Section("verdict"));
    lines.push(Line::Figure(
        "heap back to start after shutdown",
        each(&|s| {
            if s.verdict.heap_back_to_start {
                "yes".to_string()
            } else {
                format!(
                    "no: {} B not returned",
                    signed(s.verdict.bytes_not_returned)
                )
            }
        }),
    ));
    if repeated {
        lines.push(Line::Figure(
            "same counts in every run",
            each(&|s| yes_no(s.repeats_identical)),
        ));
    }
    lines
}

/// The lines of one moment: futures dropped, cells freed, live tasks, timers, heap.
fn moment_lines(
    lines: &mut Vec<Line>,
    title: &'static str,
    scenarios: &[ScenarioReport],
    moment: impl Fn(&ScenarioReport) -> Option<Moment>,
) {
    let each = |show: fn(Moment) -> String| -> Vec<String> {
        scenarios
            .iter()
            .map(|s| moment(s).map_or_else(|| "–".to_string(), show))
            .collect()
    };
    lines.push(Line::Section(title));
    lines.push(Line::Figure(
        "futures dropped",
        each(|m| count(m.futures_dropped)),
    ));
    lines.push(Line::Figure("cells freed", each(|m| count(m.tasks_freed))));
    lines.push(Line::Figure("live tasks", each(|m| count(m.live_tasks))));
    lines.push(Line::Figure("timers live", each(|m| count(m.timers_live))));
    lines.push(Line::Figure(
        "heap above start (B)",
        each(|m| signed(m.heap_bytes)),
    ));
}

/// The line printed above the table.
fn title(report: &Report) -> String {
    format!(
        "bench-cli: runtime {}, N = {} tasks, {} run{} per scenario. Bytes and counts are exact \
         and the same on every run; heap figures are relative to each scenario's start.",
        report.runtime,
        count(report.tasks),
        report.repeat,
        if report.repeat == 1 { "" } else { "s" },
    )
}

fn header(report: &Report) -> Vec<String> {
    let mut header = vec![String::new()];
    header.extend(
        report
            .scenarios
            .iter()
            .map(|s| format!("{} ({})", s.name, s.alias)),
    );
    header
}

fn table(report: &Report) -> String {
    let mut table = Table::new();
    table
        .load_style(presets::UTF8_FULL_CONDENSED)
        // Never wrap to the terminal's width: the same report prints the same everywhere.
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header(report));
    for line in lines(report) {
        match line {
            Line::Section(title) => {
                let mut row = vec![title.to_string()];
                row.extend(report.scenarios.iter().map(|_| String::new()));
                table.add_row(row);
            }
            Line::Figure(label, cells) => {
                let mut row = vec![format!("  {label}")];
                row.extend(cells);
                table.add_row(row);
            }
        }
    }
    for index in 1..=report.scenarios.len() {
        if let Some(column) = table.column_mut(index) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    format!("{}\n{table}\n", title(report))
}

fn markdown(report: &Report) -> String {
    let mut text = format!("{}\n\n", title(report));
    let header = header(report);
    let _ = writeln!(text, "| {} |", header.join(" | "));
    let rule: Vec<&str> = header
        .iter()
        .enumerate()
        .map(|(index, _)| if index == 0 { "---" } else { "---:" })
        .collect();
    let _ = writeln!(text, "|{}|", rule.join("|"));
    for line in lines(report) {
        match line {
            Line::Section(title) => {
                let _ = writeln!(
                    text,
                    "| **{title}** |{}",
                    " |".repeat(report.scenarios.len())
                );
            }
            Line::Figure(label, cells) => {
                let _ = writeln!(text, "| {label} | {} |", cells.join(" | "));
            }
        }
    }
    text
}

// ---------------------------------------------------------------------------------------------
// Numbers for people.

/// `1234567` as `1,234,567`.
pub fn count(value: u64) -> String {
    let digits = value.to_string();
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// A signed byte count, grouped: `-1,024`.
fn signed(value: i64) -> String {
    if value < 0 {
        format!("-{}", count(value.unsigned_abs()))
    } else {
        count(value as u64)
    }
}

fn per_task(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_string(), |v| format!("{v:.2}"))
}

fn seconds(value: f64) -> String {
    if value < 1e-3 {
        format!("{:.1} µs", value * 1e6)
    } else if value < 1.0 {
        format!("{:.2} ms", value * 1e3)
    } else {
        format!("{value:.3} s")
    }
}

fn range(spread: Spread) -> String {
    format!("{} … {}", seconds(spread.min_s), seconds(spread.max_s))
}

fn yes_no(value: bool) -> String {
    if value { "yes" } else { "no" }.to_string()
}

#[cfg(test)]
mod tests {
    use super::{count, csv_field, signed};

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(100_000), "100,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(signed(-1024), "-1,024");
    }

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("cancel-each"), "cancel-each");
        assert_eq!(csv_field("a, b"), "\"a, b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
