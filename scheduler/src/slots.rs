//! The table of registered works: one slot per work, kept in order of the work's index.
//!
//! This file owns the scheduler's bookkeeping and nothing else: no executor calls, no
//! `RefCell`, no user code. Every method is a plain `&mut self` operation on a `VecDeque`,
//! so the rules about *when* the table may be touched live in `work_scheduler.rs`.
//!
//! # Layout: a sorted `VecDeque` with tombstones
//!
//! ```text
//!   entries: VecDeque<Entry>, sorted by index          live = 4, tombstones = 2
//!   +------+------+------+------+------+------+
//!   | 3  F | 5  † | 6  F | 9  R | 10 † | 12 F |       F = Filled(JoinHandle)
//!   +------+------+------+------+------+------+       R = Reserved
//!     front                               back        † = vacant (a tombstone)
//! ```
//!
//! Work indices come from one process-wide increasing counter (`work.rs`), and a work is
//! almost always registered right after it is created, so a new index is almost always the
//! largest yet. Keeping the entries sorted by index therefore costs nothing on the common
//! path, and buys two things a hash map cannot give:
//!
//! - **`stop` cancels in index order**, which is registration order whenever works are
//!   registered in the order they were created. The executor's run queue is FIFO, so it then
//!   drops the futures and frees the task cells in the order it allocated them, walking
//!   memory forwards instead of jumping around it at random.
//! - **No hashing and no rehashing**: an entry is 16 bytes and nothing else.
//!
//! The operations and their costs (`n` = entries in the table, tombstones included):
//!
//! - **reserve** (in `register`): an index above the last entry's is pushed at the back,
//!   O(1) amortised. A `Work` created earlier but registered later goes to its sorted place:
//!   binary search, then `VecDeque::insert`, which moves the shorter side, O(min(k, n − k))
//!   for position `k`. That is O(n) at worst, but it takes a work held back while others
//!   were created and registered, which the scheduler's callers do not do in bulk.
//! - **fill** (in `register`): the entry just reserved is usually the last; otherwise a
//!   binary search, O(log n).
//! - **remove** (in `unregister` and the done hook): binary search, O(log n), then the entry
//!   becomes a *tombstone* instead of being shifted out: its index stays (so the order and
//!   the binary search are undisturbed) with the [`VACANT`] bit set, and its slot no longer
//!   holds a handle. Tombstones at either end are popped at once, so the first and the last
//!   entry are always live. Tombstones inside are swept out all together by
//!   `VecDeque::retain`, O(n), when they outnumber the live entries and exceed
//!   [`COMPACT_FLOOR`] (or when the table shrinks, rule T3 below). Either way the O(n) pass
//!   comes after Ω(n) removals since the last one (the tombstones it clears, or the drop in
//!   `live` that made the table sparse), so removal is O(log n) amortised; and tombstones
//!   never number more than `max(live, COMPACT_FLOOR)`.
//! - **take_all** (in `stop`): takes the whole deque, O(1); `stop` then walks it front to
//!   back, skipping tombstones.
//!
//! # What a registered work costs
//!
//! One [`Entry`]: the index (8 bytes) and the slot (the task's `JoinHandle<()>`, one
//! non-null pointer, 8 bytes; `Slot::Reserved` lives in the pointer's niche). That is
//! **16 bytes per entry of capacity**, nothing more: no control bytes, no empty buckets
//! kept for probing. `entry_is_sixteen_bytes` below checks it.
//!
//! The pointer's niche holds one extra variant only, so a tombstone cannot be a third
//! variant of [`Slot`] without adding a tag (and 8 bytes). It is the top bit of the index
//! instead: indices start at 1 and grow by one per `Work::new`, so they stay below 2^63
//! (`reserve` checks this).
//!
//! While a burst of works is being registered the table is between half full and full, so
//! a work costs 16 to 32 bytes: at N = 1 000 000, room for 1 048 576 entries, 16.8 MB,
//! 16.8 bytes per work. The rules below keep it at most `4 × max(live, 64)` entries at all
//! times, so at most 64 bytes per live work beyond a fixed 4 KiB, tombstones included.
//!
//! # Capacity: when the table grows and when it gives bytes back
//!
//! Rules T1–T5 (T for table):
//!
//! - **T1.** The first slot reserves room for exactly [`MIN_CAPACITY`] works (256 bytes), so a
//!   steady trickle of register/unregister never reallocates.
//! - **T2.** The table grows as a `VecDeque` grows: it doubles when full, in place if the
//!   allocator can (one `realloc`). Grown from rule T1 and not shrunk since, its capacity
//!   is `16 × 2^k`, the smallest such value at least the number of entries.
//! - **T3.** After a removal, if the table has room for more than four times
//!   `max(live, MIN_CAPACITY)` works, its tombstones are swept out and it shrinks to room
//!   for exactly `max(2 × live, MIN_CAPACITY)` (`VecDeque::shrink_to`). Growth doubles and
//!   shrinking waits for a quarter, so the two never chase each other and each costs O(1)
//!   amortised.
//! - **T4.** When the last live entry leaves, the table is empty (its tombstones were all at an
//!   end) and shrinks to room for exactly [`MIN_CAPACITY`] works: the same size as rule T1
//!   gives. So a burst of a million works, once they have all left, leaves the table byte
//!   for byte where a single work left it.
//! - **T5.** [`Slots::take_all`] hands the whole table to the caller (`stop()` drops it), leaving
//!   an empty deque that owns no heap memory at all.

use std::collections::VecDeque;
use std::mem;

use executor::JoinHandle;

/// The table never shrinks below room for this many works (rules T1 and T4).
pub(crate) const MIN_CAPACITY: usize = 16;

/// Tombstones inside the table are swept out once they outnumber the live entries *and*
/// exceed this many, so that a small table does not sweep on every other removal.
pub(crate) const COMPACT_FLOOR: usize = 64;

/// The bit of [`Entry::key`] that marks a tombstone. Work indices are below 2^63.
const VACANT: u64 = 1 << 63;

/// What the table holds for one registered work.
pub(crate) enum Slot {
    /// `register` has taken the index and is spawning the task; the handle is not back yet.
    /// If the slot is removed in this state, `register` cancels the task it gets back.
    Reserved,
    /// The task is spawned and this is its handle. Dropping it detaches the task; only
    /// `JoinHandle::cancel` stops it.
    Filled(JoinHandle<()>),
}

/// One entry of the table: a live work's index and slot, or a tombstone.
struct Entry {
    /// The work's index; with [`VACANT`] set once the work has left the table.
    key: u64,
    /// The work's slot. A tombstone keeps `Slot::Reserved` here, which owns nothing.
    slot: Slot,
}

impl Entry {
    /// The work's index, whether the entry is live or a tombstone: the sort key.
    fn index(&self) -> u64 {
        self.key & !VACANT
    }

    fn is_vacant(&self) -> bool {
        self.key & VACANT != 0
    }
}

/// The works' slots in index order, with the capacity rules in the module docs.
#[derive(Default)]
pub(crate) struct Slots {
    /// Sorted by [`Entry::index`]; the first and the last entry, if any, are live.
    entries: VecDeque<Entry>,
    /// Entries that are not tombstones.
    live: usize,
}

impl Slots {
    /// Adds `Slot::Reserved` for `index` in its sorted place (rule T1 on first use).
    ///
    /// # Panics
    ///
    /// If `index` has the top bit set: the process would have had to create 2^63 works.
    pub(crate) fn reserve(&mut self, index: u64) {
        assert!(index & VACANT == 0, "work index {index} is out of range");
        if self.entries.capacity() == 0 {
            self.entries.reserve_exact(MIN_CAPACITY);
        }
        let entry = Entry {
            key: index,
            slot: Slot::Reserved,
        };
        match self.entries.back() {
            // The common case: the newest work so far.
            None => self.entries.push_back(entry),
            Some(last) if last.index() < index => self.entries.push_back(entry),
            // A work created before others that are already registered.
            Some(_) => {
                // Indices are unique, so no entry (live or tombstone) has this one.
                let at = self.entries.partition_point(|entry| entry.index() < index);
                self.entries.insert(at, entry);
            }
        }
        self.live += 1;
    }

    /// Puts `handle` into the slot reserved for `index`.
    ///
    /// If the slot is gone — someone unregistered or stopped the work, or its done hook ran,
    /// between `reserve` and now — the handle is given back so the caller can cancel it.
    pub(crate) fn fill(
        &mut self,
        index: u64,
        handle: JoinHandle<()>,
    ) -> Result<(), JoinHandle<()>> {
        match self.position(index) {
            Some(at) => {
                self.entries[at].slot = Slot::Filled(handle);
                Ok(())
            }
            None => Err(handle),
        }
    }

    /// Removes the slot for `index`, leaving a tombstone, then applies rules T3 and T4 and
    /// the sweep. `None` if there was no live slot.
    pub(crate) fn remove(&mut self, index: u64) -> Option<Slot> {
        let at = self.position(index)?;
        let entry = &mut self.entries[at];
        entry.key |= VACANT;
        let slot = mem::replace(&mut entry.slot, Slot::Reserved);
        self.live -= 1;
        self.tidy();
        Some(slot)
    }

    /// Takes every slot out (rule T5). The caller owns the old table and its memory.
    pub(crate) fn take_all(&mut self) -> Slots {
        mem::take(self)
    }

    /// The live slots in index order, consuming the table; its memory is freed when the
    /// iterator is dropped.
    pub(crate) fn into_slots(self) -> impl Iterator<Item = Slot> {
        self.entries
            .into_iter()
            .filter(|entry| !entry.is_vacant())
            .map(|entry| entry.slot)
    }

    /// Number of live slots, reserved or filled.
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    /// How many entries (live or tombstones) fit before the table must grow.
    pub(crate) fn capacity(&self) -> usize {
        self.entries.capacity()
    }

    /// Where the live entry for `index` is, if there is one. Looks at the last entry first
    /// (`fill` right after `reserve` finds it there), then the first.
    fn position(&self, index: u64) -> Option<usize> {
        let last = self.entries.len().checked_sub(1)?;
        // A tombstone's key has `VACANT` set, so it never equals an index. The two ends are
        // checked first: cancel-each removes the newest work, and a shutdown (or a stop-then-
        // tick) ends works oldest first, so both skip the binary search.
        if self.entries[last].key == index {
            return Some(last);
        }
        if self.entries[0].key == index {
            return Some(0);
        }
        let at = self
            .entries
            .binary_search_by_key(&index, Entry::index)
            .ok()?;
        (!self.entries[at].is_vacant()).then_some(at)
    }

    /// After a removal: pop tombstones off both ends, sweep the inner ones when they are
    /// too many, and apply rules T3 and T4.
    fn tidy(&mut self) {
        while self.entries.front().is_some_and(Entry::is_vacant) {
            self.entries.pop_front();
        }
        while self.entries.back().is_some_and(Entry::is_vacant) {
            self.entries.pop_back();
        }
        let tombstones = self.entries.len() - self.live;
        let sparse = self.entries.capacity() > 4 * self.live.max(MIN_CAPACITY);
        if tombstones > self.live.max(COMPACT_FLOOR) || (sparse && tombstones > 0) {
            self.entries.retain(|entry| !entry.is_vacant());
        }
        // `shrink_to` does nothing when the table would not get smaller, so calling it on
        // every removal that empties an already small table is cheap.
        if sparse || self.live == 0 {
            self.entries.shrink_to((2 * self.live).max(MIN_CAPACITY));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The indices of the live entries, front to back.
    fn live_indices(slots: &Slots) -> Vec<u64> {
        slots
            .entries
            .iter()
            .filter(|entry| !entry.is_vacant())
            .map(Entry::index)
            .collect()
    }

    fn tombstones(slots: &Slots) -> usize {
        slots.entries.len() - slots.live
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn entry_is_sixteen_bytes() {
        // The figure the module docs promise: index + handle, no tag for `Reserved`, and the
        // tombstone mark inside the index.
        assert_eq!(mem::size_of::<JoinHandle<()>>(), 8);
        assert_eq!(mem::size_of::<Slot>(), 8);
        assert_eq!(mem::size_of::<Entry>(), 16);
    }

    #[test]
    fn new_table_owns_no_memory() {
        assert_eq!(Slots::default().capacity(), 0);
    }

    #[test]
    fn first_reserve_makes_room_for_exactly_min_capacity() {
        let mut slots = Slots::default();
        slots.reserve(7);
        assert_eq!(slots.capacity(), MIN_CAPACITY);
        assert_eq!(slots.len(), 1);
    }

    #[test]
    fn growth_doubles_from_min_capacity() {
        let mut slots = Slots::default();
        for index in 1..=1000 {
            slots.reserve(index);
            let expected = (index as usize).next_power_of_two().max(MIN_CAPACITY);
            assert_eq!(slots.capacity(), expected, "after {index} entries");
        }
    }

    #[test]
    fn reserve_out_of_order_keeps_the_table_sorted() {
        let mut slots = Slots::default();
        for index in [10, 20, 30, 5, 25, 15, 40, 1] {
            slots.reserve(index);
        }
        assert_eq!(live_indices(&slots), [1, 5, 10, 15, 20, 25, 30, 40]);
        for index in [25, 1, 40] {
            assert!(matches!(slots.remove(index), Some(Slot::Reserved)));
        }
        assert_eq!(live_indices(&slots), [5, 10, 15, 20, 30]);
        assert_eq!(slots.len(), 5);
    }

    #[test]
    fn remove_of_last_slot_returns_to_the_first_reserve_size() {
        let mut small = Slots::default();
        small.reserve(1);
        let floor = small.capacity();

        let mut big = Slots::default();
        for index in 1..=10_000 {
            big.reserve(index);
        }
        assert_eq!(big.capacity(), 16_384);
        for index in 1..=10_000 {
            assert!(matches!(big.remove(index), Some(Slot::Reserved)));
            // Rule T3 keeps the table within four times what it holds (or the floor).
            assert!(big.capacity() <= 4 * big.len().max(MIN_CAPACITY));
        }
        assert_eq!(big.capacity(), floor);
        assert_eq!(big.entries.len(), 0);
    }

    #[test]
    fn tombstones_at_the_ends_are_popped_at_once() {
        let mut slots = Slots::default();
        for index in 1..=5 {
            slots.reserve(index);
        }
        slots.remove(2);
        slots.remove(4);
        assert_eq!(tombstones(&slots), 2);
        // Removing 5 exposes 4's tombstone at the back; removing 1 exposes 2's at the front.
        slots.remove(5);
        assert_eq!(tombstones(&slots), 1);
        slots.remove(1);
        assert_eq!(tombstones(&slots), 0);
        assert_eq!(live_indices(&slots), [3]);
        assert_eq!(slots.entries.len(), 1);
    }

    #[test]
    fn inner_tombstones_are_swept_once_they_outnumber_the_live_entries() {
        const N: u64 = 1000;
        let mut slots = Slots::default();
        for index in 1..=N {
            slots.reserve(index);
        }
        // Every inner even index, first to last: the ends stay live, so nothing is popped.
        for index in (2..N).step_by(2) {
            assert!(slots.remove(index).is_some());
            let (live, dead) = (slots.len(), tombstones(&slots));
            assert!(
                dead <= live.max(COMPACT_FLOOR),
                "{dead} tombstones, {live} live"
            );
        }
        // 499 removed: 501 live; the 499 tombstones never outnumbered them, none was swept.
        assert_eq!((slots.len(), tombstones(&slots)), (501, 499));
        // Now the odd ones from the middle outwards, until the tombstones outnumber the live.
        let mut removed = 0;
        while tombstones(&slots) > 0 {
            let index = 2 * (removed + 100) + 1;
            assert!(slots.remove(index).is_some());
            removed += 1;
        }
        // The sweep ran on the removal that made tombstones (499 + k) exceed live (501 − k).
        assert_eq!(removed, 2);
        assert_eq!(slots.len(), 499);
        assert_eq!(slots.entries.len(), 499);
        assert!(
            slots.remove(201).is_none(),
            "gone, and not found as a tombstone"
        );
    }

    #[test]
    fn remove_of_missing_index_returns_none() {
        let mut slots = Slots::default();
        slots.reserve(1);
        slots.reserve(3);
        slots.reserve(5);
        assert!(slots.remove(2).is_none());
        assert!(slots.remove(3).is_some());
        assert!(slots.remove(3).is_none(), "a tombstone is not a slot");
        assert!(slots.remove(1).is_some());
        assert!(slots.remove(1).is_none());
        assert_eq!(slots.len(), 1);
    }

    #[test]
    fn take_all_leaves_a_table_without_memory_and_yields_in_index_order() {
        let mut slots = Slots::default();
        for index in [4, 1, 3, 2] {
            slots.reserve(index);
        }
        slots.remove(3);
        let taken = slots.take_all();
        assert_eq!(taken.len(), 3);
        assert_eq!(live_indices(&taken), [1, 2, 4]);
        assert_eq!(taken.into_slots().count(), 3);
        assert_eq!(slots.len(), 0);
        assert_eq!(slots.capacity(), 0);
    }
}
