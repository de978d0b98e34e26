//! `cancel-each` (the reference's `test1`): cancel every work right after it starts.
//!
//! N times: register a work, yield until it has taken its first poll (and goes to sleep on
//! its timer), unregister it. At most two task cells are ever live: the work just registered,
//! and the one unregistered in the cycle before, if the executor drops a cancelled task's future
//! only when its queue next runs (which is this cycle's yield) rather than inside
//! `unregister()`. So the peak stays at a small constant however large N is, and so does the heap.

use crate::ledger::Ledger;
use crate::runtime::Runtime;

use super::{Cancel, Outcome, let_works_start};

/// Runs the N cycles; records the moment right after the last `unregister()` returned.
pub async fn body<R: Runtime>(runtime: &R, tasks: u64, ledger: &Ledger, cancel: Cancel) -> Outcome {
    let mut outcome = Outcome::default();
    for i in 0..tasks {
        let index = runtime.register_work();
        outcome.note_start(let_works_start(runtime).await);
        if cancel.unregister(runtime, index) {
            outcome.cancels_requested += 1;
        }
        // Reads counters only: no allocation inside the measured loop.
        outcome.after_cancel = Some(ledger.moment(runtime.counts()));
        ledger.sample_kth(i, || runtime.counts());
    }
    outcome
}
