//! What produced a report: the `meta` object of the JSON, as pytest-benchmark puts machine and
//! commit info in every export, so that a saved report can be read (and `--compare`d) later.
//!
//! The commit and the compiler are recorded when the binary is built (`build.rs`); the machine
//! and the date when it runs. Everything here is read once, before the first measured run.

use std::fs;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

/// What produced a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// bench-cli's version.
    pub version: String,
    /// The commit it was built from, when built from a git checkout.
    pub commit: Option<String>,
    /// The compiler that built it (`rustc --version`).
    pub rustc: String,
    /// `release`, or `debug` (whose times mean nothing).
    pub profile: String,
    /// Operating system, kernel and architecture.
    pub os: String,
    /// The processor, and how many threads the process may run at once.
    pub cpu: String,
    /// The Python version, when asyncio ran.
    pub python: Option<String>,
    /// When the run started, in UTC (RFC 3339).
    pub date: String,
}

/// Whether this is a debug build: its times mean nothing.
pub const DEBUG_BUILD: bool = cfg!(debug_assertions);

impl Meta {
    /// This build on this machine, now; `python` is the version asyncio will run on, if it does.
    pub fn now(python: Option<String>) -> Meta {
        let commit = env!("BENCH_CLI_COMMIT");
        Meta {
            version: env!("CARGO_PKG_VERSION").to_string(),
            commit: (!commit.is_empty()).then(|| commit.to_string()),
            rustc: env!("BENCH_CLI_RUSTC").to_string(),
            profile: if DEBUG_BUILD { "debug" } else { "release" }.to_string(),
            os: os(),
            cpu: cpu(),
            python,
            date: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        }
    }
}

/// `linux 6.1.0-18-amd64 x86_64`: the kernel's release where the system says it.
fn os() -> String {
    let release = fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|text| format!(" {}", text.trim()))
        .unwrap_or_default();
    format!(
        "{}{release} {}",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

/// `AMD EPYC 7B13 (2 threads)`: the model name from `/proc/cpuinfo` where there is one.
fn cpu() -> String {
    let model = fs::read_to_string("/proc/cpuinfo").ok().and_then(|info| {
        info.lines()
            .find(|line| line.starts_with("model name"))
            .and_then(|line| line.split_once(':'))
            .map(|(_, name)| name.trim().to_string())
    });
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!(
        "{} ({threads} thread{})",
        model.unwrap_or_else(|| std::env::consts::ARCH.to_string()),
        if threads == 1 { "" } else { "s" }
    )
}

#[cfg(test)]
mod tests {
    use super::Meta;

    #[test]
    fn meta_names_this_build_and_a_utc_date() {
        let meta = Meta::now(Some("3.11.7".to_string()));
        assert_eq!(meta.version, env!("CARGO_PKG_VERSION"));
        assert!(meta.rustc.starts_with("rustc "), "{}", meta.rustc);
        let expected = if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        };
        assert_eq!(meta.profile, expected);
        assert!(
            meta.date.ends_with('Z') && meta.date.len() == 20,
            "{}",
            meta.date
        );
        assert!(meta.cpu.contains("thread"), "{}", meta.cpu);
        assert_eq!(meta.python.as_deref(), Some("3.11.7"));
    }
}
