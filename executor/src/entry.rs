//! The timer entry: the lesson of the timer. The entry lives inside the `Sleep`, so inside the
//! task's cell, and is unlinked when the `Sleep` is dropped.
//!
//! # Why intrusive
//!
//! A timer that keeps its entries in storage of its own (a slab, a heap) costs every sleeping
//! task that storage on top of its cell, and keeps it after a cancel until it is purged. Here the
//! entry *is* part of the `Sleep` ([`Entry`]: two links, the deadline and a one-word waker,
//! 32 bytes), so it lives in the task's cell, and the timer itself is a fixed array of list
//! heads allocated once with the executor. Registering a sleep allocates nothing; dropping it
//! unlinks it in O(1) and drops its waker in the same step, and then nothing of it is left
//! anywhere: there is no record to go stale.
//!
//! The price is that a `Sleep` must not move while registered: it is `!Unpin`, and the
//! pointers to it are valid because pinned memory is dropped in place, and `Sleep`'s `Drop`
//! unlinks the entry first.
//!
//! # Rule W1
//!
//! **W1.** Every pointer the wheel holds — a list's head or tail, an entry's `prev` or `next` —
//! is to a registered entry, and a registered entry is alive and does not move. Its `Sleep` is
//! pinned (`!Unpin`, so only reachable through `Pin`), pinned memory is not reused before its
//! destructor runs, and `Sleep`'s destructor unregisters the entry first; the entry of a `Sleep`
//! that never runs its destructor (leaked) stays valid forever; and the executor unregisters
//! every entry left at shutdown, before the wheel goes (rule C1 in `core.rs`). Every
//! dereference of an entry pointer ([`entry`]) cites it.
//!
//! The wheel that links these entries by deadline is the optimisation, in `wheel.rs`.

use std::cell::Cell;
use std::marker::PhantomPinned;
use std::ptr::NonNull;

/// A timer entry, embedded in a `Sleep`. Registered exactly while `waker` is `Some`.
///
/// The links and the waker are `Cell`s: the wheel reaches the entry through a raw pointer while
/// the `Sleep` holding it may be borrowed, so both sides only ever use shared references.
///
/// `W` is the waker it keeps: a `SlimWaker` in every `Sleep` (`slim_waker.rs`). Neither the
/// entry nor the wheel needs to know what it is; they only keep it, and hand it back when the
/// entry is unregistered.
pub(crate) struct Entry<W> {
    pub(crate) prev: Cell<Option<NonNull<Entry<W>>>>,
    pub(crate) next: Cell<Option<NonNull<Entry<W>>>>,
    /// Nanoseconds on the `clock`, or `NEVER`, or marked `AT_ONCE` (see `clock.rs`). Never
    /// changes.
    pub(crate) deadline: u64,
    pub(crate) waker: Cell<Option<W>>,
    /// The wheel points to the entry: it must not move while registered.
    _pinned: PhantomPinned,
}

impl<W> Entry<W> {
    pub(crate) fn new(deadline: u64) -> Entry<W> {
        Entry {
            prev: Cell::new(None),
            next: Cell::new(None),
            deadline,
            waker: Cell::new(None),
            _pinned: PhantomPinned,
        }
    }

    pub(crate) fn deadline(&self) -> u64 {
        self.deadline
    }

    /// Calls `f` with the waker in place (the cell is briefly emptied; `f` must not touch it).
    /// The waker goes back even if `f` panics: a linked entry must never look unregistered.
    pub(crate) fn peek_waker<R>(&self, f: impl FnOnce(Option<&W>) -> R) -> R {
        struct PutBack<'a, W>(&'a Cell<Option<W>>, Option<W>);
        impl<W> Drop for PutBack<'_, W> {
            fn drop(&mut self) {
                self.0.set(self.1.take());
            }
        }
        let taken = PutBack(&self.waker, self.waker.take());
        f(taken.1.as_ref())
    }

    pub(crate) fn is_registered(&self) -> bool {
        self.peek_waker(|waker| waker.is_some())
    }

    /// Replaces the waker of a registered entry; returns the old one, for the caller to drop.
    pub(crate) fn replace_waker(&self, waker: W) -> W {
        let old = self.waker.replace(Some(waker));
        old.expect("replacing the waker of an unregistered timer entry")
    }
}

/// The entry behind `ptr`.
///
/// # Safety
/// `ptr` is a registered entry, or one being registered by `insert` (so alive and pinned), and
/// the returned reference is not used after the entry is unregistered and its `Sleep` dropped:
/// the lifetime is the caller's to bound. Every pointer the wheel holds qualifies (rule W1 in
/// the module docs). The reference is shared; all the entry's mutable parts are `Cell`s.
pub(crate) unsafe fn entry<'a, W>(ptr: NonNull<Entry<W>>) -> &'a Entry<W> {
    // SAFETY: the caller's contract: a live, pinned entry.
    unsafe { ptr.as_ref() }
}

/// A FIFO list of entries, linked through the entries themselves.
pub(crate) struct List<W> {
    pub(crate) head: Option<NonNull<Entry<W>>>,
    pub(crate) tail: Option<NonNull<Entry<W>>>,
}

impl<W> Default for List<W> {
    fn default() -> List<W> {
        List {
            head: None,
            tail: None,
        }
    }
}

impl<W> List<W> {
    pub(crate) fn is_empty(&self) -> bool {
        self.head.is_none()
    }

    /// # Safety
    /// `ptr` is registered (alive, pinned) and in no list.
    pub(crate) unsafe fn push_back(&mut self, ptr: NonNull<Entry<W>>) {
        // SAFETY: registered (the caller's contract).
        let e = unsafe { entry(ptr) };
        e.next.set(None);
        e.prev.set(self.tail);
        match self.tail {
            // SAFETY: the tail is in this list (W1).
            Some(tail) => unsafe { entry(tail) }.next.set(Some(ptr)),
            None => self.head = Some(ptr),
        }
        self.tail = Some(ptr);
    }

    pub(crate) fn pop_front(&mut self) -> Option<NonNull<Entry<W>>> {
        let ptr = self.head?;
        // SAFETY: the head is in this list.
        unsafe { self.unlink(ptr) };
        Some(ptr)
    }

    /// # Safety
    /// `ptr` is in this list.
    pub(crate) unsafe fn unlink(&mut self, ptr: NonNull<Entry<W>>) {
        // SAFETY: in this list, so registered (W1).
        let e = unsafe { entry(ptr) };
        let (prev, next) = (e.prev.take(), e.next.take());
        match prev {
            // SAFETY: a neighbour in this list (W1).
            Some(prev) => unsafe { entry(prev) }.next.set(next),
            None => {
                debug_assert_eq!(self.head, Some(ptr), "unlinking an entry of another list");
                self.head = next;
            }
        }
        match next {
            // SAFETY: a neighbour in this list (W1).
            Some(next) => unsafe { entry(next) }.prev.set(prev),
            None => self.tail = prev,
        }
    }
}
