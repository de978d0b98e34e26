//! The timer wheel: the optimisation of the timer. It links the entries of `entry.rs` (which
//! live in the `Sleep`s) by deadline, so that finding what is due costs a few bit operations.
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

use crate::clock::{self, Due};
use crate::entry::{Entry, List, entry};
use std::ptr::NonNull;

const LEVELS: usize = 6;
const SLOT_BITS: u32 = 6;
const SLOTS: usize = 1 << SLOT_BITS;
/// Ticks one full wheel spans; a deadline farther than this from `elapsed` goes to the top level.
const MAX_SPAN: u64 = 1 << (SLOT_BITS * LEVELS as u32);

struct Level<W> {
    /// Bit `s` set exactly when `slots[s]` is non-empty.
    occupied: u64,
    slots: [List<W>; SLOTS],
}

impl<W> Default for Level<W> {
    fn default() -> Level<W> {
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
pub(crate) struct Timer<W> {
    /// Every tick up to and including this one has been processed.
    elapsed: u64,
    levels: [Level<W>; LEVELS],
    expired: List<W>,
    never: List<W>,
    live: usize,
}

impl<W> Timer<W> {
    pub(crate) fn new() -> Timer<W> {
        Timer::starting_at(clock::tick_of(clock::now()))
    }

    fn starting_at(elapsed: u64) -> Timer<W> {
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

    /// Has the timer's time reached `deadline`? True for an entry it has fired.
    pub(crate) fn is_due(&self, deadline: u64) -> bool {
        match clock::due(deadline) {
            Due::Never => false,
            Due::AtOnce => true,
            Due::AtTick(when) => when <= self.elapsed,
        }
    }

    fn place(&self, deadline: u64) -> Place {
        let when = match clock::due(deadline) {
            Due::Never => return Place::Never,
            Due::AtOnce => return Place::Expired,
            Due::AtTick(when) if when <= self.elapsed => return Place::Expired,
            Due::AtTick(when) => when,
        };
        // The level is given by the highest bit in which `when` and `elapsed` differ: they agree
        // on every bit above level L's slot bits exactly when `when` falls in the current
        // level-L window. Past the top level's window, the top level (it wraps around).
        let differing = (self.elapsed ^ when) | (SLOTS as u64 - 1);
        let differing = differing.min(MAX_SPAN - 1);
        let level = ((63 - differing.leading_zeros()) / SLOT_BITS) as usize;
        let slot = ((when >> (SLOT_BITS * level as u32)) as usize) & (SLOTS - 1);
        Place::Slot { level, slot }
    }

    fn list(&mut self, place: Place) -> &mut List<W> {
        match place {
            Place::Never => &mut self.never,
            Place::Expired => &mut self.expired,
            Place::Slot { level, slot } => &mut self.levels[level].slots[slot],
        }
    }

    /// # Safety
    /// `ptr` is registered in this timer (its waker is set) and in no list.
    unsafe fn link(&mut self, ptr: NonNull<Entry<W>>) {
        // SAFETY: registered (the caller's contract).
        let place = self.place(unsafe { entry(ptr) }.deadline);
        // SAFETY: as above; in no list.
        unsafe { self.list(place).push_back(ptr) };
        if let Place::Slot { level, slot } = place {
            self.levels[level].occupied |= 1 << slot;
        }
    }

    /// Registers the entry at `ptr` with `waker`.
    ///
    /// # Safety
    /// `ptr` is an unregistered entry inside a pinned `Sleep` (so it stays put until its
    /// destructor, which calls [`Timer::remove`]), on this executor's thread.
    pub(crate) unsafe fn insert(&mut self, ptr: NonNull<Entry<W>>, waker: W) {
        // SAFETY: alive and pinned (the caller's contract); it is registered from here on.
        let old = unsafe { entry(ptr) }.waker.replace(Some(waker));
        debug_assert!(old.is_none(), "registering a registered entry");
        self.live += 1;
        // SAFETY: registered just now, and an unregistered entry is in no list.
        unsafe { self.link(ptr) };
    }

    /// Unregisters the entry at `ptr` and returns its waker, for the caller to drop outside any
    /// borrow of the timer (dropping it may free a task cell).
    ///
    /// # Safety
    /// `ptr` is registered in this timer.
    pub(crate) unsafe fn remove(&mut self, ptr: NonNull<Entry<W>>) -> W {
        // SAFETY: registered (the caller's contract).
        let place = self.place(unsafe { entry(ptr) }.deadline);
        let list = self.list(place);
        // SAFETY: a registered entry is in the list its deadline maps to (module docs).
        unsafe { list.unlink(ptr) };
        if let Place::Slot { level, slot } = place {
            if self.levels[level].slots[slot].is_empty() {
                self.levels[level].occupied &= !(1 << slot);
            }
        }
        // SAFETY: registered until now, just unlinked.
        unsafe { self.take(ptr) }
    }

    /// Unregisters an entry just unlinked: returns its waker.
    ///
    /// # Safety
    /// `ptr` was registered in this timer and has just been unlinked from its list.
    unsafe fn take(&mut self, ptr: NonNull<Entry<W>>) -> W {
        self.live -= 1;
        // SAFETY: still alive: its `Sleep` is the one unregistering it, or it was in the wheel
        // until now (W1).
        unsafe { entry(ptr) }
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
        // The first occupied slot after the current one, going round. The current slot comes
        // last: entries due within it sit in the levels below, so whatever it holds is a round
        // ahead (only the top level wraps like that).
        let first = (now_slot + 1) & (SLOTS - 1);
        let slot =
            (first + occupied.rotate_right(first as u32).trailing_zeros() as usize) & (SLOTS - 1);
        let mut start = (self.elapsed & !(level_span - 1)) + slot as u64 * slot_span;
        if start <= self.elapsed {
            // A slot at or "behind" the current one: the next round (top level only).
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
            // SAFETY: it was in the wheel (W1), and popping unlinked it.
            unsafe { self.link(ptr) };
        }
    }

    /// Unregisters one entry due at or before `now` (a tick) and returns its waker.
    pub(crate) fn pop_expired(&mut self, now: u64) -> Option<W> {
        let ptr = self.pop_expired_entry(now)?;
        // SAFETY: `pop_expired_entry` just unlinked it from the wheel.
        Some(unsafe { self.take(ptr) })
    }

    /// Unlinks one entry due at or before `now`; the caller takes its waker.
    fn pop_expired_entry(&mut self, now: u64) -> Option<NonNull<Entry<W>>> {
        loop {
            if let Some(ptr) = self.expired.pop_front() {
                return Some(ptr);
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
    pub(crate) fn pop_any(&mut self) -> Option<W> {
        let ptr = match (self.never.head, self.expired.head) {
            (Some(ptr), _) | (None, Some(ptr)) => ptr,
            (None, None) => {
                let (level, slot, _) = self.next_expiration()?;
                self.levels[level].slots[slot]
                    .head
                    .expect("an occupied slot has an entry")
            }
        };
        // SAFETY: every entry in the wheel's lists is registered in this timer.
        Some(unsafe { self.remove(ptr) })
    }
}

impl<W> Drop for Timer<W> {
    fn drop(&mut self) {
        // The executor detaches every entry at shutdown (`pop_any`, rule C1): an entry left
        // linked here would point into a freed wheel from its `Sleep`.
        debug_assert_eq!(self.live, 0, "timer dropped with registered entries");
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::clock::NANOS_PER_TICK;
    use crate::executor::Executor;
    use crate::slim_waker::SlimWaker;
    use std::collections::HashMap;
    use std::pin::Pin;

    /// A small deterministic generator (xorshift64*), so failures replay.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }
    }

    /// A deadline in nanoseconds that rounds up to tick `when` (sometimes exactly on it).
    fn deadline_for(rng: &mut Rng, when: u64) -> u64 {
        if when == 0 || rng.below(2) == 0 {
            when * NANOS_PER_TICK
        } else {
            when * NANOS_PER_TICK - rng.below(NANOS_PER_TICK - 1) - 1
        }
    }

    /// The wheel against a model (a map from entry to its tick): random inserts at every
    /// distance (same tick, each level, past the top level's span, never), removals, and time
    /// jumps of every size. After each jump exactly the model's due entries have fired, none
    /// early; `next_tick` is never later than the earliest deadline; `len` always agrees.
    impl<W> Timer<W> {
        /// Walks every list: each entry is where `place` says, each slot's bit matches, and the
        /// count is right.
        fn check_invariants(&self) {
            let mut count = 0;
            let mut walk = |list: &List<W>, expected: Place| {
                let mut prev = None;
                let mut cursor = list.head;
                while let Some(ptr) = cursor {
                    // SAFETY: in one of the wheel's lists (W1).
                    let e = unsafe { entry(ptr) };
                    assert_eq!(self.place(e.deadline), expected);
                    assert_eq!(e.prev.get(), prev);
                    assert!(e.is_registered());
                    prev = cursor;
                    cursor = e.next.get();
                    count += 1;
                }
                assert_eq!(list.tail, prev);
            };
            walk(&self.never, Place::Never);
            walk(&self.expired, Place::Expired);
            for (level, l) in self.levels.iter().enumerate() {
                for (slot, list) in l.slots.iter().enumerate() {
                    assert_eq!(l.occupied & (1 << slot) != 0, !list.is_empty());
                    walk(list, Place::Slot { level, slot });
                }
            }
            assert_eq!(count, self.live);
        }
    }

    #[test]
    fn wheel_agrees_with_a_model() {
        let ex = Executor::new();
        let core = ex.core_for_tests();
        let main = core.main_waker_for_tests();
        let steps = if cfg!(miri) { 400 } else { 60_000 };
        for seed in [1u64, 7, 1234, 0xdead_beef] {
            let mut rng = Rng(seed);
            let start = rng.below(1 << 36);
            let mut timer = Timer::starting_at(start);
            let mut now = start;
            let mut entries: Vec<Pin<Box<Entry<SlimWaker>>>> = Vec::new();
            let mut model: HashMap<NonNull<Entry<SlimWaker>>, Option<u64>> = HashMap::new();
            for step in 0..steps {
                match rng.below(10) {
                    0..=4 => {
                        let distance = match rng.below(6) {
                            0 => rng.below(64),
                            1 => rng.below(4096),
                            2 => rng.below(1 << 18),
                            3 => rng.below(1 << 30),
                            4 => MAX_SPAN + rng.below(MAX_SPAN * 3),
                            _ => u64::MAX,
                        };
                        let when = (distance != u64::MAX).then(|| now + distance);
                        let deadline = match when {
                            Some(when) => deadline_for(&mut rng, when),
                            None => clock::NEVER,
                        };
                        let entry = Box::pin(Entry::new(deadline));
                        let ptr = NonNull::from(&*entry);
                        // SAFETY: boxed and pinned; removed from the timer before it is freed.
                        unsafe { timer.insert(ptr, SlimWaker::new(main, NonNull::from(core))) };
                        entries.push(entry);
                        model.insert(ptr, when);
                    }
                    5..=6 if !model.is_empty() => {
                        let ptr = *model
                            .keys()
                            .nth(rng.below(model.len() as u64) as usize)
                            .unwrap();
                        // SAFETY: the model holds exactly the registered entries.
                        drop(unsafe { timer.remove(ptr) });
                        // SAFETY: the entry is alive in `entries` (boxed, pinned).
                        assert!(!unsafe { entry(ptr) }.is_registered());
                        model.remove(&ptr);
                    }
                    _ => {
                        now += match rng.below(4) {
                            0 => rng.below(3),
                            1 => rng.below(100),
                            2 => rng.below(20_000),
                            _ => rng.below(1 << 28),
                        };
                        while let Some(ptr) = timer.pop_expired_entry(now) {
                            // SAFETY: just unlinked by `pop_expired_entry`.
                            drop(unsafe { timer.take(ptr) });
                            let when = model.remove(&ptr).expect("fired an unregistered entry");
                            let when = when.expect("fired a never-ending entry");
                            assert!(when <= now, "fired at {now} an entry due at {when}");
                        }
                        let overdue = model.values().flatten().filter(|&&w| w <= now).count();
                        assert_eq!(overdue, 0, "entries due by {now} did not fire");
                    }
                }
                assert_eq!(timer.len(), model.len());
                if step % 256 == 0 {
                    timer.check_invariants();
                }
                let earliest = model.values().flatten().min().copied();
                match (timer.next_tick(), earliest) {
                    (Some(tick), Some(earliest)) => assert!(
                        tick <= earliest.max(timer.elapsed),
                        "next_tick {tick} > earliest {earliest}, elapsed {}, its place {:?}, exp {:?}",
                        timer.elapsed,
                        timer.place(earliest * NANOS_PER_TICK),
                        timer.next_expiration()
                    ),
                    (None, None) => {}
                    (tick, earliest) => panic!("next_tick {tick:?} but earliest {earliest:?}"),
                }
            }
            while let Some(waker) = timer.pop_any() {
                drop(waker);
            }
            assert_eq!(timer.len(), 0);
            assert!(entries.iter().all(|e| !e.is_registered()));
            assert!(timer.levels.iter().all(|l| l.occupied == 0));
        }
    }

    #[test]
    fn removing_the_last_entry_of_a_slot_clears_its_bit() {
        let ex = Executor::new();
        let core = ex.core_for_tests();
        let mut timer = Timer::starting_at(0);
        let a = Box::pin(Entry::new(5 * NANOS_PER_TICK));
        let b = Box::pin(Entry::new(5 * NANOS_PER_TICK));
        for e in [&a, &b] {
            // SAFETY: boxed and pinned; removed below before they are freed.
            unsafe {
                timer.insert(
                    NonNull::from(&**e),
                    SlimWaker::new(core.main_waker_for_tests(), NonNull::from(core)),
                )
            };
        }
        assert_eq!(timer.levels[0].occupied, 1 << 5);
        assert_eq!(timer.next_tick(), Some(5));
        // SAFETY: both are registered.
        drop(unsafe { timer.remove(NonNull::from(&*a)) });
        assert_eq!(timer.levels[0].occupied, 1 << 5, "b is still there");
        // SAFETY: as above.
        drop(unsafe { timer.remove(NonNull::from(&*b)) });
        assert_eq!(timer.levels[0].occupied, 0);
        assert_eq!(timer.next_tick(), None);
    }

    #[test]
    fn a_far_entry_cascades_down_and_fires_at_its_tick() {
        let ex = Executor::new();
        let core = ex.core_for_tests();
        let mut timer = Timer::starting_at(0);
        let when = 3 * 4096 + 5 * 64 + 7; // level 2 from tick 0
        let e = Box::pin(Entry::new(when * NANOS_PER_TICK));
        // SAFETY: boxed and pinned; it fires (and unlinks) below.
        unsafe {
            timer.insert(
                NonNull::from(&*e),
                SlimWaker::new(core.main_waker_for_tests(), NonNull::from(core)),
            )
        };
        assert_eq!(timer.levels[2].occupied, 1 << 3);
        let mut wakeups = Vec::new();
        let mut now = 0;
        while let Some(tick) = timer.next_tick() {
            now = tick;
            wakeups.push(tick);
            if let Some(waker) = timer.pop_expired(now) {
                drop(waker);
            }
        }
        assert_eq!(now, when);
        // One wake-up per level it passes through: the level-2 slot, the level-1 slot, the tick.
        assert_eq!(wakeups, [3 * 4096, 3 * 4096 + 5 * 64, when]);
        assert!(!e.is_registered());
    }

    #[test]
    fn a_top_level_entry_costs_five_wakeups_that_only_cascade() {
        let ex = Executor::new();
        let core = ex.core_for_tests();
        let mut timer = Timer::starting_at(0);
        // Level 5 from tick 0, and a non-zero digit at every level below.
        let digits = [7u64, 6, 5, 4, 3, 2]; // level 0 .. level 5
        let when: u64 = digits.iter().rev().fold(0, |acc, d| acc * 64 + d);
        let e = Box::pin(Entry::new(when * NANOS_PER_TICK));
        // SAFETY: boxed and pinned; it fires (and unlinks) below.
        unsafe {
            timer.insert(
                NonNull::from(&*e),
                SlimWaker::new(core.main_waker_for_tests(), NonNull::from(core)),
            )
        };
        assert_eq!(timer.levels[5].occupied, 1 << 2);
        let (mut empty, mut fired) = (0, 0);
        while let Some(tick) = timer.next_tick() {
            match timer.pop_expired(tick) {
                Some(waker) => {
                    assert_eq!(tick, when, "fired at its own tick");
                    fired += 1;
                    drop(waker);
                }
                None => empty += 1,
            }
        }
        assert_eq!(
            (empty, fired),
            (5, 1),
            "one cascade per level above 0, then the tick"
        );
    }
}
