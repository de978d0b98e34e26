//! A `Waker` kept outside the task keeps the husk, not the future: a registered work stashes a
//! clone of its waker, is unregistered, and the next tick drops its future — its own heap
//! allocation goes back at once — while the task cell stays allocated until the stashed waker
//! is dropped, on this thread or on another.
//!
//! The counting allocator counts per thread: the cell is allocated on the executor's thread,
//! so a free on a foreign thread shows as that thread's bytes going down while the executor
//! thread's stay up by exactly the cell. That is how these tests see *where* the cell went.

mod common;

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::hint::black_box;
use std::rc::Rc;
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Poll, Waker};
use std::thread::{self, ThreadId};

use common::{Tasks, tick};
use executor::Executor;
use scheduler::{Work, WorkScheduler};
use workspace_tests::counting::{CountingAlloc, Delta, Heap, assert_installed};

#[global_allocator]
static ALLOCATOR: CountingAlloc = CountingAlloc;

/// The future's own heap allocation, made on its first poll and freed with the future.
const BUFFER: usize = 4096;

/// Where and how often a future was dropped.
#[derive(Default)]
struct Probe {
    drops: Cell<u32>,
    dropped_on: Cell<Option<ThreadId>>,
}

/// Lives in the work's future; records its drop in the probe.
struct DropProbe(Rc<Probe>);

impl Drop for DropProbe {
    fn drop(&mut self) {
        self.0.drops.set(self.0.drops.get() + 1);
        self.0.dropped_on.set(Some(thread::current().id()));
    }
}

/// A work whose first poll allocates a 4 KiB buffer, stashes a clone of its waker in `stash`
/// (some other data structure that will outlive the task) and waits forever.
fn waker_stashing_work(stash: &Rc<RefCell<Option<Waker>>>, probe: &Rc<Probe>) -> Work {
    let stash = stash.clone();
    let probe = probe.clone();
    Work::new(move || async move {
        let _probe = DropProbe(probe);
        let buffer = Box::new([7u8; BUFFER]);
        poll_fn(|cx| {
            *stash.borrow_mut() = Some(cx.waker().clone());
            Poll::<()>::Pending
        })
        .await;
        black_box(&buffer);
    })
}

/// Registers a waker-stashing work, lets it take its first poll, unregisters it and lets the
/// executor drop its future, checking every moment. Returns the cell's size and the heap
/// reading taken before the work was created; the husk is left held by `stash` alone.
async fn register_poll_unregister_drop(
    ex: &Executor,
    scheduler: &WorkScheduler,
    stash: &Rc<RefCell<Option<Waker>>>,
    probe: &Rc<Probe>,
) -> (u64, Heap) {
    let before = Tasks::from(ex.stats());
    let start = Heap::now();
    // `Work::new` boxes the function's captures (two `Rc`s); `register` frees that box when
    // it calls the function, and allocates the cell.
    let index = scheduler.register(waker_stashing_work(stash, probe));
    let registered = Heap::now();
    let cell = ex.stats().live_task_bytes;
    assert_eq!(
        registered.since(start),
        Delta {
            allocs: 2,
            frees: 1,
            reallocs: 0,
            bytes: cell as i64,
        },
        "the captures' box came and went; the cell stays"
    );
    assert_eq!(registered.last_alloc as u64, cell);

    // First poll: the buffer is allocated and the waker stashed (a clone: one more reference
    // to the cell, no allocation).
    tick().await;
    let polled = Heap::now();
    assert_eq!(
        polled.since(registered),
        Delta {
            allocs: 1,
            frees: 0,
            reallocs: 0,
            bytes: BUFFER as i64,
        }
    );
    assert!(stash.borrow().is_some());

    // Unregister: nothing dropped, nothing freed.
    assert!(scheduler.unregister(index));
    assert_eq!(Heap::now().since(polled), Delta::default());
    assert_eq!(probe.drops.get(), 0);
    let moment = Tasks {
        spawned: before.spawned + 1,
        polls: before.polls + 1,
        live_tasks: 1,
        live_task_bytes: cell,
        ..before
    };
    assert_eq!(Tasks::from(ex.stats()), moment);

    // Next tick: [F] the future is dropped here, and its buffer with it. [M] does not
    // happen: the stashed waker still holds the cell.
    tick().await;
    let dropped = Heap::now();
    assert_eq!(probe.drops.get(), 1);
    assert_eq!(probe.dropped_on.get(), Some(thread::current().id()));
    assert_eq!(
        dropped.since(polled),
        Delta {
            allocs: 0,
            frees: 1,
            reallocs: 0,
            bytes: -(BUFFER as i64),
        },
        "the future's own heap is back"
    );
    assert_eq!(dropped.last_free, BUFFER);
    assert_eq!(
        Tasks::from(ex.stats()),
        Tasks {
            cancelled: before.cancelled + 1,
            futures_dropped: before.futures_dropped + 1,
            ..moment
        },
        "tasks_freed lags futures_dropped by one: the husk"
    );
    assert_eq!(
        dropped.since(start).bytes,
        cell as i64,
        "the heap holds the husk and nothing else"
    );
    assert_eq!(scheduler.len(), 0);
    (cell, start)
}

#[test]
fn leaked_waker_keeps_husk_not_future() {
    assert_installed();
    let ex = Executor::new();
    let stash: Rc<RefCell<Option<Waker>>> = Rc::default();
    let probe = Rc::new(Probe::default());
    ex.block_on(async {
        let scheduler = WorkScheduler::new();
        // Warm the table to its floor, which it keeps from then on.
        scheduler.register(Work::new(|| async {}));
        tick().await;

        let (cell, start) = register_poll_unregister_drop(&ex, &scheduler, &stash, &probe).await;

        // The last reference goes: [M] the husk is freed, here.
        let waker = stash.borrow_mut().take();
        let before_drop = Heap::now();
        drop(waker);
        let freed = Heap::now();
        assert_eq!(
            freed.since(before_drop),
            Delta {
                allocs: 0,
                frees: 1,
                reallocs: 0,
                bytes: -(cell as i64),
            }
        );
        assert_eq!(freed.last_free as u64, cell);
        assert_eq!(freed.since(start).bytes, 0, "the heap is back at the start");
        let stats = ex.stats();
        assert_eq!(
            (stats.futures_dropped, stats.tasks_freed, stats.live_tasks),
            (2, 2, 0)
        );
        assert_eq!(stats.live_task_bytes, 0);
    });
    assert_eq!(probe.drops.get(), 1, "dropped once, never again");
}

/// What the foreign thread saw while it dropped the waker.
struct Report {
    delta: Delta,
    last_free: usize,
    thread: ThreadId,
}

/// A waker handed to the foreign thread, and its report handed back.
#[derive(Default)]
struct Exchange {
    waker: Option<Waker>,
    report: Option<Report>,
    done: bool,
}

#[derive(Default)]
struct Handoff {
    exchange: Mutex<Exchange>,
    changed: Condvar,
}

impl Handoff {
    fn wait_until<T>(&self, mut ready: impl FnMut(&mut Exchange) -> Option<T>) -> T {
        let mut exchange = self.exchange.lock().unwrap();
        loop {
            if let Some(value) = ready(&mut exchange) {
                return value;
            }
            exchange = self.changed.wait(exchange).unwrap();
        }
    }

    fn update(&self, f: impl FnOnce(&mut Exchange)) {
        f(&mut self.exchange.lock().unwrap());
        self.changed.notify_all();
    }
}

#[test]
fn leaked_waker_dropped_on_foreign_thread_frees_husk_there() {
    assert_installed();
    // The foreign thread is started before anything is measured: starting a thread allocates
    // on this one. Handing over a waker through a `Mutex` and a `Condvar` allocates nothing.
    let handoff = Arc::new(Handoff::default());
    let foreign = thread::spawn({
        let handoff = handoff.clone();
        move || {
            let waker = handoff.wait_until(|exchange| exchange.waker.take());
            let before = Heap::now();
            drop(waker);
            let after = Heap::now();
            let report = Report {
                delta: after.since(before),
                last_free: after.last_free,
                thread: thread::current().id(),
            };
            handoff.update(|exchange| exchange.report = Some(report));
            handoff.wait_until(|exchange| exchange.done.then_some(()));
        }
    });

    let ex = Executor::new();
    let stash: Rc<RefCell<Option<Waker>>> = Rc::default();
    let probe = Rc::new(Probe::default());
    let report = ex.block_on(async {
        let scheduler = WorkScheduler::new();
        scheduler.register(Work::new(|| async {}));
        tick().await;

        let (cell, start) = register_poll_unregister_drop(&ex, &scheduler, &stash, &probe).await;

        let waker = stash.borrow_mut().take();
        handoff.update(|exchange| exchange.waker = waker);
        let report = handoff.wait_until(|exchange| exchange.report.take());

        // [M] happened on the foreign thread: one free there of exactly the cell ...
        assert_eq!(
            report.delta,
            Delta {
                allocs: 0,
                frees: 1,
                reallocs: 0,
                bytes: -(cell as i64),
            }
        );
        assert_eq!(report.last_free as u64, cell);
        // ... so this thread, which allocated the cell, still counts it: the two threads
        // together are back at the start.
        assert_eq!(Heap::now().since(start).bytes, cell as i64);
        assert_eq!(Heap::now().since(start).bytes + report.delta.bytes, 0);
        // The executor counted the free made on the other thread.
        let stats = ex.stats();
        assert_eq!(
            (stats.futures_dropped, stats.tasks_freed, stats.live_tasks),
            (2, 2, 0)
        );
        assert_eq!(stats.live_task_bytes, 0);
        report
    });
    // The future was dropped on the executor thread, once; only the husk crossed over.
    assert_eq!(probe.drops.get(), 1);
    assert_eq!(probe.dropped_on.get(), Some(thread::current().id()));
    assert_ne!(probe.dropped_on.get(), Some(report.thread));

    handoff.update(|exchange| exchange.done = true);
    foreign.join().unwrap();
}
