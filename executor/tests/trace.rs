//! The lifecycle trace (feature `trace`): each task's events come in lifecycle order, wakes say
//! where they came from, waker clones balance out by \[M\], a full buffer counts what it drops,
//! and recording allocates nothing and keeps nothing alive.
//!
//! Built only with the feature: `cargo test -p executor --features trace`, or as part of
//! `cargo test --workspace` (the `tests` crate turns the feature on, see `trace.rs`).
#![cfg(feature = "trace")]

mod support;

use executor::trace::{CancelSource, Ending, Event, EventKind, Recorder, WakeSource};
use executor::{Executor, TaskId, sleep, yield_now};
use std::collections::HashMap;
use std::time::Duration;
use support::{WakerSlot, assert_stats, pending_with_waker, tick, wait_for_wake};
use workspace_tests::counting::{CountingAlloc, Heap};

/// The workspace's counting allocator, counting per thread.
#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

const FOREVER: Duration = Duration::from_secs(1000);

/// The events of one task, in order.
fn of(events: &[Event], id: TaskId) -> Vec<EventKind> {
    events
        .iter()
        .filter(|event| event.task == Some(id))
        .map(|event| event.kind)
        .collect()
}

fn names(kinds: &[EventKind]) -> Vec<&'static str> {
    kinds.iter().map(EventKind::name).collect()
}

/// Waker clones still outstanding after these events: clones up, drops and `wake` (by value)
/// down. Panics if it ever goes below zero.
fn outstanding_wakers(kinds: &[EventKind]) -> i64 {
    kinds.iter().fold(0, |count, kind| {
        let count = count
            + match kind {
                EventKind::WakerCloned => 1,
                EventKind::WakerDropped | EventKind::Wake { by_ref: false, .. } => -1,
                _ => 0,
            };
        assert!(count >= 0, "more wakers dropped than cloned: {kinds:?}");
        count
    })
}

/// Where the first event named `name` is, if any.
fn first(kinds: &[EventKind], name: &str) -> Option<usize> {
    kinds.iter().position(|kind| kind.name() == name)
}

#[test]
fn one_task_spawn_poll_cancel_drop_free() {
    let recorder = Recorder::with_capacity(64);
    let ex = Executor::new();
    ex.trace_into(&recorder);
    let task = ex.spawn(sleep(FOREVER));
    let id = task.id();
    let cell = ex.stats().live_task_bytes;
    tick(&ex);
    ex.block_on(async {
        task.cancel();
        drop(task);
        yield_now().await;
    });
    let kinds = of(&recorder.events(), id);
    assert_eq!(
        kinds,
        [
            EventKind::Spawned { bytes: cell },
            EventKind::PollStart,
            EventKind::WakerCloned, // the sleep's timer entry
            EventKind::PollEnd { ready: false },
            EventKind::Cancel {
                by: CancelSource::Handle
            },
            EventKind::HandleDropped,
            EventKind::WakerDropped, // the timer entry, with the future
            EventKind::FutureDropped {
                outcome: Ending::Cancelled
            },
            EventKind::Freed { bytes: cell },
        ]
    );
}

#[test]
fn hundred_tasks_come_in_lifecycle_order_and_all_are_freed() {
    const N: usize = 100;
    let recorder = Recorder::with_capacity(10 * N + 100);
    let ex = Executor::new();
    ex.trace_into(&recorder);
    let handles: Vec<_> = (0..N).map(|_| ex.spawn(sleep(FOREVER))).collect();
    let ids: Vec<TaskId> = handles.iter().map(|handle| handle.id()).collect();
    tick(&ex); // N first polls
    ex.block_on(async {
        for handle in handles {
            handle.cancel();
        }
        yield_now().await; // N futures dropped, N cells freed
    });
    // A traced run that makes no husk ends with every cell freed: the recorder holds none.
    assert_stats!(ex.shutdown(), {
        spawned: N as u64,
        tasks_freed: N as u64,
        husks: 0,
    });
    assert_eq!(recorder.dropped(), 0);

    let events = recorder.events();
    assert!(
        events.windows(2).all(|w| w[0].at_nanos <= w[1].at_nanos),
        "timestamps go forward along the buffer"
    );
    for id in ids {
        let kinds = of(&events, id);
        let at = |name| first(&kinds, name).unwrap_or_else(|| panic!("{id}: no {name}"));
        assert_eq!(at("A"), 0, "{id}: {:?}", names(&kinds));
        assert!(at("A") < at("poll"));
        assert!(at("poll") < at("cancel"));
        assert!(at("cancel") < at("F"));
        assert!(at("F") < at("M"));
        assert_eq!(at("M"), kinds.len() - 1, "{id}: nothing after [M]");
        assert_eq!(outstanding_wakers(&kinds), 0, "{id}: no waker outlives [M]");
    }
    // One look at the queue per turn that found it empty or hit the maintenance interval.
    assert!(
        events
            .iter()
            .any(|event| matches!(event.kind, EventKind::RunQueue { len } if len > 0)),
        "the run queue's length is recorded"
    );
}

#[test]
fn wakes_say_where_they_came_from() {
    let recorder = Recorder::with_capacity(256);
    let ex = Executor::new();
    ex.trace_into(&recorder);
    let timed = ex.spawn(sleep(Duration::from_millis(2)));
    let yielding = ex.spawn(yield_now());
    let slot = WakerSlot::new();
    let remote = ex.spawn(wait_for_wake(slot.clone()));
    let ids = (timed.id(), yielding.id(), remote.id());
    ex.block_on(async {
        yield_now().await;
        let waker = slot.take();
        std::thread::spawn(move || waker.wake()).join().unwrap();
        timed.await.unwrap();
        yielding.await.unwrap();
        remote.await.unwrap();
    });
    let events = recorder.events();
    let wakes = |id| -> Vec<(WakeSource, bool)> {
        of(&events, id)
            .into_iter()
            .filter_map(|kind| match kind {
                EventKind::Wake { from, by_ref } => Some((from, by_ref)),
                _ => None,
            })
            .collect()
    };
    assert_eq!(wakes(ids.0), [(WakeSource::Timer, false)]);
    assert_eq!(wakes(ids.1), [(WakeSource::ExecutorThread, true)]);
    assert_eq!(wakes(ids.2), [(WakeSource::OtherThread, false)]);
}

#[test]
fn a_husk_held_by_a_stashed_waker_is_freed_when_the_waker_goes() {
    let recorder = Recorder::with_capacity(64);
    let ex = Executor::new();
    ex.trace_into(&recorder);
    let slot = WakerSlot::new();
    let task = ex.spawn(pending_with_waker(slot.clone()));
    let id = task.id();
    tick(&ex);
    task.cancel();
    drop(task);
    tick(&ex);
    let kinds = of(&recorder.events(), id);
    assert_eq!(
        kinds.last().map(EventKind::name),
        Some("F"),
        "a husk: no [M]"
    );
    assert_eq!(outstanding_wakers(&kinds), 1, "what holds it: one waker");
    assert!(first(&kinds, "handle_dropped").is_some());
    ex.shutdown();
    drop(slot.take()); // after the executor is gone: still recorded
    let kinds = of(&recorder.events(), id);
    assert_eq!(names(&kinds[kinds.len() - 2..]), ["waker-", "M"]);
    assert_eq!(outstanding_wakers(&kinds), 0);
}

#[test]
fn shutdown_cancels_are_recorded_as_such() {
    let recorder = Recorder::with_capacity(64);
    let ex = Executor::new();
    ex.trace_into(&recorder);
    let task = ex.spawn(sleep(FOREVER));
    let id = task.id();
    drop(task);
    tick(&ex);
    ex.shutdown();
    let kinds = of(&recorder.events(), id);
    let cancel = first(&kinds, "cancel").expect("a cancel");
    assert_eq!(
        kinds[cancel],
        EventKind::Cancel {
            by: CancelSource::Shutdown
        }
    );
    assert_eq!(names(&kinds[cancel..]), ["cancel", "waker-", "F", "M"]);
}

#[test]
fn a_full_buffer_counts_what_it_drops() {
    let recorder = Recorder::with_capacity(3);
    let ex = Executor::new();
    ex.trace_into(&recorder);
    let task = ex.spawn(async {});
    let id = task.id();
    tick(&ex);
    drop(task);
    ex.shutdown();
    // A, poll, poll_end stored; the rest counted: F, handle_dropped, M and the run loop's looks.
    assert_eq!(
        names(&of(&recorder.events(), id)),
        ["A", "poll", "poll_end"]
    );
    assert_eq!(recorder.len(), 3);
    assert!(recorder.dropped() >= 3, "dropped {}", recorder.dropped());
}

/// The same spawn-poll-cancel run, traced and untraced: the recorder adds no allocation.
#[test]
fn recording_allocates_nothing() {
    fn run(recorder: Option<&Recorder>) -> (u64, u64) {
        let ex = Executor::new();
        if let Some(recorder) = recorder {
            ex.trace_into(recorder);
        }
        let before = Heap::now();
        let handles: Vec<_> = (0..10).map(|_| ex.spawn(sleep(FOREVER))).collect();
        tick(&ex);
        for handle in handles {
            handle.cancel();
        }
        tick(&ex);
        let delta = Heap::now().since(before);
        (delta.allocs, delta.frees)
    }
    let recorder = Recorder::with_capacity(1000);
    let untraced = run(None);
    let traced = run(Some(&recorder));
    assert!(recorder.len() > 50, "the traced run was recorded");
    assert_eq!(traced, untraced);
}

/// The recorder keeps ids, not references: a task's cell is freed while its events stay.
#[test]
fn the_recorder_keeps_nothing_alive() {
    let recorder = Recorder::with_capacity(1000);
    let ex = Executor::new();
    ex.trace_into(&recorder);
    for _ in 0..10 {
        drop(ex.spawn(async {}));
    }
    tick(&ex);
    let stats = ex.shutdown();
    assert_eq!((stats.spawned, stats.tasks_freed, stats.husks), (10, 10, 0));
    let mut freed: HashMap<TaskId, u32> = HashMap::new();
    for event in recorder.events() {
        if let (Some(id), EventKind::Freed { .. }) = (event.task, event.kind) {
            *freed.entry(id).or_default() += 1;
        }
    }
    assert_eq!(freed.len(), 10);
    assert!(freed.values().all(|&count| count == 1));
}

#[test]
#[should_panic(expected = "already records")]
fn one_recorder_per_executor() {
    let ex = Executor::new();
    ex.trace_into(&Recorder::with_capacity(1));
    ex.trace_into(&Recorder::with_capacity(1));
}

#[test]
fn cancel_now_records_f_inside_the_call_and_m_at_the_handles_drop() {
    let recorder = Recorder::with_capacity(64);
    let ex = Executor::new();
    ex.trace_into(&recorder);
    let task = ex.spawn(sleep(FOREVER));
    let id = task.id();
    tick(&ex);
    assert!(task.cancel_now());
    assert_eq!(
        names(&of(&recorder.events(), id)),
        ["A", "poll", "waker+", "poll_end", "cancel", "waker-", "F"]
    );
    drop(task);
    let kinds = of(&recorder.events(), id);
    assert_eq!(names(&kinds[kinds.len() - 2..]), ["handle_dropped", "M"]);
    assert_eq!(outstanding_wakers(&kinds), 0);
}
