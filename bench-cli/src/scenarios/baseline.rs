//! `baseline` (the reference's `test4`): only the yield, no work at all.
//!
//! It measures what a run costs with no tasks: making the executor and the scheduler, one turn
//! of the queue, shutdown. Its heap figures are the fixed cost the other scenarios carry too.

use crate::runtime::Runtime;

use super::{Outcome, let_works_start};

/// Yields once; spawns nothing and cancels nothing.
pub async fn body<R: Runtime>(runtime: &R) -> Outcome {
    let_works_start(runtime).await;
    Outcome::default()
}
