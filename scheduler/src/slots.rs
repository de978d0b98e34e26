//! The table of registered works: one slot per work, keyed by the work's index.
//!
//! This file owns the scheduler's bookkeeping and nothing else: no executor calls, no
//! `RefCell`, no user code. Every method is a plain `&mut self` operation on a `HashMap`,
//! so the rules about *when* the table may be touched live in `work_scheduler.rs`.
//!
//! # What a registered work costs
//!
//! One entry `(u64, Slot)`: the index (8 bytes) and the task's `JoinHandle<()>` (one
//! pointer, 8 bytes; `Slot::Reserved` lives in the pointer's niche, so the enum adds
//! nothing). That is **16 bytes per bucket plus one control byte** on a 64-bit target
//! (`entry_is_sixteen_bytes` below checks it). The table keeps at least 1/8 of its buckets
//! empty, so a work costs at least 16 × 8/7 + 1 ≈ 19.3 bytes of table, and at most about
//! four times that under the shrink rule below.
//!
//! # Capacity: when the table grows and when it gives bytes back
//!
//! 1. The first slot reserves room for [`MIN_CAPACITY`] works, so a steady trickle of
//!    register/unregister never reallocates.
//! 2. The table grows as a `HashMap` grows: it doubles when full.
//! 3. After a removal, if the table has room for more than four times
//!    `max(len, MIN_CAPACITY)` works, it shrinks to room for `max(2 × len, MIN_CAPACITY)`.
//!    Growth doubles and shrinking waits for a quarter, so the two never chase each other
//!    and each costs O(1) amortised.
//! 4. When the table becomes empty it shrinks to room for exactly [`MIN_CAPACITY`] works:
//!    the same size as rule 1 gives. So a burst of a million works, once they have all
//!    left, leaves the table byte for byte where a single work left it.
//! 5. [`Slots::take_all`] hands the whole table to the caller (`stop()` drops it), leaving
//!    an empty map that owns no heap memory at all.

use std::collections::HashMap;
use std::mem;

use executor::JoinHandle;

/// The table never shrinks below room for this many works (rules 1 and 4).
pub(crate) const MIN_CAPACITY: usize = 16;

/// What the table holds for one registered work.
pub(crate) enum Slot {
    /// `register` has taken the index and is spawning the task; the handle is not back yet.
    /// If the slot is removed in this state, `register` cancels the task it gets back.
    Reserved,
    /// The task is spawned and this is its handle. Dropping it detaches the task; only
    /// `JoinHandle::cancel` stops it.
    Filled(JoinHandle<()>),
}

/// The map from a work's index to its slot, with the capacity rules in the module docs.
#[derive(Default)]
pub(crate) struct Slots {
    map: HashMap<u64, Slot>,
}

impl Slots {
    /// Adds `Slot::Reserved` for `index` (rule 1 on first use).
    pub(crate) fn reserve(&mut self, index: u64) {
        if self.map.capacity() == 0 {
            self.map.reserve(MIN_CAPACITY);
        }
        let previous = self.map.insert(index, Slot::Reserved);
        debug_assert!(previous.is_none(), "work indices are unique");
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
        match self.map.get_mut(&index) {
            Some(slot) => {
                *slot = Slot::Filled(handle);
                Ok(())
            }
            None => Err(handle),
        }
    }

    /// Removes the slot for `index`, applying rules 3 and 4. `None` if there was none.
    pub(crate) fn remove(&mut self, index: u64) -> Option<Slot> {
        let slot = self.map.remove(&index)?;
        self.shrink_if_sparse();
        Some(slot)
    }

    /// Takes every slot out (rule 5). The caller owns the old table and its memory.
    pub(crate) fn take_all(&mut self) -> Slots {
        mem::take(self)
    }

    /// Number of slots, reserved or filled.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// How many works fit before the table must grow.
    pub(crate) fn capacity(&self) -> usize {
        self.map.capacity()
    }

    /// Rules 3 and 4. `HashMap::shrink_to` does nothing when the table would not get
    /// smaller, so calling it on every removal from an already small table is cheap.
    fn shrink_if_sparse(&mut self) {
        let len = self.map.len();
        if len == 0 || self.map.capacity() > 4 * len.max(MIN_CAPACITY) {
            self.map.shrink_to((2 * len).max(MIN_CAPACITY));
        }
    }
}

impl IntoIterator for Slots {
    type Item = Slot;
    type IntoIter = std::collections::hash_map::IntoValues<u64, Slot>;

    fn into_iter(self) -> Self::IntoIter {
        self.map.into_values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn entry_is_sixteen_bytes() {
        // The figure the module docs promise: index + handle, no tag for `Reserved`.
        assert_eq!(mem::size_of::<JoinHandle<()>>(), 8);
        assert_eq!(mem::size_of::<Slot>(), 8);
        assert_eq!(mem::size_of::<(u64, Slot)>(), 16);
    }

    #[test]
    fn new_table_owns_no_memory() {
        assert_eq!(Slots::default().capacity(), 0);
    }

    #[test]
    fn first_reserve_makes_room_for_min_capacity() {
        let mut slots = Slots::default();
        slots.reserve(7);
        assert!(slots.capacity() >= MIN_CAPACITY);
        assert_eq!(slots.len(), 1);
    }

    #[test]
    fn remove_of_last_slot_returns_to_the_first_reserve_size() {
        let mut small = Slots::default();
        small.reserve(0);
        let floor = small.capacity();

        let mut big = Slots::default();
        for index in 0..10_000 {
            big.reserve(index);
        }
        assert!(big.capacity() >= 10_000);
        for index in 0..10_000 {
            assert!(matches!(big.remove(index), Some(Slot::Reserved)));
            // Rule 3 keeps the table within four times what it holds (or the floor).
            assert!(big.capacity() <= 4 * big.len().max(MIN_CAPACITY));
        }
        assert_eq!(big.capacity(), floor);
    }

    #[test]
    fn remove_of_missing_index_returns_none() {
        let mut slots = Slots::default();
        slots.reserve(1);
        assert!(slots.remove(2).is_none());
        assert!(slots.remove(1).is_some());
        assert!(slots.remove(1).is_none());
    }

    #[test]
    fn take_all_leaves_a_table_without_memory() {
        let mut slots = Slots::default();
        slots.reserve(1);
        slots.reserve(2);
        let taken = slots.take_all();
        assert_eq!(taken.len(), 2);
        assert_eq!(slots.len(), 0);
        assert_eq!(slots.capacity(), 0);
    }
}
