//! `JoinHandle::cancel_now`: the future is dropped inside the call whenever nobody has it in
//! hand, and the cell is freed with the handle — no tick in between. Every figure is exact: drop
//! probes, `Stats`, and the heap from the workspace's counting allocator (kept per thread, so
//! the test harness does not disturb it).

mod support;

use executor::{Executor, JoinHandle, sleep, spawn, yield_now};
use std::cell::RefCell;
use std::future::{Future, pending, poll_fn};
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;
use support::{
    Counter, Log, OnDrop, Probe, WakerSlot, assert_stats, guarded, pending_with_waker,
    spawn_logged, tick, within, yield_forever,
};
use workspace_tests::counting::{CountingAlloc, Delta, Heap};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

const FOREVER: Duration = Duration::from_secs(1000);

/// Counts one drop on its counter, allocating nothing (a `Probe` records threads in a `Vec`).
struct CountDrop(Counter);

impl Drop for CountDrop {
    fn drop(&mut self) {
        self.0.bump();
    }
}

/// A handle a task can reach from its own body or destructor.
type SharedHandle<T> = Rc<RefCell<Option<JoinHandle<T>>>>;

#[test]
fn idle_sleeping_task_is_dropped_inside_the_call_and_freed_with_its_handle() {
    let ex = Executor::new();
    let drops = Counter::new();
    let guard = CountDrop(drops.clone());
    let before = Heap::now();
    // The future owns heap of its own (a 4 KiB buffer) besides its cell and its timer entry.
    let buffer = vec![0u8; 4096];
    let handle = ex.spawn(async move {
        let _guard = guard;
        sleep(FOREVER).await;
        buffer.len()
    });
    tick(&ex); // first poll: the sleep links its entry into the timer
    let cell = ex.stats().live_task_bytes;
    assert_stats!(ex.stats(), { polls: 1, timers_live: 1, live_tasks: 1 });
    assert_eq!(Heap::now().since(before).bytes, 4096 + cell as i64);

    assert!(handle.cancel_now());
    // [F] happened inside the call: the destructor ran, the buffer and the timer entry are gone.
    assert_eq!(drops.get(), 1);
    assert_eq!(
        Heap::now().since(before).bytes,
        cell as i64,
        "only the cell is left"
    );
    assert_stats!(ex.stats(), {
        futures_dropped: 1, cancelled: 1, timers_live: 0, live_tasks: 1, tasks_freed: 0,
    });
    assert!(handle.is_finished());

    // [M] with the handle: no tick in between.
    let dropped = Heap::now();
    drop(handle);
    let after = Heap::now();
    assert_eq!(
        after.since(dropped),
        Delta {
            allocs: 0,
            frees: 1,
            reallocs: 0,
            bytes: -(cell as i64)
        }
    );
    assert_eq!(after.last_free as u64, cell);
    assert_eq!(after.since(before).bytes, 0, "the heap is exactly back");
    assert_stats!(ex.stats(), {
        spawned: 1, polls: 1, futures_dropped: 1, tasks_freed: 1, live_tasks: 0,
        live_task_bytes: 0, timers_live: 0,
    });
    tick(&ex);
    assert_eq!(ex.stats().polls, 1, "never polled again");
    assert_eq!(drops.get(), 1);
}

#[test]
fn never_polled_task_leaves_the_run_queue_at_once() {
    let ex = Executor::new();
    let log = Log::new();
    let a = spawn_logged(&ex, &log, "a");
    let b = spawn_logged(&ex, &log, "b");
    let c = spawn_logged(&ex, &log, "c");
    let cells = ex.stats().live_task_bytes;
    // The middle one, then the last one: the queue is relinked around them.
    assert!(b.cancel_now());
    assert!(c.cancel_now());
    assert_eq!(log.take(), ["b dropped", "c dropped"]);
    drop((b, c));
    assert_stats!(ex.stats(), {
        polls: 0, cancelled: 2, tasks_freed: 2, live_tasks: 1, live_task_bytes: cells / 3,
    });
    // The queue still works, FIFO: a, then a task spawned after the cancels.
    let d = spawn_logged(&ex, &log, "d");
    tick(&ex);
    assert_eq!(
        log.take(),
        ["a polled", "a dropped", "d polled", "d dropped"]
    );
    drop((a, d));
    assert_stats!(ex.shutdown(), { spawned: 4, polls: 2, completed: 2, cancelled: 2, live_tasks: 0 });
}

#[test]
fn cancel_then_cancel_now_drops_the_queued_task_now() {
    let ex = Executor::new();
    let probe = Probe::new();
    let handle = ex.spawn(guarded(probe.guard(), pending::<()>()));
    tick(&ex);
    handle.cancel(); // asks: queued one last time
    assert_eq!(probe.drops(), 0);
    assert!(handle.cancel_now()); // the queued task is dropped and unlinked now
    assert_eq!(probe.drops(), 1);
    drop(handle);
    assert_stats!(ex.stats(), { cancelled: 1, tasks_freed: 1, live_tasks: 0 });
    tick(&ex);
    assert_stats!(ex.stats(), { polls: 1, futures_dropped: 1 });
}

#[test]
fn awaited_handle_reports_the_cancel() {
    let ex = Executor::new();
    let handle = ex.spawn(sleep(FOREVER));
    let err = ex.block_on(async {
        yield_now().await;
        assert!(handle.cancel_now()); // from the block_on future, the executor running
        assert!(!handle.cancel_now(), "a second call finds it complete");
        handle.await.unwrap_err()
    });
    assert!(err.is_cancelled());
    assert_stats!(ex.shutdown(), { cancelled: 1, tasks_freed: 1, timers_live: 0 });
}

#[test]
fn from_another_tasks_poll_the_drop_happens_inside_that_poll() {
    let ex = Executor::new();
    let log = Log::new();
    let victim = {
        let log = log.clone();
        ex.spawn(async move {
            let _dropped = log.on_drop("victim dropped");
            sleep(FOREVER).await;
        })
    };
    let killer = {
        let log = log.clone();
        ex.spawn(async move {
            yield_now().await; // the victim has taken its first poll
            log.push("before cancel_now");
            let dropped = victim.cancel_now();
            log.push(format!("after cancel_now: {dropped}"));
            drop(victim);
        })
    };
    ex.block_on(killer).unwrap();
    assert_eq!(
        log.take(),
        [
            "before cancel_now",
            "victim dropped",
            "after cancel_now: true"
        ]
    );
    assert_stats!(ex.shutdown(), {
        spawned: 2, completed: 1, cancelled: 1, tasks_freed: 2, timers_live: 0,
    });
}

#[test]
fn from_its_own_poll_it_is_cancel_and_the_future_goes_right_after() {
    let ex = Executor::new();
    let log = Log::new();
    let me: SharedHandle<()> = Rc::default();
    let handle = {
        let (log, me) = (log.clone(), me.clone());
        ex.spawn(async move {
            let _dropped = log.on_drop("dropped");
            let dropped = me.borrow().as_ref().unwrap().cancel_now();
            log.push(format!("own cancel_now: {dropped}"));
            yield_now().await;
            log.push("resumed");
        })
    };
    *me.borrow_mut() = Some(handle);
    tick(&ex);
    assert_eq!(log.take(), ["own cancel_now: false", "dropped"]);
    let handle = me.borrow_mut().take().unwrap();
    assert!(ex.block_on(handle).unwrap_err().is_cancelled());
    assert_stats!(ex.shutdown(), { polls: 1, cancelled: 1, completed: 0, tasks_freed: 1 });
}

#[test]
fn from_its_own_poll_that_returns_ready_the_output_wins() {
    let ex = Executor::new();
    let me: SharedHandle<u32> = Rc::default();
    let handle = {
        let me = me.clone();
        ex.spawn(async move {
            assert!(!me.borrow().as_ref().unwrap().cancel_now());
            7
        })
    };
    *me.borrow_mut() = Some(handle);
    tick(&ex);
    let handle = me.borrow_mut().take().unwrap();
    assert!(!handle.cancel_now(), "complete: nothing to do");
    assert_eq!(ex.block_on(handle).unwrap(), 7);
    assert_stats!(ex.shutdown(), { completed: 1, cancelled: 0 });
}

#[test]
fn finished_task_keeps_its_output() {
    let ex = Executor::new();
    let handle = ex.spawn(async { String::from("kept") });
    tick(&ex);
    assert!(handle.is_finished());
    assert!(!handle.cancel_now());
    assert_eq!(ex.block_on(handle).unwrap(), "kept");
    assert_stats!(ex.shutdown(), { completed: 1, cancelled: 0, tasks_freed: 1 });
}

struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("destructor panicked");
    }
}

#[test]
fn a_panicking_destructor_never_escapes_cancel_now() {
    let ex = Executor::new();
    let handle = ex.spawn(async {
        let _bomb = PanicOnDrop;
        sleep(FOREVER).await;
    });
    tick(&ex);
    assert!(handle.cancel_now(), "the panic was caught inside");
    assert_stats!(ex.stats(), { panicked: 1, cancelled: 0, futures_dropped: 1, timers_live: 0 });
    let err = ex.block_on(handle).unwrap_err();
    assert!(err.is_panic());
    assert_eq!(
        *err.into_panic().unwrap().downcast::<&str>().unwrap(),
        "destructor panicked"
    );
    // The executor keeps working.
    assert_eq!(ex.block_on(ex.spawn(async { 3 })).unwrap(), 3);
    assert_stats!(ex.shutdown(), { spawned: 2, completed: 1, panicked: 1, live_tasks: 0 });
}

#[test]
fn a_destructor_that_cancels_its_own_task_again_does_not_drop_it_twice() {
    let ex = Executor::new();
    let probe = Probe::new();
    let me: SharedHandle<()> = Rc::default();
    let handle = {
        let (me, guard) = (me.clone(), probe.guard());
        ex.spawn(async move {
            let _guard = guard;
            let _again = OnDrop::new(move || {
                // Inside our own drop: the future is in hand, so this only asks.
                assert!(!me.borrow().as_ref().unwrap().cancel_now());
            });
            pending::<()>().await;
        })
    };
    *me.borrow_mut() = Some(handle);
    tick(&ex);
    assert!(me.borrow().as_ref().unwrap().cancel_now());
    assert_eq!(probe.drops(), 1);
    me.borrow_mut().take();
    tick(&ex);
    assert_eq!(probe.drops(), 1);
    assert_stats!(ex.shutdown(), { futures_dropped: 1, cancelled: 1, tasks_freed: 1 });
}

#[test]
fn a_destructor_may_cancel_now_another_task_nested() {
    let ex = Executor::new();
    let log = Log::new();
    let inner = {
        let log = log.clone();
        ex.spawn(async move {
            let _dropped = log.on_drop("inner dropped");
            pending::<()>().await;
        })
    };
    let outer = {
        let log = log.clone();
        ex.spawn(async move {
            let _cancel_inner = OnDrop::new(move || {
                assert!(inner.cancel_now());
            });
            let _dropped = log.on_drop("outer dropped");
            pending::<()>().await;
        })
    };
    tick(&ex);
    assert!(outer.cancel_now());
    // Locals drop in reverse order: "outer dropped", then the guard that cancels `inner`.
    assert_eq!(log.take(), ["outer dropped", "inner dropped"]);
    drop(outer);
    assert_stats!(ex.stats(), { cancelled: 2, tasks_freed: 2, live_tasks: 0 });
}

#[test]
fn shutdown_drops_a_future_whose_destructor_cancels_another_now() {
    let ex = Executor::new();
    let probe = Probe::new();
    let later: SharedHandle<()> = Rc::default();
    // Shutdown drops in spawn order: `first`'s destructor reaches `second` before shutdown does.
    let first = {
        let later = later.clone();
        ex.spawn(async move {
            let _cancel = OnDrop::new(move || {
                assert!(later.borrow_mut().take().unwrap().cancel_now());
            });
            pending::<()>().await;
        })
    };
    let second = ex.spawn(guarded(probe.guard(), pending::<()>()));
    *later.borrow_mut() = Some(second);
    tick(&ex);
    drop(first);
    let stats = ex.shutdown();
    assert_eq!(probe.drops(), 1);
    assert_stats!(stats, { futures_dropped: 2, cancelled: 2, tasks_freed: 2, live_tasks: 0 });
}

#[test]
fn from_another_executor_on_the_same_thread() {
    let home = Executor::new();
    let other = Executor::new();
    let probe = Probe::new();
    let handle = home.spawn(guarded(probe.guard(), sleep(FOREVER)));
    tick(&home);
    // `home` is not running; `other` runs the caller. The task is still ours to drop.
    let dropped = other.block_on(async { handle.cancel_now() });
    assert!(dropped);
    assert_eq!(probe.drops(), 1);
    assert_stats!(home.stats(), { cancelled: 1, timers_live: 0, live_tasks: 1 });
    assert!(other.block_on(handle).unwrap_err().is_cancelled());
    assert_stats!(home.stats(), { tasks_freed: 1, live_tasks: 0 });
    assert_stats!(other.shutdown(), { spawned: 0 });
    assert_stats!(home.shutdown(), { cancelled: 1 });
}

#[test]
fn awaiter_woken_when_cancel_now_completes_the_task() {
    // A lost wake-up would hang `block_on`: bounded.
    within(Duration::from_secs(10), || {
        let ex = Executor::new();
        let target = Rc::new(RefCell::new(ex.spawn(pending::<()>())));
        let waiter = {
            let target = target.clone();
            ex.spawn(async move {
                // Polls the handle once with this task's waker; the borrow ends inside.
                let poll_target =
                    || poll_fn(|cx| Poll::Ready(Pin::new(&mut *target.borrow_mut()).poll(cx)));
                // Registers this task's waker in the join-waker table ...
                let first = poll_target().await;
                assert!(first.is_pending());
                // ... and waits without any other waker: only the join waker can wake it.
                let mut waited = false;
                poll_fn(|_| {
                    if std::mem::replace(&mut waited, true) {
                        Poll::Ready(())
                    } else {
                        Poll::Pending
                    }
                })
                .await;
                poll_target().await.map(|result| result.is_err())
            })
        };
        tick(&ex);
        assert!(target.borrow().cancel_now());
        assert_eq!(ex.block_on(waiter).unwrap(), Poll::Ready(true));
    });
}

#[test]
fn wake_from_another_thread_keeps_the_cell_until_the_run_loop_takes_the_entry() {
    let ex = Executor::new();
    let slot = WakerSlot::new();
    let probe = Probe::new();
    let handle = ex.spawn(guarded(probe.guard(), pending_with_waker(slot.clone())));
    tick(&ex);
    let waker = slot.take();
    // The wake goes through the remote queue, which holds a reference (R2).
    std::thread::spawn(move || waker.wake()).join().unwrap();
    assert!(handle.cancel_now());
    assert_eq!(probe.drops(), 1, "the future is dropped now");
    drop(handle);
    assert_stats!(ex.stats(), { futures_dropped: 1, tasks_freed: 0, live_tasks: 1 });
    tick(&ex); // the run loop takes the entry, finds the task complete, releases it
    assert_stats!(ex.stats(), { polls: 1, futures_dropped: 1, tasks_freed: 1, live_tasks: 0 });
}

#[test]
fn a_destructor_that_drops_the_tasks_own_executor() {
    let ex = Rc::new(RefCell::new(Some(Executor::new())));
    let probe = Probe::new();
    let handle = {
        let owner = ex.clone();
        let guard = probe.guard();
        let executor = ex.borrow();
        executor.as_ref().unwrap().spawn(async move {
            let _guard = guard;
            let _drop_executor = OnDrop::new(move || {
                // The last owner of the executor goes inside the task's own drop.
                drop(owner.borrow_mut().take());
            });
            sleep(FOREVER).await;
        })
    };
    if let Some(executor) = ex.borrow().as_ref() {
        tick(executor);
    }
    assert!(handle.cancel_now());
    assert!(ex.borrow().is_none(), "the executor is gone");
    assert_eq!(probe.drops(), 1);
    assert!(handle.is_finished());
    let other = Executor::new();
    assert!(other.block_on(handle).unwrap_err().is_cancelled());
}

#[test]
fn a_destructor_that_runs_the_executor_does_not_see_its_task_twice() {
    let ex = Rc::new(Executor::new());
    let probe = Probe::new();
    let slot = WakerSlot::new();
    let handle = {
        let (ex2, slot2) = (ex.clone(), slot.clone());
        let guard = probe.guard();
        ex.spawn(async move {
            let _guard = guard;
            let _run = OnDrop::new(move || {
                // Wake our own task (it is being dropped) and run the executor: its run loop
                // pops the task while its future is still in hand, and only releases the entry.
                slot2.take().wake();
                ex2.block_on(yield_now());
            });
            pending_with_waker(slot).await;
        })
    };
    tick(&ex);
    assert!(handle.cancel_now());
    assert_eq!(probe.drops(), 1);
    drop(handle);
    assert_stats!(ex.stats(), { polls: 1, futures_dropped: 1, tasks_freed: 1, live_tasks: 0 });
}

#[test]
fn spawn_inside_a_destructor_goes_to_the_running_executor() {
    let ex = Executor::new();
    let handle = ex.spawn(async {
        let _spawn = OnDrop::new(|| {
            drop(spawn(async {}));
        });
        yield_forever().await;
    });
    ex.block_on(async {
        yield_now().await;
        assert!(handle.cancel_now());
        yield_now().await;
    });
    drop(handle);
    assert_stats!(ex.shutdown(), { spawned: 2, completed: 1, cancelled: 1, live_tasks: 0 });
}
