//! `no-cancel` (the reference's `test3`): start N works and never cancel them.
//!
//! Register N works, yield until all N have taken their first poll, return. The works are
//! still asleep when the scenario ends: N cells and N timer entries are live until the
//! executor's shutdown drops them. It is the point of comparison for the two cancelling
//! scenarios: the same N tasks, freed by shutdown instead of by cancel.

use crate::ledger::Ledger;
use crate::runtime::Runtime;
use crate::work::WorkKind;

use super::{Outcome, register_and_start};

/// Registers N works and lets them start; cancels nothing.
pub async fn body<R: Runtime>(runtime: &R, tasks: u64, ledger: &Ledger) -> Outcome {
    let outcome = register_and_start(runtime, WorkKind::Sleep, tasks, ledger).await;
    ledger.sample(runtime.counts());
    outcome
}
