//! tokio: the current-thread runtime with its timer, `tokio::time::sleep` as the work,
//! `JoinHandle::abort` as cancel.
//!
//! `yield_now` is tokio's own: inside `block_on` it defers the yielder until the scheduler has
//! run a batch of tasks (`event_interval`, 61 by default) or has nothing left to run.
//! Shutdown is dropping the runtime, which drops every task's future.

use std::cell::RefCell;
use std::future::Future;
use std::thread::LocalKey;
use std::time::Duration;

use tokio::runtime::{Builder, Runtime as TokioRuntime};
use tokio::task::JoinHandle;

use super::{PeerHandle, PeerScheduler, Slots, SlotsHome, empty_slots};
use crate::runtime::{Runtime, TaskCounts};
use crate::work::{self, ArcCycle, TIMEOUT, WORK_SLEEP, WorkKind};

/// tokio's current-thread runtime, time enabled, with a [`PeerScheduler`].
pub struct Tokio {
    runtime: TokioRuntime,
    scheduler: PeerScheduler<TokioSlots>,
}

/// The home of tokio's scheduler table.
pub struct TokioSlots;

thread_local! {
    static SLOTS: RefCell<Slots<JoinHandle<()>>> = const { empty_slots() };
}

impl SlotsHome for TokioSlots {
    type Handle = JoinHandle<()>;

    fn slots() -> &'static LocalKey<RefCell<Slots<JoinHandle<()>>>> {
        &SLOTS
    }
}

impl PeerHandle for JoinHandle<()> {
    fn cancel(self) {
        self.abort();
    }

    fn detach(self) {
        // tokio detaches on drop.
        drop(self);
    }
}

/// tokio's work of `kind`, with its done hook. tokio's `spawn` wants `Send` futures, so the
/// cycle is the `Arc` one.
fn spawn(kind: WorkKind, hook: super::DoneHook<TokioSlots>) -> JoinHandle<()> {
    let sleep = || tokio::time::sleep(WORK_SLEEP);
    match kind {
        WorkKind::Sleep => tokio::spawn(super::work(hook, sleep)),
        WorkKind::Husk => tokio::spawn(super::work(hook, move || async move {
            work::park_waker().await;
            sleep().await;
        })),
        WorkKind::Timeout => tokio::spawn(super::work(hook, move || async move {
            let _ = tokio::time::timeout(TIMEOUT, sleep()).await;
            work::note_timed_out();
        })),
        WorkKind::Cycle | WorkKind::CycleWeak => {
            tokio::spawn(super::work(hook, move || async move {
                let cycle = ArcCycle::new(kind == WorkKind::CycleWeak);
                sleep().await;
                drop(cycle);
            }))
        }
    }
}

impl Runtime for Tokio {
    const NAME: &'static str = "tokio";

    fn new() -> Tokio {
        Tokio {
            runtime: Builder::new_current_thread()
                .enable_time()
                .build()
                .expect("a current-thread tokio runtime builds"),
            scheduler: PeerScheduler::new(),
        }
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    fn register(&self, kind: WorkKind) -> u64 {
        self.scheduler.register(|hook| spawn(kind, hook))
    }

    fn spawn_detached(&self, kind: WorkKind) {
        self.scheduler.spawn_detached(|hook| spawn(kind, hook));
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> {
        tokio::time::sleep(duration)
    }

    fn unregister(&self, index: u64) -> bool {
        self.scheduler.unregister(index)
    }

    fn stop(&self) {
        self.scheduler.stop();
    }

    fn registered(&self) -> usize {
        self.scheduler.len()
    }

    fn yield_now(&self) -> impl Future<Output = ()> {
        tokio::task::yield_now()
    }

    fn counts(&self) -> TaskCounts {
        self.scheduler.counts()
    }

    fn shutdown(self) -> TaskCounts {
        let Tokio { runtime, scheduler } = self;
        drop(runtime);
        scheduler.clear();
        scheduler.counts()
    }
}
