//! `sleep`: a future that is ready at a deadline, backed by the executor's timer.
//!
//! The deadline is fixed when `sleep` is called (the one clock read a sleep costs). Its first
//! poll registers the `Sleep` in the timer of the executor running on this thread (it panics if
//! none is running); later polls refresh the waker. When the timer's clock passes the deadline's
//! millisecond, the run loop unlinks the entry and wakes the task, and that poll returns `Ready`.
//! A poll never reads the clock: "due" is what the timer has seen, so a sleep is never woken
//! early and at most about a millisecond late. `sleep(Duration::ZERO)` is due at once (its deadline
//! is marked so, `clock.rs`), and its [`Sleep::deadline`] is the moment `sleep` was called.
//!
//! The timer entry is **inside** the `Sleep` (`entry.rs`): 32 bytes, in the task's own cell, and
//! nothing anywhere else. So a `Sleep` is `!Unpin` — pin it (`std::pin::pin!`, `Box::pin`) to
//! poll it by reference — and `!Send`: it belongs to its executor's thread.
//!
//! Dropping a `Sleep` unlinks its entry at once — this is what makes cancelling a sleeping task
//! cheap and exact: the task's future is dropped, the `Sleep` inside it is dropped, its entry
//! leaves the timer's list and its waker (one reference to the task cell) is dropped in the same
//! step. No record of it is left anywhere, so nothing waits for its deadline.
//!
//! A `Sleep` that outlives its executor (kept outside any task) is detached at the executor's
//! shutdown: its waker is dropped without a wake, and the next poll registers it afresh with
//! whichever executor is running then.

use crate::clock;
use crate::core::with_current;
use crate::entry::Entry;
use crate::slim_waker::SlimWaker;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Waits until `duration` has passed, counted from this call. `Duration::MAX` (or anything past
/// the clock's 584-year range) sleeps forever without panicking.
///
/// The timer counts in milliseconds and rounds deadlines up: a sleep is never woken early, and
/// may be woken up to a millisecond late.
///
/// # Panics
/// The returned future panics if it is polled while it holds no timer entry (its first poll, or
/// after its executor shut down) and no executor is running on this thread — whether or not it
/// is already due.
pub fn sleep(duration: Duration) -> Sleep {
    Sleep {
        entry: Entry::new(clock::deadline_after(duration)),
        _not_send: PhantomData,
    }
}

/// The future returned by [`sleep`].
///
/// `!Unpin` (its timer entry is linked into the timer while registered) and `!Send`.
///
/// ```compile_fail
/// fn must_be_unpin<T: Unpin>() {}
/// must_be_unpin::<executor::Sleep>(); // error: `PhantomPinned` cannot be unpinned
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Sleep {
    entry: Entry<SlimWaker>,
    /// `!Send + !Sync`: the entry's waker and links belong to the executor's thread.
    _not_send: PhantomData<*const ()>,
}

impl Sleep {
    /// When this sleep is ready (`None`: never).
    pub fn deadline(&self) -> Option<Instant> {
        clock::to_instant(self.entry.deadline())
    }

    /// Whether this sleep currently holds a timer entry.
    pub fn is_registered(&self) -> bool {
        self.entry.is_registered()
    }

    /// Unlinks the entry, if registered, and drops its waker: the `Sleep` holds no timer entry
    /// afterwards (a later poll would register it afresh).
    pub(crate) fn deregister(&self) {
        let Some(core) = self.entry.core() else {
            return;
        };
        // SAFETY: the entry is registered (C1 in `core.rs`), and we are on its thread
        // (`Sleep` is !Send).
        let core = unsafe { core.as_ref() };
        // SAFETY: the entry is registered in this core's timer (that is how we found the core).
        let waker = unsafe { core.timer.borrow_mut().remove(NonNull::from(&self.entry)) };
        // After the borrow: dropping the waker may free a task cell.
        drop(waker);
    }
}

/// What a `Sleep` asks of its entry's waker, which the entry itself keeps without knowing it is
/// a `SlimWaker` (`entry.rs`).
impl Entry<SlimWaker> {
    /// The core whose timer holds this entry, if it is registered.
    fn core(&self) -> Option<NonNull<crate::core::Core>> {
        self.peek_waker(|waker| waker.map(SlimWaker::core))
    }

    /// Whether the registered waker would wake the same task as `waker`.
    fn will_wake(&self, waker: &std::task::Waker) -> bool {
        self.peek_waker(|stored| stored.is_some_and(|stored| stored.will_wake(waker)))
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // Only shared access from here on: the timer may hold a pointer to the entry.
        let this = self.into_ref().get_ref();
        let deadline = this.entry.deadline();
        if let Some(core) = this.entry.core() {
            // SAFETY: as in `deregister`: registered (C1); our thread. The
            // borrow ends within the statement, before any foreign code runs.
            let due = unsafe { core.as_ref() }.timer.borrow().is_due(deadline);
            if due {
                this.deregister();
                return Poll::Ready(());
            }
            if this.entry.will_wake(cx.waker()) {
                return Poll::Pending;
            }
            // Keep the waker current (the task polling it may have changed).
            // SAFETY: registered, just checked (C1), and this is its thread.
            let waker = unsafe { SlimWaker::new(cx.waker(), core) };
            // Cloning a foreign waker ran its code, which may have shut the executor down and
            // detached the entry. If so, the new waker is dropped unused (it never touches the
            // core) and the sleep registers afresh below.
            if this.entry.is_registered() {
                drop(this.entry.replace_waker(waker));
                return Poll::Pending;
            }
            drop(waker);
        }
        with_current(|core| {
            // Checked before the deadline, so that a sleep polled outside an executor panics
            // whether or not it happens to be due already.
            let core = core.expect(
                "`sleep` polled outside a running executor: await it inside \
                 `Executor::block_on` or a task spawned on an executor",
            );
            // "Due" as the timer sees it, without reading the clock: a fired entry is due, and
            // so is a zero-length sleep; anything else registers and is fired by the run loop.
            if core.timer.borrow().is_due(deadline) {
                return Poll::Ready(());
            }
            // Built before the borrow: cloning a foreign waker runs its code. It cannot drop
            // the executor that is running (its run loop or shutdown holds it).
            // SAFETY: the running executor's core is alive; this is its thread.
            let waker = unsafe { SlimWaker::new(cx.waker(), NonNull::from(core)) };
            // SAFETY: `this` is pinned (we were given `Pin<&mut Self>`) and `Drop` unregisters
            // it; we are on the executor's thread. Nothing ran since the registration check
            // above that could have registered it: only this poll can, and it holds the pin.
            unsafe {
                core.timer
                    .borrow_mut()
                    .insert(NonNull::from(&this.entry), waker)
            };
            Poll::Pending
        })
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
            .field("deadline", &self.deadline())
            .field("registered", &self.is_registered())
            .finish()
    }
}
