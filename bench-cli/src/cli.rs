//! The command line: flags, their checks, and one-line errors.
//!
//! Every check that needs only the text of the arguments happens here, while parsing: a value that
//! is not a positive whole number, an unknown scenario, an unknown format. clap reports those with
//! exit code 2; [`parse`] squeezes its several-line message into one line. The checks that need
//! the machine (memory, the output file) happen in `main.rs`, still before any measured work.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::{CommandFactory, FromArgMatches, Parser};

use crate::format::Format;
use crate::runtime::RuntimeKind;
use crate::scenarios::Scenario;

/// What the user asked for.
#[derive(Debug, Parser)]
#[command(
    name = "bench-cli",
    version,
    about = "When does a cancelled task's memory come back? Four scenarios on our executor and \
             scheduler, with exact allocation accounting, side by side with tokio, smol and \
             asyncio if asked.",
    after_help = scenario_help(),
)]
pub struct Cli {
    /// Works per scenario (N).
    #[arg(
        long,
        value_name = "N",
        default_value = "100000",
        value_parser = parse_tasks,
        allow_hyphen_values = true
    )]
    pub tasks: u64,

    /// Scenario to run, by name or alias; repeat the flag or separate names with commas.
    /// Default: all four, in the reference order.
    #[arg(
        long = "scenario",
        value_name = "NAME",
        value_parser = parse_scenario,
        value_delimiter = ','
    )]
    pub scenarios: Vec<Scenario>,

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

    /// Runs per scenario (K); times are then reported as median and min…max.
    #[arg(
        long,
        value_name = "K",
        default_value = "1",
        value_parser = parse_repeat,
        allow_hyphen_values = true
    )]
    pub repeat: u32,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Write the report to FILE instead of standard output (checked before any work).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Write the run as Chrome trace-event JSON to FILE (open it in ui.perfetto.dev or
    /// chrome://tracing): a track per task of ours, [A] to [M], and the heap, cells, futures
    /// and husks as counter tracks. A traced run's timings are not comparable.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,

    /// Draw the heap over time to FILE as SVG: a chart per scenario, a line per runtime, the
    /// moments marked.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
}

impl Cli {
    /// The scenarios to run: as given, without repeats, or all four in the reference order.
    pub fn selected_scenarios(&self) -> Vec<Scenario> {
        if self.scenarios.is_empty() {
            return Scenario::ALL.to_vec();
        }
        let mut selected = Vec::new();
        for &scenario in &self.scenarios {
            if !selected.contains(&scenario) {
                selected.push(scenario);
            }
        }
        selected
    }

    /// The runtimes to run on: as given, without repeats, or ours alone.
    pub fn selected_runtimes(&self) -> Vec<RuntimeKind> {
        if self.runtimes.is_empty() {
            return vec![RuntimeKind::Ours];
        }
        let mut selected = Vec::new();
        for &runtime in &self.runtimes {
            if !selected.contains(&runtime) {
                selected.push(runtime);
            }
        }
        selected
    }
}

/// What parsing ended with, when it did not end with a [`Cli`].
#[derive(Debug, PartialEq, Eq)]
pub enum Stop {
    /// `--help` or `--version`: print this on standard output and exit 0.
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
    outcome.map_err(|error| match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => Stop::Show(error.to_string()),
        _ => Stop::Usage(one_line(&error.to_string())),
    })
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

/// The `--help` text that explains each scenario in one line.
fn scenario_help() -> String {
    let mut help =
        String::from("Scenarios (each on a fresh executor and scheduler; a work sleeps 1000 s):\n");
    for scenario in Scenario::ALL {
        help.push_str(&format!(
            "  {:<13} {}  {}\n",
            scenario.name(),
            scenario.alias(),
            scenario.summary()
        ));
    }
    help.push_str("\nRuntimes (--runtime):\n");
    for runtime in RuntimeKind::ALL {
        help.push_str(&format!("  {:<8} {}\n", runtime.name(), runtime.summary()));
    }
    help
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

/// A scenario name or alias.
fn parse_scenario(text: &str) -> Result<Scenario, String> {
    Scenario::from_name(text).ok_or_else(|| {
        let valid: Vec<String> = Scenario::ALL
            .iter()
            .map(|s| format!("{} ({})", s.name(), s.alias()))
            .collect();
        format!("no such scenario; valid ones are {}", valid.join(", "))
    })
}

#[cfg(test)]
mod tests {
    use super::{Stop, parse, positive};
    use crate::format::Format;
    use crate::runtime::RuntimeKind;
    use crate::scenarios::Scenario;

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
        assert_eq!(cli.tasks, 100_000);
        assert_eq!(cli.repeat, 1);
        assert_eq!(cli.format, Format::Table);
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
                    assert!(text.contains(scenario.summary()), "{text}");
                }
            }
            other => panic!("expected help, got {other:?}"),
        }
    }
}
