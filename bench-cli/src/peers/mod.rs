//! The peer runtimes, tokio and smol, with the same scheduler shape as ours.
//!
//! Each peer implements [`Runtime`](crate::runtime::Runtime) with a [`PeerScheduler`]: a map
//! from each work's index to the runtime's handle for its task (tokio's `JoinHandle`, smol's
//! `Task`), and a done hook ([`DoneHook`]) inside the spawned future that removes the entry
//! when the future is dropped — the shape of our `WorkScheduler` and of the reference's
//! asyncio `WorkScheduler` (a dict of tasks, a done callback).
//!
//! The map lives in a thread-local of each peer's (see [`SlotsHome`]), so that a hook needs no
//! pointer to it: tokio's `spawn` wants `Send` futures, and an `Rc` is not. So a peer's hook is
//! 16 bytes (the index and a flag) where ours is 16 (a `Weak` and the index). The map hashes its
//! `u64` indexes with one multiplication ([`IndexHasher`]), not SipHash, so that the peers do
//! not pay for a slow hash the runtimes themselves have nothing to do with.
//!
//! # What is counted from the outside, exactly
//!
//! A peer does not tell us how many polls it made or futures it dropped, so the work counts
//! them itself (`work.rs`): its first poll, every poll (the sleep is polled through a counting
//! `poll_fn`), and, in the hook's destructor, every drop of its future and whether the work had
//! finished. What a peer keeps to itself (when its task cells are freed, how many are live, its
//! timer entries) is reported as not available, never estimated.

pub mod smol;
pub mod tokio;

pub use self::smol::Smol;
pub use self::tokio::Tokio;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::{Future, poll_fn};
use std::hash::{BuildHasherDefault, Hasher};
use std::marker::PhantomData;
use std::mem;
use std::pin::pin;
use std::thread::LocalKey;

use crate::runtime::TaskCounts;
use crate::work;

/// The scheduler's table: work index → the runtime's handle for its task.
pub type Slots<H> = HashMap<u64, H, BuildHasherDefault<IndexHasher>>;

/// An empty table, in a `const` (thread-local initialisers want one).
pub const fn empty_slots<H>() -> RefCell<Slots<H>> {
    RefCell::new(HashMap::with_hasher(BuildHasherDefault::new()))
}

/// Hashes a `u64` index with one multiplication by 2⁶⁴/φ (Fibonacci hashing): consecutive
/// indexes spread over every bucket, and the high bits the table also uses are well mixed.
#[derive(Clone, Copy, Debug, Default)]
pub struct IndexHasher(u64);

impl Hasher for IndexHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u64(self.0.rotate_left(8) ^ u64::from(byte));
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A peer runtime's handle to a spawned work, and how to cancel the work through it.
pub trait PeerHandle: 'static {
    /// Cancels the work and lets go of the handle.
    fn cancel(self);
}

/// Where a peer keeps its scheduler's table: a thread-local of its own.
///
/// One scheduler per peer per thread at a time uses it; the bench makes each runtime fresh for
/// each run and shuts it down before making the next.
pub trait SlotsHome: 'static {
    /// The runtime's handle to a spawned work.
    type Handle: PeerHandle;

    /// The thread-local table.
    fn slots() -> &'static LocalKey<RefCell<Slots<Self::Handle>>>;
}

/// The scheduler of a peer runtime: register, unregister, stop, as ours does.
///
/// Re-entrancy: the table is never borrowed across a call out. An entry is removed from the
/// table first and cancelled after, so a hook that runs inside a cancel finds the table free
/// (and the entry already gone).
pub struct PeerScheduler<S: SlotsHome> {
    next_index: Cell<u64>,
    spawned: Cell<u64>,
    home: PhantomData<S>,
}

impl<S: SlotsHome> PeerScheduler<S> {
    /// An empty scheduler. The thread's table must be empty: the previous runtime was shut down.
    pub fn new() -> PeerScheduler<S> {
        debug_assert!(S::slots().with(|slots| slots.borrow().is_empty()));
        PeerScheduler {
            next_index: Cell::new(0),
            spawned: Cell::new(0),
            home: PhantomData,
        }
    }

    /// Registers a work: `spawn` gets the work's done hook, spawns a task whose future owns
    /// it, and returns the task's handle. Returns the work's index.
    pub fn register(&self, spawn: impl FnOnce(DoneHook<S>) -> S::Handle) -> u64 {
        let index = self.next_index.get();
        self.next_index.set(index + 1);
        let handle = spawn(DoneHook::new(index));
        self.spawned.set(self.spawned.get() + 1);
        // A runtime's `spawn` never polls the future in place, so its hook cannot have run yet.
        let displaced = S::slots().with(|slots| slots.borrow_mut().insert(index, handle));
        debug_assert!(displaced.is_none(), "index {index} registered twice");
        index
    }

    /// Unregisters the work `index` and cancels it; `false` if it was not registered.
    pub fn unregister(&self, index: u64) -> bool {
        match S::slots().with(|slots| slots.borrow_mut().remove(&index)) {
            Some(handle) => {
                handle.cancel();
                true
            }
            None => false,
        }
    }

    /// Cancels every registered work and empties the table, giving its memory back.
    pub fn stop(&self) {
        let all = S::slots().with(|slots| mem::take(&mut *slots.borrow_mut()));
        for (_, handle) in all {
            handle.cancel();
        }
    }

    /// Works registered now.
    pub fn len(&self) -> usize {
        S::slots().with(|slots| slots.borrow().len())
    }

    /// Whether no work is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Tasks spawned by this scheduler.
    pub fn spawned(&self) -> u64 {
        self.spawned.get()
    }

    /// The counts the works keep themselves; the runtime's internals are not available.
    pub fn counts(&self) -> TaskCounts {
        TaskCounts {
            spawned: self.spawned(),
            first_polls: work::first_polls(),
            polls: work::polls(),
            cancelled: work::unfinished_drops(),
            futures_dropped: work::futures_dropped(),
            tasks_freed: None,
            live_tasks: None,
            peak_live_tasks: None,
            timers_live: None,
        }
    }

    /// Empties the table after the runtime is gone (by then the hooks have removed every
    /// entry) and gives its memory back, so that the next scheduler on this thread starts
    /// from nothing.
    pub fn clear(&self) {
        let all = S::slots().with(|slots| mem::take(&mut *slots.borrow_mut()));
        drop(all);
    }
}

impl<S: SlotsHome> Default for PeerScheduler<S> {
    fn default() -> PeerScheduler<S> {
        PeerScheduler::new()
    }
}

/// The done hook: lives inside the spawned future; when the future is dropped (finished,
/// cancelled, or at shutdown) it counts the drop and removes the work's entry, if still there.
pub struct DoneHook<S: SlotsHome> {
    index: u64,
    finished: bool,
    home: PhantomData<fn() -> S>,
}

impl<S: SlotsHome> DoneHook<S> {
    fn new(index: u64) -> DoneHook<S> {
        DoneHook {
            index,
            finished: false,
            home: PhantomData,
        }
    }
}

impl<S: SlotsHome> Drop for DoneHook<S> {
    fn drop(&mut self) {
        work::note_future_dropped(self.finished);
        // The table may already be gone if the thread is ending; then there is nothing to do.
        let entry = S::slots()
            .try_with(|slots| slots.borrow_mut().remove(&self.index))
            .ok()
            .flatten();
        // Dropped outside the borrow: the handle's destructor is the runtime's code.
        drop(entry);
    }
}

/// The work, for any peer: count the first poll, sleep on the runtime's timer (`sleep` makes
/// it, at the first poll as ours does), counting every poll; the hook is dropped with the
/// future, whether or not it was ever polled (an `async fn`'s arguments are part of it).
pub async fn work<S: SlotsHome, F: Future>(mut hook: DoneHook<S>, sleep: impl FnOnce() -> F) {
    work::note_first_poll();
    let mut sleep = pin!(sleep());
    poll_fn(|cx| {
        work::note_poll();
        sleep.as_mut().poll(cx)
    })
    .await;
    hook.finished = true;
}
