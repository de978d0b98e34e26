//! Printing a [`Report`] as a table, JSON, CSV or Markdown.
//!
//! - **JSON** is the report as it is (`serde`), with its schema version: the stable form.
//! - **CSV** is the same data, one line per record (N, scenario and runtime); its columns are the
//!   JSON fields, flattened to dotted names (`heap.peak_bytes`), so the two never drift apart.
//! - **table** and **Markdown** are for people. By default a **compact view**: per scenario the
//!   wall time, allocations per task, the runtime's fixed cost and the bytes each task adds, the
//!   heap at three moments and the verdict. With `--details`, **every figure**, one line each,
//!   grouped in sections. With one runtime, one column per scenario; with several, a table per
//!   scenario with one column per runtime and the ratios to ours. A figure a runtime does not
//!   expose is `–`. After them, with several N, the growth table; with `--compare`, the ratios
//!   to the saved report.
//!
//! A table is never wider than its [`View::width`]: comfy-table's dynamic arrangement wraps
//! cells to fit, and the title is wrapped too.
//!
//! Rendering happens after every scenario has run, so its allocations are never measured.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::Path;

use clap::ValueEnum;
use comfy_table::{CellAlignment, ContentArrangement, Table, presets};
use serde_json::Value;

use crate::compare::{Comparison, FigureChange};
use crate::ledger::{GcFigures, Moment};
use crate::meta::DEBUG_BUILD;
use crate::report::{Growth, Ratios, Report, ScenarioReport, Spread};

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

impl Format {
    /// The format's name, as `--format` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Markdown => "markdown",
        }
    }

    /// The format a file's extension names (any case): `.json`, `.csv`, `.md` or `.markdown`,
    /// `.txt`; `None` for any other (or none).
    pub fn from_extension(path: &Path) -> Option<Format> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            "md" | "markdown" => Some(Format::Markdown),
            "txt" => Some(Format::Table),
            _ => None,
        }
    }
}

/// How the human formats are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct View {
    /// Every figure (`--details`), or the compact view.
    pub details: bool,
    /// The widest a line of a table may be, in columns.
    pub width: usize,
}

/// The width when standard output is not a terminal (a pipe, a file).
pub const PLAIN_WIDTH: usize = 80;

/// The narrowest width a table is squeezed to.
const NARROWEST: usize = 40;

impl View {
    /// The view for standard output: as wide as the terminal when it is one (`COLUMNS` when set,
    /// else what the terminal says), and never wider than [`PLAIN_WIDTH`] when it is not.
    pub fn for_stdout(details: bool) -> View {
        let columns = std::env::var("COLUMNS")
            .ok()
            .and_then(|text| text.trim().parse::<usize>().ok())
            .filter(|&columns| columns > 0);
        let width = if std::io::stdout().is_terminal() {
            columns
                .or_else(|| terminal_size::terminal_size().map(|(w, _)| usize::from(w.0)))
                .unwrap_or(PLAIN_WIDTH)
        } else {
            columns.map_or(PLAIN_WIDTH, |columns| columns.min(PLAIN_WIDTH))
        };
        View {
            details,
            width: width.max(NARROWEST),
        }
    }

    /// The view for a file: [`PLAIN_WIDTH`] wide.
    pub fn for_file(details: bool) -> View {
        View {
            details,
            width: PLAIN_WIDTH,
        }
    }
}

/// `report` in `format`, ending with a newline.
pub fn render(report: &Report, format: Format, view: View) -> String {
    match format {
        Format::Json => json(report),
        Format::Csv => csv(report),
        Format::Table => table(report, view),
        Format::Markdown => markdown(report, view),
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
            ("tasks".to_string(), scenario.n.to_string()),
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
        // `times_s`: every run's time, in one field, separated by semicolons.
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(Value::to_string).collect();
            out.push((prefix.to_string(), items.join(";")));
        }
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

/// The shape of the object that may stand at `path` as `null`, if one may.
fn null_object_template(path: &str) -> Option<Value> {
    if path.ends_with(".after_cancel") || path.ends_with(".after_release") {
        Some(serde_json::to_value(Moment::default()).expect("a moment is JSON"))
    } else if path == "gc" {
        let none = GcFigures {
            threshold: [0; 3],
            count_before: [0; 3],
            count_after: [0; 3],
            collected: 0,
        };
        Some(serde_json::to_value(none).expect("GC figures are JSON"))
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
// With one runtime, a table per N: a column per scenario. With several, a table per N and
// scenario: a column per runtime, and a section of ratios to ours.

/// One line of the human table: a label and one cell per column.
enum Line {
    /// A section title.
    Section(&'static str),
    /// A figure.
    Figure(&'static str, Vec<String>),
}

/// One table: its column headers and the records in its columns.
struct Block<'a> {
    /// A heading above the table (with several runtimes: the scenario; in a sweep: N), if any.
    heading: Option<String>,
    headers: Vec<String>,
    columns: Vec<&'a ScenarioReport>,
}

/// The tables of `report`.
fn blocks(report: &Report) -> Vec<Block<'_>> {
    let several = report.runtimes.len() > 1;
    let sweep = report.sweep.len() > 1;
    let mut blocks: Vec<Block<'_>> = Vec::new();
    for record in &report.scenarios {
        let header = if several {
            record.runtime.to_string()
        } else {
            match record.alias {
                Some(alias) => format!("{}\n{alias}", record.name),
                None => record.name.to_string(),
            }
        };
        match blocks.last_mut() {
            Some(block)
                if block.columns[0].n == record.n
                    && (!several || block.columns[0].name == record.name) =>
            {
                block.headers.push(header);
                block.columns.push(record);
            }
            _ => {
                let n = format!("N = {}", count(record.n));
                let heading = match (several, sweep) {
                    (true, _) => Some(format!(
                        "{}{}{}: {}",
                        record.name,
                        record.alias.map(|a| format!(" ({a})")).unwrap_or_default(),
                        if sweep {
                            format!(", {n}")
                        } else {
                            String::new()
                        },
                        record.summary
                    )),
                    (false, true) => Some(n),
                    (false, false) => None,
                };
                blocks.push(Block {
                    heading,
                    headers: vec![header],
                    columns: vec![record],
                });
            }
        }
    }
    blocks
}

/// The compact view's lines: time, allocations, the fixed cost apart from the bytes per task,
/// the heap at three moments, the verdict.
fn compact_lines(columns: &[&ScenarioReport], repeated: bool) -> Vec<Line> {
    let each = |show: &dyn Fn(&ScenarioReport) -> String| -> Vec<String> {
        columns.iter().map(|s| show(s)).collect()
    };
    let mut lines = vec![Line::Section("wall time")];
    if repeated {
        lines.push(Line::Figure(
            "body (mean)",
            each(&|s| seconds(s.time.body.mean_s)),
        ));
        lines.push(Line::Figure("  ± σ", each(&|s| sigma(&s.time.body))));
        lines.push(Line::Figure(
            "shutdown (mean)",
            each(&|s| seconds(s.time.shutdown.mean_s)),
        ));
    } else {
        lines.push(Line::Figure("body", each(&|s| seconds(s.time.body.mean_s))));
        lines.push(Line::Figure(
            "shutdown",
            each(&|s| seconds(s.time.shutdown.mean_s)),
        ));
    }
    lines.push(Line::Section("heap"));
    lines.push(Line::Figure(
        "allocations / task",
        each(&|s| per_task(s.heap.figures.allocations_per_task)),
    ));
    lines.push(Line::Figure(
        "fixed cost (B)",
        each(&|s| maybe(s.heap.fixed_bytes)),
    ));
    lines.push(Line::Figure(
        "bytes / task",
        each(&|s| per_task(s.heap.marginal_bytes_per_task)),
    ));
    lines.push(Line::Figure(
        "at end (B)",
        each(&|s| signed(s.heap.figures.at_end_bytes)),
    ));
    lines.push(Line::Figure(
        "after tick (B)",
        each(&|s| signed(s.moments.after_tick.heap_bytes)),
    ));
    lines.push(Line::Figure(
        "after shutdown (B)",
        each(&|s| signed(s.heap.figures.after_shutdown_bytes)),
    ));
    if columns.iter().any(|s| s.moments.after_release.is_some()) {
        lines.push(Line::Section("husks"));
        lines.push(Line::Figure(
            "after tick",
            each(&|s| maybe(s.moments.after_tick.husks)),
        ));
        lines.push(Line::Figure(
            "bytes they hold",
            each(&|s| maybe(s.moments.after_tick.husk_bytes)),
        ));
        lines.push(Line::Figure(
            "after release (B)",
            each(&|s| {
                s.moments
                    .after_release
                    .map_or_else(|| "–".to_string(), |m| signed(m.heap_bytes))
            }),
        ));
    }
    if columns.iter().any(|s| s.name == "timeout") {
        lines.push(Line::Section("timer entries"));
        lines.push(Line::Figure(
            "live at end",
            each(&|s| maybe(s.moments.at_end.timers_live)),
        ));
    }
    if columns.iter().any(|s| s.gc.is_some()) {
        lines.push(Line::Section("garbage collector"));
        lines.push(Line::Figure("gc.collect() found", each(&gc_collected)));
    }
    lines.push(Line::Section("verdict"));
    lines.push(Line::Figure("heap back to start", each(&verdict)));
    if columns.iter().any(|s| s.ratio_to_ours.is_some()) {
        lines.push(Line::Section("÷ ours"));
        lines.push(Line::Figure(
            if repeated { "body (medians)" } else { "body" },
            ratios(columns, |r| Some(r.body_time)),
        ));
        lines.push(Line::Figure(
            "peak bytes / task",
            ratios(columns, |r| r.peak_bytes_per_task),
        ));
    }
    lines
}

/// The verdict in a cell: `yes`, or the bytes not returned (marked when they are the lesson).
fn verdict(s: &ScenarioReport) -> String {
    if s.verdict.heap_back_to_start {
        "yes".to_string()
    } else if s.verdict.leak_is_the_lesson {
        format!("lesson: {} B", signed(s.verdict.bytes_not_returned))
    } else {
        format!("no: {} B", signed(s.verdict.bytes_not_returned))
    }
}

/// What the collector found: a count, or `no GC` for a runtime without one.
fn gc_collected(s: &ScenarioReport) -> String {
    s.gc.map_or_else(|| "no GC".to_string(), |gc| count(gc.collected))
}

/// A `gc.get_count()` triple, or `no GC`.
fn gc_triple(s: &ScenarioReport, pick: fn(&GcFigures) -> [u64; 3]) -> String {
    s.gc.map_or_else(
        || "no GC".to_string(),
        |gc| {
            let [a, b, c] = pick(&gc);
            format!("{a}, {b}, {c}")
        },
    )
}

/// One ratio to ours per column: `1.00×` for ours itself, `–` where there is none.
fn ratios(columns: &[&ScenarioReport], show: fn(&Ratios) -> Option<f64>) -> Vec<String> {
    columns
        .iter()
        .map(|s| match &s.ratio_to_ours {
            Some(ratios) => times(show(ratios)),
            None if s.runtime == "ours" => "1.00×".to_string(),
            None => "–".to_string(),
        })
        .collect()
}

/// Every figure (`--details`).
fn detail_lines(columns: &[&ScenarioReport], repeated: bool) -> Vec<Line> {
    let each = |show: &dyn Fn(&ScenarioReport) -> String| -> Vec<String> {
        columns.iter().map(|s| show(s)).collect()
    };
    let mut lines = Vec::new();

    lines.push(Line::Section("wall time"));
    for (label, pick) in [
        ("body", (|s| &s.time.body) as fn(&ScenarioReport) -> &Spread),
        ("shutdown", |s| &s.time.shutdown),
        ("body + shutdown", |s| &s.time.total),
    ] {
        if repeated {
            lines.push(Line::Figure(label, Vec::new()));
            lines.push(Line::Figure("  mean", each(&|s| seconds(pick(s).mean_s))));
            lines.push(Line::Figure("  ± σ", each(&|s| sigma(pick(s)))));
            lines.push(Line::Figure(
                "  median",
                each(&|s| seconds(pick(s).median_s)),
            ));
            lines.push(Line::Figure("  min…max", each(&|s| range(pick(s)))));
        } else {
            lines.push(Line::Figure(label, each(&|s| seconds(pick(s).median_s))));
        }
    }

    lines.push(Line::Section("heap, bytes above the scenario's start"));
    lines.push(Line::Figure(
        "at end",
        each(&|s| signed(s.heap.figures.at_end_bytes)),
    ));
    lines.push(Line::Figure(
        "peak",
        each(&|s| count(s.heap.figures.peak_bytes)),
    ));
    lines.push(Line::Figure(
        "after shutdown",
        each(&|s| signed(s.heap.figures.after_shutdown_bytes)),
    ));
    lines.push(Line::Figure(
        "allocations",
        each(&|s| maybe(s.heap.figures.allocations)),
    ));
    lines.push(Line::Figure(
        "reallocations",
        each(&|s| maybe(s.heap.figures.reallocations)),
    ));
    lines.push(Line::Figure(
        "frees",
        each(&|s| maybe(s.heap.figures.frees)),
    ));
    lines.push(Line::Figure(
        "allocations per task",
        each(&|s| per_task(s.heap.figures.allocations_per_task)),
    ));
    lines.push(Line::Figure(
        "peak bytes per task",
        each(&|s| per_task(s.heap.figures.peak_bytes_per_task)),
    ));
    lines.push(Line::Figure(
        "fixed cost (B)",
        each(&|s| maybe(s.heap.fixed_bytes)),
    ));
    lines.push(Line::Figure(
        "per task above fixed",
        each(&|s| per_task(s.heap.marginal_bytes_per_task)),
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
    if columns.iter().any(|s| s.moments.after_release.is_some()) {
        moment_lines(
            &mut lines,
            "after the registry released the parked wakers",
            columns,
            |s| s.moments.after_release,
        );
    }
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

    if columns.iter().any(|s| s.gc.is_some()) {
        lines.push(Line::Section("garbage collector, at shutdown"));
        lines.push(Line::Figure(
            "threshold",
            each(&|s| gc_triple(s, |gc| gc.threshold)),
        ));
        lines.push(Line::Figure(
            "gc.get_count() before",
            each(&|s| gc_triple(s, |gc| gc.count_before)),
        ));
        lines.push(Line::Figure("gc.collect() found", each(&gc_collected)));
        lines.push(Line::Figure(
            "gc.get_count() after",
            each(&|s| gc_triple(s, |gc| gc.count_after)),
        ));
    }

    lines.push(Line::Section("verdict"));
    lines.push(Line::Figure(
        "heap back to start after shutdown",
        each(&verdict),
    ));
    if repeated {
        lines.push(Line::Figure(
            "same counts in every run",
            each(&|s| yes_no(s.repeats_identical)),
        ));
    }

    if columns.iter().any(|s| s.ratio_to_ours.is_some()) {
        lines.push(Line::Section("ratio to ours (this runtime ÷ ours)"));
        lines.push(Line::Figure(
            if repeated {
                "body time (medians)"
            } else {
                "body time"
            },
            ratios(columns, |r| Some(r.body_time)),
        ));
        lines.push(Line::Figure(
            if repeated {
                "body + shutdown time (medians)"
            } else {
                "body + shutdown time"
            },
            ratios(columns, |r| Some(r.total_time)),
        ));
        lines.push(Line::Figure(
            "peak bytes per task",
            ratios(columns, |r| r.peak_bytes_per_task),
        ));
        lines.push(Line::Figure(
            "allocations per task",
            ratios(columns, |r| r.allocations_per_task),
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
    lines.push(Line::Figure("husks", each(|m| maybe(m.husks))));
    lines.push(Line::Figure(
        "bytes the husks hold",
        each(|m| maybe(m.husk_bytes)),
    ));
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

/// The text printed above the tables.
fn title(report: &Report, view: View) -> String {
    let several = report.runtimes.len() > 1;
    let tasks: Vec<String> = report.sweep.iter().map(|&n| count(n)).collect();
    let mut title = String::new();
    let _ = write!(
        title,
        "bench-cli: runtime{} {}, N = {} tasks, {} run{} per scenario{} (after a probe on {} \
         tasks{}).",
        if several { "s" } else { "" },
        report.runtimes.join(", "),
        tasks.join(", "),
        report.repeat,
        if report.repeat == 1 { "" } else { "s" },
        if several { " and runtime" } else { "" },
        count(report.warmup.probe_tasks.min(report.tasks)),
        match report.warmup.runs {
            0 => String::new(),
            1 => " and 1 warm-up run".to_string(),
            runs => format!(" and {runs} warm-up runs"),
        },
    );
    if report.runtimes == ["ours"] {
        title.push_str(" Bytes and counts are exact and the same on every run;");
    } else {
        title.push_str(" Bytes and counts are exact; – is a figure the runtime does not expose;");
    }
    title.push_str(" heap figures are bytes above each scenario's start.");
    if !view.details {
        title.push_str(
            " Bytes / task: the peak minus the runtime's fixed cost, per task. --details shows \
             every figure.",
        );
    }
    if report.runtimes.contains(&"ours") && several {
        title.push_str(" ÷ ours: this runtime ÷ ours, 2.00× is twice ours.");
    }
    if report.runtimes.contains(&"asyncio") {
        title.push_str(" asyncio's heap figures are tracemalloc's.");
    }
    if report.cancel != "next-tick" {
        let _ = write!(
            title,
            " Cancel: {} (cancel_now: the future is dropped inside the call).",
            report.cancel
        );
    }
    if !report.not_applicable.is_empty() {
        let _ = write!(
            title,
            " n/a (no eager cancel in that runtime, so not run): {}.",
            report.not_applicable.join(", ")
        );
    }
    title
}

/// `text` wrapped to `width` columns.
fn wrapped(text: &str, width: usize) -> String {
    textwrap::fill(text, width)
}

fn lines_of(block: &Block<'_>, report: &Report, view: View) -> Vec<Line> {
    if view.details {
        detail_lines(&block.columns, report.repeat > 1)
    } else {
        compact_lines(&block.columns, report.repeat > 1)
    }
}

/// A comfy-table no wider than `width`, cells wrapped to fit.
fn new_table(header: Vec<String>, width: usize) -> Table {
    let mut table = Table::new();
    table
        .load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(u16::try_from(width).unwrap_or(u16::MAX))
        .set_header(header);
    table
}

fn right_align_from(table: &mut Table, first: usize, columns: usize) {
    for index in first..columns {
        if let Some(column) = table.column_mut(index) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
}

/// The loud first line of a debug build's report.
const DEBUG_LINE: &str = "DEBUG BUILD: these times mean nothing (bytes and counts still hold); \
                          build with --release.";

fn table(report: &Report, view: View) -> String {
    let mut text = String::new();
    if DEBUG_BUILD {
        let _ = writeln!(text, "{}", wrapped(DEBUG_LINE, view.width));
    }
    let _ = writeln!(text, "{}", wrapped(&title(report, view), view.width));
    for block in blocks(report) {
        let mut header = vec![String::new()];
        header.extend(block.headers.iter().cloned());
        let mut table = new_table(header, view.width);
        for line in lines_of(&block, report, view) {
            match line {
                Line::Section(title) => {
                    let mut row = vec![title.to_string()];
                    row.extend(block.columns.iter().map(|_| String::new()));
                    table.add_row(row);
                }
                Line::Figure(label, cells) => {
                    let mut row = vec![format!("  {label}")];
                    row.extend(cells);
                    row.resize(block.columns.len() + 1, String::new());
                    table.add_row(row);
                }
            }
        }
        right_align_from(&mut table, 1, block.columns.len() + 1);
        if let Some(heading) = &block.heading {
            let _ = write!(text, "\n{}\n", wrapped(heading, view.width));
        }
        let _ = writeln!(text, "{table}");
    }
    if let Some(growth) = &report.growth {
        let _ = write!(
            text,
            "\n{}\n",
            wrapped(
                "Growth with N: time and bytes per task (medians; × first: total time per task \
                 ÷ that at the first N).",
                view.width
            )
        );
        let (header, rows) = growth_rows(growth, report.runtimes.len() > 1);
        let mut table = new_table(header, view.width);
        for row in rows {
            table.add_row(row);
        }
        right_align_from(&mut table, 1, 7);
        let _ = writeln!(text, "{table}");
    }
    if let Some(comparison) = &report.comparison {
        let _ = write!(
            text,
            "\n{}\n",
            wrapped(&comparison_title(comparison), view.width)
        );
        let (header, rows) = comparison_rows(comparison, view.details);
        let mut table = new_table(header, view.width);
        for row in rows {
            table.add_row(row);
        }
        right_align_from(&mut table, 1, 4);
        let _ = writeln!(text, "{table}");
    }
    text
}

fn markdown(report: &Report, view: View) -> String {
    let mut text = String::new();
    if DEBUG_BUILD {
        let _ = writeln!(text, "**{DEBUG_LINE}**\n");
    }
    let _ = writeln!(text, "{}", title(report, view));
    for block in blocks(report) {
        text.push('\n');
        if let Some(heading) = &block.heading {
            let _ = writeln!(text, "### {heading}\n");
        }
        let mut header = vec![String::new()];
        header.extend(block.headers.iter().map(|h| h.replace('\n', " ")));
        let _ = writeln!(text, "| {} |", header.join(" | "));
        let _ = writeln!(text, "|{}|", markdown_rule(header.len(), 1));
        for line in lines_of(&block, report, view) {
            match line {
                Line::Section(title) => {
                    let _ = writeln!(text, "| **{title}** |{}", " |".repeat(block.columns.len()));
                }
                Line::Figure(label, mut cells) => {
                    cells.resize(block.columns.len(), String::new());
                    let _ = writeln!(text, "| {} | {} |", label.trim(), cells.join(" | "));
                }
            }
        }
    }
    if let Some(growth) = &report.growth {
        text.push_str("\n### Growth with N\n\n");
        let (header, rows) = growth_rows(growth, report.runtimes.len() > 1);
        markdown_table(&mut text, &header, &rows, 2);
    }
    if let Some(comparison) = &report.comparison {
        let _ = write!(text, "\n### {}\n\n", comparison_title(comparison));
        let (header, rows) = comparison_rows(comparison, view.details);
        markdown_table(&mut text, &header, &rows, 1);
    }
    text
}

/// `|---|---:|…`: the first `left` columns left-aligned, the rest right-aligned.
fn markdown_rule(columns: usize, left: usize) -> String {
    let rule: Vec<&str> = (0..columns)
        .map(|index| if index < left { "---" } else { "---:" })
        .collect();
    rule.join("|")
}

fn markdown_table(text: &mut String, header: &[String], rows: &[Vec<String>], left: usize) {
    let flat = |cells: &[String]| -> Vec<String> {
        cells.iter().map(|cell| cell.replace('\n', " ")).collect()
    };
    let _ = writeln!(text, "| {} |", flat(header).join(" | "));
    let _ = writeln!(text, "|{}|", markdown_rule(header.len(), left));
    for row in rows {
        let _ = writeln!(text, "| {} |", flat(row).join(" | "));
    }
}

/// The growth table: a row per scenario (and runtime) and N.
fn growth_rows(growth: &[Growth], several: bool) -> (Vec<String>, Vec<Vec<String>>) {
    let header = [
        "scenario",
        "N",
        "body\nns/task",
        "total\nns/task",
        "×\nfirst",
        "peak\nB/task",
        "allocs\n/task",
    ]
    .map(String::from)
    .to_vec();
    let mut rows = Vec::new();
    for line in growth {
        let first = line.points.first().and_then(|p| p.total_ns_per_task);
        for (index, point) in line.points.iter().enumerate() {
            let label = match (index, several) {
                (0, true) => format!("{} {}", line.name, line.runtime),
                (0, false) => line.name.to_string(),
                _ => String::new(),
            };
            let ratio = match (point.total_ns_per_task, first) {
                (Some(now), Some(first)) if first > 0.0 => Some(now / first),
                _ => None,
            };
            rows.push(vec![
                label,
                count(point.tasks),
                nanoseconds(point.body_ns_per_task),
                nanoseconds(point.total_ns_per_task),
                times(ratio),
                per_task(point.peak_bytes_per_task),
                per_task(point.allocations_per_task),
            ]);
        }
    }
    (header, rows)
}

fn comparison_title(comparison: &Comparison) -> String {
    let mut title = format!(
        "Against {} ({}): new ÷ old. ! marks an exact figure (bytes, counts) that changed, or a \
         time that moved by more than {:.0} %.",
        comparison.against,
        comparison.old_meta_line(),
        crate::compare::TIME_NOISE * 100.0
    );
    if !comparison.unmatched.is_empty() {
        let _ = write!(
            title,
            " Not in the saved report: {}.",
            comparison.unmatched.join(", ")
        );
    }
    title
}

/// The comparison table: per record, the headline figures and every exact figure that changed
/// (every figure with `--details`).
fn comparison_rows(comparison: &Comparison, details: bool) -> (Vec<String>, Vec<Vec<String>>) {
    let header = ["figure", "old", "new", "new ÷ old"]
        .map(String::from)
        .to_vec();
    let mut rows = Vec::new();
    for record in &comparison.records {
        let shown: Vec<&FigureChange> = record
            .figures
            .iter()
            .filter(|figure| details || figure.headline || (figure.exact && figure.flagged))
            .collect();
        let changed = record
            .figures
            .iter()
            .filter(|f| f.exact && f.flagged)
            .count();
        rows.push(vec![
            format!(
                "{} on {}, N = {}",
                record.name,
                record.runtime,
                count(record.tasks)
            ),
            String::new(),
            String::new(),
            String::new(),
        ]);
        rows.push(vec![
            "  exact figures".to_string(),
            String::new(),
            String::new(),
            match changed {
                0 => "all the same".to_string(),
                n => format!("{n} changed !"),
            },
        ]);
        for figure in shown {
            rows.push(vec![
                format!("  {}", figure.figure),
                number(figure.old),
                number(figure.new),
                format!(
                    "{}{}",
                    times(figure.ratio),
                    if figure.flagged { " !" } else { "" }
                ),
            ]);
        }
    }
    (header, rows)
}

// ---------------------------------------------------------------------------------------------
// Numbers for people.

/// `1234567` as `1,234,567`.
pub fn count(value: u64) -> String {
    grouped(value, ',')
}

/// `value` with its digits in groups of three, `separator` between them.
pub fn grouped(value: u64, separator: char) -> String {
    let digits = value.to_string();
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            grouped.push(separator);
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

/// A figure per task, two decimals, the whole part grouped: `2,422.90`.
fn per_task(value: Option<f64>) -> String {
    value.map_or_else(
        || "–".to_string(),
        |v| {
            let text = format!("{v:.2}");
            match text.split_once('.') {
                Some((whole, fraction)) if whole.len() > 3 && !whole.starts_with('-') => {
                    let whole: u64 = whole.parse().unwrap_or(0);
                    format!("{}.{fraction}", count(whole))
                }
                _ => text,
            }
        },
    )
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

fn range(spread: &Spread) -> String {
    format!("{} … {}", seconds(spread.min_s), seconds(spread.max_s))
}

/// `± 1.23 ms`, or `–` for a single run.
fn sigma(spread: &Spread) -> String {
    spread
        .stddev_s
        .map_or_else(|| "–".to_string(), |s| format!("± {}", seconds(s)))
}

/// Nanoseconds per task: `346.2`.
fn nanoseconds(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_string(), |v| format!("{v:.1}"))
}

/// A figure of any kind, for the comparison: whole numbers grouped, others with four digits.
fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        signed(value as i64)
    } else if value.abs() < 1.0 {
        format!("{value:.6}")
    } else {
        format!("{value:.2}")
    }
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
    fn per_task_figures_keep_two_decimals_and_group_the_whole_part() {
        assert_eq!(super::per_task(Some(124.9712)), "124.97");
        assert_eq!(super::per_task(Some(2422.9)), "2,422.90");
        assert_eq!(super::per_task(Some(0.004)), "0.00");
        assert_eq!(super::per_task(None), "–");
    }

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("cancel-each"), "cancel-each");
        assert_eq!(csv_field("a, b"), "\"a, b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
