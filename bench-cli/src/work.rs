//! The work every scenario registers: "sleep 1000 seconds", and the counts the works keep
//! themselves.
//!
//! The reference study's work is `await asyncio.sleep(1000)`: it takes one poll, registers a
//! timer and sleeps far longer than any scenario runs. So a work is only ever polled once, and it
//! ends by being cancelled or by the executor's shutdown.
//!
//! "Polled at least once" is not something an executor counts, so the work counts it itself, in
//! a process-wide counter: the bench runs one scenario at a time on one thread, and the runner
//! sets the counters to zero at each scenario's start. The counter is a plain static, so the
//! work's function captures nothing: a zero-sized closure, which the scheduler stores without an
//! allocation of its own.
//!
//! A peer runtime does not count polls or dropped futures for us either; its works count those
//! too, from the outside (`peers/mod.rs`), in the counters below.

use std::cell::RefCell;
use std::future::{Future, poll_fn};
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

/// How long a work sleeps: far longer than any scenario runs.
pub const WORK_SLEEP: Duration = Duration::from_secs(1000);

/// The deadline of the `timeout` scenario's works: short, so that every timeout fires soon.
pub const TIMEOUT: Duration = Duration::from_millis(1);

/// The work a scenario registers. Every kind counts its first poll and sleeps [`WORK_SLEEP`];
/// they differ in what they do around the sleep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkKind {
    /// Sleep, nothing else: the study's work.
    Sleep,
    /// Park a clone of the task's waker in a registry outside the task ([`park_waker`]), as a
    /// channel or an I/O source would, then sleep.
    Husk,
    /// Sleep inside a [`TIMEOUT`] timeout, and count the timeout when it fires.
    Timeout,
    /// Build a small reference cycle ([`RcCycle`]), hold it across the sleep.
    Cycle,
    /// The same with a `Weak` back edge: no cycle of strong references.
    CycleWeak,
}

static FIRST_POLLS: AtomicU64 = AtomicU64::new(0);
static POLLS: AtomicU64 = AtomicU64::new(0);
static FUTURES_DROPPED: AtomicU64 = AtomicU64::new(0);
static UNFINISHED_DROPS: AtomicU64 = AtomicU64::new(0);
static TIMED_OUT: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// The wakers parked by [`WorkKind::Husk`] works: a list that never fires.
    static PARKED: RefCell<Vec<Waker>> = const { RefCell::new(Vec::new()) };
}

/// A future that parks a clone of its task's waker in the registry and is ready at once: what
/// a channel or an I/O source does when a task waits on it. The clone holds the task (on every
/// runtime here a waker is a counted reference to the task's allocation).
pub fn park_waker() -> impl Future<Output = ()> {
    poll_fn(|cx| {
        PARKED.with(|parked| parked.borrow_mut().push(cx.waker().clone()));
        Poll::Ready(())
    })
}

/// Wakers parked now.
pub fn parked_wakers() -> usize {
    PARKED.with(|parked| parked.borrow().len())
}

/// The registry lets go of every parked waker, and of its own storage; returns how many.
/// Dropping a waker never wakes anything: the husks are freed, not run.
pub fn release_parked_wakers() -> usize {
    let wakers = PARKED.with(|parked| std::mem::take(&mut *parked.borrow_mut()));
    let released = wakers.len();
    drop(wakers);
    released
}

/// Called by a [`WorkKind::Timeout`] work when its timeout has fired.
pub fn note_timed_out() {
    TIMED_OUT.fetch_add(1, Relaxed);
}

/// Timeouts fired since the last [`reset_counters`].
pub fn timed_out() -> u64 {
    TIMED_OUT.load(Relaxed)
}

/// The payload a cycle's node carries, so that the bytes it keeps are plain to see.
pub const CYCLE_PAYLOAD: usize = 64;

/// A node of a two-node reference cycle: a payload and an edge to the other node.
pub struct RcNode {
    /// The edge to the other node (strong, or weak in the variant).
    pub other: RefCell<Edge>,
    /// Bytes that go or stay with the node.
    pub payload: [u8; CYCLE_PAYLOAD],
}

/// An edge between the two nodes.
pub enum Edge {
    /// No edge yet.
    None,
    /// A strong edge: the two nodes keep each other alive.
    Strong(Rc<RcNode>),
    /// A weak edge: it does not keep its target alive.
    Weak(Weak<RcNode>),
}

/// Two nodes pointing at each other, held by the first. With `weak`, the second points back
/// weakly: dropping the first frees both. Without, neither count ever reaches zero: dropping
/// the holder leaks both nodes, which no destructor will ever run for — the thing a garbage
/// collector does that ownership does not.
pub struct RcCycle(#[allow(dead_code)] Rc<RcNode>);

impl RcCycle {
    /// Builds the two nodes and their edges.
    pub fn new(weak: bool) -> RcCycle {
        let node = || {
            Rc::new(RcNode {
                other: RefCell::new(Edge::None),
                payload: [1; CYCLE_PAYLOAD],
            })
        };
        let (first, second) = (node(), node());
        *first.other.borrow_mut() = Edge::Strong(Rc::clone(&second));
        *second.other.borrow_mut() = if weak {
            Edge::Weak(Rc::downgrade(&first))
        } else {
            Edge::Strong(Rc::clone(&first))
        };
        RcCycle(first)
    }
}

/// The same cycle with `Arc` and `Mutex`, for a runtime whose tasks must be `Send` (tokio's
/// `spawn`): the same two allocations and the same lesson.
pub struct ArcCycle(#[allow(dead_code)] Arc<ArcNode>);

/// A node of an [`ArcCycle`].
pub struct ArcNode {
    /// The edge to the other node.
    pub other: Mutex<ArcEdge>,
    /// Bytes that go or stay with the node.
    pub payload: [u8; CYCLE_PAYLOAD],
}

/// An edge of an [`ArcCycle`].
pub enum ArcEdge {
    /// No edge yet.
    None,
    /// A strong edge.
    Strong(Arc<ArcNode>),
    /// A weak edge.
    Weak(std::sync::Weak<ArcNode>),
}

impl ArcCycle {
    /// Builds the two nodes and their edges (see [`RcCycle::new`]).
    pub fn new(weak: bool) -> ArcCycle {
        let node = || {
            Arc::new(ArcNode {
                other: Mutex::new(ArcEdge::None),
                payload: [1; CYCLE_PAYLOAD],
            })
        };
        let (first, second) = (node(), node());
        *first.other.lock().unwrap() = ArcEdge::Strong(Arc::clone(&second));
        *second.other.lock().unwrap() = if weak {
            ArcEdge::Weak(Arc::downgrade(&first))
        } else {
            ArcEdge::Strong(Arc::clone(&first))
        };
        ArcCycle(first)
    }
}

/// Called by a work at the start of its first poll.
pub fn note_first_poll() {
    FIRST_POLLS.fetch_add(1, Relaxed);
}

/// Works that have started since the last [`reset_counters`].
pub fn first_polls() -> u64 {
    FIRST_POLLS.load(Relaxed)
}

/// Called by a peer's work each time it is polled.
pub fn note_poll() {
    POLLS.fetch_add(1, Relaxed);
}

/// Polls of peer works since the last [`reset_counters`].
pub fn polls() -> u64 {
    POLLS.load(Relaxed)
}

/// Called by a peer's work when its future is dropped; `finished` tells whether it had
/// returned (a work that never returned was cancelled, or dropped at shutdown).
pub fn note_future_dropped(finished: bool) {
    FUTURES_DROPPED.fetch_add(1, Relaxed);
    if !finished {
        UNFINISHED_DROPS.fetch_add(1, Relaxed);
    }
}

/// Peer works whose future was dropped since the last [`reset_counters`].
pub fn futures_dropped() -> u64 {
    FUTURES_DROPPED.load(Relaxed)
}

/// Peer works whose future was dropped before it returned, since the last [`reset_counters`].
pub fn unfinished_drops() -> u64 {
    UNFINISHED_DROPS.load(Relaxed)
}

/// Sets every count to zero (at a scenario's start).
pub fn reset_counters() {
    for counter in [
        &FIRST_POLLS,
        &POLLS,
        &FUTURES_DROPPED,
        &UNFINISHED_DROPS,
        &TIMED_OUT,
    ] {
        counter.store(0, Relaxed);
    }
}
