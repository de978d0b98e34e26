//! smol: `async-executor`'s `LocalExecutor` driven by `async-io`'s `block_on`, `async-io`'s
//! `Timer` as the work, cancel by dropping the `Task`.
//!
//! `yield_now` is `futures-lite`'s: the yielder wakes itself, and `LocalExecutor::run` runs up
//! to 200 tasks before it polls the yielder again.
//!
//! Timers live in `async-io`'s process-wide reactor, not in the executor: a `Timer`'s first
//! poll queues an insert (with a clone of the task's waker, and wakes the reactor), its drop
//! queues a removal, and the queue is applied to the reactor's timer map when the reactor next
//! turns — on the `async-io` helper thread or inside `block_on`, whichever holds the reactor.
//! Until a removal is applied, the reactor's waker keeps the task's allocation alive. So after
//! shutdown (dropping the executor, which drops every task's future) the bench lets the reactor
//! turn once before it reads the heap ([`Runtime::finish_shutdown`], not timed): it waits on a
//! 1 ms timer, which is inserted behind every queued removal and can only fire once they are
//! applied; then it gives the helper thread 5 ms for the turn it makes on its own when a
//! `block_on` ends, so that its last frees land before the next measurement, not in it.

use std::cell::RefCell;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::thread::{self, LocalKey};
use std::time::Duration;

use async_executor::{LocalExecutor, Task};
use async_io::Timer;

use super::{PeerHandle, PeerScheduler, Slots, SlotsHome, empty_slots};
use crate::runtime::{Runtime, TaskCounts};
use crate::work::{self, RcCycle, TIMEOUT, WORK_SLEEP, WorkKind};

/// How long `async-io`'s helper thread is given to make its last turn after shutdown.
const HELPER_SETTLES: Duration = Duration::from_millis(5);

/// `async-executor`'s `LocalExecutor` with a [`PeerScheduler`].
pub struct Smol {
    executor: LocalExecutor<'static>,
    scheduler: PeerScheduler<SmolSlots>,
}

/// The home of smol's scheduler table.
pub struct SmolSlots;

thread_local! {
    static SLOTS: RefCell<Slots<Task<()>>> = const { empty_slots() };
}

impl SlotsHome for SmolSlots {
    type Handle = Task<()>;

    fn slots() -> &'static LocalKey<RefCell<Slots<Task<()>>>> {
        &SLOTS
    }
}

impl PeerHandle for Task<()> {
    fn cancel(self) {
        drop(self);
    }

    fn detach(self) {
        // smol's `Task` cancels on drop: `detach` lets it run on.
        Task::detach(self);
    }
}

impl Smol {
    /// smol's work of `kind`, with its done hook. A timeout in smol is a race with a timer
    /// (`futures-lite`'s `or`): the loser is dropped with the race.
    fn spawn(&self, kind: WorkKind, hook: super::DoneHook<SmolSlots>) -> Task<()> {
        let sleep = || async {
            Timer::after(WORK_SLEEP).await;
        };
        match kind {
            WorkKind::Sleep => self
                .executor
                .spawn(super::work(hook, || Timer::after(WORK_SLEEP))),
            WorkKind::Husk => self.executor.spawn(super::work(hook, move || async move {
                work::park_waker().await;
                sleep().await;
            })),
            WorkKind::Timeout => self.executor.spawn(super::work(hook, move || async move {
                let fired = async {
                    Timer::after(TIMEOUT).await;
                };
                futures_lite::FutureExt::or(sleep(), fired).await;
                work::note_timed_out();
            })),
            WorkKind::Cycle | WorkKind::CycleWeak => {
                self.executor.spawn(super::work(hook, move || async move {
                    let cycle = RcCycle::new(kind == WorkKind::CycleWeak);
                    sleep().await;
                    drop(cycle);
                }))
            }
        }
    }
}

impl Runtime for Smol {
    const NAME: &'static str = "smol";

    fn new() -> Smol {
        Smol {
            executor: LocalExecutor::new(),
            scheduler: PeerScheduler::new(),
        }
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        async_io::block_on(self.executor.run(future))
    }

    fn register(&self, kind: WorkKind) -> u64 {
        self.scheduler.register(|hook| self.spawn(kind, hook))
    }

    fn spawn_detached(&self, kind: WorkKind) {
        self.scheduler.spawn_detached(|hook| self.spawn(kind, hook));
    }

    async fn sleep(&self, duration: Duration) {
        Timer::after(duration).await;
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
        futures_lite::future::yield_now()
    }

    fn counts(&self) -> TaskCounts {
        self.scheduler.counts()
    }

    fn shutdown(self) -> TaskCounts {
        let Smol {
            executor,
            scheduler,
        } = self;
        drop(executor);
        scheduler.clear();
        scheduler.counts()
    }

    fn finish_shutdown() {
        // A timer that is already due when first polled resolves without the reactor, so wait
        // on one that was really registered (its first poll was pending).
        loop {
            let mut timer = Timer::after(Duration::from_millis(1));
            let mut registered = false;
            async_io::block_on(poll_fn(|cx| {
                let poll = Pin::new(&mut timer).poll(cx);
                registered |= poll.is_pending();
                poll
            }));
            if registered {
                break;
            }
        }
        // The end of every `block_on` wakes `async-io`'s helper thread, which then turns the
        // reactor once more: a turn with an empty timer map frees the map's last node. Give it
        // the time to do so now, rather than in the middle of the next measurement.
        thread::sleep(HELPER_SETTLES);
    }
}
