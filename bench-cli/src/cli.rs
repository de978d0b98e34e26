//! The command line: flags, their checks, and one-line errors.
//!
//! Every check that needs only the text of the arguments happens here, while parsing: a value that
//! is not a positive whole number, an unknown scenario, an unknown format, two exports to one
//! file. clap reports those with exit code 2; [`parse`] squeezes its several-line message into one
//! line. The checks that need the machine (memory, the output files, the `--compare` file,
//! Python) happen in `main.rs`, still before any measured work.
//!
//! The flags follow the habits of hyperfine (`--export-json/-csv/-markdown`, `--warmup`,
//! `-r`, progress on stderr) so that its users find their way.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::error::ErrorKind;
use clap::{CommandFactory, FromArgMatches, Parser};

use crate::format::Format;
use crate::runtime::RuntimeKind;
use crate::scenarios::{Cancel, Scenario};

/// What the user asked for.
#[derive(Debug, Parser)]
#[command(
    name = "bench-cli",
    version,
    about = "When does a cancelled task's memory come back? The study's four scenarios, and the \
             lessons where it does not come back at the next tick, on our executor and scheduler, \
             with exact allocation accounting, side by side with tokio, smol and asyncio if \
             asked.",
    after_help = scenario_help(),
)]
pub struct Cli {
    /// Works per scenario (N). Several, separated by commas, run one after the other and add a
    /// table of the cost per task against N.
    #[arg(
        short = 'n',
        long,
        value_name = "N[,N...]",
        default_value = "100000",
        value_parser = parse_tasks,
        value_delimiter = ',',
        allow_hyphen_values = true
    )]
    pub tasks: Vec<u64>,

    /// Scenario to run, by name or alias, or `all` (the study's four and the lessons); repeat
    /// the flag or separate names with commas. Default: the study's four, in its order.
    #[arg(
        short = 's',
        long = "scenario",
        value_name = "NAME",
        value_parser = parse_scenario,
        value_delimiter = ','
    )]
    pub scenarios: Vec<Selection>,

    /// Runtime to run the scenarios on; repeat the flag or separate names with commas. With
    /// more than one, each scenario's figures are side by side, with each peer's ratio to ours.
    /// Default: ours.
    #[arg(
        long = "runtime",
        value_name = "NAME",
        value_parser = parse_runtime,
        value_delimiter = ','
    )]
    pub runtimes: Vec<RuntimeKind>,

    /// Measured runs per scenario (K); times are then reported as mean ± σ, median and min…max.
    #[arg(
        short = 'r',
        long,
        value_name = "K",
        default_value = "1",
        value_parser = parse_repeat,
        allow_hyphen_values = true
    )]
    pub repeat: u32,

    /// Unmeasured runs of every scenario at the full N before the measured ones. A probe on
    /// 1,025 tasks always runs first (it pays one-time costs and checks that N fits in memory).
    #[arg(
        long,
        value_name = "K",
        default_value = "0",
        value_parser = parse_warmup,
        allow_hyphen_values = true
    )]
    pub warmup: u32,

    /// Format of the report on standard output or in `--output`. Default: table, or what the
    /// `--output` file's extension says (.json, .csv, .md).
    #[arg(long, value_enum)]
    pub format: Option<Format>,

    /// Write the report to FILE instead of standard output.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Write the run as Chrome trace-event JSON to FILE (open it in ui.perfetto.dev or
    /// chrome://tracing): a track per task of ours, from its allocation (A) to its free (M),
    /// and the heap, cells, futures and husks as counter tracks. A traced run's timings are not
    /// comparable.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,

    /// Draw the heap over time to FILE as SVG: a chart per scenario, a line per runtime, the
    /// moments marked.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Also write the report as JSON to FILE (the terminal view still prints).
    #[arg(long, value_name = "FILE")]
    pub export_json: Option<PathBuf>,

    /// Also write the report as CSV to FILE.
    #[arg(long, value_name = "FILE")]
    pub export_csv: Option<PathBuf>,

    /// Also write the report as a Markdown table to FILE.
    #[arg(long, value_name = "FILE")]
    pub export_markdown: Option<PathBuf>,

    /// Compare every figure with a report saved before (`--export-json`), as ratios.
    #[arg(long, value_name = "OLD.json")]
    pub compare: Option<PathBuf>,

    /// Show every figure (the full table), not the compact view.
    #[arg(long)]
    pub details: bool,

    /// No progress on standard error.
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// How the cancelling scenarios cancel: `next-tick` (`cancel()`: the future is dropped at
    /// the executor's next tick, the study's semantics) or `now` (`cancel_now()`: dropped inside
    /// the call; ours only, the peers show n/a).
    #[arg(long, value_name = "MODE", default_value = "next-tick", value_parser = parse_cancel)]
    pub cancel: Cancel,

    /// Python's garbage-collector thresholds for `--runtime asyncio` (`gc.set_threshold`): three
    /// whole numbers. The study used 700,10,10 and 700,0,0.
    #[arg(
        long,
        value_name = "A,B,C",
        default_value = "700,10,10",
        value_parser = parse_threshold,
        allow_hyphen_values = true
    )]
    pub gc_threshold: [u64; 3],

    /// The Python interpreter for `--runtime asyncio` (Python 3.9 or later). Default: python3 on
    /// the PATH.
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,

    /// List the scenarios with their one-line lessons, and exit.
    #[arg(long)]
    pub list: bool,
}

/// One `--scenario` value: a scenario, or `all` of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selection {
    /// This one.
    One(Scenario),
    /// Every scenario: the study's four, then the lessons.
    All,
}

/// Where a report goes, and in which format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Export {
    /// The file.
    pub path: PathBuf,
    /// The format.
    pub format: Format,
}

impl Cli {
    /// The scenarios to run: as given (`all` standing for every one), without repeats, or the
    /// study's four in its order.
    pub fn selected_scenarios(&self) -> Vec<Scenario> {
        if self.scenarios.is_empty() {
            return Scenario::ALL.to_vec();
        }
        let named: Vec<Scenario> = self
            .scenarios
            .iter()
            .flat_map(|selection| match selection {
                Selection::One(scenario) => vec![*scenario],
                Selection::All => Scenario::every(),
            })
            .collect();
        once_each(&named)
    }

    /// The runtimes to run on: as given, without repeats, or ours alone.
    pub fn selected_runtimes(&self) -> Vec<RuntimeKind> {
        if self.runtimes.is_empty() {
            return vec![RuntimeKind::Ours];
        }
        once_each(&self.runtimes)
    }

    /// The N to run, in the order given, without repeats.
    pub fn sweep(&self) -> Vec<u64> {
        once_each(&self.tasks)
    }

    /// The format of the main report: `--format`, else the `--output` file's extension, else a
    /// table.
    pub fn main_format(&self) -> Format {
        self.format
            .or_else(|| self.output.as_deref().and_then(Format::from_extension))
            .unwrap_or(Format::Table)
    }

    /// The files to write besides the main report: `--export-*`, in a fixed order.
    pub fn exports(&self) -> Vec<Export> {
        [
            (&self.export_json, Format::Json),
            (&self.export_csv, Format::Csv),
            (&self.export_markdown, Format::Markdown),
        ]
        .into_iter()
        .filter_map(|(path, format)| path.clone().map(|path| Export { path, format }))
        .collect()
    }

    /// Every file this run will write: `--output` (in the main format) and the exports.
    pub fn files(&self) -> Vec<Export> {
        let mut files: Vec<Export> = self
            .output
            .iter()
            .map(|path| Export {
                path: path.clone(),
                format: self.main_format(),
            })
            .collect();
        files.extend(self.exports());
        files
    }

    /// Checks what clap cannot: no two outputs to one file.
    fn check(&self) -> Result<(), String> {
        let files = self.files();
        for (index, file) in files.iter().enumerate() {
            if let Some(other) = files[..index]
                .iter()
                .find(|other| same_file(&other.path, &file.path))
            {
                return Err(format!(
                    "error: two reports would go to one file: {} ({}) and {} ({}); give each its \
                     own file",
                    other.path.display(),
                    other.format.name(),
                    file.path.display(),
                    file.format.name()
                ));
            }
        }
        Ok(())
    }
}

/// `items` without repeats, in the order of their first appearance.
fn once_each<T: Copy + PartialEq>(items: &[T]) -> Vec<T> {
    let mut selected = Vec::new();
    for &item in items {
        if !selected.contains(&item) {
            selected.push(item);
        }
    }
    selected
}

/// Whether `a` and `b` name the same file: the same path once made absolute, with the directory
/// resolved where it exists (so `./r.json` and `r.json`, or a symlinked directory, match).
fn same_file(a: &Path, b: &Path) -> bool {
    fn resolved(path: &Path) -> PathBuf {
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        match (absolute.parent(), absolute.file_name()) {
            (Some(dir), Some(name)) => dir
                .canonicalize()
                .map_or_else(|_| absolute.clone(), |dir| dir.join(name)),
            _ => absolute,
        }
    }
    resolved(a) == resolved(b)
}

/// What parsing ended with, when it did not end with a [`Cli`].
#[derive(Debug, PartialEq, Eq)]
pub enum Stop {
    /// `--help`, `--version` or `--list`: print this on standard output and exit 0.
    Show(String),
    /// Bad input: print this one line on standard error and exit 2.
    Usage(String),
}

/// Parses `args` (the program name first).
pub fn parse<I, T>(args: I) -> Result<Cli, Stop>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let outcome = Cli::command()
        .try_get_matches_from(args)
        .and_then(|matches| Cli::from_arg_matches(&matches));
    let cli = outcome.map_err(|error| match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => Stop::Show(error.to_string()),
        _ => Stop::Usage(one_line(&error.to_string())),
    })?;
    if cli.list {
        return Err(Stop::Show(scenario_list()));
    }
    cli.check().map_err(Stop::Usage)?;
    Ok(cli)
}

/// clap's message in one line: its own lines joined, without the usage and the pointer to
/// `--help`, which follows instead as a short hint.
fn one_line(message: &str) -> String {
    let parts: Vec<&str> = message
        .lines()
        .map(str::trim)
        .filter(|line| {
            !line.is_empty()
                && !line.starts_with("Usage:")
                && !line.starts_with("For more information")
        })
        .collect();
    format!("{} (see --help)", parts.join(" "))
}

/// `--list`: every scenario with its alias and its one-line lesson.
pub fn scenario_list() -> String {
    let mut list = String::new();
    for scenario in Scenario::every() {
        list.push_str(&format!(
            "{:<13} {:<6} {}\n",
            scenario.name(),
            scenario.alias().unwrap_or(""),
            scenario.lesson()
        ));
    }
    list
}

/// The `--help` text that explains each scenario in one line.
fn scenario_help() -> String {
    let mut help = String::from(
        "The study's scenarios (the default; each on a fresh executor and scheduler; a work \
         sleeps 1000 s):\n",
    );
    for scenario in Scenario::ALL {
        help.push_str(&format!(
            "  {:<13} {:<6} {}\n",
            scenario.name(),
            scenario.alias().unwrap_or(""),
            scenario.lesson()
        ));
    }
    help.push_str(
        "\nThe lessons: when the memory does not come back at the next tick (--scenario NAME, \
         or all):\n",
    );
    for scenario in Scenario::LESSONS {
        help.push_str(&format!(
            "  {:<13} {}\n",
            scenario.name(),
            scenario.lesson()
        ));
    }
    help.push_str("\nRuntimes (--runtime):\n");
    for runtime in RuntimeKind::ALL {
        help.push_str(&format!("  {:<8} {}\n", runtime.name(), runtime.summary()));
    }
    help
}

/// `next-tick` or `now`.
fn parse_cancel(text: &str) -> Result<Cancel, String> {
    [Cancel::NextTick, Cancel::Now]
        .into_iter()
        .find(|mode| mode.name() == text)
        .ok_or_else(|| "no such cancel mode; valid ones are next-tick, now".to_string())
}

/// Three whole numbers separated by commas: `700,10,10`.
fn parse_threshold(text: &str) -> Result<[u64; 3], String> {
    let malformed =
        || "must be three whole numbers separated by commas, like 700,10,10".to_string();
    let parts: Vec<&str> = text.split(',').collect();
    let [a, b, c] = parts.as_slice() else {
        return Err(malformed());
    };
    let number = |part: &str| {
        let part = part.trim();
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed());
        }
        part.parse::<u64>()
            .ok()
            .filter(|&value| value <= u64::from(u32::MAX))
            .ok_or_else(|| "too large: each threshold is at most 4294967295".to_string())
    };
    Ok([number(a)?, number(b)?, number(c)?])
}

/// A positive whole number of tasks.
fn parse_tasks(text: &str) -> Result<u64, String> {
    positive(text)
}

/// A positive whole number of runs.
fn parse_repeat(text: &str) -> Result<u32, String> {
    let value = positive(text)?;
    u32::try_from(value).map_err(|_| format!("too large: at most {} runs", u32::MAX))
}

/// A whole number of warm-up runs, 0 included.
fn parse_warmup(text: &str) -> Result<u32, String> {
    if text == "0" {
        return Ok(0);
    }
    parse_repeat(text)
}

/// `text` as a whole number of at least 1, or why not.
fn positive(text: &str) -> Result<u64, String> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if text.strip_prefix('-').is_some_and(digits) {
        return Err("must be a positive whole number, not a negative one".to_string());
    }
    if !digits(text) {
        return Err("must be a positive whole number, like 100000".to_string());
    }
    match text.parse::<u64>() {
        Ok(0) => Err("must be at least 1".to_string()),
        Ok(value) => Ok(value),
        Err(_) => Err(format!("too large: at most {} fits in 64 bits", u64::MAX)),
    }
}

/// A runtime's name, of a runtime this build has.
fn parse_runtime(text: &str) -> Result<RuntimeKind, String> {
    let runtime = RuntimeKind::from_name(text).ok_or_else(|| {
        let valid: Vec<&str> = RuntimeKind::ALL.iter().map(|r| r.name()).collect();
        format!("no such runtime; valid ones are {}", valid.join(", "))
    })?;
    if runtime.is_built_in() {
        Ok(runtime)
    } else {
        Err(format!(
            "{} is a peer runtime, and this build was made without the `peers` cargo feature",
            runtime.name()
        ))
    }
}

/// A scenario name or alias, or `all`.
fn parse_scenario(text: &str) -> Result<Selection, String> {
    if text == "all" {
        return Ok(Selection::All);
    }
    Scenario::from_name(text)
        .map(Selection::One)
        .ok_or_else(|| {
            let valid: Vec<String> = Scenario::every()
                .iter()
                .map(|s| match s.alias() {
                    Some(alias) => format!("{} ({alias})", s.name()),
                    None => s.name().to_string(),
                })
                .collect();
            format!(
                "no such scenario; valid ones are {}, and all",
                valid.join(", ")
            )
        })
}

#[cfg(test)]
mod tests {
    use super::{Stop, parse, positive};
    use crate::format::Format;
    use crate::runtime::RuntimeKind;
    use crate::scenarios::{Cancel, Scenario};

    fn usage(args: &[&str]) -> String {
        let mut all = vec!["bench-cli"];
        all.extend_from_slice(args);
        match parse(all) {
            Err(Stop::Usage(line)) => line,
            other => panic!("expected a usage error for {args:?}, got {other:?}"),
        }
    }

    #[test]
    fn defaults_are_100000_tasks_all_scenarios_one_run_table() {
        let cli = parse(["bench-cli"]).unwrap();
        assert_eq!(cli.sweep(), [100_000]);
        assert_eq!(cli.repeat, 1);
        assert_eq!(cli.warmup, 0);
        assert_eq!(cli.main_format(), Format::Table);
        assert!(cli.exports().is_empty());
        assert_eq!(cli.cancel, Cancel::NextTick);
        assert_eq!(cli.gc_threshold, [700, 10, 10]);
        assert_eq!(cli.output, None);
        assert_eq!(cli.selected_scenarios(), Scenario::ALL.to_vec());
        assert_eq!(cli.selected_runtimes(), vec![RuntimeKind::Ours]);
    }

    #[test]
    fn runtimes_by_comma_or_repeated_flag_run_once_each_in_order() {
        let cli = parse([
            "bench-cli",
            "--runtime",
            "asyncio,ours",
            "--runtime=ours",
            "--runtime",
            "asyncio",
        ])
        .unwrap();
        assert_eq!(
            cli.selected_runtimes(),
            vec![RuntimeKind::Asyncio, RuntimeKind::Ours]
        );
    }

    #[test]
    fn scenarios_by_name_alias_comma_or_repeated_flag_run_once_each_in_order() {
        let cli = parse([
            "bench-cli",
            "--scenario",
            "test3,cancel-each",
            "--scenario",
            "no-cancel",
            "--scenario=test2",
        ])
        .unwrap();
        assert_eq!(
            cli.selected_scenarios(),
            vec![
                Scenario::NoCancel,
                Scenario::CancelEach,
                Scenario::CancelBatch
            ]
        );
    }

    #[test]
    fn counts_must_be_positive_whole_numbers() {
        assert_eq!(positive("1"), Ok(1));
        assert_eq!(positive("18446744073709551615"), Ok(u64::MAX));
        assert!(positive("0").unwrap_err().contains("at least 1"));
        assert!(positive("-3").unwrap_err().contains("negative"));
        assert!(positive("ten").unwrap_err().contains("whole number"));
        assert!(positive("1.5").unwrap_err().contains("whole number"));
        assert!(positive("").unwrap_err().contains("whole number"));
        assert!(
            positive("18446744073709551616")
                .unwrap_err()
                .contains("too large")
        );
    }

    #[test]
    fn every_usage_error_is_one_line() {
        for args in [
            &["--tasks", "0"][..],
            &["--tasks", "-5"],
            &["--tasks", "many"],
            &["--tasks"],
            &["--repeat", "0"],
            &["--scenario", "test9"],
            &["--format", "xml"],
            &["--runtime", "go"],
            &["--frobnicate"],
            &["--tasks", "10,x"],
            &["--tasks", "10,,20"],
            &["--warmup", "-1"],
            &["--cancel", "later"],
            &["--gc-threshold", "700,10"],
            &["--gc-threshold", "700,x,10"],
            &["--gc-threshold", "700,-1,10"],
        ] {
            let line = usage(args);
            assert!(!line.contains('\n'), "{args:?}: {line:?}");
            assert!(line.starts_with("error: "), "{args:?}: {line:?}");
        }
        assert!(usage(&["--scenario", "test9"]).contains("cancel-each (test1)"));
        assert!(usage(&["--format", "xml"]).contains("markdown"));
        assert!(usage(&["--runtime", "go"]).contains("ours, tokio, smol, asyncio"));
    }

    #[cfg(not(feature = "peers"))]
    #[test]
    fn peers_in_a_build_without_them_say_which_feature_is_missing() {
        let line = usage(&["--runtime", "ours,tokio"]);
        assert!(line.contains("without the `peers` cargo feature"), "{line}");
    }

    #[test]
    fn help_is_shown_not_an_error() {
        match parse(["bench-cli", "--help"]) {
            Err(Stop::Show(text)) => {
                for scenario in Scenario::ALL {
                    assert!(text.contains(scenario.name()), "{text}");
                }
            }
            other => panic!("expected help, got {other:?}"),
        }
    }

    #[test]
    fn list_prints_every_scenario_with_its_lesson() {
        match parse(["bench-cli", "--list"]) {
            Err(Stop::Show(text)) => {
                assert_eq!(text.lines().count(), Scenario::every().len());
                for scenario in Scenario::every() {
                    assert!(text.contains(scenario.lesson()), "{text}");
                }
            }
            other => panic!("expected the list, got {other:?}"),
        }
    }

    #[test]
    fn thresholds_are_three_whole_numbers() {
        assert_eq!(super::parse_threshold("700,0,0"), Ok([700, 0, 0]));
        for bad in [
            "",
            "700",
            "700,10",
            "700,10,10,10",
            "a,b,c",
            "700,,10",
            "-1,0,0",
        ] {
            assert!(super::parse_threshold(bad).is_err(), "{bad}");
        }
        let cli = parse(["bench-cli", "--cancel", "now", "--gc-threshold", "700,0,0"]).unwrap();
        assert_eq!((cli.cancel, cli.gc_threshold), (Cancel::Now, [700, 0, 0]));
    }

    #[test]
    fn all_selects_the_study_then_the_lessons_once_each() {
        let cli = parse(["bench-cli", "-s", "husk,all,test1"]).unwrap();
        let mut expected = vec![Scenario::Husk];
        expected.extend(
            Scenario::every()
                .into_iter()
                .filter(|&s| s != Scenario::Husk),
        );
        assert_eq!(cli.selected_scenarios(), expected);
        let default = parse(["bench-cli"]).unwrap().selected_scenarios();
        assert_eq!(default, Scenario::ALL, "the lessons only when asked for");
    }

    #[test]
    fn short_flags_mean_the_long_ones() {
        let cli = parse([
            "bench-cli",
            "-n",
            "10,20,10",
            "-s",
            "test2",
            "-r",
            "3",
            "-o",
            "x.csv",
            "-q",
        ])
        .unwrap();
        assert_eq!(cli.sweep(), [10, 20]);
        assert_eq!(cli.selected_scenarios(), [Scenario::CancelBatch]);
        assert_eq!(cli.repeat, 3);
        assert!(cli.quiet);
        assert_eq!(cli.main_format(), Format::Csv, "from the extension");
    }

    #[test]
    fn the_output_format_comes_from_format_then_the_extension_then_table() {
        let format = |args: &[&str]| {
            let mut all = vec!["bench-cli"];
            all.extend_from_slice(args);
            parse(all).unwrap().main_format()
        };
        assert_eq!(format(&["-o", "r.json"]), Format::Json);
        assert_eq!(format(&["-o", "r.MD"]), Format::Markdown);
        assert_eq!(format(&["-o", "r.markdown"]), Format::Markdown);
        assert_eq!(format(&["-o", "r.txt"]), Format::Table);
        assert_eq!(format(&["-o", "/dev/null"]), Format::Table);
        assert_eq!(format(&["-o", "r.json", "--format", "csv"]), Format::Csv);
    }

    #[test]
    fn two_reports_to_one_file_are_refused() {
        for args in [
            &["--export-json", "a.json", "--export-csv", "a.json"][..],
            &["-o", "a.md", "--export-markdown", "./a.md"],
        ] {
            let line = usage(args);
            assert!(line.contains("two reports would go to one file"), "{line}");
        }
    }
}
