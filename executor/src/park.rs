//! Parking the executor thread when it has nothing to run.
//!
//! The executor parks when its local run queue is empty, no remote wake is waiting and no timer
//! is due. It sleeps until the earliest timer deadline, or until another thread wakes one of
//! its tasks. The protocol that keeps a wake-up from being lost is the classic one:
//!
//! 1. A remote waker first pushes the task onto the remote queue, then calls [`Parker::unpark`],
//!    which sets `notified` under the lock and signals the condition variable.
//! 2. The executor checks the remote queue, then calls [`Parker::park`], which under the same lock
//!    returns at once if `notified` is set, and otherwise waits.
//!
//! If the push came after the executor's check, the `notified` flag is set either before `park`
//! takes the lock (so `park` returns at once) or while it waits (so it is signalled). Either way
//! the executor looks at the remote queue again. The flag is consumed by `park`, so a stale
//! notification costs at most one spurious trip round the run loop.
//!
//! `std`'s `Mutex` and `Condvar` are used rather than `parking_lot`'s: they are as fast on
//! Linux (futex-based), and miri can check them under `-Zmiri-strict-provenance`, which
//! `parking_lot`'s condition variable (it turns integers into pointers) cannot pass.

use std::time::Duration;

/// A one-bit "wake up" token guarded by a mutex, with a condition variable to sleep on.
pub(crate) struct Parker {
    #[cfg(not(loom))]
    notified: std::sync::Mutex<bool>,
    #[cfg(not(loom))]
    condvar: std::sync::Condvar,
    #[cfg(loom)]
    notified: loom::sync::Mutex<bool>,
    #[cfg(loom)]
    condvar: loom::sync::Condvar,
}

impl Parker {
    pub(crate) fn new() -> Self {
        Parker {
            notified: Default::default(),
            condvar: Default::default(),
        }
    }

    /// Blocks until [`unpark`](Self::unpark) is called or `timeout` passes (`None`: no timeout).
    #[cfg(not(loom))]
    pub(crate) fn park(&self, timeout: Option<Duration>) {
        // The mutex guards one bool and no code that can panic while holding it, so a poisoned
        // lock still holds a meaningful value: take it either way.
        let mut notified = self.notified.lock().unwrap_or_else(|e| e.into_inner());
        if !*notified {
            notified = match timeout {
                Some(timeout) => {
                    let waited = self.condvar.wait_timeout(notified, timeout);
                    waited.unwrap_or_else(|e| e.into_inner()).0
                }
                None => self
                    .condvar
                    .wait(notified)
                    .unwrap_or_else(|e| e.into_inner()),
            };
        }
        *notified = false;
    }

    /// Blocks until [`unpark`](Self::unpark) is called. loom has no clock: models use no timers.
    #[cfg(loom)]
    pub(crate) fn park(&self, timeout: Option<Duration>) {
        assert!(timeout.is_none(), "loom models cannot use timers");
        let mut notified = self.notified.lock().unwrap();
        while !*notified {
            notified = self.condvar.wait(notified).unwrap();
        }
        *notified = false;
    }

    /// Wakes the parked executor, or makes its next `park` return at once.
    pub(crate) fn unpark(&self) {
        let mut notified = self.notified.lock().unwrap_or_else(|e| e.into_inner());
        *notified = true;
        self.condvar.notify_one();
    }
}
