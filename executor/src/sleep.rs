//! `sleep`: a future that is ready at a deadline, backed by the executor's timer.
//!
//! The deadline is fixed when `sleep` is called. The first poll registers an entry in the timer
//! of the executor running on this thread (it panics if none is running); later polls refresh
//! the entry's waker. When the deadline passes, the run loop removes the entry and wakes the task.
//!
//! Dropping a `Sleep` removes its entry at once — this is what makes cancelling a sleeping task
//! cheap: the task's future is dropped, the `Sleep` inside it is dropped, and the timer gives
//! back the slot and the waker (one reference to the task cell) in the same step.

use crate::context;
use crate::timer::{Timer, TimerKey};
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Waits until `duration` has passed, counted from this call. `Duration::MAX` (or anything past
/// the clock's range) sleeps forever without panicking.
///
/// # Panics
/// The returned future panics on its first poll if no executor is running on this thread.
pub fn sleep(duration: Duration) -> Sleep {
    Sleep {
        deadline: Instant::now().checked_add(duration),
        entry: None,
    }
}

/// The future returned by [`sleep`].
#[must_use = "futures do nothing unless awaited"]
pub struct Sleep {
    /// `None`: never.
    deadline: Option<Instant>,
    entry: Option<Registration>,
}

struct Registration {
    timer: Rc<RefCell<Timer>>,
    key: TimerKey,
}

impl Sleep {
    /// When this sleep is ready (`None`: never).
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Whether this sleep currently holds a timer entry.
    pub fn is_registered(&self) -> bool {
        self.entry
            .as_ref()
            .is_some_and(|r| r.timer.borrow().contains(r.key))
    }

    fn deregister(&mut self) {
        if let Some(Registration { timer, key }) = self.entry.take() {
            // Drop the waker after the borrow ends: dropping it may free a task cell.
            let waker = timer.borrow_mut().remove(key);
            drop(waker);
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let now_due = this.deadline.is_some_and(|d| Instant::now() >= d);
        match &this.entry {
            None => {
                let timer = context::with_current(|core| core.map(|c| c.timer())).expect(
                    "`sleep` polled outside a running executor: await it inside \
                     `Executor::block_on` or a task spawned on an executor",
                );
                if now_due {
                    return Poll::Ready(());
                }
                let key = timer.borrow_mut().insert(this.deadline, cx.waker().clone());
                this.entry = Some(Registration { timer, key });
                Poll::Pending
            }
            Some(registration) => {
                let still_registered = registration
                    .timer
                    .borrow_mut()
                    .update_waker(registration.key, cx.waker());
                if now_due || !still_registered {
                    // Due, or the timer already fired and removed the entry.
                    this.deregister();
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            }
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.deregister();
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("registered", &self.is_registered())
            .finish()
    }
}
