//! `husk`: the future is gone, the memory is not — a stray waker holds the cell.
//!
//! Register N works; each parks a clone of its task's waker in a registry outside the task (a
//! list that never fires, as a channel or an I/O source keeps its waiters' wakers), then sleeps.
//! `stop()`, as in cancel-batch. At the next tick every future is dropped (\[F\]) — but a waker is
//! a counted reference to the task's cell, so no cell can be freed (\[M\]): moment `after_tick`
//! shows `futures_dropped` = N, `tasks_freed` = 0, and N husks holding their bytes. When the
//! registry lets go of its wakers (moment `after_release`, see `scenarios/mod.rs`), the last
//! reference to each cell goes, and every cell is freed: the heap is back to the executor's
//! fixed cost, with no tick needed.

use crate::ledger::Ledger;
use crate::runtime::Runtime;
use crate::work::WorkKind;

use super::{Cancel, Outcome, register_and_start};

/// Registers N husk works, lets them start (and park their wakers), stops the scheduler.
pub async fn body<R: Runtime>(runtime: &R, tasks: u64, ledger: &Ledger, cancel: Cancel) -> Outcome {
    let mut outcome = register_and_start(runtime, WorkKind::Husk, tasks, ledger).await;
    outcome.stop(runtime, ledger, cancel);
    outcome
}
