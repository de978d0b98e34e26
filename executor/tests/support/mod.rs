//! Helpers shared by the integration tests: drop probes, event logs, a few tiny futures and an
//! exact `Stats` assertion. Every test binary uses its own subset, hence the `dead_code` allow.
#![allow(dead_code)]

use executor::{Executor, JoinHandle, Stats, yield_now};
use std::cell::{Cell, RefCell};
use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::sync::mpsc;
use std::task::{Poll, Waker};
use std::thread::{self, ThreadId};
use std::time::Duration;

/// Counts the drops of the [`Guard`]s it hands out and records the thread each drop ran on.
#[derive(Clone, Default)]
pub struct Probe(Rc<ProbeState>);

#[derive(Default)]
struct ProbeState {
    drops: Cell<usize>,
    threads: RefCell<Vec<ThreadId>>,
}

impl Probe {
    pub fn new() -> Probe {
        Probe::default()
    }

    /// A value whose drop counts on this probe.
    pub fn guard(&self) -> Guard {
        Guard(self.clone())
    }

    pub fn drops(&self) -> usize {
        self.0.drops.get()
    }

    /// Asserts that every drop so far ran on the calling thread (the executor's).
    pub fn assert_dropped_on_this_thread(&self) {
        let me = thread::current().id();
        let threads = self.0.threads.borrow();
        assert!(
            threads.iter().all(|t| *t == me),
            "dropped on {threads:?}, but the executor thread is {me:?}"
        );
    }
}

/// Counts one drop on its [`Probe`] when dropped.
pub struct Guard(Probe);

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Guard")
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let state = &(self.0).0;
        state.drops.set(state.drops.get() + 1);
        state.threads.borrow_mut().push(thread::current().id());
    }
}

/// An ordered record of events, asserted as an exact sequence.
#[derive(Clone, Default)]
pub struct Log(Rc<RefCell<Vec<String>>>);

impl Log {
    pub fn new() -> Log {
        Log::default()
    }

    pub fn push(&self, event: impl Into<String>) {
        self.0.borrow_mut().push(event.into());
    }

    /// Everything logged so far; the log is left empty.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.borrow_mut())
    }

    /// Logs `event` when the returned value is dropped.
    pub fn on_drop(&self, event: impl Into<String>) -> LogOnDrop {
        LogOnDrop(self.clone(), event.into())
    }
}

/// Pushes its event to its [`Log`] when dropped.
pub struct LogOnDrop(Log, String);

impl Drop for LogOnDrop {
    fn drop(&mut self) {
        self.0.push(std::mem::take(&mut self.1));
    }
}

/// Runs a closure when dropped: a destructor that does something (cancels, spawns, ...).
pub struct OnDrop(Option<Box<dyn FnOnce()>>);

impl OnDrop {
    pub fn new(action: impl FnOnce() + 'static) -> OnDrop {
        OnDrop(Some(Box::new(action)))
    }
}

impl Drop for OnDrop {
    fn drop(&mut self) {
        if let Some(action) = self.0.take() {
            action();
        }
    }
}

/// A shared counter (polls of one task, say).
#[derive(Clone, Default)]
pub struct Counter(Rc<Cell<usize>>);

impl Counter {
    pub fn new() -> Counter {
        Counter::default()
    }

    pub fn get(&self) -> usize {
        self.0.get()
    }

    pub fn bump(&self) {
        self.0.set(self.0.get() + 1);
    }
}

/// Where a future leaves a clone of its waker for the test to use later.
#[derive(Clone, Default)]
pub struct WakerSlot(Rc<RefCell<Option<Waker>>>);

impl WakerSlot {
    pub fn new() -> WakerSlot {
        WakerSlot::default()
    }

    pub fn put(&self, waker: &Waker) {
        *self.0.borrow_mut() = Some(waker.clone());
    }

    /// Takes the stored waker out; panics if none is stored.
    pub fn take(&self) -> Waker {
        self.0.borrow_mut().take().expect("no waker stored")
    }

    pub fn is_filled(&self) -> bool {
        self.0.borrow().is_some()
    }
}

/// `future`, holding `guard` until it is dropped (or completes).
pub async fn guarded<F: Future>(guard: Guard, future: F) -> F::Output {
    let _guard = guard;
    future.await
}

/// `future`, counting every poll on `polls`.
pub async fn counted<F: Future>(polls: Counter, future: F) -> F::Output {
    let mut future = pin!(future);
    poll_fn(|cx| {
        polls.bump();
        future.as_mut().poll(cx)
    })
    .await
}

/// Never ready; every poll stores (a clone of) its waker in `slot`: an idle task whose only way
/// back into the run queue is a waker kept elsewhere.
pub fn pending_with_waker(slot: WakerSlot) -> impl Future<Output = ()> {
    poll_fn(move |cx| {
        slot.put(cx.waker());
        Poll::Pending
    })
}

/// Pending on the first poll (storing a waker clone in `slot`), ready on the next.
pub fn wait_for_wake(slot: WakerSlot) -> impl Future<Output = ()> {
    let mut polled = false;
    poll_fn(move |cx| {
        if polled {
            Poll::Ready(())
        } else {
            polled = true;
            slot.put(cx.waker());
            Poll::Pending
        }
    })
}

/// Yields forever: always runnable.
pub async fn yield_forever() {
    loop {
        yield_now().await;
    }
}

/// Polls `future` exactly once and reports what the poll returned.
pub async fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    poll_fn(|cx| Poll::Ready(Pin::new(&mut *future).poll(cx))).await
}

/// Spawns a task on `ex` that logs "`name` polled" when polled and "`name` dropped" when its
/// future is dropped (also if it is never polled).
pub fn spawn_logged(ex: &Executor, log: &Log, name: &'static str) -> JoinHandle<()> {
    let log = log.clone();
    let dropped = log.on_drop(format!("{name} dropped"));
    ex.spawn(async move {
        let _dropped = dropped;
        log.push(format!("{name} polled"));
    })
}

/// One full turn of the run queue: `block_on(yield_now())`.
pub fn tick(ex: &Executor) {
    ex.block_on(yield_now());
}

/// Runs `scenario` on a fresh thread (which can own its own executor) and waits for it at most
/// `limit`: a lost wake-up then fails the test instead of hanging it. Panics of the scenario
/// propagate.
pub fn within<T: Send + 'static>(
    limit: Duration,
    scenario: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    let worker = thread::spawn(move || {
        let value = scenario();
        let _ = tx.send(value);
    });
    match rx.recv_timeout(limit) {
        Ok(value) => {
            worker.join().unwrap();
            value
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Err(payload) => std::panic::resume_unwind(payload),
            Ok(()) => unreachable!("the scenario returned without sending"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("still running after {limit:?}: the executor missed a wake-up")
        }
    }
}

/// The invariants every `Stats` snapshot must satisfy.
pub fn check_invariants(s: &Stats) {
    assert_eq!(
        s.futures_dropped,
        s.completed + s.cancelled + s.panicked,
        "futures_dropped = completed + cancelled + panicked: {s}"
    );
    assert_eq!(s.live_tasks, s.spawned - s.tasks_freed, "live_tasks: {s}");
    assert!(
        s.tasks_freed <= s.futures_dropped,
        "a cell was freed before its future was dropped: {s}"
    );
    assert!(s.peak_live_tasks >= s.live_tasks, "peak_live_tasks: {s}");
    assert!(
        s.peak_task_bytes >= s.live_task_bytes,
        "peak_task_bytes: {s}"
    );
    assert_eq!(
        s.live_tasks == 0,
        s.live_task_bytes == 0,
        "live_task_bytes: {s}"
    );
    assert_eq!(s.husks, s.futures_dropped - s.tasks_freed, "husks: {s}");
    assert_eq!(s.husks == 0, s.husk_bytes == 0, "husk_bytes: {s}");
    assert!(s.husk_bytes <= s.live_task_bytes, "husk_bytes: {s}");
    assert!(s.husks_with_handle <= s.husks, "husks_with_handle: {s}");
}

/// Asserts the named `Stats` fields exactly (and [`check_invariants`]), naming the field that
/// differs.
macro_rules! assert_stats {
    ($stats:expr, { $($field:ident: $value:expr),+ $(,)? }) => {{
        let stats: executor::Stats = $stats;
        $crate::support::check_invariants(&stats);
        $(
            assert_eq!(
                stats.$field,
                $value,
                "Stats::{} differs in {}",
                stringify!($field),
                stats
            );
        )+
    }};
}
pub(crate) use assert_stats;
