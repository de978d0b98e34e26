//! The synchronisation facade: `std` normally, `loom` under `--cfg loom`.
//!
//! Everything that another thread can touch (the state word, the shared half of the executor,
//! the remote run queue, the parker) is built from the types re-exported here, so that the
//! loom models in `tests/loom_*.rs` explore every interleaving of those accesses. Fields that
//! only the executor thread touches use plain `Cell`s and are not modelled.
//!
//! loom cannot see inside `crossbeam-queue`'s atomics, so under loom the remote queue is a
//! `Mutex<VecDeque<_>>` with the same two methods, fronted by an atomic length so that it is no
//! stronger than a lock-free queue (see [`RemoteQueue`]).

#[cfg(not(loom))]
pub(crate) use std::sync::Arc;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering,
};
#[cfg(not(loom))]
pub(crate) use std::sync::{Condvar, Mutex};

#[cfg(loom)]
pub(crate) use loom::sync::Arc;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering,
};
#[cfg(loom)]
pub(crate) use loom::sync::{Condvar, Mutex};

/// A multi-producer queue for tasks woken from other threads.
#[cfg(not(loom))]
pub(crate) struct RemoteQueue<T>(crossbeam_queue::SegQueue<T>);

#[cfg(not(loom))]
impl<T> RemoteQueue<T> {
    pub(crate) fn new() -> Self {
        Self(crossbeam_queue::SegQueue::new())
    }
    pub(crate) fn push(&self, value: T) {
        self.0.push(value)
    }
    pub(crate) fn pop(&self) -> Option<T> {
        self.0.pop()
    }
}

/// A multi-producer queue for tasks woken from other threads (loom model).
///
/// The entries live in a locked deque, but `pop` first looks at an atomic length and returns
/// `None` without taking the lock when it reads zero. A mutex alone would be a stronger queue
/// than `SegQueue`: its lock orders every pop after every earlier push, and that ordering would
/// hide the race that `Shared::push_remote`'s read-modify-write on `closed` exists for (with a
/// mutex, plain loads of `closed` would pass the models too). With the length check a pop that
/// does not synchronise with a push may miss it, which is all a lock-free queue promises; the
/// protocols built on the queue must hold against that.
#[cfg(loom)]
pub(crate) struct RemoteQueue<T> {
    entries: loom::sync::Mutex<std::collections::VecDeque<T>>,
    len: AtomicUsize,
}

#[cfg(loom)]
impl<T> RemoteQueue<T> {
    pub(crate) fn new() -> Self {
        Self {
            entries: loom::sync::Mutex::new(std::collections::VecDeque::new()),
            len: AtomicUsize::new(0),
        }
    }
    pub(crate) fn push(&self, value: T) {
        let mut entries = self.entries.lock().unwrap();
        entries.push_back(value);
        // Release: a pop that reads this count sees the entry (it also takes the lock).
        self.len.fetch_add(1, Ordering::Release);
    }
    pub(crate) fn pop(&self) -> Option<T> {
        if self.len.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut entries = self.entries.lock().unwrap();
        let value = entries.pop_front();
        if value.is_some() {
            self.len.fetch_sub(1, Ordering::Relaxed);
        }
        value
    }
}
