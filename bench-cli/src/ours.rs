//! Our runtime: the `executor` crate with the `scheduler` crate on top.
//!
//! The scheduler lives as long as the executor, as the reference's `WorkScheduler` does in
//! asyncio (its done callbacks keep it alive): the works still registered when the scenario ends
//! are cancelled by the executor's shutdown, and their done hooks remove them from the scheduler
//! then. Only after that is the scheduler dropped, so the counts returned by
//! [`Runtime::shutdown`] show what the shutdown itself freed.

use std::future::Future;
use std::time::Duration;

use executor::{Executor, Stats};
use scheduler::{Work, WorkScheduler};

use crate::runtime::{Runtime, TaskCounts};
use crate::work::{self, RcCycle, TIMEOUT, WORK_SLEEP, WorkKind};

/// The `executor` crate's [`Executor`] with a [`WorkScheduler`].
pub struct Ours {
    executor: Executor,
    scheduler: WorkScheduler,
}

impl Runtime for Ours {
    const NAME: &'static str = "ours";

    fn new() -> Ours {
        Ours {
            executor: Executor::new(),
            scheduler: WorkScheduler::new(),
        }
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.executor.block_on(future)
    }

    fn register(&self, kind: WorkKind) -> u64 {
        // Each closure captures nothing: `Work::new` stores it without an allocation of its
        // own. The study's work keeps a future of its own, so that the lessons' larger one does
        // not change the study's cell.
        match kind {
            WorkKind::Sleep => self.scheduler.register(Work::new(|| async {
                work::note_first_poll();
                executor::sleep(WORK_SLEEP).await;
            })),
            WorkKind::Husk => self
                .scheduler
                .register(Work::new(|| lesson(WorkKind::Husk))),
            WorkKind::Timeout => self
                .scheduler
                .register(Work::new(|| lesson(WorkKind::Timeout))),
            WorkKind::Cycle => self
                .scheduler
                .register(Work::new(|| lesson(WorkKind::Cycle))),
            WorkKind::CycleWeak => self
                .scheduler
                .register(Work::new(|| lesson(WorkKind::CycleWeak))),
        }
    }

    fn spawn_detached(&self, kind: WorkKind) {
        // Dropping our `JoinHandle` detaches the task: it runs on, and only shutdown ends it.
        drop(self.executor.spawn(lesson(kind)));
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> {
        executor::sleep(duration)
    }

    fn unregister(&self, index: u64) -> bool {
        self.scheduler.unregister(index)
    }

    fn stop(&self) {
        self.scheduler.stop();
    }

    const CANCELS_NOW: bool = true;

    fn unregister_now(&self, index: u64) -> bool {
        self.scheduler.unregister_now(index)
    }

    fn stop_now(&self) {
        self.scheduler.stop_now();
    }

    fn registered(&self) -> usize {
        self.scheduler.len()
    }

    fn yield_now(&self) -> impl Future<Output = ()> {
        executor::yield_now()
    }

    fn counts(&self) -> TaskCounts {
        counts(self.executor.stats())
    }

    #[cfg(feature = "trace")]
    fn trace_into(&self, recorder: &executor::trace::Recorder) -> bool {
        self.executor.trace_into(recorder);
        true
    }

    fn shutdown(self) -> TaskCounts {
        let Ours {
            executor,
            scheduler,
        } = self;
        let stats = executor.shutdown();
        drop(scheduler);
        counts(stats)
    }
}

/// The lessons' works, one future type for every kind but the study's.
async fn lesson(kind: WorkKind) {
    work::note_first_poll();
    match kind {
        WorkKind::Sleep => executor::sleep(WORK_SLEEP).await,
        WorkKind::Husk => {
            work::park_waker().await;
            executor::sleep(WORK_SLEEP).await;
        }
        WorkKind::Timeout => {
            // The inner sleep loses: it is dropped when the `Timeout` resolves, and its timer
            // entry with it.
            let _ = executor::timeout(TIMEOUT, executor::sleep(WORK_SLEEP)).await;
            work::note_timed_out();
        }
        WorkKind::Cycle | WorkKind::CycleWeak => {
            let cycle = RcCycle::new(kind == WorkKind::CycleWeak);
            executor::sleep(WORK_SLEEP).await;
            drop(cycle);
        }
    }
}

/// The executor's [`Stats`], plus the works' own count of first polls.
fn counts(stats: Stats) -> TaskCounts {
    TaskCounts {
        spawned: stats.spawned,
        first_polls: work::first_polls(),
        polls: stats.polls,
        cancelled: stats.cancelled,
        futures_dropped: stats.futures_dropped,
        tasks_freed: Some(stats.tasks_freed),
        live_tasks: Some(stats.live_tasks),
        peak_live_tasks: Some(stats.peak_live_tasks),
        timers_live: Some(stats.timers_live),
        husks: Some(stats.husks),
        husk_bytes: Some(stats.husk_bytes),
        husks_with_handle: Some(stats.husks_with_handle),
    }
}
