//! Helpers shared by the scheduler's integration tests: an event trace, drop probes, and an
//! exact view of the executor's counters.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;

use executor::{Stats, yield_now};
use scheduler::Work;

/// An ordered log of events, shared by a test and the works it registers.
#[derive(Clone, Default)]
pub struct Trace(Rc<RefCell<Vec<String>>>);

impl Trace {
    /// Appends one event.
    pub fn push(&self, event: impl Into<String>) {
        self.0.borrow_mut().push(event.into());
    }

    /// Every event so far, in order.
    pub fn events(&self) -> Vec<String> {
        self.0.borrow().clone()
    }

    /// A guard that logs `event` when it is dropped.
    pub fn on_drop(&self, event: impl Into<String>) -> OnDrop {
        let trace = self.clone();
        let event = event.into();
        OnDrop::new(move || trace.push(event))
    }
}

/// Runs a closure when dropped: the probe that shows when a future's destructor runs.
pub struct OnDrop(Option<Box<dyn FnOnce()>>);

impl OnDrop {
    /// A guard that runs `action` when dropped.
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

/// A work that never ends. Logs "`name` polled" when its body starts and "`name` dropped"
/// when its future is dropped, polled or not (the probe is created by the work's function,
/// before the body, so it is part of the future from the start).
pub fn pending_work(trace: &Trace, name: &'static str) -> Work {
    let trace = trace.clone();
    Work::new(move || {
        let dropped = trace.on_drop(format!("{name} dropped"));
        async move {
            let _dropped = dropped;
            trace.push(format!("{name} polled"));
            std::future::pending::<()>().await;
        }
    })
}

/// A work that yields forever, logging "`name` polled" on every poll of its body and
/// "`name` dropped" when its future is dropped. It is in the run queue on every tick.
pub fn yielding_work(trace: &Trace, name: &'static str) -> Work {
    let trace = trace.clone();
    Work::new(move || {
        let dropped = trace.on_drop(format!("{name} dropped"));
        async move {
            let _dropped = dropped;
            loop {
                trace.push(format!("{name} polled"));
                yield_now().await;
            }
        }
    })
}

/// A work that returns on its first poll, logging "`name` returned" and then "`name`
/// dropped" as its future is dropped.
pub fn returning_work(trace: &Trace, name: &'static str) -> Work {
    let trace = trace.clone();
    Work::new(move || {
        let dropped = trace.on_drop(format!("{name} dropped"));
        async move {
            let _dropped = dropped;
            trace.push(format!("{name} returned"));
        }
    })
}

/// Builds a work whose function gets the work's own index (set right after `Work::new`).
pub fn work_knowing_its_index<F, Fut>(func: F) -> Work
where
    F: FnOnce(u64) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let me = Rc::new(Cell::new(0));
    let work = Work::new({
        let me = me.clone();
        move || func(me.get())
    });
    me.set(work.index());
    work
}

/// One full tick of the executor, from inside `block_on`: every task runnable now is
/// polled, or, if cancelled, dropped, once.
pub async fn tick() {
    yield_now().await;
}

/// The executor counters these tests assert, as one value so a mismatch shows all of them.
#[derive(Debug, PartialEq, Eq)]
pub struct Counts {
    pub spawned: u64,
    pub polls: u64,
    pub completed: u64,
    pub cancelled: u64,
    pub panicked: u64,
    pub futures_dropped: u64,
    pub tasks_freed: u64,
    pub live_tasks: u64,
}

impl From<Stats> for Counts {
    fn from(stats: Stats) -> Counts {
        Counts {
            spawned: stats.spawned,
            polls: stats.polls,
            completed: stats.completed,
            cancelled: stats.cancelled,
            panicked: stats.panicked,
            futures_dropped: stats.futures_dropped,
            tasks_freed: stats.tasks_freed,
            live_tasks: stats.live_tasks,
        }
    }
}

/// `Vec<String>` from string literals, for comparing traces.
pub fn events(list: &[&str]) -> Vec<String> {
    list.iter().map(|event| event.to_string()).collect()
}
