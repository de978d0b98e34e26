//! `yield_now`: the smallest future that wakes itself.
//!
//! The first poll wakes its own waker and returns `Pending`. For a task, the wake puts it at the
//! back of the FIFO run queue at that moment, so every task that was runnable before it — and
//! every task it just spawned — takes a turn before it resumes. For the `block_on` future the
//! same holds: `block_on(yield_now())` is one full tick of the run queue. The second poll is
//! `Ready`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Gives every other runnable task one turn, then resumes.
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future returned by [`yield_now`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
