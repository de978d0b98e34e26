//! `detach`: a task whose handle is dropped is not cancelled — nothing comes back before
//! shutdown.
//!
//! Spawn N works outside the scheduler and drop each handle at once, without cancelling (ours
//! and tokio detach on drop; smol's `Task` cancels on drop, so it is `detach()`ed; asyncio keeps
//! no reference). The works sleep on: at the end no future is dropped and N cells are live,
//! and only the executor's shutdown drops and frees them. Nobody holds a handle, so nobody
//! could have cancelled them.

use crate::ledger::Ledger;
use crate::runtime::Runtime;
use crate::work::WorkKind;

use super::{Outcome, let_works_start};

/// Spawns N detached works and lets them start; cancels nothing.
pub async fn body<R: Runtime>(runtime: &R, tasks: u64, ledger: &Ledger) -> Outcome {
    for i in 0..tasks {
        runtime.spawn_detached(WorkKind::Sleep);
        ledger.sample_kth(i, || runtime.counts());
    }
    let mut outcome = Outcome::default();
    outcome.note_start(let_works_start(runtime).await);
    outcome
}
