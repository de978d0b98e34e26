//! The peers' scheduler table: work index → the runtime's handle, kept in index order, the
//! shape of our `WorkScheduler`'s table (`scheduler/src/slots.rs`).
//!
//! ```text
//!   entries: VecDeque<(index, Option<handle>)>, sorted by index     live = 4, tombstones = 2
//!   +------+------+------+------+------+------+
//!   | 3  H | 5  - | 6  H | 9  H | 10 - | 12 H |       H = Some(handle), - = None (a tombstone)
//!   +------+------+------+------+------+------+
//! ```
//!
//! A peer scheduler hands out its indexes from its own increasing counter and inserts each one
//! as soon as the task is spawned, so every insert is a `push_back`. Removal (by `unregister`
//! or the done hook) checks the two ends, then binary-searches, and leaves a tombstone (`None`)
//! so the order and the search are undisturbed. Tombstones at either end are popped at once,
//! so the first and the last entry are always live; the inner ones are swept out all together
//! (`VecDeque::retain`, O(n)) once they outnumber the live entries and exceed
//! [`COMPACT_FLOOR`], which takes Ω(n) removals since the last sweep: O(log n) amortised.
//!
//! What this buys over a hash map is the order of `stop()`: it walks the table front to back,
//! so it cancels in index order, which is registration order, as ours does. The runtimes queue
//! the cancelled tasks in that order and drop them in spawn order, walking task memory forwards
//! rather than at random. An entry is 16 bytes (the index, and a handle that is one non-null
//! pointer, so `None` fits in its niche), with no control bytes or empty buckets.
//!
//! Unlike ours, the table does not shrink while works leave it (a hash map did not either):
//! `stop()` takes the whole table and frees it, and the scheduler's `clear()` frees what the
//! hooks left after a shutdown.

use std::collections::VecDeque;

/// Inner tombstones are swept once they outnumber the live entries *and* exceed this many,
/// so that a small table does not sweep on every other removal (as ours).
pub const COMPACT_FLOOR: usize = 64;

/// Work index → handle, in index order, with tombstones for removed entries.
pub struct Slots<H> {
    /// Sorted by index; the first and the last entry, if any, are live (`Some`).
    entries: VecDeque<(u64, Option<H>)>,
    /// Entries that are not tombstones.
    live: usize,
}

impl<H> Slots<H> {
    /// An empty table, which owns no memory; `const`, for thread-local initialisers.
    pub const fn new() -> Slots<H> {
        Slots {
            entries: VecDeque::new(),
            live: 0,
        }
    }

    /// Adds `handle` for `index`, which must be above every index inserted before.
    ///
    /// # Panics
    ///
    /// If `index` is not above the last entry's: the table would no longer be sorted.
    pub fn insert(&mut self, index: u64, handle: H) {
        if let Some(&(last, _)) = self.entries.back() {
            assert!(last < index, "index {index} inserted after {last}");
        }
        self.entries.push_back((index, Some(handle)));
        self.live += 1;
    }

    /// Removes the entry for `index`, leaving a tombstone, and returns its handle; `None` if
    /// there is no live entry for `index`.
    pub fn remove(&mut self, index: u64) -> Option<H> {
        let at = self.position(index)?;
        let handle = self.entries[at].1.take()?;
        self.live -= 1;
        self.tidy();
        Some(handle)
    }

    /// Live entries.
    pub fn len(&self) -> usize {
        self.live
    }

    /// Whether there is no live entry.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// The live handles in index order, consuming the table; its memory is freed when the
    /// iterator is dropped.
    pub fn into_handles(self) -> impl Iterator<Item = H> {
        self.entries.into_iter().filter_map(|(_, handle)| handle)
    }

    /// Where the entry for `index` is (live or a tombstone). The ends first: cancel-each
    /// removes the newest work, and a shutdown that drops tasks in spawn order the oldest.
    fn position(&self, index: u64) -> Option<usize> {
        let last = self.entries.len().checked_sub(1)?;
        if self.entries[last].0 == index {
            return Some(last);
        }
        if self.entries[0].0 == index {
            return Some(0);
        }
        self.entries
            .binary_search_by_key(&index, |&(index, _)| index)
            .ok()
    }

    /// After a removal: pop tombstones off both ends, sweep the inner ones when too many.
    fn tidy(&mut self) {
        while self
            .entries
            .front()
            .is_some_and(|(_, handle)| handle.is_none())
        {
            self.entries.pop_front();
        }
        while self
            .entries
            .back()
            .is_some_and(|(_, handle)| handle.is_none())
        {
            self.entries.pop_back();
        }
        let tombstones = self.entries.len() - self.live;
        if tombstones > self.live.max(COMPACT_FLOOR) {
            self.entries.retain(|(_, handle)| handle.is_some());
        }
    }
}

impl<H> Default for Slots<H> {
    fn default() -> Slots<H> {
        Slots::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tombstones<H>(slots: &Slots<H>) -> usize {
        slots.entries.len() - slots.live
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn an_entry_is_sixteen_bytes_for_both_peers_handles() {
        use std::mem::size_of;
        assert_eq!(size_of::<(u64, Option<tokio::task::JoinHandle<()>>)>(), 16);
        assert_eq!(size_of::<(u64, Option<async_executor::Task<()>>)>(), 16);
    }

    #[test]
    fn handles_come_out_in_index_order_without_the_removed_ones() {
        let mut slots = Slots::new();
        for index in 0..10 {
            slots.insert(index, index);
        }
        for index in [0, 9, 4, 5, 7] {
            assert_eq!(slots.remove(index), Some(index));
        }
        assert_eq!(slots.remove(4), None, "a tombstone is not an entry");
        assert_eq!(slots.remove(42), None);
        assert_eq!(slots.len(), 5);
        assert_eq!(slots.into_handles().collect::<Vec<_>>(), [1, 2, 3, 6, 8]);
    }

    #[test]
    fn tombstones_at_the_ends_are_popped_at_once() {
        let mut slots = Slots::new();
        for index in 1..=5 {
            slots.insert(index, ());
        }
        slots.remove(2);
        slots.remove(4);
        assert_eq!(tombstones(&slots), 2);
        slots.remove(5);
        assert_eq!(tombstones(&slots), 1);
        slots.remove(1);
        assert_eq!((tombstones(&slots), slots.entries.len()), (0, 1));
        slots.remove(3);
        assert!(slots.is_empty());
        assert_eq!(slots.entries.len(), 0);
        // Indexes keep growing after the table emptied.
        slots.insert(6, ());
        assert_eq!(slots.len(), 1);
    }

    #[test]
    fn inner_tombstones_are_swept_once_they_outnumber_the_live_entries() {
        const N: u64 = 1000;
        let mut slots = Slots::new();
        for index in 1..=N {
            slots.insert(index, index);
        }
        for index in (2..N).step_by(2) {
            assert_eq!(slots.remove(index), Some(index));
            assert!(tombstones(&slots) <= slots.len().max(COMPACT_FLOOR));
        }
        assert_eq!((slots.len(), tombstones(&slots)), (501, 499));
        assert_eq!(slots.remove(201), Some(201));
        assert_eq!(slots.remove(203), Some(203));
        // 501 tombstones against 499 live: swept.
        assert_eq!((slots.len(), tombstones(&slots)), (499, 0));
        assert_eq!(slots.remove(205), Some(205), "found after the sweep");
        let handles: Vec<u64> = slots.into_handles().collect();
        assert!(handles.is_sorted());
        assert_eq!(handles.len(), 498);
    }

    #[test]
    #[should_panic(expected = "index 3 inserted after 5")]
    fn an_index_below_the_last_is_refused() {
        let mut slots = Slots::new();
        slots.insert(5, ());
        slots.insert(3, ());
    }
}
