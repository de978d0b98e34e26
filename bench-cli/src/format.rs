//! Printing a [`Report`] as a table, JSON, CSV or Markdown.
//!
//! - **JSON** is the report as it is (`serde`), with its schema version: the stable form.
//! - **CSV** is the same data, one line per scenario and runtime; its columns are the JSON
//!   fields, flattened to dotted names (`heap.peak_bytes`), so the two never drift apart.
//! - **table** and **Markdown** are for people: one line per figure, grouped in sections,
//!   numbers grouped by thousands. With one runtime, one column per scenario; with several, a
//!   table per scenario with one column per runtime and the ratios to ours. A figure a runtime
//!   does not expose is `–`.
//!
//! Rendering happens after every scenario has run, so its allocations are never measured.

use std::fmt::Write as _;

use clap::ValueEnum;
use comfy_table::{CellAlignment, ContentArrangement, Table, presets};
use serde_json::Value;

use crate::ledger::Moment;
use crate::report::{Ratios, Report, ScenarioReport, Spread};

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
        // An object that is `null` here (`after_cancel` for scenarios that cancel nothing,
        // `ratio_to_ours` for ours) gets the columns of its kind, empty, so that every line has
        // the same columns.
        Value::Null if null_object_template(prefix).is_some() => {
            let template = null_object_template(prefix).expect("checked above");
            let mut columns = Vec::new();
            flatten(prefix, &template, &mut columns);
            out.extend(columns.into_iter().map(|(key, _)| (key, String::new())));
        }
        Value::Null => out.push((prefix.to_string(), String::new())),
        Value::String(text) => out.push((prefix.to_string(), text.clone())),
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

/// The shape of the object that may stand at `path` as `null`, if one may.
fn null_object_template(path: &str) -> Option<Value> {
    if path.ends_with(".after_cancel") {
        Some(serde_json::to_value(Moment::default()).expect("a moment is JSON"))
    } else if path == "ratio_to_ours" {
        Some(serde_json::to_value(Ratios::default()).expect("ratios are JSON"))
    } else {
        None
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
//
// With one runtime, one table: a column per scenario. With several, a table per scenario: a
// column per runtime, and a section of ratios to ours.

/// One line of the human table: a label and one cell per column.
enum Line {
    /// A section title.
    Section(&'static str),
    /// A figure.
    Figure(&'static str, Vec<String>),
}

/// One table: its column headers and the records in its columns.
struct Block<'a> {
    /// A heading above the table (with several runtimes: the scenario), if any.
    heading: Option<String>,
    headers: Vec<String>,
    columns: Vec<&'a ScenarioReport>,
}

/// The tables of `report`.
fn blocks(report: &Report) -> Vec<Block<'_>> {
    if report.runtimes.len() <= 1 {
        return vec![Block {
            heading: None,
            headers: report
                .scenarios
                .iter()
                .map(|s| format!("{} ({})", s.name, s.alias))
                .collect(),
            columns: report.scenarios.iter().collect(),
        }];
    }
    let mut blocks: Vec<Block<'_>> = Vec::new();
    for record in &report.scenarios {
        match blocks.last_mut() {
            Some(block) if block.columns[0].name == record.name => {
                block.headers.push(record.runtime.to_string());
                block.columns.push(record);
            }
            _ => blocks.push(Block {
                heading: Some(format!(
                    "{} ({}): {}",
                    record.name, record.alias, record.summary
                )),
                headers: vec![record.runtime.to_string()],
                columns: vec![record],
            }),
        }
    }
    blocks
}

fn lines(columns: &[&ScenarioReport], repeated: bool) -> Vec<Line> {
    let each = |show: &dyn Fn(&ScenarioReport) -> String| -> Vec<String> {
        columns.iter().map(|s| show(s)).collect()
    };
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
    lines.push(Line::Figure(
        if repeated {
            "body + shutdown (median)"
        } else {
            "body + shutdown"
        },
        each(&|s| seconds(s.time.total.median_s)),
    ));

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
        each(&|s| maybe(s.heap.allocations)),
    ));
    lines.push(Line::Figure(
        "reallocations",
        each(&|s| maybe(s.heap.reallocations)),
    ));
    lines.push(Line::Figure("frees", each(&|s| maybe(s.heap.frees))));
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
        columns,
        |s| s.moments.after_cancel,
    );
    moment_lines(&mut lines, "after the executor's next tick", columns, |s| {
        Some(s.moments.after_tick)
    });
    moment_lines(&mut lines, "after shutdown", columns, |s| {
        Some(s.moments.after_shutdown)
    });

    lines.push(Line::Section("tasks, when the scenario returned"));
    lines.push(Line::Figure("spawned", each(&|s| count(s.tasks.spawned))));
    lines.push(Line::Figure(
        "polled at least once",
        each(&|s| count(s.tasks.polled)),
    ));
    lines.push(Line::Figure("polls", each(&|s| maybe(s.tasks.polls))));
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
        each(&|s| maybe(s.tasks.tasks_freed)),
    ));
    lines.push(Line::Figure("live", each(&|s| maybe(s.tasks.live_at_end))));
    lines.push(Line::Figure(
        "timers live",
        each(&|s| maybe(s.tasks.timers_live)),
    ));
    lines.push(Line::Figure(
        "registered in scheduler",
        each(&|s| count(s.tasks.registered_at_end)),
    ));
    lines.push(Line::Figure(
        "peak live (through shutdown)",
        each(&|s| maybe(s.tasks.peak_live)),
    ));
    lines.push(Line::Figure(
        "live after shutdown",
        each(&|s| maybe(s.tasks.live_after_shutdown)),
    ));

    lines.push(Line::Section("yields the scenario needed"));
    lines.push(Line::Figure(
        "to first-poll all works (total)",
        each(&|s| count(s.yields.start_total)),
    ));
    lines.push(Line::Figure(
        "to first-poll all works (most in one wait)",
        each(&|s| count(s.yields.start_most)),
    ));
    lines.push(Line::Figure(
        "to drop every cancelled future (the tick)",
        each(&|s| count(s.yields.catch_up)),
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

    if columns.iter().any(|s| s.ratio_to_ours.is_some()) {
        let ratio = |show: fn(&Ratios) -> Option<f64>| -> Vec<String> {
            columns
                .iter()
                .map(|s| match &s.ratio_to_ours {
                    Some(ratios) => times(show(ratios)),
                    None if s.runtime == "ours" => "1.00×".to_string(),
                    None => "–".to_string(),
                })
                .collect()
        };
        lines.push(Line::Section("ratio to ours (this runtime ÷ ours)"));
        lines.push(Line::Figure(
            if repeated {
                "body time (medians)"
            } else {
                "body time"
            },
            ratio(|r| Some(r.body_time)),
        ));
        lines.push(Line::Figure(
            if repeated {
                "body + shutdown time (medians)"
            } else {
                "body + shutdown time"
            },
            ratio(|r| Some(r.total_time)),
        ));
        lines.push(Line::Figure(
            "peak bytes per task",
            ratio(|r| r.peak_bytes_per_task),
        ));
        lines.push(Line::Figure(
            "allocations per task",
            ratio(|r| r.allocations_per_task),
        ));
    }
    lines
}

/// The lines of one moment: futures dropped, cells freed, live tasks, timers, husks and what
/// holds them, heap.
fn moment_lines(
    lines: &mut Vec<Line>,
    title: &'static str,
    columns: &[&ScenarioReport],
    moment: impl Fn(&ScenarioReport) -> Option<Moment>,
) {
    let each = |show: fn(Moment) -> String| -> Vec<String> {
        columns
            .iter()
            .map(|s| moment(s).map_or_else(|| "–".to_string(), show))
            .collect()
    };
    lines.push(Line::Section(title));
    lines.push(Line::Figure(
        "futures dropped",
        each(|m| count(m.futures_dropped)),
    ));
    lines.push(Line::Figure("cells freed", each(|m| maybe(m.tasks_freed))));
    lines.push(Line::Figure("live tasks", each(|m| maybe(m.live_tasks))));
    lines.push(Line::Figure("timers live", each(|m| maybe(m.timers_live))));
    lines.push(Line::Figure(
        "husks (future dropped, cell held)",
        each(|m| maybe(m.husks)),
    ));
    lines.push(Line::Figure("  their bytes", each(|m| maybe(m.husk_bytes))));
    lines.push(Line::Figure(
        "  held by a JoinHandle",
        each(|m| maybe(m.husks_with_handle)),
    ));
    lines.push(Line::Figure(
        "  held by wakers or a queue entry",
        each(|m| match (m.husks, m.husks_with_handle) {
            (Some(husks), Some(with_handle)) => count(husks - with_handle),
            _ => "–".to_string(),
        }),
    ));
    lines.push(Line::Figure(
        "heap above start (B)",
        each(|m| signed(m.heap_bytes)),
    ));
}

/// The line printed above the tables.
fn title(report: &Report) -> String {
    let several = report.runtimes.len() > 1;
    let mut title = format!(
        "bench-cli: runtime{} {}, N = {} tasks, {} run{} per scenario{}.",
        if several { "s" } else { "" },
        report.runtimes.join(", "),
        count(report.tasks),
        report.repeat,
        if report.repeat == 1 { "" } else { "s" },
        if several { " and runtime" } else { "" },
    );
    if report.runtimes == ["ours"] {
        title.push_str(
            " Bytes and counts are exact and the same on every run; heap figures are relative to \
             each scenario's start.",
        );
    } else {
        title.push_str(
            " Bytes and counts are exact; heap figures are relative to each scenario's start; – \
             is a figure the runtime does not expose.",
        );
        if report.runtimes.contains(&"ours") && several {
            title.push_str(" Ratios are this runtime ÷ ours: 2.00× is twice ours.");
        }
        if report.runtimes.contains(&"asyncio") {
            title.push_str(" asyncio's heap figures are tracemalloc's.");
        }
    }
    title
}

fn table(report: &Report) -> String {
    let mut text = format!("{}\n", title(report));
    for block in blocks(report) {
        let mut table = Table::new();
        let mut header = vec![String::new()];
        header.extend(block.headers.iter().cloned());
        table
            .load_style(presets::UTF8_FULL_CONDENSED)
            // Never wrap to the terminal's width: the same report prints the same everywhere.
            .set_content_arrangement(ContentArrangement::Disabled)
            .set_header(header);
        for line in lines(&block.columns, report.repeat > 1) {
            match line {
                Line::Section(title) => {
                    let mut row = vec![title.to_string()];
                    row.extend(block.columns.iter().map(|_| String::new()));
                    table.add_row(row);
                }
                Line::Figure(label, cells) => {
                    let mut row = vec![format!("  {label}")];
                    row.extend(cells);
                    table.add_row(row);
                }
            }
        }
        for index in 1..=block.columns.len() {
            if let Some(column) = table.column_mut(index) {
                column.set_cell_alignment(CellAlignment::Right);
            }
        }
        if let Some(heading) = &block.heading {
            let _ = write!(text, "\n{heading}\n");
        }
        let _ = writeln!(text, "{table}");
    }
    text
}

fn markdown(report: &Report) -> String {
    let mut text = format!("{}\n", title(report));
    for block in blocks(report) {
        text.push('\n');
        if let Some(heading) = &block.heading {
            let _ = writeln!(text, "### {heading}\n");
        }
        let mut header = vec![String::new()];
        header.extend(block.headers.iter().cloned());
        let _ = writeln!(text, "| {} |", header.join(" | "));
        let rule: Vec<&str> = header
            .iter()
            .enumerate()
            .map(|(index, _)| if index == 0 { "---" } else { "---:" })
            .collect();
        let _ = writeln!(text, "|{}|", rule.join("|"));
        for line in lines(&block.columns, report.repeat > 1) {
            match line {
                Line::Section(title) => {
                    let _ = writeln!(text, "| **{title}** |{}", " |".repeat(block.columns.len()));
                }
                Line::Figure(label, cells) => {
                    let _ = writeln!(text, "| {label} | {} |", cells.join(" | "));
                }
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

/// A count the runtime may not expose: `–` when it does not.
fn maybe(value: Option<u64>) -> String {
    value.map_or_else(|| "–".to_string(), count)
}

/// A ratio: `2.35×`, or `–` when there is none.
fn times(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_string(), |v| format!("{v:.2}×"))
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
