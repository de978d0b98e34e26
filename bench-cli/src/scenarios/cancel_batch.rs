//! `cancel-batch` (the reference's `test2`): start N works, then cancel them all at once.
//!
//! Register N works, yield until all N have taken their first poll (each registers a timer
//! and sleeps), then `stop()` the scheduler. Here the peak is N live tasks; the question is
//! when their futures are dropped and their cells freed: inside `stop()`, or on the executor's
//! next tick. The `after_cancel` and `after_tick` moments answer it.

use crate::ledger::Ledger;
use crate::runtime::Runtime;
use crate::work::WorkKind;

use super::{Cancel, Outcome, register_and_start};

/// Registers N works, lets them start, stops the scheduler; records the moment right after
/// `stop()` returned.
pub async fn body<R: Runtime>(runtime: &R, tasks: u64, ledger: &Ledger, cancel: Cancel) -> Outcome {
    let mut outcome = register_and_start(runtime, WorkKind::Sleep, tasks, ledger).await;
    ledger.sample(runtime.counts());
    outcome.stop(runtime, ledger, cancel);
    outcome
}
