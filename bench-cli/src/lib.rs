//! `bench-cli`: when does a cancelled task's memory come back?
//!
//! It replays the reference study's four scenarios (cancel each work right after it starts,
//! cancel all at once, never cancel, no work at all) on our executor and scheduler, and reports
//! wall times and exact heap and task figures, counted by a hand-written global allocator.
//! With `--runtime ours,tokio,smol,asyncio` it runs the same scenarios on peer runtimes in the
//! same run and puts them side by side, with each peer's ratio to ours.
//!
//! This library holds everything; the `bench-cli` binary (`main.rs`) installs the counting
//! allocator and runs it. The criterion benches (`benches/peers.rs`) use the same runtimes and
//! scenario bodies without the counting allocator.
//!
//! Reading order: `alloc.rs` (the counting allocator), `ledger.rs` (what is measured when),
//! `runtime.rs` and `ours.rs` (what a scenario needs from a runtime), `peers/` (the same on
//! tokio and smol), `scenarios/` (the four bodies and their driver), `asyncio.rs` (the same
//! scenarios in Python, run as a child process), `report.rs`, `meta.rs`, `compare.rs` and
//! `format.rs` (what is reported, and how it is printed), `cli.rs` and `limits.rs` (what is
//! refused, and why), `export.rs`, `interrupt.rs` and `progress.rs` (files written whole,
//! signals, progress that does not disturb the figures); then what can be seen beside the
//! figures: `sampling.rs` (the heap over time, sampled without allocating), `observe.rs` (the
//! runs' samples and traces kept), `plot.rs` (`--plot`), `trace_export.rs` (`--trace`, Chrome
//! trace-event JSON from the executor's recorder) and `holders.rs` (why the heap is not back).

pub mod alloc;
pub mod asyncio;
pub mod cli;
pub mod compare;
pub mod export;
pub mod format;
pub mod holders;
pub mod interrupt;
pub mod ledger;
pub mod limits;
pub mod meta;
pub mod observe;
pub mod ours;
#[cfg(feature = "peers")]
pub mod peers;
pub mod plot;
pub mod progress;
pub mod report;
pub mod runtime;
pub mod sampling;
pub mod scenarios;
#[cfg(feature = "trace")]
pub mod trace_export;
pub mod work;

/// The unit tests count through the same allocator as the binary.
#[cfg(test)]
#[global_allocator]
static TEST_GLOBAL: alloc::CountingAlloc = alloc::CountingAlloc;
