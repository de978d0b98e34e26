//! The lifecycle trace: every task's \[A\], polls, wakes, cancel, \[F\] and \[M\], by id and time.
//! Behind the cargo feature `trace`, off by default.
//!
//! # Off: nothing at all
//!
//! The executor calls a hook at each moment of a task's life, always in one line
//! (`trace::poll_start(header);`). Without the feature each hook is an empty
//! `#[inline(always)]` function (the `off` module below), so every call compiles to nothing: no
//! field is added to the cell or the header (a sleeping task stays at 120 bytes, one
//! allocation), no branch is taken, and none of the public items below exists.
//!
//! # On: one recorder per executor
//!
//! With the feature, a `Recorder` is a preallocated buffer of `Event`s. Attach it to an
//! executor with `Executor::trace_into`; from then on every hook of that executor's tasks
//! appends one event — on whichever thread it happens: a wake from another thread, or the
//! \[M\] of a cell whose last `Waker` was dropped there. Read the events with
//! `Recorder::events` when the run is over, also after the executor has shut down (a
//! `JoinHandle` or a `Waker` dropped later still records into it).
//!
//! Per task the events come in lifecycle order: `EventKind::Spawned` (\[A\], with the cell's
//! bytes), then for each poll `EventKind::PollStart` and `EventKind::PollEnd`, any
//! `EventKind::Wake`s (from the executor's thread, another thread, or the timer),
//! `EventKind::Cancel` when a cancel is asked for, `EventKind::FutureDropped` (\[F\]) and
//! `EventKind::Freed` (\[M\]). `EventKind::WakerCloned` and `EventKind::WakerDropped`
//! (and each `Wake` with `by_ref: false`, which consumes its waker) give the number of
//! outstanding waker clones at any moment; `EventKind::HandleDropped` says when the
//! `JoinHandle` let go. Between \[F\] and \[M\] the task is a husk: those two tell what
//! holds it. Once per look of the run loop at its timer and remote queue,
//! `EventKind::RunQueue` records the run queue's length.
//!
//! # An observer must not keep alive what it observes
//!
//! An event holds a task id and a timestamp, never a `Waker` or a pointer to a task: a
//! recorder that kept a waker would hold the very reference whose release it is meant to show
//! (asyncio's task-graph introspection once pinned finished tasks that way). The executor holds
//! the recorder (its shared half keeps a clone), never the other way round.
//!
//! # Its own memory
//!
//! The buffer is allocated once, by `Recorder::with_capacity`, before the run it records:
//! recording never allocates, so the heap figures of a traced run stay exact (its own bytes
//! are `Recorder::buffer_bytes`). When the buffer is full, later events are counted
//! (`Recorder::dropped`) and not stored. Appending takes a lock and reads the clock, so a
//! traced run is slower: its timings are not comparable with an untraced run's.
//!
//! # Feature unification
//!
//! Cargo unifies features across one build: if any crate in the build turns `trace` on, the
//! executor is built with it for all of them. In this workspace the `tests` crate (and
//! `bench-cli`, for `--trace`) turn it on, so `cargo test --workspace` builds the executor with
//! the hooks compiled in — idle (no recorder attached) but present. The hot-path figures are
//! therefore taken with the executor built alone, where the feature is off:
//! `cargo bench -p executor --bench spawn_cancel` and `cargo test -p executor`.
//!
//! # Example
//!
//! ```
//! # #[cfg(feature = "trace")] {
//! use executor::trace::{EventKind, Recorder};
//! use executor::{Executor, sleep, yield_now};
//! use std::time::Duration;
//!
//! let recorder = Recorder::with_capacity(64); // allocated here, before the run
//! let ex = Executor::new();
//! ex.trace_into(&recorder);
//! let task = ex.spawn(sleep(Duration::from_secs(1000)));
//! let id = task.id();
//! ex.block_on(async {
//!     yield_now().await; // the task's first poll
//!     task.cancel();
//!     drop(task);
//!     yield_now().await; // [F] and, with nothing else holding the cell, [M]
//! });
//! ex.shutdown();
//!
//! let kinds: Vec<&str> = recorder
//!     .events()
//!     .iter()
//!     .filter(|event| event.task == Some(id))
//!     .map(|event| event.kind.name())
//!     .collect();
//! // The sleep's timer entry holds a waker from the first poll until [F] drops it.
//! assert_eq!(
//!     kinds,
//!     ["A", "poll", "waker+", "poll_end", "cancel", "handle_dropped", "waker-", "F", "M"]
//! );
//! assert_eq!(recorder.dropped(), 0);
//! # }
//! ```

#[cfg(feature = "trace")]
pub use on::{CancelSource, Ending, Event, EventKind, Recorder, WakeSource};

#[cfg(feature = "trace")]
pub(crate) use on::{
    Attached, cancel_by_handle, cancel_by_shutdown, freed, future_dropped, handle_dropped,
    poll_end, poll_start, run_queue, spawned, timer_scope, wake, waker_cloned, waker_dropped,
};

#[cfg(not(feature = "trace"))]
pub(crate) use off::{
    cancel_by_handle, cancel_by_shutdown, freed, future_dropped, handle_dropped, poll_end,
    poll_start, run_queue, spawned, timer_scope, wake, waker_cloned, waker_dropped,
};

/// The hooks without the feature: empty, inlined, so every call site compiles to nothing.
#[cfg(not(feature = "trace"))]
mod off {
    use crate::shared::Shared;
    use crate::task::{Header, Outcome};

    /// Nothing to undo: a zero-sized value without a destructor.
    pub(crate) struct TimerScope;

    #[inline(always)]
    pub(crate) fn spawned(_: &Header, _: usize) {}
    #[inline(always)]
    pub(crate) fn poll_start(_: &Header) {}
    #[inline(always)]
    pub(crate) fn poll_end(_: &Header, _: bool) {}
    #[inline(always)]
    pub(crate) fn wake(_: &Header, _: bool) {}
    #[inline(always)]
    pub(crate) fn cancel_by_handle(_: &Header) {}
    #[inline(always)]
    pub(crate) fn cancel_by_shutdown(_: &Header) {}
    #[inline(always)]
    pub(crate) fn future_dropped(_: &Header, _: Outcome) {}
    #[inline(always)]
    pub(crate) fn freed(_: &Header, _: usize) {}
    #[inline(always)]
    pub(crate) fn waker_cloned(_: &Header) {}
    #[inline(always)]
    pub(crate) fn waker_dropped(_: &Header) {}
    #[inline(always)]
    pub(crate) fn handle_dropped(_: &Header) {}
    #[inline(always)]
    pub(crate) fn run_queue(_: &Shared, _: usize) {}
    #[inline(always)]
    pub(crate) fn timer_scope() -> TimerScope {
        TimerScope
    }
}

#[cfg(feature = "trace")]
mod on {
    use crate::executor::Executor;
    use crate::shared::Shared;
    use crate::state::COMPLETE;
    use crate::task::{Header, Outcome, TaskId};
    use std::cell::Cell;
    use std::fmt;
    use std::sync::{Arc, Mutex, OnceLock, PoisonError};
    use std::time::Instant;

    /// One moment in one task's life (or, for [`EventKind::RunQueue`], in the run loop's).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Event {
        /// Nanoseconds from [`Recorder::start`] to the moment it was recorded. Events are stored
        /// in the order they were recorded, so this never decreases along the buffer.
        pub at_nanos: u64,
        /// The task it is about; `None` for [`EventKind::RunQueue`].
        pub task: Option<TaskId>,
        /// What happened.
        pub kind: EventKind,
    }

    /// What happened. See the module docs for the order they come in.
    #[non_exhaustive]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum EventKind {
        /// \[A\] The cell was allocated: `bytes` is its size (the task's one allocation).
        Spawned {
            /// The cell's size, as `Stats::live_task_bytes` counts it.
            bytes: u64,
        },
        /// The run loop starts polling the future.
        PollStart,
        /// The poll returned. If it returned `Ready` the future has already been dropped; the
        /// [`EventKind::FutureDropped`] that follows says so.
        PollEnd {
            /// Whether `poll` returned `Ready`.
            ready: bool,
        },
        /// One of the task's wakers was woken (whether or not that queued the task: waking a
        /// queued task queues it once).
        Wake {
            /// Where the wake came from.
            from: WakeSource,
            /// `Waker::wake_by_ref`; `false` for `Waker::wake`, which consumes the waker: one
            /// outstanding waker fewer.
            by_ref: bool,
        },
        /// A cancel was asked for, while the task had not completed (a later one does nothing
        /// and is not recorded).
        Cancel {
            /// Who asked.
            by: CancelSource,
        },
        /// \[F\] The future's destructor ran.
        FutureDropped {
            /// How the future ended.
            outcome: Ending,
        },
        /// \[M\] The cell's memory went back to the allocator.
        Freed {
            /// The cell's size.
            bytes: u64,
        },
        /// A new waker holds a reference to the cell: a `Waker::clone`, or the one-word waker a
        /// timer entry keeps.
        WakerCloned,
        /// A waker that held a reference was dropped without being woken.
        WakerDropped,
        /// The `JoinHandle` was dropped: it no longer holds the cell.
        HandleDropped,
        /// The length of the executor's local run queue, each time the run loop has just moved
        /// remotely woken tasks into it and fired due timers (every 61 pops and whenever it ran
        /// empty).
        RunQueue {
            /// Entries in the queue (tasks, and the `block_on` future if it is queued).
            len: u64,
        },
    }

    impl EventKind {
        /// A short name: `A`, `poll`, `poll_end`, `wake`, `cancel`, `F`, `M`, `waker+`,
        /// `waker-`, `handle_dropped`, `run_queue`.
        pub fn name(&self) -> &'static str {
            match self {
                EventKind::Spawned { .. } => "A",
                EventKind::PollStart => "poll",
                EventKind::PollEnd { .. } => "poll_end",
                EventKind::Wake { .. } => "wake",
                EventKind::Cancel { .. } => "cancel",
                EventKind::FutureDropped { .. } => "F",
                EventKind::Freed { .. } => "M",
                EventKind::WakerCloned => "waker+",
                EventKind::WakerDropped => "waker-",
                EventKind::HandleDropped => "handle_dropped",
                EventKind::RunQueue { .. } => "run_queue",
            }
        }
    }

    /// Where a wake came from.
    #[non_exhaustive]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum WakeSource {
        /// The executor's own thread (a task, the `block_on` future, or code between
        /// `block_on` calls).
        ExecutorThread,
        /// Another thread: the task goes through the remote queue.
        OtherThread,
        /// The executor's timer: a sleep's deadline passed.
        Timer,
    }

    /// Who asked for a cancel.
    #[non_exhaustive]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum CancelSource {
        /// `JoinHandle::cancel`.
        Handle,
        /// The executor's shutdown, for every future still alive.
        Shutdown,
    }

    /// How a future ended (as `Stats` counts it).
    #[non_exhaustive]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Ending {
        /// `poll` returned `Ready`.
        Completed,
        /// Dropped unpolled because of a cancel or the shutdown.
        Cancelled,
        /// `poll`, or the future's destructor, panicked.
        Panicked,
    }

    /// A preallocated buffer of [`Event`]s that executors record into. Cloning it is cheap and
    /// gives another handle to the same buffer. See the module docs.
    #[derive(Clone)]
    pub struct Recorder {
        inner: Arc<Inner>,
    }

    struct Inner {
        start: Instant,
        capacity: usize,
        log: Mutex<Log>,
    }

    struct Log {
        events: Vec<Event>,
        dropped: u64,
    }

    impl fmt::Debug for Recorder {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let log = self.log();
            f.debug_struct("Recorder")
                .field("events", &log.events.len())
                .field("capacity", &self.inner.capacity)
                .field("dropped", &log.dropped)
                .finish()
        }
    }

    impl Recorder {
        /// A recorder with room for `events` events, allocated now (and never again). Its clock
        /// starts now: every [`Event::at_nanos`] counts from here.
        pub fn with_capacity(events: usize) -> Recorder {
            Recorder {
                inner: Arc::new(Inner {
                    start: Instant::now(),
                    capacity: events,
                    log: Mutex::new(Log {
                        events: Vec::with_capacity(events),
                        dropped: 0,
                    }),
                }),
            }
        }

        /// The instant [`Event::at_nanos`] counts from.
        pub fn start(&self) -> Instant {
            self.inner.start
        }

        /// How many events the buffer holds at most.
        pub fn capacity(&self) -> usize {
            self.inner.capacity
        }

        /// The heap bytes of the buffer (allocated by [`Recorder::with_capacity`]).
        pub fn buffer_bytes(&self) -> usize {
            self.inner.capacity * size_of::<Event>()
        }

        /// Events recorded so far.
        pub fn len(&self) -> usize {
            self.log().events.len()
        }

        /// Whether nothing has been recorded yet.
        pub fn is_empty(&self) -> bool {
            self.len() == 0
        }

        /// Events that came after the buffer was full, and so were not stored.
        pub fn dropped(&self) -> u64 {
            self.log().dropped
        }

        /// A copy of the events recorded so far, in the order they were recorded. This
        /// allocates the copy: call it after the run you measure.
        pub fn events(&self) -> Vec<Event> {
            self.log().events.clone()
        }

        fn log(&self) -> std::sync::MutexGuard<'_, Log> {
            // No code that can panic runs under the lock; if one did, the log is still whole.
            self.inner
                .log
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
        }

        /// Appends one event, or counts it as dropped if the buffer is full. Never allocates.
        fn record(&self, task: Option<TaskId>, kind: EventKind) {
            let mut log = self.log();
            // Read under the lock, so that the buffer's order is the clock's order.
            let at_nanos = u64::try_from(self.inner.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
            if log.events.len() < self.inner.capacity {
                log.events.push(Event {
                    at_nanos,
                    task,
                    kind,
                });
            } else {
                log.dropped += 1;
            }
        }
    }

    impl Executor {
        /// Records every event of this executor's tasks into `recorder` from now on (feature
        /// `trace`). Events of tasks spawned before this call are recorded from this call on.
        ///
        /// # Panics
        /// If this executor already records into a recorder: it records into one for its whole
        /// life.
        pub fn trace_into(&self, recorder: &Recorder) {
            self.shared()
                .recorder
                .set(recorder.clone())
                .unwrap_or_else(|_| panic!("this executor already records into a recorder"));
        }
    }

    /// The recorder slot in an executor's shared half (`Shared::recorder`).
    pub(crate) type Attached = OnceLock<Recorder>;

    /// The recorder this task's executor records into, if any: the only check a hook makes
    /// when none is attached (a load and a compare, inlined at the call site).
    #[inline(always)]
    fn attached(header: &Header) -> Option<&Recorder> {
        header.shared.recorder.get()
    }

    /// Out of line and marked cold: the recording itself stays out of the executor's hot code.
    #[cold]
    #[inline(never)]
    fn record(recorder: &Recorder, header: &Header, kind: EventKind) {
        recorder.record(Some(header.id()), kind);
    }

    std::thread_local! {
        /// Set while this thread's run loop wakes the tasks whose sleep came due.
        static WAKING_FROM_TIMER: Cell<bool> = const { Cell::new(false) };
    }

    /// Marks the wakes made while it lives as the timer's; restores the mark when dropped.
    pub(crate) struct TimerScope {
        previous: bool,
    }

    impl Drop for TimerScope {
        fn drop(&mut self) {
            let _ = WAKING_FROM_TIMER.try_with(|flag| flag.set(self.previous));
        }
    }

    #[inline]
    pub(crate) fn timer_scope() -> TimerScope {
        TimerScope {
            previous: WAKING_FROM_TIMER
                .try_with(|flag| flag.replace(true))
                .unwrap_or(false),
        }
    }

    /// Defines hooks that record one event when a recorder is attached, and otherwise only
    /// check that none is.
    macro_rules! hooks {
        ($( $(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),*) => $kind:expr; )*) => {$(
            $(#[$doc])*
            #[inline(always)]
            pub(crate) fn $name(header: &Header, $($arg: $ty),*) {
                if let Some(recorder) = attached(header) {
                    record(recorder, header, $kind);
                }
            }
        )*};
    }

    hooks! {
        fn spawned(bytes: usize) => EventKind::Spawned { bytes: bytes as u64 };
        fn poll_start() => EventKind::PollStart;
        fn poll_end(ready: bool) => EventKind::PollEnd { ready };
        fn future_dropped(outcome: Outcome) => EventKind::FutureDropped {
            outcome: match outcome {
                Outcome::Completed => Ending::Completed,
                Outcome::Cancelled => Ending::Cancelled,
                Outcome::Panicked => Ending::Panicked,
            },
        };
        fn freed(bytes: usize) => EventKind::Freed { bytes: bytes as u64 };
        fn waker_cloned() => EventKind::WakerCloned;
        fn waker_dropped() => EventKind::WakerDropped;
        fn handle_dropped() => EventKind::HandleDropped;
    }

    #[inline(always)]
    pub(crate) fn wake(header: &Header, by_ref: bool) {
        if let Some(recorder) = attached(header) {
            record_wake(recorder, header, by_ref);
        }
    }

    #[cold]
    #[inline(never)]
    fn record_wake(recorder: &Recorder, header: &Header, by_ref: bool) {
        let from = if WAKING_FROM_TIMER.try_with(Cell::get).unwrap_or(false) {
            WakeSource::Timer
        } else if header.shared.on_owner_thread() {
            WakeSource::ExecutorThread
        } else {
            WakeSource::OtherThread
        };
        record(recorder, header, EventKind::Wake { from, by_ref });
    }

    /// Records a cancel only while the task has not completed: a later one does nothing.
    #[inline(always)]
    fn cancel(header: &Header, by: CancelSource) {
        if let Some(recorder) = attached(header) {
            if !header.state.load().has(COMPLETE) {
                record(recorder, header, EventKind::Cancel { by });
            }
        }
    }

    #[inline(always)]
    pub(crate) fn cancel_by_handle(header: &Header) {
        cancel(header, CancelSource::Handle);
    }

    #[inline(always)]
    pub(crate) fn cancel_by_shutdown(header: &Header) {
        cancel(header, CancelSource::Shutdown);
    }

    #[inline(always)]
    pub(crate) fn run_queue(shared: &Shared, len: usize) {
        if let Some(recorder) = shared.recorder.get() {
            record_run_queue(recorder, len);
        }
    }

    #[cold]
    #[inline(never)]
    fn record_run_queue(recorder: &Recorder, len: usize) {
        recorder.record(None, EventKind::RunQueue { len: len as u64 });
    }
}
