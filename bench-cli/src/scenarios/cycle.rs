//! `cycle` and `cycle-weak`: what ownership cannot free — a reference cycle.
//!
//! Register N works; each builds two nodes that point at each other (`Rc`, with a 64-byte
//! payload each; `Arc` on tokio, whose tasks must be `Send`) and holds the first across its
//! sleep. `stop()`. At the next tick every future is dropped and every cell freed, as in
//! cancel-batch — but dropping the future only drops its reference to the first node: each
//! node is still referenced by the other, so neither count reaches zero, no destructor runs,
//! and the nodes' bytes never come back, not even at shutdown. `verdict.bytes_not_returned`
//! reports them, marked as the lesson (`leak_is_the_lesson`), not as a failed run. A garbage
//! collector would find them unreachable and free them: asyncio's `gc.collect()` does (its
//! `gc` figures count them).
//!
//! `cycle-weak` is the same with the back edge a `Weak`: the first node's count does reach
//! zero, it drops its edge to the second, and every byte comes back.
//!
//! This scenario leaks on purpose: a leak checker run on it reports the nodes (CI's valgrind
//! run leaves it out, and says so).

use crate::ledger::Ledger;
use crate::runtime::Runtime;
use crate::work::WorkKind;

use super::{Cancel, Outcome, register_and_start};

/// Registers N works of `kind` (a cycle, strong or weak), lets them start, stops the scheduler.
pub async fn body<R: Runtime>(
    runtime: &R,
    kind: WorkKind,
    tasks: u64,
    ledger: &Ledger,
    cancel: Cancel,
) -> Outcome {
    let mut outcome = register_and_start(runtime, kind, tasks, ledger).await;
    outcome.stop(runtime, ledger, cancel);
    outcome
}
