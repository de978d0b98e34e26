//! The peer runtimes, tokio and smol, with the same scheduler shape as ours.
//!
//! Each peer implements [`Runtime`](crate::runtime::Runtime) with a [`PeerScheduler`]: a table
//! from each work's index to the runtime's handle for its task (tokio's `JoinHandle`, smol's
//! `Task`), and a done hook ([`DoneHook`]) inside the spawned future that removes the entry
//! when the future is dropped — the shape of our `WorkScheduler` and of the reference's
//! asyncio `WorkScheduler` (a dict of tasks, a done callback).
//!
//! The table ([`Slots`], in `slots.rs`) is the shape of ours too: a `VecDeque` sorted by index,
//! with tombstones for removed entries. So `stop()` cancels in index order, which is
//! registration order, as ours does, and the runtime then drops the tasks in the order it
//! spawned them; a hash map would cancel in hash order and make the drops that follow touch
//! task memory at random, a cost that is the bench's, not the runtime's.
//!
//! The table lives in a thread-local of each peer's (see [`SlotsHome`]), so that a hook needs
//! no pointer to it: tokio's `spawn` wants `Send` futures, and an `Rc` is not. A peer's hook is
//! the index and a `finished` flag, 16 bytes with padding on a 64-bit target: the same size as
//! ours (a `Weak` and the index), so the hook adds to a peer's task exactly what it adds to ours
//! (a test below checks the figure).
//!
//! # What is counted from the outside, exactly
//!
//! A peer does not tell us how many polls it made or futures it dropped, so the work counts
//! them itself (`work.rs`): its first poll, every poll (the sleep is polled through a counting
//! `poll_fn`), and, in the hook's destructor, every drop of its future and whether the work had
//! finished. What a peer keeps to itself (when its task cells are freed, how many are live, its
//! timer entries) is reported as not available, never estimated.

mod slots;
pub mod smol;
pub mod tokio;

pub use self::slots::Slots;
pub use self::smol::Smol;
pub use self::tokio::Tokio;

use std::cell::{Cell, RefCell};
use std::future::{Future, poll_fn};
use std::marker::PhantomData;
use std::mem;
use std::pin::pin;
use std::thread::LocalKey;

use crate::runtime::TaskCounts;
use crate::work;

/// An empty table, in a `const` (thread-local initialisers want one).
pub const fn empty_slots<H>() -> RefCell<Slots<H>> {
    RefCell::new(Slots::new())
}

/// A peer runtime's handle to a spawned work, and how to cancel the work through it.
pub trait PeerHandle: 'static {
    /// Cancels the work and lets go of the handle.
    fn cancel(self);

    /// Lets go of the handle without cancelling the work.
    fn detach(self);
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
    /// The next work's index; every spawn, registered or detached, takes one, so it is also the
    /// count of tasks spawned.
    next_index: Cell<u64>,
    home: PhantomData<S>,
}

impl<S: SlotsHome> PeerScheduler<S> {
    /// An empty scheduler. The thread's table must be empty: the previous runtime was shut down.
    pub fn new() -> PeerScheduler<S> {
        debug_assert!(S::slots().with(|slots| slots.borrow().is_empty()));
        PeerScheduler {
            next_index: Cell::new(0),
            home: PhantomData,
        }
    }

    /// Registers a work: `spawn` gets the work's done hook, spawns a task whose future owns
    /// it, and returns the task's handle. Returns the work's index.
    pub fn register(&self, spawn: impl FnOnce(DoneHook<S>) -> S::Handle) -> u64 {
        let index = self.next_index.get();
        self.next_index.set(index + 1);
        let handle = spawn(DoneHook::new(index));
        // A runtime's `spawn` never polls the future in place, so its hook cannot have run yet.
        // Indexes only grow, so the entry goes at the back of the table.
        S::slots().with(|slots| slots.borrow_mut().insert(index, handle));
        index
    }

    /// Spawns a work outside the table and detaches it: `spawn` gets a done hook (which then
    /// finds no entry to remove), and the handle it returns is let go without a cancel.
    pub fn spawn_detached(&self, spawn: impl FnOnce(DoneHook<S>) -> S::Handle) {
        let index = self.next_index.get();
        self.next_index.set(index + 1);
        spawn(DoneHook::new(index)).detach();
    }

    /// Unregisters the work `index` and cancels it; `false` if it was not registered.
    pub fn unregister(&self, index: u64) -> bool {
        match S::slots().with(|slots| slots.borrow_mut().remove(index)) {
            Some(handle) => {
                handle.cancel();
                true
            }
            None => false,
        }
    }

    /// Cancels every registered work, in index order (registration order), and empties the
    /// table, giving its memory back.
    pub fn stop(&self) {
        let all = S::slots().with(|slots| mem::take(&mut *slots.borrow_mut()));
        for handle in all.into_handles() {
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
        self.next_index.get()
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
            husks: None,
            husk_bytes: None,
            husks_with_handle: None,
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
            .try_with(|slots| slots.borrow_mut().remove(self.index))
            .ok()
            .flatten();
        // Dropped outside the borrow: the handle's destructor is the runtime's code.
        drop(entry);
    }
}

/// The work, for any peer: count the first poll, then run the body `make` makes (at the first
/// poll, as ours makes its sleep then): the runtime's sleep, or a lesson's body around it,
/// counting every poll; the hook is dropped with the future, whether or not it was ever polled
/// (an `async fn`'s arguments are part of it).
pub async fn work<S: SlotsHome, F: Future>(mut hook: DoneHook<S>, make: impl FnOnce() -> F) {
    work::note_first_poll();
    let mut body = pin!(make());
    poll_fn(|cx| {
        work::note_poll();
        body.as_mut().poll(cx)
    })
    .await;
    hook.finished = true;
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// A stand-in runtime: its "futures" (the done hooks) live in `FUTURES` until cancelled or
    /// finished, and a cancel is logged in `CANCELLED`, then drops the future at once (inside
    /// the cancel: the table must be free by then).
    struct Fake;

    /// The stand-in's handle: the work's index.
    struct FakeHandle(u64);

    thread_local! {
        static SLOTS: RefCell<Slots<FakeHandle>> = const { empty_slots() };
        static FUTURES: RefCell<BTreeMap<u64, DoneHook<Fake>>> = const { RefCell::new(BTreeMap::new()) };
        static CANCELLED: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
    }

    impl SlotsHome for Fake {
        type Handle = FakeHandle;

        fn slots() -> &'static LocalKey<RefCell<Slots<FakeHandle>>> {
            &SLOTS
        }
    }

    impl PeerHandle for FakeHandle {
        fn detach(self) {}

        fn cancel(self) {
            CANCELLED.with(|cancelled| cancelled.borrow_mut().push(self.0));
            let future = FUTURES.with(|futures| futures.borrow_mut().remove(&self.0));
            drop(future);
        }
    }

    fn register(scheduler: &PeerScheduler<Fake>) -> u64 {
        scheduler.register(|hook| {
            let index = hook.index;
            FUTURES.with(|futures| futures.borrow_mut().insert(index, hook));
            FakeHandle(index)
        })
    }

    /// The work `index` ends on its own: its future is dropped, and its hook runs.
    fn finish(index: u64) {
        let future = FUTURES.with(|futures| futures.borrow_mut().remove(&index));
        drop(future.expect("the work's future is live"));
    }

    fn cancelled() -> Vec<u64> {
        CANCELLED.with(|cancelled| mem::take(&mut *cancelled.borrow_mut()))
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_peers_hook_is_16_bytes_as_ours_is() {
        assert_eq!(std::mem::size_of::<DoneHook<Fake>>(), 16);
        assert_eq!(
            std::mem::size_of::<DoneHook<super::tokio::TokioSlots>>(),
            16
        );
        // Ours: a `Weak` (one pointer) and a `u64` index.
        assert_eq!(std::mem::size_of::<(std::rc::Weak<u8>, u64)>(), 16);
    }

    #[test]
    fn stop_cancels_in_index_order_and_hooks_remove_their_entries() {
        const N: u64 = 1000;
        let scheduler = PeerScheduler::<Fake>::new();
        let indexes: Vec<u64> = (0..N).map(|_| register(&scheduler)).collect();
        assert_eq!(indexes, (0..N).collect::<Vec<_>>());
        assert_eq!(scheduler.len(), N as usize);

        // A third leave through unregister (cancelled, in the order asked), a third through
        // their done hook (not cancelled): the inner ones first, which leaves tombstones until
        // they outnumber the live entries and are swept, then the two ends.
        let unregistered: Vec<u64> = (0..N).filter(|index| index % 3 == 1).collect();
        for &index in &unregistered {
            assert!(scheduler.unregister(index));
            assert!(!scheduler.unregister(index), "{index} is gone");
        }
        assert_eq!(cancelled(), unregistered);
        let ends = [0, N - 1];
        let finished = (0..N)
            .filter(|index| index % 3 == 0 && !ends.contains(index))
            .chain(ends);
        for index in finished {
            finish(index);
            assert!(!scheduler.unregister(index), "the hook removed {index}");
        }
        assert!(cancelled().is_empty());
        let left: Vec<u64> = (0..N).filter(|index| index % 3 == 2).collect();
        assert_eq!(scheduler.len(), left.len());

        scheduler.stop();
        assert_eq!(cancelled(), left, "stop() cancels in index order");
        assert!(scheduler.is_empty());
        assert!(FUTURES.with(|futures| futures.borrow().is_empty()));

        // The table is usable again, and keeps the order.
        let more: Vec<u64> = (0..5).map(|_| register(&scheduler)).collect();
        assert_eq!(more, (N..N + 5).collect::<Vec<_>>());
        scheduler.stop();
        assert_eq!(cancelled(), more);
        scheduler.clear();
    }
}
