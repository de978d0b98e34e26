//! `timeout`: run a future with a deadline, on the executor's own timer.
//!
//! A [`Timeout`] is the inner future next to a [`Sleep`]: no timer of its own, no allocation.
//! Its timer entry is the `Sleep`'s, inside the `Timeout`, so inside the task's cell; while it
//! is registered, [`Stats::timers_live`](crate::Stats::timers_live) counts it like any other
//! sleep's.
//!
//! ```text
//!  Timeout<F> {                       each poll:
//!      future: Option<F>,   ------>   1. poll the inner future; Ready(v): release the entry,
//!                                        drop the finished future, Ok(v)
//!      sleep: Sleep,        ------>   2. poll the sleep (its first poll registers the entry);
//!  }                                     Ready: [F] drop the inner future now, Err(Elapsed)
//! ```
//!
//! The three moments the lesson is about:
//!
//! - **The inner future is polled first**, on every poll. A future that is ready wins, even
//!   against `Duration::ZERO` (as tokio's `timeout` does).
//! - **When the deadline passes, the inner future is dropped when the `Timeout` resolves**, in
//!   the same poll that returns `Err(Elapsed)`, not when the `Timeout` itself is dropped later.
//!   With it go its own timer entries (its `Sleep`s unlink themselves), and the `Timeout`'s
//!   entry was unlinked by the firing. So nothing of the loser is left in the timer, and the
//!   future's heap is back, while the task that awaited the `Timeout` goes on.
//! - **When the inner future wins, the `Timeout`'s entry is released at once**, in the poll that
//!   returns `Ok`: a deadline that no longer matters does not wait in the wheel until it
//!   fires. (asyncio's `wait_for` cancels its timer handle, but the handle stays in the event
//!   loop's heap until it is purged; here there is no handle to keep.)
//!
//! Dropping a `Timeout` before it resolves drops the inner future and unlinks the entry, like
//! any other future: a cancelled task that was waiting on a timeout leaves nothing in the timer.

use crate::sleep::{Sleep, sleep};
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Runs `future` until `duration` has passed, counted from this call.
///
/// The returned [`Timeout`] resolves to `Ok(output)` if `future` finishes first, or
/// `Err(Elapsed)` once the deadline has passed; then `future` has already been dropped. Like
/// [`sleep`], it must be polled inside a running executor (its deadline is registered with
/// that executor's timer), and the deadline is rounded up to the timer's millisecond.
///
/// ```
/// use executor::{Executor, sleep, timeout};
/// use std::time::Duration;
///
/// let ex = Executor::new();
/// let result = ex.block_on(timeout(Duration::from_millis(1), sleep(Duration::from_secs(1000))));
/// assert!(result.is_err()); // the inner sleep lost, and has been dropped
/// assert_eq!(ex.stats().timers_live, 0); // neither its entry nor the timeout's remains
/// assert_eq!(ex.block_on(timeout(Duration::ZERO, async { 7 })).unwrap(), 7); // ready wins
/// ```
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout {
        future: Some(future),
        sleep: sleep(duration),
    }
}

/// The future returned by [`timeout`]. `!Unpin`, like the [`Sleep`] inside it.
#[must_use = "futures do nothing unless awaited"]
pub struct Timeout<F> {
    /// The inner future; `None` once the `Timeout` has resolved (it is dropped then).
    /// Structurally pinned.
    future: Option<F>,
    /// The deadline's timer entry. Structurally pinned.
    sleep: Sleep,
}

impl<F> Timeout<F> {
    /// When the timeout expires (`None`: never).
    pub fn deadline(&self) -> Option<Instant> {
        self.sleep.deadline()
    }

    /// Whether the `Timeout` has resolved (and so dropped its inner future).
    pub fn is_finished(&self) -> bool {
        self.future.is_none()
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    /// # Panics
    /// If polled again after it resolved, or (like [`sleep`]) if the inner future is pending and
    /// no executor is running on this thread.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: both fields are pinned structurally, which is sound because the conditions of
        // `std::pin`'s "pinning is structural" section hold: `Timeout` is `Unpin` only if both
        // fields are (the auto trait; `Sleep` never is); it has no `Drop` impl; it is not
        // `repr(packed)`; and neither field is ever moved out: the inner future is dropped in
        // place (`Pin::set`), and the sleep stays where it is until the `Timeout` is dropped.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above; `this.future` is never moved.
        let mut future = unsafe { Pin::new_unchecked(&mut this.future) };
        // SAFETY: see above; `this.sleep` is never moved.
        let sleep = unsafe { Pin::new_unchecked(&mut this.sleep) };
        let inner = future
            .as_mut()
            .as_pin_mut()
            .expect("`Timeout` polled after it resolved");
        if let Poll::Ready(output) = inner.poll(cx) {
            // The entry goes first, at once: the deadline no longer matters.
            sleep.deregister();
            future.set(None);
            return Poll::Ready(Ok(output));
        }
        if sleep.poll(cx).is_ready() {
            // The firing unlinked our entry; [F] the loser is dropped now, with its entries.
            future.set(None);
            return Poll::Ready(Err(Elapsed(())));
        }
        Poll::Pending
    }
}

impl<F> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("deadline", &self.deadline())
            .field("finished", &self.is_finished())
            .field("registered", &self.sleep.is_registered())
            .finish()
    }
}

/// The error of a [`Timeout`] whose deadline passed before its future finished.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl Error for Elapsed {}
