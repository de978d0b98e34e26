//! The timer: `sleep` registers on its first poll, the executor parks until the
//! earliest deadline, and dropping a `Sleep` removes its entry at once. Wall-clock sleeps here are
//! short and only where a deadline is the subject. Timer storage over a million cycles is checked
//! with the counting allocator in `alloc.rs`.

mod support;

use executor::{Executor, sleep};
use futures::future::{Either, select};
use std::future::Future;
use std::pin::pin;
use std::sync::mpsc;
use std::task::Poll;
use std::thread;
use std::time::{Duration, Instant};
use support::{Counter, Log, Probe, assert_stats, counted, guarded, poll_once, tick, within};

/// A deadline far enough off that the executor's own steps between registering a sleep and its
/// next poll take much less. Under miri the clock is virtual and advances with every step the
/// interpreter executes, so a handful of executor operations already costs milliseconds of it.
const SHORT: Duration = Duration::from_millis(if cfg!(miri) { 200 } else { 20 });

#[test]
fn sleep_wakes_its_task_once_at_the_deadline() {
    let ex = Executor::new();
    let polls = Counter::new();
    let start = Instant::now();
    // The deadline is set inside the task's first poll, which therefore registers it.
    let h = ex.spawn(counted(polls.clone(), async { sleep(SHORT).await }));
    ex.block_on(h).unwrap();
    assert!(start.elapsed() >= SHORT);
    // One poll to register, one when the timer fired: the executor parked in between.
    assert_eq!(polls.get(), 2);
    assert_stats!(ex.stats(), { polls: 2, completed: 1, timers_live: 0, live_tasks: 0 });
}

#[test]
fn block_on_sleep_parks_until_the_deadline() {
    let ex = Executor::new();
    let start = Instant::now();
    ex.block_on(sleep(SHORT));
    assert!(start.elapsed() >= SHORT);
    assert_eq!(
        ex.stats(),
        executor::Stats::default(),
        "the block_on future is not a task"
    );
}

#[test]
fn sleeps_fire_in_deadline_order() {
    let ex = Executor::new();
    let log = Log::new();
    // The deadlines are fixed when `sleep` is called: all here, before anything else runs.
    let sleeps = [30, 10, 20].map(|ms| (ms, sleep(Duration::from_millis(ms))));
    for (ms, s) in sleeps {
        let log = log.clone();
        drop(ex.spawn(async move {
            s.await;
            log.push(format!("{ms} ms"));
        }));
    }
    ex.block_on(sleep(Duration::from_millis(40)));
    assert_eq!(log.take(), ["10 ms", "20 ms", "30 ms"]);
    // (How many polls that took depends on the clock: a sleep already due at its first poll
    // never registers.)
    assert_stats!(ex.stats(), { completed: 3, timers_live: 0, live_tasks: 0 });
}

#[test]
fn sleep_zero_is_ready_on_its_first_poll_without_registering() {
    let ex = Executor::new();
    let before = Instant::now();
    let mut s = Box::pin(sleep(Duration::ZERO));
    let after = Instant::now();
    let deadline = s.deadline().expect("a zero sleep ends");
    assert!(
        before <= deadline && deadline <= after,
        "the deadline is when `sleep` was called, not the clock's origin: {deadline:?} not in \
         [{before:?}, {after:?}]"
    );
    assert!(ex.block_on(poll_once(&mut s)).is_ready());
    assert!(!s.is_registered());
    assert_eq!(ex.stats().timers_live, 0);
}

#[test]
fn drop_sleep_removes_timer_entry() {
    let ex = Executor::new();
    ex.block_on(async {
        let mut s = Box::pin(sleep(Duration::from_secs(1000)));
        assert_eq!(
            ex.stats().timers_live,
            0,
            "nothing registers before the first poll"
        );
        assert!(poll_once(&mut s).await.is_pending());
        assert!(s.is_registered());
        assert_eq!(ex.stats().timers_live, 1);
        // Polling again keeps the one entry.
        assert!(poll_once(&mut s).await.is_pending());
        assert_eq!(ex.stats().timers_live, 1);
        drop(s);
        assert_eq!(
            ex.stats().timers_live,
            0,
            "removed at once, not at the deadline"
        );
    });
}

#[test]
fn cancelled_sleeping_tasks_leave_the_timer_when_dropped() {
    const TASKS: u64 = if cfg!(miri) { 8 } else { 50 };
    let ex = Executor::new();
    let probe = Probe::new();
    let handles: Vec<_> = (0..TASKS)
        .map(|i| ex.spawn(guarded(probe.guard(), sleep(Duration::from_secs(1000 + i)))))
        .collect();
    tick(&ex);
    assert_eq!(ex.stats().timers_live, TASKS);
    for h in &handles {
        h.cancel();
    }
    assert_eq!(
        ex.stats().timers_live,
        TASKS,
        "cancel() drops nothing itself"
    );
    tick(&ex);
    assert_eq!(probe.drops(), TASKS as usize);
    drop(handles);
    assert_stats!(ex.stats(), {
        spawned: TASKS, polls: TASKS, cancelled: TASKS, futures_dropped: TASKS,
        tasks_freed: TASKS, live_tasks: 0, timers_live: 0,
    });
}

#[test]
fn sleep_duration_max_does_not_panic() {
    let ex = Executor::new();
    let never = sleep(Duration::MAX);
    assert_eq!(never.deadline(), None, "past the clock's range: never");
    let never = ex.spawn(never);
    // Far, but maybe within the clock's range: beyond the timer's 584-year span.
    let far = ex.spawn(sleep(Duration::from_secs(u64::MAX / 4)));
    let far2 = ex.spawn(sleep(Duration::from_secs(1 << 40)));
    tick(&ex);
    assert_eq!(ex.stats().timers_live, 3);
    // Parking with those registered waits for the nearest deadline only.
    let start = Instant::now();
    ex.block_on(sleep(Duration::from_millis(5)));
    assert!(start.elapsed() >= Duration::from_millis(5));
    assert_eq!(ex.stats().timers_live, 3);
    for h in [&never, &far, &far2] {
        h.cancel();
    }
    tick(&ex);
    assert_stats!(ex.stats(), { cancelled: 3, timers_live: 0 });
    drop((never, far, far2));
}

#[test]
fn parked_executor_with_only_far_timers_is_woken_by_another_thread() {
    let timers_live = within(Duration::from_secs(60), || {
        let ex = Executor::new();
        drop(ex.spawn(sleep(Duration::MAX)));
        drop(ex.spawn(sleep(Duration::from_secs(1 << 40))));
        tick(&ex);
        let (tx, rx) = mpsc::channel();
        let h = ex.spawn(async move {
            let mut sent = false;
            std::future::poll_fn(|cx| {
                if sent {
                    Poll::Ready(())
                } else {
                    sent = true;
                    tx.send(cx.waker().clone()).unwrap();
                    Poll::Pending
                }
            })
            .await
        });
        let waking_thread = thread::spawn(move || rx.recv().unwrap().wake());
        // The executor parks with a timeout of centuries until the remote wake.
        ex.block_on(h).unwrap();
        waking_thread.join().unwrap();
        ex.stats().timers_live
    });
    assert_eq!(timers_live, 2);
}

#[test]
fn sleep_moved_to_another_task_wakes_that_task() {
    let ex = Executor::new();
    let start = Instant::now();
    let outcome = ex.block_on(async {
        let mut s = Box::pin(sleep(SHORT));
        // Registered with the block_on future's waker...
        assert!(poll_once(&mut s).await.is_pending());
        // ...then awaited by a task: its poll swaps in the task's waker.
        let h = ex.spawn(s);
        let fallback = pin!(sleep(Duration::from_secs(2)));
        match select(h, fallback).await {
            Either::Left((done, _)) => done.is_ok(),
            Either::Right(_) => false,
        }
    });
    assert!(
        outcome,
        "the timer woke the old waker, not the task now awaiting the sleep"
    );
    assert!(start.elapsed() >= SHORT);
    assert_stats!(ex.stats(), { polls: 2, completed: 1, timers_live: 0 });
}

#[test]
fn timers_fire_while_tasks_keep_the_queue_busy() {
    // A task that yields forever never lets the queue empty, so the executor never parks: the
    // timer is looked at on the run loop's maintenance turns, and the sleep still fires.
    let polls = within(Duration::from_secs(30), || {
        let ex = Executor::new();
        let polls = Counter::new();
        let busy = ex.spawn(counted(polls.clone(), support::yield_forever()));
        let start = Instant::now();
        ex.block_on(sleep(SHORT));
        assert!(start.elapsed() >= SHORT);
        busy.cancel();
        tick(&ex);
        polls.get()
    });
    assert!(polls > 1, "the busy task ran meanwhile");
}

thread_local! {
    static DOOMED: std::cell::RefCell<Option<Executor>> = const { std::cell::RefCell::new(None) };
}

/// A waker whose `clone` drops the executor kept in `DOOMED`: legal, if odd, waker code.
fn doom_clone(data: *const ()) -> std::task::RawWaker {
    DOOMED.with(|ex| drop(ex.borrow_mut().take()));
    std::task::RawWaker::new(data, &DOOM_VTABLE)
}
fn doom_noop(_: *const ()) {}
static DOOM_VTABLE: std::task::RawWakerVTable =
    std::task::RawWakerVTable::new(doom_clone, doom_noop, doom_noop, doom_noop);

#[test]
#[allow(
    clippy::async_yields_async,
    reason = "the registered sleep is handed out on purpose, to outlive its executor"
)]
fn a_waker_whose_clone_shuts_the_sleeps_executor_down_leaves_no_dangling_entry() {
    DOOMED.with(|ex| *ex.borrow_mut() = Some(Executor::new()));
    // Registered in the doomed executor, by its block_on future.
    let mut s = DOOMED.with(|ex| {
        ex.borrow().as_ref().unwrap().block_on(async {
            let mut s = Box::pin(sleep(Duration::from_secs(1000)));
            assert!(poll_once(&mut s).await.is_pending());
            s
        })
    });
    assert!(s.is_registered());
    // Polled inside another executor with the odd waker: storing it clones it, which shuts
    // the first executor down and detaches the entry mid-poll. The sleep must notice and
    // register with the executor that is running instead.
    let other = Executor::new();
    other.block_on(async {
        // SAFETY: the vtable's functions uphold the `RawWaker` contract: they never touch the
        // (null) data pointer.
        let odd = unsafe {
            std::task::Waker::from_raw(std::task::RawWaker::new(std::ptr::null(), &DOOM_VTABLE))
        };
        let polled = s.as_mut().poll(&mut std::task::Context::from_waker(&odd));
        assert!(polled.is_pending());
    });
    assert!(
        DOOMED.with(|ex| ex.borrow().is_none()),
        "the clone shut it down"
    );
    assert!(s.is_registered());
    assert_eq!(other.stats().timers_live, 1);
    drop(s);
    assert_eq!(other.stats().timers_live, 0);
}

#[test]
fn a_sleep_beyond_the_first_level_cascades_and_wakes_its_task_once() {
    // 150 ms is past level 0's 64 ticks: the entry starts in level 1 and is moved down once
    // its 64 ms slot comes. Moving it is the timer's business; the task is woken only once.
    const LONG: Duration = Duration::from_millis(150);
    let ex = Executor::new();
    let polls = Counter::new();
    let start = Instant::now();
    let h = ex.spawn(counted(polls.clone(), sleep(LONG)));
    ex.block_on(h).unwrap();
    assert!(
        start.elapsed() >= LONG,
        "woken early: {:?}",
        start.elapsed()
    );
    assert_eq!(polls.get(), 2, "one poll to register, one when it fired");
    assert_stats!(ex.stats(), { polls: 2, completed: 1, timers_live: 0, live_tasks: 0 });
}
