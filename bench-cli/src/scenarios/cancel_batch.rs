//! `cancel-batch` (the reference's `test2`): start N works, then cancel them all at once.
//!
//! Register N works, yield until all N have taken their first poll (each registers a timer
//! and sleeps), then `stop()` the scheduler. Here the peak is N live tasks; the question is
//! when their futures are dropped and their cells freed: inside `stop()`, or on the executor's
//! next tick. The `after_cancel` and `after_tick` moments answer it.

use crate::ledger::Ledger;
use crate::runtime::Runtime;

use super::{Cancel, Outcome, let_works_start};

/// Registers N works, lets them start, stops the scheduler; records the moment right after
/// `stop()` returned.
pub async fn body<R: Runtime>(runtime: &R, tasks: u64, ledger: &Ledger, cancel: Cancel) -> Outcome {
    for i in 0..tasks {
        runtime.register_work();
        ledger.sample_kth(i, || runtime.counts());
    }
    let mut outcome = Outcome::default();
    outcome.note_start(let_works_start(runtime).await);
    ledger.sample(runtime.counts());
    outcome.cancels_requested = runtime.registered() as u64;
    cancel.stop(runtime);
    outcome.after_cancel = Some(ledger.moment(runtime.counts()));
    outcome
}
