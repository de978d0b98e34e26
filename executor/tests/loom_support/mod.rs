//! Helpers shared by the loom models (`tests/loom_*.rs`).
//!
//! - [`DropLog`] counts how often a task's future was dropped and checks that each drop ran on
//!   the executor's loom thread: a future dropped twice, never, or on the waker's thread fails
//!   the model.
//! - [`park_once`] is a task future that hands its waker out on its first poll and then waits
//!   for a wake; the model moves that waker to another loom thread.
//! - [`idle_task`] spawns a [`wait_forever`] task, polls it once and hands back its handle and
//!   the waker it gave away: the setup of most models.
//! - [`model`] runs a closure under `loom::model::Builder`, which reads `LOOM_MAX_PREEMPTIONS`
//!   and the other `LOOM_*` variables. At the end of every explored execution loom checks that
//!   every `loom::sync::Arc` has been dropped. Every task cell holds one (`Arc<Shared>`), so a
//!   cell that is never freed fails the model with "Arc leaked".

#![allow(dead_code)] // each model file uses a different subset

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Poll, Waker};

use executor::{Executor, JoinHandle, yield_now};
use loom::thread::{self, ThreadId};

/// Runs `f` once per interleaving that loom explores, then prints how many there were (shown
/// with `--nocapture`).
pub fn model(f: impl Fn() + Sync + Send + 'static) {
    let runs = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = runs.clone();
    let start = std::time::Instant::now();
    loom::model::Builder::new().check(move || {
        counted.fetch_add(1, Ordering::Relaxed);
        f();
    });
    eprintln!(
        "loom: {} interleavings in {:.2?} (LOOM_MAX_PREEMPTIONS={})",
        runs.load(Ordering::Relaxed),
        start.elapsed(),
        std::env::var("LOOM_MAX_PREEMPTIONS").unwrap_or_else(|_| "unset".into()),
    );
}

/// Counts drops of the futures it is attached to, and where they ran.
///
/// The counter is a plain `Rc<Cell<_>>`, not a loom type: the futures are `!Send` anyway, and
/// the point is that they are only ever dropped on the executor's thread, which the
/// [`DropGuard`] asserts before counting.
#[derive(Clone)]
pub struct DropLog {
    drops: Rc<Cell<usize>>,
    executor_thread: ThreadId,
}

impl DropLog {
    /// A log whose executor thread is the current loom thread.
    pub fn new() -> DropLog {
        DropLog {
            drops: Rc::new(Cell::new(0)),
            executor_thread: thread::current().id(),
        }
    }

    /// A guard to move into a future: its drop is the future's drop.
    pub fn guard(&self) -> DropGuard {
        DropGuard(self.clone())
    }

    /// How many of the guarded futures have been dropped so far.
    pub fn drops(&self) -> usize {
        self.drops.get()
    }
}

/// Part of a future; records the future's drop in its [`DropLog`].
pub struct DropGuard(DropLog);

impl Drop for DropGuard {
    fn drop(&mut self) {
        assert_eq!(
            thread::current().id(),
            self.0.executor_thread,
            "a task's future was dropped off the executor thread"
        );
        self.0.drops.set(self.0.drops.get() + 1);
    }
}

/// Where a task leaves its waker for the model to pick up (executor thread only).
pub type WakerSlot = Rc<RefCell<Option<Waker>>>;

/// An empty [`WakerSlot`].
pub fn waker_slot() -> WakerSlot {
    Rc::new(RefCell::new(None))
}

/// A task future: its first poll clones its waker into `slot` and returns `Pending`; every
/// later poll returns `Ready(output)`. It owns `guard`, so its drop is logged.
pub fn park_once<T: 'static>(
    slot: WakerSlot,
    guard: DropGuard,
    output: T,
) -> impl Future<Output = T> + 'static {
    let mut output = Some(output);
    let mut first = true;
    std::future::poll_fn(move |cx| {
        let _keep = &guard; // moved into the closure: dropped with the future
        if std::mem::take(&mut first) {
            *slot.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        } else {
            Poll::Ready(output.take().expect("polled after Ready"))
        }
    })
}

/// A task future that clones its waker into `slot` on its first poll and never completes: it
/// ends only by cancel or shutdown. It owns `guard`, so its drop is logged.
pub fn wait_forever(slot: WakerSlot, guard: DropGuard) -> impl Future<Output = ()> + 'static {
    let mut first = true;
    std::future::poll_fn(move |cx| {
        let _keep = &guard; // moved into the closure: dropped with the future
        if std::mem::take(&mut first) {
            *slot.borrow_mut() = Some(cx.waker().clone());
        }
        Poll::Pending
    })
}

/// Spawns a [`wait_forever`] task on `ex`, runs its first poll, and returns its handle and the
/// waker that poll gave away: an idle task whose only way back into a queue is that waker.
pub fn idle_task(ex: &Executor, log: &DropLog) -> (JoinHandle<()>, Waker) {
    let slot = waker_slot();
    let handle = ex.spawn(wait_forever(slot.clone(), log.guard()));
    ex.block_on(yield_now());
    let waker = slot
        .borrow_mut()
        .take()
        .expect("the first poll stored a waker");
    (handle, waker)
}

/// Polls `future` once with a no-op waker: for a `JoinHandle` whose task is known to be over.
pub fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    let mut cx = std::task::Context::from_waker(Waker::noop());
    std::pin::Pin::new(future).poll(&mut cx)
}
