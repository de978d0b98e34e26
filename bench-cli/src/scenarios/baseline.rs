//! `baseline` (the reference's `test4`): only the yield, no work at all.
//!
//! It measures what a run costs with no tasks: making the executor and the scheduler, one turn
//! of the queue, shutdown. Its heap figures are the fixed cost the other scenarios carry too.

use crate::runtime::Runtime;

use super::{Outcome, let_works_start};

/// Yields once (there are no works to wait for); spawns nothing and cancels nothing.
pub async fn body<R: Runtime>(runtime: &R) -> Outcome {
    let mut outcome = Outcome::default();
    outcome.note_start(let_works_start(runtime).await);
    outcome
}
