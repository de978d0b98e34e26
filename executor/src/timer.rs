//! The timer: registered sleeps, ordered by deadline, removable in O(log n).
//!
//! Storage is a slab of entries plus a binary min-heap of slab indices:
//!
//! - the **slab** (`slots`) holds each entry's deadline, the waker to call, and where the entry
//!   sits in the heap. Vacant slots form a free list and are reused first, so the slab never
//!   grows past the largest number of sleeps registered at once;
//! - the **heap** (`heap`) orders the occupied slots by deadline, so the executor finds the next
//!   deadline in O(1) and fires due entries in O(log n) each.
//!
//! A `Sleep` knows its entry by [`TimerKey`] (slot index + generation). Dropping a `Sleep` — for
//! instance because its task was cancelled — removes its entry *at once*: the slot goes back to
//! the free list, the waker it held (a reference to the task cell) is dropped, and `timers_live`
//! goes down. Nothing about a cancelled sleep waits for its deadline. (A heap with lazy deletion
//! would keep a million cancelled 1000-second sleeps for 1000 seconds.)
//!
//! Deadlines are stored as nanoseconds since the timer's creation in a `u64` (584 years);
//! `u64::MAX` means "never" (`sleep(Duration::MAX)`).

use std::task::Waker;
use std::time::{Duration, Instant};

/// Names one registration: the generation makes a stale key (its entry fired or was removed
/// and the slot reused) harmless.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimerKey {
    index: u32,
    generation: u32,
}

const NONE: u32 = u32::MAX;
/// The deadline of an entry that never fires.
const NEVER: u64 = u64::MAX;

struct Slot {
    generation: u32,
    entry: SlotEntry,
}

enum SlotEntry {
    Occupied {
        deadline: u64,
        heap_pos: u32,
        waker: Waker,
    },
    Vacant {
        next_free: u32,
    },
}

/// The executor's timer; see the module docs.
pub(crate) struct Timer {
    epoch: Instant,
    slots: Vec<Slot>,
    free_head: u32,
    heap: Vec<u32>,
}

impl Timer {
    pub(crate) fn new() -> Timer {
        Timer {
            epoch: Instant::now(),
            slots: Vec::new(),
            free_head: NONE,
            heap: Vec::new(),
        }
    }

    /// Registered entries.
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    fn to_ticks(&self, deadline: Option<Instant>) -> u64 {
        match deadline {
            None => NEVER,
            Some(deadline) => {
                let nanos = deadline.saturating_duration_since(self.epoch).as_nanos();
                u64::try_from(nanos).unwrap_or(NEVER - 1).min(NEVER - 1)
            }
        }
    }

    /// Registers `waker` to be woken at `deadline` (`None`: never).
    pub(crate) fn insert(&mut self, deadline: Option<Instant>, waker: Waker) -> TimerKey {
        let deadline = self.to_ticks(deadline);
        let heap_pos = u32::try_from(self.heap.len()).expect("more than 4 billion timers");
        let entry = SlotEntry::Occupied {
            deadline,
            heap_pos,
            waker,
        };
        let index = if self.free_head != NONE {
            let index = self.free_head;
            let slot = &mut self.slots[index as usize];
            let SlotEntry::Vacant { next_free } = slot.entry else {
                unreachable!("free list points at an occupied slot")
            };
            self.free_head = next_free;
            slot.entry = entry;
            index
        } else {
            let index = u32::try_from(self.slots.len())
                .ok()
                .filter(|&i| i != NONE)
                .expect("more than 4 billion timers");
            self.slots.push(Slot {
                generation: 0,
                entry,
            });
            index
        };
        self.heap.push(index);
        self.sift_up(heap_pos as usize);
        TimerKey {
            index,
            generation: self.slots[index as usize].generation,
        }
    }

    /// Is `key` still registered (not fired, not removed)?
    pub(crate) fn contains(&self, key: TimerKey) -> bool {
        matches!(
            self.slots.get(key.index as usize),
            Some(Slot { generation, entry: SlotEntry::Occupied { .. } }) if *generation == key.generation
        )
    }

    /// Replaces the waker of a registered entry unless it would wake the same task.
    /// Returns `false` if the entry is no longer registered.
    pub(crate) fn update_waker(&mut self, key: TimerKey, new: &Waker) -> bool {
        if !self.contains(key) {
            return false;
        }
        if let SlotEntry::Occupied { waker, .. } = &mut self.slots[key.index as usize].entry {
            if !waker.will_wake(new) {
                waker.clone_from(new);
            }
        }
        true
    }

    /// Removes a registered entry and returns its waker (for the caller to drop outside any
    /// borrow). `None` if it already fired or was removed.
    pub(crate) fn remove(&mut self, key: TimerKey) -> Option<Waker> {
        if !self.contains(key) {
            return None;
        }
        Some(self.remove_index(key.index))
    }

    fn remove_index(&mut self, index: u32) -> Waker {
        let slot = &mut self.slots[index as usize];
        let vacant = SlotEntry::Vacant {
            next_free: self.free_head,
        };
        let SlotEntry::Occupied {
            heap_pos, waker, ..
        } = std::mem::replace(&mut slot.entry, vacant)
        else {
            unreachable!("removing a vacant timer slot")
        };
        slot.generation = slot.generation.wrapping_add(1);
        self.free_head = index;
        // Take the entry out of the heap: move the last element into its place and restore order.
        let pos = heap_pos as usize;
        let last = self.heap.pop().expect("heap holds every occupied slot");
        if pos < self.heap.len() {
            self.heap[pos] = last;
            self.set_heap_pos(pos);
            self.sift_down(pos);
            self.sift_up(pos);
        }
        waker
    }

    /// The earliest deadline, if any entry can fire.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let &first = self.heap.first()?;
        let deadline = self.deadline(first);
        if deadline == NEVER {
            return None;
        }
        self.epoch.checked_add(Duration::from_nanos(deadline))
    }

    /// Removes one entry whose deadline is at or before `now` and returns its waker.
    pub(crate) fn pop_expired(&mut self, now: Instant) -> Option<Waker> {
        let &first = self.heap.first()?;
        let now = self.to_ticks(Some(now));
        if self.deadline(first) > now {
            return None;
        }
        Some(self.remove_index(first))
    }

    /// Removes any one entry (shutdown).
    pub(crate) fn pop_any(&mut self) -> Option<Waker> {
        let &last = self.heap.last()?;
        Some(self.remove_index(last))
    }

    fn deadline(&self, index: u32) -> u64 {
        match self.slots[index as usize].entry {
            SlotEntry::Occupied { deadline, .. } => deadline,
            SlotEntry::Vacant { .. } => unreachable!("heap points at a vacant slot"),
        }
    }

    /// Orders by deadline; equal deadlines by slot index, so the order is deterministic.
    fn less(&self, a: u32, b: u32) -> bool {
        (self.deadline(a), a) < (self.deadline(b), b)
    }

    fn set_heap_pos(&mut self, pos: usize) {
        let index = self.heap[pos];
        if let SlotEntry::Occupied { heap_pos, .. } = &mut self.slots[index as usize].entry {
            *heap_pos = pos as u32;
        }
    }

    fn sift_up(&mut self, mut pos: usize) {
        while pos > 0 {
            let parent = (pos - 1) / 2;
            if !self.less(self.heap[pos], self.heap[parent]) {
                break;
            }
            self.heap.swap(pos, parent);
            self.set_heap_pos(pos);
            self.set_heap_pos(parent);
            pos = parent;
        }
    }

    fn sift_down(&mut self, mut pos: usize) {
        loop {
            let left = 2 * pos + 1;
            let right = left + 1;
            let mut smallest = pos;
            if left < self.heap.len() && self.less(self.heap[left], self.heap[smallest]) {
                smallest = left;
            }
            if right < self.heap.len() && self.less(self.heap[right], self.heap[smallest]) {
                smallest = right;
            }
            if smallest == pos {
                break;
            }
            self.heap.swap(pos, smallest);
            self.set_heap_pos(pos);
            self.set_heap_pos(smallest);
            pos = smallest;
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn waker() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        (count.clone(), Waker::from(count))
    }

    #[test]
    fn fires_in_deadline_order() {
        let mut timer = Timer::new();
        let t0 = timer.epoch;
        let mut keys = Vec::new();
        for ms in [30u64, 10, 20, 40, 0] {
            let (_, w) = waker();
            keys.push((ms, timer.insert(Some(t0 + Duration::from_millis(ms)), w)));
        }
        assert_eq!(timer.len(), 5);
        assert_eq!(timer.next_deadline(), Some(t0));
        let mut fired = 0;
        while timer.pop_expired(t0 + Duration::from_millis(25)).is_some() {
            fired += 1;
        }
        assert_eq!(fired, 3, "0, 10 and 20 ms are due at 25 ms");
        assert_eq!(timer.next_deadline(), Some(t0 + Duration::from_millis(30)));
        for (ms, key) in keys {
            assert_eq!(timer.contains(key), ms > 25, "entry at {ms} ms");
        }
    }

    #[test]
    fn remove_gives_the_slot_back_and_stale_keys_do_nothing() {
        let mut timer = Timer::new();
        let (count, w) = waker();
        let key = timer.insert(None, w);
        assert_eq!(Arc::strong_count(&count), 2);
        assert!(timer.remove(key).is_some());
        assert_eq!(timer.len(), 0);
        assert_eq!(Arc::strong_count(&count), 1, "the waker was dropped");
        let (_, w) = waker();
        let reused = timer.insert(None, w);
        assert_eq!(reused.index, key.index, "the vacant slot is reused");
        assert!(timer.remove(key).is_none(), "stale key");
        assert!(timer.contains(reused));
    }

    #[test]
    fn storage_does_not_grow_over_insert_remove_cycles() {
        let mut timer = Timer::new();
        let (_, w) = waker();
        // Few cycles under miri, which is slow; the property is the same.
        let cycles = if cfg!(miri) { 100 } else { 10_000u64 };
        for i in 0..cycles {
            let key = timer.insert(Some(timer.epoch + Duration::from_secs(i % 7)), w.clone());
            timer.remove(key).unwrap();
        }
        assert_eq!(timer.slots.len(), 1);
        assert_eq!(timer.len(), 0);
    }

    #[test]
    fn removing_from_the_middle_keeps_heap_order() {
        let mut timer = Timer::new();
        let t0 = timer.epoch;
        let (_, w) = waker();
        let keys: Vec<_> = (0..50u64)
            .map(|i| timer.insert(Some(t0 + Duration::from_millis((i * 37) % 50)), w.clone()))
            .collect();
        for key in keys.iter().step_by(3) {
            timer.remove(*key).unwrap();
        }
        let mut last = 0;
        while let Some(&first) = timer.heap.first() {
            let d = timer.deadline(first);
            assert!(d >= last);
            last = d;
            timer.pop_any_front();
        }
    }

    impl Timer {
        fn pop_any_front(&mut self) {
            let first = self.heap[0];
            self.remove_index(first);
        }
    }

    #[test]
    fn never_does_not_fire() {
        let mut timer = Timer::new();
        let (_, w) = waker();
        timer.insert(None, w);
        assert_eq!(timer.next_deadline(), None);
        assert!(
            timer
                .pop_expired(Instant::now() + Duration::from_secs(1 << 40))
                .is_none()
        );
    }
}
