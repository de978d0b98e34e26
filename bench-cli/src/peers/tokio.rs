//! tokio: the current-thread runtime with its timer, `tokio::time::sleep` as the work,
//! `JoinHandle::abort` as cancel.
//!
//! `yield_now` is tokio's own: inside `block_on` it defers the yielder until the scheduler has
//! run a batch of tasks (`event_interval`, 61 by default) or has nothing left to run.
//! Shutdown is dropping the runtime, which drops every task's future.

use std::cell::RefCell;
use std::future::Future;
use std::thread::LocalKey;

use tokio::runtime::{Builder, Runtime as TokioRuntime};
use tokio::task::JoinHandle;

use super::{PeerHandle, PeerScheduler, Slots, SlotsHome, empty_slots};
use crate::runtime::{Runtime, TaskCounts};
use crate::work::WORK_SLEEP;

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

    fn register_work(&self) -> u64 {
        self.scheduler
            .register(|hook| tokio::spawn(super::work(hook, || tokio::time::sleep(WORK_SLEEP))))
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
