//! The synchronisation facade: `std` and `parking_lot` normally, `loom` under `--cfg loom`.
//!
//! Everything that another thread can touch (the state word, the shared half of the executor,
//! the remote run queue, the parker) is built from the types re-exported here, so that the
//! loom models in `tests/loom_*.rs` explore every interleaving of those accesses. Fields that
//! only the executor thread touches use plain `Cell`s and are not modelled.
//!
//! loom cannot see inside `crossbeam-queue`'s atomics, so under loom the remote queue is a
//! `Mutex<VecDeque<_>>` with the same two methods.

#[cfg(not(loom))]
pub(crate) use std::sync::Arc;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

#[cfg(loom)]
pub(crate) use loom::sync::Arc;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

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

/// A multi-producer queue for tasks woken from other threads (loom model: a locked deque).
#[cfg(loom)]
pub(crate) struct RemoteQueue<T>(loom::sync::Mutex<std::collections::VecDeque<T>>);

#[cfg(loom)]
impl<T> RemoteQueue<T> {
    pub(crate) fn new() -> Self {
        Self(loom::sync::Mutex::new(std::collections::VecDeque::new()))
    }
    pub(crate) fn push(&self, value: T) {
        self.0.lock().unwrap().push_back(value)
    }
    pub(crate) fn pop(&self) -> Option<T> {
        self.0.lock().unwrap().pop_front()
    }
}
