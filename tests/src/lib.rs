//! Test-only crate for what spans crates: the executor, the scheduler and the accounting of
//! their memory together. The tests are in `tests/`; each crate's own tests stay in that crate.
//!
//! The library holds one thing the test binaries share: [`counting`], a counting global
//! allocator kept per thread, which each binary installs as its `#[global_allocator]` — these
//! crates' own and the allocation tests of `executor` and `scheduler` (a dev-dependency: the
//! library depends on nothing, so there is no cycle to build).

pub mod counting;
