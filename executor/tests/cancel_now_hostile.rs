//! A hostile review of `JoinHandle::cancel_now`, from safe code only: destructors that wake,
//! cancel, spawn, run or drop executors; every position in the local run queue, next to the
//! `block_on` future's own link; calls after shutdown. Each figure is exact: drop probes,
//! `Stats`, and the heap from the workspace's counting allocator (kept per thread).

mod support;

use executor::{Executor, JoinHandle, sleep, timeout, yield_now};
use std::cell::RefCell;
use std::future::{Future, pending, poll_fn};
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;
use support::{
    Counter, Log, OnDrop, WakerSlot, assert_stats, pending_with_waker, poll_once, spawn_logged,
    tick, within,
};
use workspace_tests::counting::{CountingAlloc, Heap};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

const FOREVER: Duration = Duration::from_secs(1000);

/// An idle task whose destructor wakes the task itself, on this thread — as a future that holds
/// both ends of a channel does when its sender's drop wakes its own receiver.
/// Its drops are counted on `drops`, which allocates nothing.
fn wakes_itself_when_dropped(ex: &Executor, drops: &Counter) -> JoinHandle<()> {
    let slot = WakerSlot::new();
    let wake_on_drop = {
        let (slot, drops) = (slot.clone(), drops.clone());
        OnDrop::new(move || {
            drops.bump();
            slot.take().wake();
        })
    };
    ex.spawn(async move {
        let _wake_on_drop = wake_on_drop;
        pending_with_waker(slot).await;
    })
}

#[test]
fn a_destructor_that_wakes_its_own_task_leaves_no_queue_entry_behind() {
    let ex = Executor::new();
    let drops = Counter::new();
    let before = Heap::now();
    let handle = wakes_itself_when_dropped(&ex, &drops);
    tick(&ex); // first poll: the waker is stored
    assert!(handle.cancel_now());
    assert_eq!(drops.get(), 1);
    drop(handle);
    // [M] with the handle, no tick in between: the wake during the drop queued nothing that
    // still holds the cell.
    assert_stats!(ex.stats(), {
        spawned: 1, polls: 1, futures_dropped: 1, cancelled: 1, tasks_freed: 1, live_tasks: 0,
    });
    assert_eq!(Heap::now().since(before).bytes, 0, "every byte is back");
    tick(&ex);
    assert_stats!(ex.stats(), { polls: 1, futures_dropped: 1, tasks_freed: 1 });
}

#[test]
fn a_self_waking_destructor_from_inside_another_tasks_poll() {
    let ex = Rc::new(Executor::new());
    let drops = Counter::new();
    let victim = wakes_itself_when_dropped(&ex, &drops);
    let killer = {
        let ex = ex.clone();
        ex.clone().spawn(async move {
            yield_now().await; // the victim has taken its first poll
            assert!(victim.cancel_now());
            drop(victim);
            // Still inside this poll: the run loop has popped nothing since.
            ex.stats()
        })
    };
    let inside = ex.block_on(killer).unwrap();
    assert_eq!(drops.get(), 1);
    assert_stats!(inside, { spawned: 2, cancelled: 1, tasks_freed: 1, live_tasks: 1 });
}

#[test]
fn a_self_waking_destructor_from_another_executors_block_on() {
    let home = Executor::new();
    let other = Executor::new();
    let drops = Counter::new();
    let handle = wakes_itself_when_dropped(&home, &drops);
    tick(&home);
    // `other` runs the caller; the wake goes to `home`'s local queue (its owning thread).
    other.block_on(async move {
        assert!(handle.cancel_now());
    });
    assert_stats!(home.stats(), { cancelled: 1, tasks_freed: 1, live_tasks: 0 });
    assert_stats!(other.shutdown(), { spawned: 0 });
}

/// Wakes the current task (or `block_on` future) and returns at once: its entry goes to the
/// back of the queue while this poll goes on.
fn wake_myself() -> impl Future<Output = ()> {
    poll_fn(|cx| {
        cx.waker().wake_by_ref();
        Poll::Ready(())
    })
}

#[test]
fn unlinking_at_every_place_of_the_queue_next_to_the_block_on_link() {
    let ex = Executor::new();
    let log = Log::new();
    ex.block_on(async {
        let a = spawn_logged(&ex, &log, "a");
        let b = spawn_logged(&ex, &log, "b");
        wake_myself().await;
        let c = spawn_logged(&ex, &log, "c");
        let d = spawn_logged(&ex, &log, "d");
        let e = spawn_logged(&ex, &log, "e");
        // The queue: a, b, MAIN, c, d, e. The middle before the main link, the one right
        // after it, the tail, then the head.
        for handle in [&b, &c, &e, &a] {
            assert!(handle.cancel_now());
        }
        log.push("main: queue is MAIN, d");
        yield_now().await; // already queued: the main link keeps its place
        log.push("main polled");
        // The queue: d. Queue the main link behind it, then a task behind that: d, MAIN, f.
        wake_myself().await;
        let f = spawn_logged(&ex, &log, "f");
        assert!(f.cancel_now()); // the tail, right after the main link: MAIN is the tail now
        let g = spawn_logged(&ex, &log, "g"); // so g is linked after MAIN
        yield_now().await; // already queued
        log.push("main again");
        yield_now().await;
        log.push("main last");
        drop((a, b, c, d, e, f, g));
    });
    assert_eq!(
        log.take(),
        [
            "b dropped",
            "c dropped",
            "e dropped",
            "a dropped",
            "main: queue is MAIN, d",
            "main polled",
            "f dropped",
            "d polled",
            "d dropped",
            "main again",
            "g polled",
            "g dropped",
            "main last",
        ]
    );
    assert_stats!(ex.shutdown(), {
        spawned: 7, polls: 2, completed: 2, cancelled: 5, tasks_freed: 7, live_tasks: 0,
    });
}

#[test]
fn after_shutdown_or_drop_of_the_executor_it_returns_false_and_keeps_the_output() {
    let ex = Executor::new();
    let finished = ex.spawn(async { String::from("kept") });
    let idle = ex.spawn(pending::<()>());
    tick(&ex);
    assert_stats!(ex.shutdown(), { completed: 1, cancelled: 1, live_tasks: 2 });
    // The executor is gone; the handles still hold their cells.
    assert!(!finished.cancel_now());
    assert!(!idle.cancel_now());
    let other = Executor::new();
    assert_eq!(other.block_on(finished).unwrap(), "kept");
    assert!(other.block_on(idle).unwrap_err().is_cancelled());
}

#[test]
fn a_destructor_that_panics_after_waking_its_own_task() {
    let ex = Executor::new();
    let slot = WakerSlot::new();
    let handle = {
        let slot = slot.clone();
        let bomb = OnDrop::new({
            let slot = slot.clone();
            move || {
                slot.take().wake();
                panic!("destructor panicked after a wake");
            }
        });
        ex.spawn(async move {
            let _bomb = bomb;
            pending_with_waker(slot).await;
        })
    };
    tick(&ex);
    assert!(handle.cancel_now(), "the panic stays inside");
    drop(handle);
    assert_stats!(ex.stats(), {
        futures_dropped: 1, panicked: 1, cancelled: 0, tasks_freed: 1, live_tasks: 0,
    });
    assert_eq!(
        ex.block_on(ex.spawn(async { 5 })).unwrap(),
        5,
        "the executor keeps working"
    );
}

#[test]
fn a_timeout_and_the_sleep_inside_it_leave_the_timer_with_the_drop() {
    let ex = Executor::new();
    let before = Heap::now();
    let handle = ex.spawn(timeout(FOREVER, sleep(FOREVER)));
    tick(&ex);
    assert_stats!(ex.stats(), { timers_live: 2, live_tasks: 1 });
    assert!(handle.cancel_now());
    assert_stats!(ex.stats(), { timers_live: 0, cancelled: 1, live_tasks: 1 });
    drop(handle);
    assert_stats!(ex.stats(), { timers_live: 0, tasks_freed: 1, live_tasks: 0 });
    assert_eq!(Heap::now().since(before).bytes, 0);
}

#[test]
fn a_remote_wake_then_a_destructor_that_drops_the_executor() {
    let ex = Rc::new(RefCell::new(Some(Executor::new())));
    let slot = WakerSlot::new();
    let drops = Counter::new();
    let handle = {
        let (owner, slot, drops) = (ex.clone(), slot.clone(), drops.clone());
        let drop_executor = OnDrop::new(move || {
            drops.bump();
            // Shutdown drains the remote queue: the entry's reference goes with it.
            drop(owner.borrow_mut().take());
        });
        ex.borrow().as_ref().unwrap().spawn(async move {
            let _drop_executor = drop_executor;
            pending_with_waker(slot).await;
        })
    };
    tick(ex.borrow().as_ref().unwrap());
    let cell = ex.borrow().as_ref().unwrap().stats().live_task_bytes as i64;
    let waker = slot.take();
    std::thread::spawn(move || waker.wake()).join().unwrap();
    assert!(handle.cancel_now());
    assert_eq!(drops.get(), 1);
    assert!(ex.borrow().is_none());
    assert!(handle.is_finished());
    // The handle holds the last reference: the cell (and with it the executor's shared half)
    // goes with it; the remote entry was released by the shutdown inside the destructor.
    // (The counting allocator counts per thread, and the remote queue's block was allocated
    // on the waking thread: only a lower bound can be asserted here.)
    let dropping = Heap::now();
    drop(handle);
    let freed = Heap::now().since(dropping);
    assert!(freed.frees >= 2 && freed.bytes <= -cell, "{freed:?}");
}

#[test]
fn during_shutdown_a_destructor_wakes_another_task_then_cancels_it_now() {
    let ex = Executor::new();
    let log = Log::new();
    let slot = WakerSlot::new();
    let second: Rc<RefCell<Option<JoinHandle<()>>>> = Rc::default();
    let first = {
        let (slot, second, log) = (slot.clone(), second.clone(), log.clone());
        ex.spawn(async move {
            let _in_shutdown = OnDrop::new(move || {
                slot.take().wake(); // into the closing executor's local queue
                let second = second.borrow_mut().take().unwrap();
                log.push(format!("cancel_now: {}", second.cancel_now()));
            });
            pending::<()>().await;
        })
    };
    let handle = {
        let dropped = log.on_drop("second dropped");
        ex.spawn(async move {
            let _dropped = dropped;
            pending_with_waker(slot).await;
        })
    };
    *second.borrow_mut() = Some(handle);
    tick(&ex);
    drop(first);
    let stats = ex.shutdown();
    assert_eq!(log.take(), ["second dropped", "cancel_now: true"]);
    assert_stats!(stats, {
        spawned: 2, futures_dropped: 2, cancelled: 2, tasks_freed: 2, live_tasks: 0,
    });
}

#[test]
fn an_awaiter_on_another_executor_of_the_thread_is_woken() {
    let home = Executor::new();
    let away = Executor::new();
    let target = Rc::new(RefCell::new(home.spawn(pending::<()>())));
    tick(&home);
    let awaiter = {
        let target = target.clone();
        away.spawn(poll_fn(move |cx| {
            // The borrow ends inside each poll, so the test can reach the handle meanwhile.
            Pin::new(&mut *target.borrow_mut()).poll(cx)
        }))
    };
    tick(&away); // registered: a waker of a task of `away`, in `home`'s join-waker table
    assert!(!awaiter.is_finished());
    assert!(target.borrow().cancel_now()); // from outside both executors
    // The awaiter's waker went to `away`'s local queue: one tick finishes it.
    tick(&away);
    assert!(awaiter.is_finished());
    assert!(away.block_on(awaiter).unwrap().unwrap_err().is_cancelled());
    drop(target);
    assert_stats!(home.shutdown(), { cancelled: 1, tasks_freed: 1, live_tasks: 0 });
    assert_stats!(away.shutdown(), { completed: 1, tasks_freed: 1, live_tasks: 0 });
}

#[test]
fn a_destructor_that_calls_block_on_while_another_executor_runs_panics_inside() {
    let home = Rc::new(Executor::new());
    let away = Executor::new();
    let handle = {
        let home2 = home.clone();
        home.spawn(async move {
            let _run = OnDrop::new(move || {
                // `away` is running the caller: nesting a run loop is refused (a panic), and
                // the panic stays inside `cancel_now`.
                home2.block_on(yield_now());
            });
            pending::<()>().await;
        })
    };
    tick(&home);
    let err = away.block_on(async move {
        assert!(handle.cancel_now());
        yield_now().await; // `away` goes on running
        handle.await.unwrap_err()
    });
    assert!(err.is_panic());
    assert_stats!(home.stats(), { panicked: 1, cancelled: 0, futures_dropped: 1, live_tasks: 0 });
    assert_stats!(away.shutdown(), { spawned: 0 });
}

#[test]
fn a_destructor_that_shuts_its_own_executor_down() {
    let ex = Rc::new(RefCell::new(Some(Executor::new())));
    let at_shutdown = Rc::new(RefCell::new(None));
    let other_drops = Counter::new();
    let handle = {
        let (owner, at_shutdown) = (ex.clone(), at_shutdown.clone());
        ex.borrow().as_ref().unwrap().spawn(async move {
            let _shut_down = OnDrop::new(move || {
                let executor = owner.borrow_mut().take().unwrap();
                *at_shutdown.borrow_mut() = Some(executor.shutdown());
            });
            pending::<()>().await;
        })
    };
    let other = {
        let drops = other_drops.clone();
        ex.borrow().as_ref().unwrap().spawn(async move {
            let _counted = OnDrop::new(move || drops.bump());
            pending::<()>().await;
        })
    };
    tick(ex.borrow().as_ref().unwrap());
    assert!(handle.cancel_now());
    assert_eq!(other_drops.get(), 1, "shutdown dropped the other task");
    assert!(handle.is_finished() && other.is_finished());
    // The figures shutdown returned were taken while the first future was still being dropped
    // further up the stack, by `cancel_now`: it is not in them (it had left the executor's
    // bookkeeping), and once the executor is gone there is nowhere to count it.
    let stats = at_shutdown.borrow_mut().take().unwrap();
    assert_stats!(stats, {
        spawned: 2, futures_dropped: 1, cancelled: 1, tasks_freed: 0, live_tasks: 2,
    });
    let elsewhere = Executor::new();
    assert!(elsewhere.block_on(handle).unwrap_err().is_cancelled());
    assert!(elsewhere.block_on(other).unwrap_err().is_cancelled());
}

#[test]
fn the_awaiter_that_cancels_now_is_woken_by_its_own_cancel() {
    within(Duration::from_secs(10), || {
        let home = Executor::new();
        let away = Executor::new();
        let mut target = home.spawn(pending::<()>());
        let mut own = home.spawn(pending::<()>());
        tick(&home);
        // `away`'s block_on future awaits a task of `home`, then cancels it now: the join
        // waker in `home`'s table is its own (`away`'s main waker), woken inside the call.
        let err = away.block_on(async {
            assert!(poll_once(&mut target).await.is_pending());
            assert!(target.cancel_now());
            target.await.unwrap_err()
        });
        assert!(err.is_cancelled());
        // The same from a task of `home` itself, awaiting a sibling.
        let killer = home.spawn(async move {
            assert!(poll_once(&mut own).await.is_pending());
            assert!(own.cancel_now()); // wakes this very task, inside its own poll
            own.await.unwrap_err().is_cancelled()
        });
        assert!(home.block_on(killer).unwrap());
        assert_stats!(home.shutdown(), {
            spawned: 3, cancelled: 2, completed: 1, tasks_freed: 3, live_tasks: 0,
        });
        assert_stats!(away.shutdown(), { spawned: 0 });
    });
}
