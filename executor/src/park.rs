//! Parking the executor thread when it has nothing to run.
//!
//! The executor parks when its local run queue is empty, no remote wake is waiting and no timer
//! is due. It sleeps until the earliest timer deadline, or until another thread wakes one of
//! its tasks. The parker is one atomic word with three states, plus a mutex and a condition
//! variable that are only touched when the executor really sleeps — the same design as
//! `std::thread::park`:
//!
//! ```text
//!            unpark()                 park(): CAS EMPTY -> PARKED under the lock, then wait
//!   EMPTY ------------> NOTIFIED    PARKED ---unpark()---> NOTIFIED (lock, notify_one)
//!     ^                    |
//!     +---- park() --------+  (consumes the token and returns at once)
//! ```
//!
//! Why no wake-up is lost: a remote waker first pushes the task onto the remote queue, then
//! calls [`Parker::unpark`], which swaps the state to `NOTIFIED`. The executor checks the remote
//! queue, then calls [`Parker::park`]. If the swap came before `park`'s compare-and-swap from
//! `EMPTY` to `PARKED`, that CAS fails and `park` returns at once; if it came after, the waker
//! saw `PARKED`, and it takes the lock before notifying — the executor holds that lock from its
//! CAS until it is inside `Condvar::wait`, so the notification cannot slip in between. Either
//! way the executor looks at the remote queue again, and the swap (release) / CAS (acquire) pair
//! makes the push visible to it.
//!
//! Why the atomic: an `unpark` while the executor is busy — the common case — costs one swap,
//! with no lock and no system call. A stale token costs at most one spurious trip round the run
//! loop.
//!
//! `std`'s `Mutex` and `Condvar` are used rather than `parking_lot`'s: they are as fast on Linux
//! (futex-based), and miri can check them under `-Zmiri-strict-provenance`, which
//! `parking_lot`'s condition variable (it turns integers into pointers) cannot pass.

use crate::loom::{AtomicUsize, Condvar, Mutex, Ordering};
use std::time::Duration;

const EMPTY: usize = 0;
const PARKED: usize = 1;
const NOTIFIED: usize = 2;

/// A "wake up" token: see the module docs.
pub(crate) struct Parker {
    state: AtomicUsize,
    lock: Mutex<()>,
    condvar: Condvar,
}

impl Parker {
    pub(crate) fn new() -> Self {
        Parker {
            state: AtomicUsize::new(EMPTY),
            lock: Mutex::new(()),
            condvar: Condvar::new(),
        }
    }

    /// Blocks until [`unpark`](Self::unpark) is called or `timeout` passes (`None`: no
    /// timeout); returns at once if `unpark` was called since the last `park`. Executor thread.
    pub(crate) fn park(&self, timeout: Option<Duration>) {
        // Fast path: a token is waiting.
        if self
            .state
            .compare_exchange(NOTIFIED, EMPTY, Ordering::Acquire, Ordering::Acquire)
            .is_ok()
        {
            return;
        }
        // The mutex guards no data, only the window between PARKED and `wait`, and nothing can
        // panic while holding it; a poisoned lock is as good as a clean one.
        let guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        match self
            .state
            .compare_exchange(EMPTY, PARKED, Ordering::Relaxed, Ordering::Acquire)
        {
            Ok(_) => {}
            Err(_) => {
                // `unpark` came in between: take its token and go.
                self.state.swap(EMPTY, Ordering::Acquire);
                return;
            }
        }
        match timeout {
            None => {
                let mut guard = guard;
                loop {
                    guard = self.condvar.wait(guard).unwrap_or_else(|e| e.into_inner());
                    if self
                        .state
                        .compare_exchange(NOTIFIED, EMPTY, Ordering::Acquire, Ordering::Acquire)
                        .is_ok()
                    {
                        return; // a real notification; otherwise the wake-up was spurious
                    }
                }
            }
            Some(timeout) => {
                #[cfg(loom)]
                {
                    let _ = (guard, timeout);
                    unreachable!("loom models use no timers");
                }
                #[cfg(not(loom))]
                {
                    let waited = self.condvar.wait_timeout(guard, timeout);
                    drop(waited.unwrap_or_else(|e| e.into_inner()));
                    // Timed out, woken, or spurious: the caller re-checks its queues anyway.
                    self.state.swap(EMPTY, Ordering::Acquire);
                }
            }
        }
    }

    /// Wakes the parked executor, or makes its next `park` return at once. Any thread.
    pub(crate) fn unpark(&self) {
        if self.state.swap(NOTIFIED, Ordering::Release) != PARKED {
            return; // not asleep: the token is enough
        }
        // The executor holds the lock from its CAS to PARKED until it waits; taking the lock here
        // means it is now inside `wait`, so the notification reaches it.
        drop(self.lock.lock().unwrap_or_else(|e| e.into_inner()));
        self.condvar.notify_one();
    }
}
