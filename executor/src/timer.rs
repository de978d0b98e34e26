//! The timer: registered sleeps ordered by deadline, each removable in O(1).
//!
//! Storage is a slab of entries plus a binary min-heap of `(deadline, slot, generation)`:
//!
//! - the **slab** (`slots`) holds each registered entry's waker. A vacant slot joins a free
//!   list and is reused first, so the slab never grows past the most sleeps registered at once.
//! - the **heap** (`heap`) orders registrations by deadline, so the executor finds the next
//!   deadline and fires due entries in O(log n) each.
//!
//! A `Sleep` knows its entry by [`TimerKey`] (slot index + generation). Dropping a `Sleep` — for
//! instance because its task was cancelled — removes its entry **at once**: the slot is vacated,
//! its generation bumped, and the waker it held (one reference to the task cell) is dropped in the
//! same step; `timers_live` goes down. What stays behind is the heap's 16-byte record of the
//! deadline, now stale (its generation no longer matches). Stale records are skipped when they
//! reach the top and are due; whenever they outnumber the live ones the heap is rebuilt without
//! them, in O(live); and when the last live entry leaves, the heap is simply cleared. So a
//! removal costs O(1) amortised — no sift through a million-entry heap — and the heap never
//! holds more than twice the live entries (plus a small constant): a million sleep-and-cancel
//! cycles run in constant timer storage. (A heap that sifts every removal out would pay a cache
//! miss per level; one that never purges would keep a million cancelled
//! 1000-second sleeps for 1000 seconds.)
//!
//! Deadlines are stored as nanoseconds since the timer's creation in a `u64` (584 years);
//! `u64::MAX` means "never" (`sleep(Duration::MAX)`).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::task::Waker;
use std::time::{Duration, Instant};

/// Names one registration: the generation makes a stale key (its entry fired or was removed
/// and the slot reused) harmless.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct TimerKey {
    index: u32,
    generation: u32,
}

const NONE: u32 = u32::MAX;
/// The deadline of an entry that never fires.
const NEVER: u64 = u64::MAX;
/// Stale heap records tolerated before a purge is considered, so tiny heaps never rebuild.
const PURGE_FLOOR: usize = 64;

struct Slot {
    generation: u32,
    /// Vacant slots link the free list.
    next_free: u32,
    /// `Some` exactly while the slot is registered.
    waker: Option<Waker>,
}

/// The executor's timer; see the module docs.
pub(crate) struct Timer {
    epoch: Instant,
    slots: Vec<Slot>,
    free_head: u32,
    heap: BinaryHeap<Reverse<(u64, TimerKey)>>,
    live: usize,
}

impl Timer {
    pub(crate) fn new() -> Timer {
        Timer {
            epoch: Instant::now(),
            slots: Vec::new(),
            free_head: NONE,
            heap: BinaryHeap::new(),
            live: 0,
        }
    }

    /// Registered entries.
    pub(crate) fn len(&self) -> usize {
        self.live
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
        let index = if self.free_head != NONE {
            let index = self.free_head;
            let slot = &mut self.slots[index as usize];
            self.free_head = slot.next_free;
            slot.waker = Some(waker);
            index
        } else {
            let index = u32::try_from(self.slots.len())
                .ok()
                .filter(|&i| i != NONE)
                .expect("more than 4 billion timers");
            self.slots.push(Slot {
                generation: 0,
                next_free: NONE,
                waker: Some(waker),
            });
            index
        };
        self.live += 1;
        let key = TimerKey {
            index,
            generation: self.slots[index as usize].generation,
        };
        self.heap.push(Reverse((self.to_ticks(deadline), key)));
        key
    }

    /// Is `key` still registered (not fired, not removed)?
    pub(crate) fn contains(&self, key: TimerKey) -> bool {
        self.slots
            .get(key.index as usize)
            .is_some_and(|slot| slot.generation == key.generation && slot.waker.is_some())
    }

    /// Replaces the waker of a registered entry unless it would wake the same task.
    /// Returns `false` if the entry is no longer registered.
    pub(crate) fn update_waker(&mut self, key: TimerKey, new: &Waker) -> bool {
        if !self.contains(key) {
            return false;
        }
        if let Some(waker) = &mut self.slots[key.index as usize].waker {
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
        let waker = self.vacate(key.index);
        let stale = self.heap.len() - self.live;
        if self.live == 0 {
            // Every record left is stale: forget them all at once (they own nothing).
            self.heap.clear();
        } else if stale > PURGE_FLOOR && stale > self.live {
            self.purge();
        }
        Some(waker)
    }

    fn vacate(&mut self, index: u32) -> Waker {
        let slot = &mut self.slots[index as usize];
        let waker = slot.waker.take().expect("vacating a vacant timer slot");
        slot.generation = slot.generation.wrapping_add(1);
        slot.next_free = self.free_head;
        self.free_head = index;
        self.live -= 1;
        waker
    }

    /// Rebuilds the heap from its live records only, in O(live).
    fn purge(&mut self) {
        let slots = &self.slots;
        self.heap.retain(|Reverse((_, key))| {
            let slot = &slots[key.index as usize];
            slot.generation == key.generation && slot.waker.is_some()
        });
        debug_assert_eq!(self.heap.len(), self.live);
    }

    /// The earliest live record, after discarding stale ones from the top.
    fn peek_live(&mut self) -> Option<(u64, TimerKey)> {
        while let Some(&Reverse((deadline, key))) = self.heap.peek() {
            if self.contains(key) {
                return Some((deadline, key));
            }
            self.heap.pop();
        }
        None
    }

    /// The earliest deadline, if any entry can fire.
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        let (deadline, _) = self.peek_live()?;
        if deadline == NEVER {
            return None;
        }
        self.epoch.checked_add(Duration::from_nanos(deadline))
    }

    /// Removes one entry whose deadline is at or before `now` and returns its waker.
    pub(crate) fn pop_expired(&mut self, now: Instant) -> Option<Waker> {
        let now = self.to_ticks(Some(now));
        // The top record, stale or not, has the smallest deadline of all: if it is not due,
        // nothing is, and stale records below it are left for `purge` to sweep in one pass.
        // (Popping them here one by one would cost O(log n) each: after cancelling a million
        // sleeps oldest first, every stale record would surface at the top in turn.)
        let &Reverse((first, _)) = self.heap.peek()?;
        if first > now {
            return None;
        }
        let (deadline, key) = self.peek_live()?;
        if deadline > now {
            return None;
        }
        self.heap.pop();
        Some(self.vacate(key.index))
    }

    /// Removes any one entry (shutdown).
    pub(crate) fn pop_any(&mut self) -> Option<Waker> {
        let (_, key) = self.peek_live()?;
        self.heap.pop();
        Some(self.vacate(key.index))
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
    fn remove_drops_the_waker_at_once_and_stale_keys_do_nothing() {
        let mut timer = Timer::new();
        let (count, w) = waker();
        let key = timer.insert(None, w);
        assert_eq!(Arc::strong_count(&count), 2);
        drop(timer.remove(key));
        assert_eq!(timer.len(), 0);
        assert_eq!(timer.heap.len(), 0, "no live entry: no record kept either");
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
        let cycles = if cfg!(miri) { 300 } else { 100_000u64 };
        for i in 0..cycles {
            let key = timer.insert(Some(timer.epoch + Duration::from_secs(i % 7)), w.clone());
            timer.remove(key).unwrap();
            assert!(timer.heap.len() <= PURGE_FLOOR + 1);
        }
        assert_eq!(timer.slots.len(), 1);
        assert_eq!(timer.len(), 0);
    }

    #[test]
    fn stale_records_never_outnumber_live_ones_past_the_floor() {
        let mut timer = Timer::new();
        let t0 = timer.epoch;
        let (_, w) = waker();
        let n = if cfg!(miri) { 200 } else { 10_000u64 };
        let keys: Vec<_> = (0..n)
            .map(|i| timer.insert(Some(t0 + Duration::from_millis((i * 37) % 1000)), w.clone()))
            .collect();
        for key in keys.iter().step_by(2) {
            timer.remove(*key).unwrap();
            let stale = timer.heap.len() - timer.len();
            assert!(stale <= PURGE_FLOOR.max(timer.len()));
        }
        // What is left still fires in deadline order.
        let mut last = 0;
        let mut fired = 0;
        while let Some((deadline, _)) = timer.peek_live() {
            assert!(deadline >= last);
            last = deadline;
            timer.pop_any().unwrap();
            fired += 1;
        }
        assert_eq!(fired, n / 2);
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
