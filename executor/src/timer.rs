//! The timer: a hierarchical timing wheel whose entries live inside the `Sleep`s themselves.
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
//! # The wheel
//!
//! Time is counted in ticks of one millisecond (deadlines round *up* to a tick, so nothing fires
//! early). Six levels of 64 slots each cover 64^6 ms, about 2.2 years; level `L` slot `s` holds
//! the entries due within the `s`-th span of 64^L ticks of the current level-`L` window:
//!
//! ```text
//!  level 0: 64 slots x 1 ms       entries due within this 64 ms window
//!  level 1: 64 slots x 64 ms      ... within this 4.096 s window
//!  level 2: 64 slots x 4.096 s    ... within this 4.4 min window
//!  level 5: 64 slots x 12.4 days  anything later (beyond 2.2 years: wraps, re-sorted on each pass)
//! ```
//!
//! Each slot is a doubly linked list (FIFO) and each level has a 64-bit mask of its non-empty
//! slots, so finding the next deadline is a few bit operations. When the time of a slot above
//! level 0 comes, its entries are not fired but re-sorted into lower levels ("cascading"), closer
//! to their exact tick. An entry is moved at most once per level. This is the design of tokio's
//! and of the Linux kernel's timer wheels, reduced to what one thread needs.
//!
//! Two lists stand beside the levels: `expired` (due, waiting for the run loop to take its
//! waker) and `never` (`sleep(Duration::MAX)` and the like: registered, counted, never fired).
//! Which list an entry is in follows from its deadline and `elapsed` alone, so removal needs no
//! back pointer: the invariant is that an entry due at or before `elapsed` is in `expired`, and
//! any other is in the slot its deadline maps to from `elapsed`.

use crate::clock::{self, NEVER};
use crate::slim_waker::SlimWaker;
use std::cell::Cell;
use std::marker::PhantomPinned;
use std::ptr::NonNull;

const LEVELS: usize = 6;
const SLOT_BITS: u32 = 6;
const SLOTS: usize = 1 << SLOT_BITS;
/// Ticks one full wheel spans; a deadline farther than this from `elapsed` goes to the top level.
const MAX_SPAN: u64 = 1 << (SLOT_BITS * LEVELS as u32);

/// A timer entry, embedded in a `Sleep`. Registered exactly while `waker` is `Some`.
///
/// The links and the waker are `Cell`s: the wheel reaches the entry through a raw pointer while
/// the `Sleep` holding it may be borrowed, so both sides only ever use shared references.
pub(crate) struct Entry {
    prev: Cell<Option<NonNull<Entry>>>,
    next: Cell<Option<NonNull<Entry>>>,
    /// Nanoseconds on the `clock`; [`NEVER`] for a sleep that never ends. Never changes.
    deadline: u64,
    waker: Cell<Option<SlimWaker>>,
    /// The wheel points to the entry: it must not move while registered.
    _pinned: PhantomPinned,
}

impl Entry {
    pub(crate) fn new(deadline: u64) -> Entry {
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
    fn peek_waker<R>(&self, f: impl FnOnce(Option<&SlimWaker>) -> R) -> R {
        let waker = self.waker.take();
        let result = f(waker.as_ref());
        self.waker.set(waker);
        result
    }

    pub(crate) fn is_registered(&self) -> bool {
        self.peek_waker(|waker| waker.is_some())
    }

    /// The core whose timer holds this entry, if it is registered.
    pub(crate) fn core(&self) -> Option<NonNull<crate::executor::Core>> {
        self.peek_waker(|waker| waker.map(SlimWaker::core))
    }

    /// Whether the registered waker would wake the same task as `waker`.
    pub(crate) fn will_wake(&self, waker: &std::task::Waker) -> bool {
        self.peek_waker(|stored| stored.is_some_and(|stored| stored.will_wake(waker)))
    }

    /// Replaces the waker of a registered entry; returns the old one, for the caller to drop.
    pub(crate) fn replace_waker(&self, waker: SlimWaker) -> Option<SlimWaker> {
        debug_assert!(self.is_registered());
        self.waker.replace(Some(waker))
    }
}

/// The entry behind `ptr`.
///
/// Every pointer the wheel holds is to a registered entry, and a registered entry is alive and
/// does not move: its `Sleep` is pinned (`!Unpin`, so only reachable through `Pin`), pinned
/// memory is not reused before its destructor runs, and `Sleep`'s destructor unlinks the entry
/// first. Entries of `Sleep`s that never run their destructor (leaked) stay valid forever. The
/// executor unlinks every entry left at shutdown, before the wheel goes. The returned reference
/// is shared; all the entry's mutable parts are `Cell`s.
fn entry<'a>(ptr: NonNull<Entry>) -> &'a Entry {
    // SAFETY: see above: a pointer held by the wheel is to a live, pinned entry.
    unsafe { ptr.as_ref() }
}

/// A FIFO list of entries, linked through the entries themselves.
#[derive(Default)]
struct List {
    head: Option<NonNull<Entry>>,
    tail: Option<NonNull<Entry>>,
}

impl List {
    fn is_empty(&self) -> bool {
        self.head.is_none()
    }

    /// `ptr` must be registered (alive, pinned) and in no list.
    fn push_back(&mut self, ptr: NonNull<Entry>) {
        let e = entry(ptr);
        e.next.set(None);
        e.prev.set(self.tail);
        match self.tail {
            Some(tail) => entry(tail).next.set(Some(ptr)),
            None => self.head = Some(ptr),
        }
        self.tail = Some(ptr);
    }

    fn pop_front(&mut self) -> Option<NonNull<Entry>> {
        let ptr = self.head?;
        self.unlink(ptr);
        Some(ptr)
    }

    /// `ptr` must be in this list.
    fn unlink(&mut self, ptr: NonNull<Entry>) {
        let e = entry(ptr);
        let (prev, next) = (e.prev.take(), e.next.take());
        match prev {
            Some(prev) => entry(prev).next.set(next),
            None => {
                debug_assert_eq!(self.head, Some(ptr), "unlinking an entry of another list");
                self.head = next;
            }
        }
        match next {
            Some(next) => entry(next).prev.set(prev),
            None => self.tail = prev,
        }
    }
}

struct Level {
    /// Bit `s` set exactly when `slots[s]` is non-empty.
    occupied: u64,
    slots: [List; SLOTS],
}

impl Default for Level {
    fn default() -> Level {
        Level {
            occupied: 0,
            slots: std::array::from_fn(|_| List::default()),
        }
    }
}

/// Where an entry with a given deadline belongs, seen from `elapsed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    Never,
    Expired,
    Slot { level: usize, slot: usize },
}

/// The executor's timer; see the module docs.
pub(crate) struct Timer {
    /// Every tick up to and including this one has been processed.
    elapsed: u64,
    levels: [Level; LEVELS],
    expired: List,
    never: List,
    live: usize,
}

impl Timer {
    pub(crate) fn new() -> Timer {
        Timer::starting_at(clock::tick_of(clock::now()))
    }

    fn starting_at(elapsed: u64) -> Timer {
        Timer {
            elapsed,
            levels: std::array::from_fn(|_| Level::default()),
            expired: List::default(),
            never: List::default(),
            live: 0,
        }
    }

    /// Registered entries.
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.live == 0
    }

    fn place(&self, deadline: u64) -> Place {
        if deadline == NEVER {
            return Place::Never;
        }
        let when = clock::tick_at_or_after(deadline);
        if when <= self.elapsed {
            return Place::Expired;
        }
        // The level is given by the highest bit in which `when` and `elapsed` differ: they agree
        // on every bit above level L's slot bits exactly when `when` falls in the current
        // level-L window. Past the top level's window, the top level (it wraps around).
        let differing = (self.elapsed ^ when) | (SLOTS as u64 - 1);
        let differing = differing.min(MAX_SPAN - 1);
        let level = ((63 - differing.leading_zeros()) / SLOT_BITS) as usize;
        let slot = ((when >> (SLOT_BITS * level as u32)) as usize) & (SLOTS - 1);
        Place::Slot { level, slot }
    }

    fn list(&mut self, place: Place) -> &mut List {
        match place {
            Place::Never => &mut self.never,
            Place::Expired => &mut self.expired,
            Place::Slot { level, slot } => &mut self.levels[level].slots[slot],
        }
    }

    fn link(&mut self, ptr: NonNull<Entry>) {
        let place = self.place(entry(ptr).deadline);
        self.list(place).push_back(ptr);
        if let Place::Slot { level, slot } = place {
            self.levels[level].occupied |= 1 << slot;
        }
    }

    /// Registers the entry at `ptr` with `waker`.
    ///
    /// # Safety
    /// `ptr` is an unregistered entry inside a pinned `Sleep` (so it stays put until its
    /// destructor, which calls [`Timer::remove`]), on this executor's thread.
    pub(crate) unsafe fn insert(&mut self, ptr: NonNull<Entry>, waker: SlimWaker) {
        let old = entry(ptr).waker.replace(Some(waker));
        debug_assert!(old.is_none(), "registering a registered entry");
        self.live += 1;
        self.link(ptr);
    }

    /// Unregisters the entry at `ptr` and returns its waker, for the caller to drop outside any
    /// borrow of the timer (dropping it may free a task cell).
    ///
    /// # Safety
    /// `ptr` is registered in this timer.
    pub(crate) unsafe fn remove(&mut self, ptr: NonNull<Entry>) -> SlimWaker {
        let place = self.place(entry(ptr).deadline);
        let list = self.list(place);
        list.unlink(ptr);
        if let Place::Slot { level, slot } = place {
            if self.levels[level].slots[slot].is_empty() {
                self.levels[level].occupied &= !(1 << slot);
            }
        }
        self.take(ptr)
    }

    /// The waker of an entry just unlinked.
    fn take(&mut self, ptr: NonNull<Entry>) -> SlimWaker {
        self.live -= 1;
        entry(ptr)
            .waker
            .take()
            .expect("a linked timer entry has a waker")
    }

    /// The next slot to process: its level, its index and the tick at which it starts.
    fn next_expiration(&self) -> Option<(usize, usize, u64)> {
        // Every entry of a level lies in a later window than every entry of the levels below,
        // so the lowest non-empty level holds the earliest slot.
        let (level, occupied) = self
            .levels
            .iter()
            .enumerate()
            .find_map(|(level, l)| (l.occupied != 0).then_some((level, l.occupied)))?;
        let shift = SLOT_BITS * level as u32;
        let slot_span = 1u64 << shift;
        let level_span = slot_span << SLOT_BITS;
        let now_slot = ((self.elapsed >> shift) as usize) & (SLOTS - 1);
        // The first occupied slot at or after the current one, going round.
        let slot = (now_slot + occupied.rotate_right(now_slot as u32).trailing_zeros() as usize)
            & (SLOTS - 1);
        let mut start = (self.elapsed & !(level_span - 1)) + slot as u64 * slot_span;
        if start <= self.elapsed {
            // Only the top level wraps: a slot "behind" the current one is in the next round.
            debug_assert_eq!(level, LEVELS - 1);
            start += level_span;
        }
        Some((level, slot, start))
    }

    /// Moves time on to the start of a slot and re-sorts its entries: the due ones to `expired`,
    /// the others to the lower levels.
    fn process(&mut self, level: usize, slot: usize, start: u64) {
        let mut list = std::mem::take(&mut self.levels[level].slots[slot]);
        self.levels[level].occupied &= !(1 << slot);
        self.elapsed = start;
        while let Some(ptr) = list.pop_front() {
            self.link(ptr);
        }
    }

    /// Unregisters one entry due at or before `now` (a tick) and returns its waker.
    pub(crate) fn pop_expired(&mut self, now: u64) -> Option<SlimWaker> {
        loop {
            if let Some(ptr) = self.expired.pop_front() {
                return Some(self.take(ptr));
            }
            match self.next_expiration() {
                Some((level, slot, start)) if start <= now => self.process(level, slot, start),
                _ => {
                    self.elapsed = self.elapsed.max(now);
                    return None;
                }
            }
        }
    }

    /// The tick at which the run loop should next look at the timer: when the earliest slot
    /// starts (it may only cascade), or `elapsed` if entries are already due. `None` if
    /// nothing registered can ever fire.
    pub(crate) fn next_tick(&self) -> Option<u64> {
        if !self.expired.is_empty() {
            return Some(self.elapsed);
        }
        self.next_expiration().map(|(_, _, start)| start)
    }

    /// Unregisters any one entry (shutdown: entries whose `Sleep` outlives the executor).
    pub(crate) fn pop_any(&mut self) -> Option<SlimWaker> {
        if let Some(ptr) = self.never.pop_front() {
            return Some(self.take(ptr));
        }
        if let Some(ptr) = self.expired.pop_front() {
            return Some(self.take(ptr));
        }
        let (level, slot, _) = self.next_expiration()?;
        let list = &mut self.levels[level].slots[slot];
        let ptr = list.pop_front().expect("an occupied slot has an entry");
        if list.is_empty() {
            self.levels[level].occupied &= !(1 << slot);
        }
        Some(self.take(ptr))
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        // The executor detaches every entry at shutdown (`pop_any`): an entry left linked here
        // would point into a freed wheel from its `Sleep`.
        debug_assert_eq!(self.live, 0, "timer dropped with registered entries");
    }
}
