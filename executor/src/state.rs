//! The state word: six flag bits and a reference count in one `AtomicU32`.
//!
//! Every decision about a task — may it be queued, who drops its future, who frees its cell — is
//! one read-modify-write on this word, so no two parties can both think they own the answer.
//!
//! ```text
//!  31                                   6   5   4   3   2   1   0
//! +---------------------------------------+---+---+---+---+---+---+
//! |     reference count (26 bits)         | O | J | C | X | R | S |
//! +---------------------------------------+---+---+---+---+---+---+
//!   S = SCHEDULED  R = RUNNING  X = COMPLETE  C = CANCELLED  J = JOIN_INTEREST
//!   O = OUTPUT_GONE
//! ```
//!
//! `COMPLETE` and `OUTPUT_GONE` also say what the task cell's stage holds (it is a union, with
//! no tag of its own; see `task.rs`): the future while `COMPLETE` is clear; the output (the
//! future's result, or why there is none) once `COMPLETE` is set and until `OUTPUT_GONE` is;
//! nothing after that.
//!
//! The word is 32 bits wide so that it shares one 8-byte slot of the task header with the task
//! id (`task.rs`). That leaves 26 bits, about 67 million references, for the count.
//! `State::ref_inc` aborts the process, as `Arc::clone` does, when a task already has more than
//! `MAX_REFS` (half that range, about 33 million): so the count can never wrap around to a small
//! number and let a cell be freed while something still refers to it.
//!
//! # Who holds a reference: rules R1–R4
//!
//! Each reference is one `REF_ONE` in the count. The executor's other rules cite these by name.
//!
//! - **R1 the owned list.** From spawn until the future is dropped the executor keeps the task in
//!   its list of live futures (rule O1 in `owned.rs`); that membership is one reference.
//! - **R2 a run-queue entry.** A task linked into a run queue (local or remote, rule Q1 in
//!   `queue.rs`) is one reference, taken when `SCHEDULED` is set. When the run loop pops the
//!   entry it clears `SCHEDULED` but keeps the entry's reference until it has finished that turn
//!   (the poll, or the drop of a cancelled future): that reference is what keeps the cell alive
//!   under the poll and what the borrowed waker given to `poll` stands on. A wake during that
//!   poll sets `SCHEDULED` again and adds a second R2 for the new entry. So R2 counts at most
//!   two: one entry in a queue, and one the run loop holds.
//! - **R3 the `JoinHandle`.** Exactly while `JOIN_INTEREST` is set.
//! - **R4 each `Waker`.** Every live waker clone is one reference, and so is the one-word waker
//!   in a registered timer entry that wakes a task of the timer's own executor (`slim_waker.rs`).
//!
//! R1 and R3 are at most one each and R2 at most two, so a task holds at most four references
//! that are not wakers (a probe in `run_loop.rs`'s tests sees exactly that:
//! `SCHEDULED | RUNNING | JOIN_INTEREST | refs = 4`), and only wakers can make the count large;
//! every new waker goes through `State::ref_inc` and its check.
//!
//! When the count reaches zero the cell's memory is returned (`Task::dealloc`, \[M\]). Because
//! R1 lasts as long as the future, the count can only reach zero after the future has been
//! dropped (\[F\]), so a cell is never freed with a live future inside it.
//!
//! # Which thread changes what
//!
//! Only the executor thread sets `RUNNING`, `COMPLETE`, `CANCELLED` or `OUTPUT_GONE`, or clears
//! `RUNNING` or `JOIN_INTEREST`. Other threads set `SCHEDULED` (a remote wake), move the
//! reference count, and in one case clear `SCHEDULED`: a remote wake that loses the race with
//! shutdown finds the executor closed and discards the entry it just pushed, clearing
//! `SCHEDULED` and dropping the entry's reference in one step
//! ([`State::unset_scheduled_and_ref_dec`], from `Shared::push_remote`).

use crate::loom::{AtomicU32, Ordering};
use std::fmt;

/// The task is in a run queue, or about to be pushed onto one, and that entry holds a reference
/// (R2). Set by a wake or by `cancel` on an idle task; cleared when the run loop pops the task,
/// or when an entry is discarded unrun (shutdown). Never set once `COMPLETE` is set, but it
/// may still be set when `COMPLETE` is: a task that woke itself during the poll that completed
/// it stays queued until the run loop pops the entry ([`TransitionToRunning::AlreadyComplete`]).
pub(crate) const SCHEDULED: u32 = 1 << 0;
/// The executor thread has the future in hand: it is polling it, or dropping it (the run loop
/// dropping a cancelled task, shutdown, or `JoinHandle::cancel_now`). Cleared with the
/// `COMPLETE` that follows a drop; excludes `COMPLETE`. While it is set nobody else may start
/// to poll or drop the future: a `cancel_now` that finds it set only sets `CANCELLED`, and a
/// run loop that pops such a task only releases the queue entry (see `cancel_now.rs`).
pub(crate) const RUNNING: u32 = 1 << 1;
/// The future has been dropped; the stage holds the output, or nothing if `OUTPUT_GONE` is
/// set. Once set, never unset.
pub(crate) const COMPLETE: u32 = 1 << 2;
/// `cancel()` (or `cancel_now()`, or shutdown) was called before the task completed. Once set,
/// never unset. The next time the run loop pops the task (or right after the current poll) it
/// drops the future, unless `cancel_now` has already dropped it.
pub(crate) const CANCELLED: u32 = 1 << 3;
/// The `JoinHandle` is alive and holds a reference (R3). Cleared when it is dropped; while it is
/// clear, an output is dropped as soon as it is produced.
pub(crate) const JOIN_INTEREST: u32 = 1 << 4;
/// The output has been taken by the `JoinHandle` or dropped: the stage holds nothing. Set only
/// after `COMPLETE`, only on the executor thread; once set, never unset.
pub(crate) const OUTPUT_GONE: u32 = 1 << 5;

const REF_SHIFT: u32 = 6;
/// One reference in the count.
pub(crate) const REF_ONE: u32 = 1 << REF_SHIFT;
/// The most references a task may have before [`State::ref_inc`] aborts: half of what the
/// 26-bit count can hold, so that even many threads cloning wakers at once cannot carry it past
/// its top bit before one of them sees the limit.
pub(crate) const MAX_REFS: u32 = (u32::MAX >> REF_SHIFT) / 2;

/// The state of a freshly spawned task: queued, with a `JoinHandle`, and three references:
/// the owned list (R1), the run queue entry (R2) and the `JoinHandle` (R3).
pub(crate) const INITIAL: u32 = SCHEDULED | JOIN_INTEREST | (3 * REF_ONE);

/// The atomic state word of one task.
pub(crate) struct State(AtomicU32);

/// A copy of the state word, printed with flag names.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot(pub(crate) u32);

impl Snapshot {
    pub(crate) fn has(self, flag: u32) -> bool {
        self.0 & flag != 0
    }
    pub(crate) fn refs(self) -> u32 {
        self.0 >> REF_SHIFT
    }
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (SCHEDULED, "SCHEDULED"),
            (RUNNING, "RUNNING"),
            (COMPLETE, "COMPLETE"),
            (CANCELLED, "CANCELLED"),
            (JOIN_INTEREST, "JOIN_INTEREST"),
            (OUTPUT_GONE, "OUTPUT_GONE"),
        ];
        f.write_str("Snapshot(")?;
        for (flag, name) in names {
            if self.has(flag) {
                write!(f, "{name} | ")?;
            }
        }
        write!(f, "refs = {})", self.refs())
    }
}

/// What the run loop must do with a task it just popped from a run queue.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TransitionToRunning {
    /// `RUNNING` is now set: poll the future.
    Poll,
    /// The task was cancelled while queued: drop the future without polling it.
    Cancel,
    /// The future is already gone (it completed after waking itself, was cancelled in its own
    /// poll, or was dropped by `cancel_now`), or it is being dropped further up this thread's
    /// stack (`RUNNING` is set: a destructor that `cancel_now` runs started this run loop):
    /// only the queue's reference is left to drop.
    AlreadyComplete,
}

/// What a wake or a cancel leaves its caller to do. Pushing, or not, is the whole answer: in
/// the `Push` case the transition has taken a queue entry's reference (R2) that the caller now
/// owns, and must hand to a run queue.
#[must_use = "on `Push` the caller owns a queue entry's reference and must push the task"]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Schedule {
    /// `SCHEDULED` is now set: push the task onto a run queue, with the entry's reference.
    Push,
    /// The task is already in line: queued, or (for a cancel) running or already cancelled;
    /// the run loop will see it. Nothing to push.
    AlreadyQueued,
    /// The task is complete: nothing will run again. Nothing to push.
    Complete,
}

/// What dropping one reference leaves its caller to do: this is where \[M\] happens.
#[must_use = "on `Dealloc` the caller must free the cell"]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Release {
    /// That was the last reference: nobody else can reach the cell, and the caller frees it
    /// (\[M\], `Task::dealloc`).
    Dealloc,
    /// Other references remain; one of their holders will free the cell.
    Alive,
}

impl Release {
    fn after(prev: Snapshot) -> Release {
        if prev.refs() == 1 {
            Release::Dealloc
        } else {
            Release::Alive
        }
    }
}

/// What `JoinHandle::cancel_now` found, and did.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TransitionToDropping {
    /// `CANCELLED` and `RUNNING` are now set: the caller has the future and must drop it now.
    /// `queued` says whether `SCHEDULED` was set, i.e. a run-queue entry still holds a reference.
    Drop { queued: bool },
    /// The future is in hand already (its own poll, or a drop further up the stack): only
    /// `CANCELLED` was set, as `cancel()` would; the holder drops the future when done.
    InHand,
    /// The task has completed: nothing changed, the output stays.
    Complete,
}

/// What to do after a poll returned `Pending`.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TransitionToIdle {
    /// Wait for a wake.
    Idle,
    /// The task cancelled itself during the poll: drop the future now.
    Cancelled,
}

impl State {
    pub(crate) fn new() -> Self {
        State(AtomicU32::new(INITIAL))
    }

    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.0.load(Ordering::Acquire))
    }

    /// Applies `f` in a compare-and-swap loop; `f` returns `None` to leave the word unchanged.
    fn update<R>(&self, mut f: impl FnMut(Snapshot) -> (Option<u32>, R)) -> R {
        let mut current = self.0.load(Ordering::Acquire);
        loop {
            let (next, result) = f(Snapshot(current));
            let Some(next) = next else { return result };
            match self
                .0
                .compare_exchange_weak(current, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return result,
                Err(actual) => current = actual,
            }
        }
    }

    /// Run loop, executor thread: clears `SCHEDULED` on a task popped from a run queue and, if
    /// it is to be polled, sets `RUNNING`. The queue entry's reference now belongs to the caller.
    pub(crate) fn transition_to_running(&self) -> TransitionToRunning {
        self.update(|s| {
            debug_assert!(
                s.has(SCHEDULED),
                "popped a task that was not scheduled: {s:?}"
            );
            let cleared = s.0 & !SCHEDULED;
            if s.has(COMPLETE) || s.has(RUNNING) {
                (Some(cleared), TransitionToRunning::AlreadyComplete)
            } else if s.has(CANCELLED) {
                // RUNNING for the drop too: nobody else may drop the future meanwhile.
                (Some(cleared | RUNNING), TransitionToRunning::Cancel)
            } else {
                (Some(cleared | RUNNING), TransitionToRunning::Poll)
            }
        })
    }

    /// Executor thread, after `poll` returned `Pending`: clears `RUNNING`, unless the task was
    /// cancelled during the poll: then `RUNNING` stays, for the drop that follows.
    pub(crate) fn transition_to_idle(&self) -> TransitionToIdle {
        self.update(|s| {
            debug_assert!(s.has(RUNNING) && !s.has(COMPLETE), "{s:?}");
            if s.has(CANCELLED) {
                (None, TransitionToIdle::Cancelled)
            } else {
                (Some(s.0 & !RUNNING), TransitionToIdle::Idle)
            }
        })
    }

    /// Executor thread, right after the future was dropped: sets `COMPLETE`, clears `RUNNING`.
    /// Returns the state from before, so the caller sees whether a `JoinHandle` is waiting.
    pub(crate) fn transition_to_complete(&self) -> Snapshot {
        let prev = self.update(|s| (Some((s.0 & !RUNNING) | COMPLETE), s));
        debug_assert!(!prev.has(COMPLETE), "completed twice: {prev:?}");
        prev
    }

    /// Any thread, `Waker::wake_by_ref`: sets `SCHEDULED` and adds the queue entry's reference
    /// (R2) unless the task is already queued or complete. A task woken while `RUNNING` is
    /// queued again: a task that wakes itself (like `yield_now`) goes to the back of the queue
    /// at the moment it wakes.
    pub(crate) fn transition_to_notified_by_ref(&self) -> Schedule {
        self.update(|s| {
            if s.has(COMPLETE) {
                (None, Schedule::Complete)
            } else if s.has(SCHEDULED) {
                (None, Schedule::AlreadyQueued)
            } else {
                (Some((s.0 | SCHEDULED) + REF_ONE), Schedule::Push)
            }
        })
    }

    /// Any thread, `Waker::wake`: like [`transition_to_notified_by_ref`], but on `Push` the
    /// waker's own reference becomes the queue entry's. Otherwise the caller still owns the
    /// waker's reference and must drop it (which may free the cell).
    ///
    /// [`transition_to_notified_by_ref`]: Self::transition_to_notified_by_ref
    pub(crate) fn transition_to_notified_by_val(&self) -> Schedule {
        self.update(|s| {
            if s.has(COMPLETE) {
                (None, Schedule::Complete)
            } else if s.has(SCHEDULED) {
                (None, Schedule::AlreadyQueued)
            } else {
                (Some(s.0 | SCHEDULED), Schedule::Push)
            }
        })
    }

    /// Executor thread, `JoinHandle::cancel`: sets `CANCELLED` unless the task is complete (then
    /// the output stays). If the task is idle it is also scheduled one last time, with a queue
    /// entry's reference (R2), so the run loop drops its future: `Push`.
    pub(crate) fn transition_to_cancelled(&self) -> Schedule {
        self.update(|s| {
            if s.has(COMPLETE) {
                (None, Schedule::Complete)
            } else if s.has(CANCELLED) {
                (None, Schedule::AlreadyQueued)
            } else if s.has(SCHEDULED) || s.has(RUNNING) {
                (Some(s.0 | CANCELLED), Schedule::AlreadyQueued)
            } else {
                (
                    Some((s.0 | CANCELLED | SCHEDULED) + REF_ONE),
                    Schedule::Push,
                )
            }
        })
    }

    /// Executor thread, `JoinHandle::cancel_now`: sets `CANCELLED` unless the task is complete
    /// and, if nobody has the future in hand, also `RUNNING`: the caller drops it now. A queued
    /// task stays `SCHEDULED`; the caller releases the entry if it can reach it.
    pub(crate) fn transition_to_dropping(&self) -> TransitionToDropping {
        self.update(|s| {
            if s.has(COMPLETE) {
                (None, TransitionToDropping::Complete)
            } else if s.has(RUNNING) {
                (Some(s.0 | CANCELLED), TransitionToDropping::InHand)
            } else {
                let queued = s.has(SCHEDULED);
                (
                    Some(s.0 | CANCELLED | RUNNING),
                    TransitionToDropping::Drop { queued },
                )
            }
        })
    }

    /// Executor thread, shutdown: marks a live task cancelled, and its future in hand
    /// (`RUNNING`), whatever it is doing. Shutdown then drops the future.
    pub(crate) fn set_cancelled(&self) {
        let prev = Snapshot(self.0.fetch_or(CANCELLED | RUNNING, Ordering::AcqRel));
        debug_assert!(!prev.has(RUNNING) && !prev.has(COMPLETE), "{prev:?}");
    }

    /// Executor thread, `JoinHandle` drop: clears `JOIN_INTEREST`. Returns the state from before.
    pub(crate) fn unset_join_interest(&self) -> Snapshot {
        Snapshot(self.0.fetch_and(!JOIN_INTEREST, Ordering::AcqRel))
    }

    /// Executor thread, when the output is taken or dropped (`COMPLETE` is set): sets
    /// `OUTPUT_GONE`. Returns the state from before, so the caller sees whether the output was
    /// still there.
    pub(crate) fn set_output_gone(&self) -> Snapshot {
        let prev = Snapshot(self.0.fetch_or(OUTPUT_GONE, Ordering::AcqRel));
        debug_assert!(
            prev.has(COMPLETE),
            "output gone before completion: {prev:?}"
        );
        prev
    }

    /// Any thread, `Waker::clone`: adds one reference.
    pub(crate) fn ref_inc(&self) {
        // Relaxed is enough: the caller already holds a reference, so the count is not zero and
        // the cell cannot be freed under us (the same argument as `Arc::clone`).
        let prev = Snapshot(self.0.fetch_add(REF_ONE, Ordering::Relaxed));
        if prev.refs() > MAX_REFS {
            // Like `Arc`, refuse to let the count overflow: a leaked-waker loop must not turn
            // into a use-after-free. The count is still below its top bit here: getting past it
            // would take `MAX_REFS` more increments racing with this check.
            std::process::abort();
        }
    }

    /// Any thread: drops one reference. On `Dealloc` it was the last, and the caller must free
    /// the cell.
    pub(crate) fn ref_dec(&self) -> Release {
        let prev = Snapshot(self.0.fetch_sub(REF_ONE, Ordering::AcqRel));
        debug_assert!(prev.refs() > 0, "reference count underflow: {prev:?}");
        Release::after(prev)
    }

    /// Any thread: a queue entry is discarded without running it (shutdown, or a remote wake
    /// that lost the race with shutdown): clears `SCHEDULED` and drops the entry's reference in
    /// one step. On `Dealloc` that was the last reference.
    pub(crate) fn unset_scheduled_and_ref_dec(&self) -> Release {
        let prev = Snapshot(self.0.fetch_sub(SCHEDULED + REF_ONE, Ordering::AcqRel));
        debug_assert!(prev.has(SCHEDULED) && prev.refs() > 0, "{prev:?}");
        Release::after(prev)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn state(bits: u32) -> State {
        State(AtomicU32::new(bits))
    }

    #[test]
    fn initial_state_holds_three_references() {
        let s = State::new().load();
        assert_eq!(s.refs(), 3);
        assert!(s.has(SCHEDULED) && s.has(JOIN_INTEREST));
        assert!(!s.has(RUNNING) && !s.has(COMPLETE) && !s.has(CANCELLED));
        assert_eq!(
            format!("{s:?}"),
            "Snapshot(SCHEDULED | JOIN_INTEREST | refs = 3)"
        );
    }

    #[test]
    fn transition_to_running_table() {
        let cases = [
            (
                SCHEDULED | REF_ONE,
                TransitionToRunning::Poll,
                RUNNING | REF_ONE,
            ),
            (
                SCHEDULED | CANCELLED | REF_ONE,
                TransitionToRunning::Cancel,
                CANCELLED | RUNNING | REF_ONE,
            ),
            (
                // Its future is being dropped further up the stack (`cancel_now`).
                SCHEDULED | CANCELLED | RUNNING | REF_ONE,
                TransitionToRunning::AlreadyComplete,
                CANCELLED | RUNNING | REF_ONE,
            ),
            (
                SCHEDULED | COMPLETE | REF_ONE,
                TransitionToRunning::AlreadyComplete,
                COMPLETE | REF_ONE,
            ),
        ];
        for (before, action, after) in cases {
            let s = state(before);
            assert_eq!(
                s.transition_to_running(),
                action,
                "from {:?}",
                Snapshot(before)
            );
            assert_eq!(s.load(), Snapshot(after));
        }
    }

    #[test]
    fn wake_schedules_once() {
        let s = state(REF_ONE);
        assert_eq!(s.transition_to_notified_by_ref(), Schedule::Push);
        assert_eq!(s.load(), Snapshot(SCHEDULED | (2 * REF_ONE)));
        assert_eq!(s.transition_to_notified_by_ref(), Schedule::AlreadyQueued);
        assert_eq!(s.transition_to_notified_by_val(), Schedule::AlreadyQueued);
        assert_eq!(s.load().refs(), 2);
    }

    #[test]
    fn wake_of_running_task_requeues_it() {
        let s = state(RUNNING | REF_ONE);
        assert_eq!(s.transition_to_notified_by_val(), Schedule::Push);
        assert_eq!(s.load(), Snapshot(RUNNING | SCHEDULED | REF_ONE));
    }

    #[test]
    fn wake_of_complete_task_does_nothing() {
        let s = state(COMPLETE | (2 * REF_ONE));
        assert_eq!(s.transition_to_notified_by_ref(), Schedule::Complete);
        assert_eq!(s.transition_to_notified_by_val(), Schedule::Complete);
        assert_eq!(s.load(), Snapshot(COMPLETE | (2 * REF_ONE)));
    }

    #[test]
    fn cancel_table() {
        use Schedule::{AlreadyQueued, Complete, Push};
        // (before, what the caller must do, after)
        let cases = [
            (REF_ONE, Push, CANCELLED | SCHEDULED | (2 * REF_ONE)),
            (
                SCHEDULED | REF_ONE,
                AlreadyQueued,
                CANCELLED | SCHEDULED | REF_ONE,
            ),
            (
                RUNNING | REF_ONE,
                AlreadyQueued,
                CANCELLED | RUNNING | REF_ONE,
            ),
            (COMPLETE | REF_ONE, Complete, COMPLETE | REF_ONE),
            (
                CANCELLED | SCHEDULED | REF_ONE,
                AlreadyQueued,
                CANCELLED | SCHEDULED | REF_ONE,
            ),
        ];
        for (before, action, after) in cases {
            let s = state(before);
            assert_eq!(
                s.transition_to_cancelled(),
                action,
                "from {:?}",
                Snapshot(before)
            );
            assert_eq!(s.load(), Snapshot(after), "from {:?}", Snapshot(before));
        }
    }

    #[test]
    fn idle_reports_cancel_from_own_poll() {
        let s = state(RUNNING | REF_ONE);
        assert_eq!(s.transition_to_idle(), TransitionToIdle::Idle);
        let s = state(RUNNING | CANCELLED | REF_ONE);
        assert_eq!(s.transition_to_idle(), TransitionToIdle::Cancelled);
        assert_eq!(
            s.load(),
            Snapshot(CANCELLED | RUNNING | REF_ONE),
            "kept for the drop"
        );
    }

    #[test]
    fn cancel_now_table() {
        use TransitionToDropping::*;
        let cases = [
            (
                REF_ONE,
                Drop { queued: false },
                CANCELLED | RUNNING | REF_ONE,
            ),
            (
                SCHEDULED | REF_ONE,
                Drop { queued: true },
                SCHEDULED | CANCELLED | RUNNING | REF_ONE,
            ),
            (
                // cancel() came first and the task is still in line
                SCHEDULED | CANCELLED | REF_ONE,
                Drop { queued: true },
                SCHEDULED | CANCELLED | RUNNING | REF_ONE,
            ),
            (RUNNING | REF_ONE, InHand, RUNNING | CANCELLED | REF_ONE),
            (
                RUNNING | CANCELLED | REF_ONE,
                InHand,
                RUNNING | CANCELLED | REF_ONE,
            ),
            (COMPLETE | REF_ONE, Complete, COMPLETE | REF_ONE),
        ];
        for (before, action, after) in cases {
            let s = state(before);
            assert_eq!(
                s.transition_to_dropping(),
                action,
                "from {:?}",
                Snapshot(before)
            );
            assert_eq!(s.load(), Snapshot(after), "from {:?}", Snapshot(before));
        }
    }

    #[test]
    fn output_goes_once() {
        let s = state(COMPLETE | JOIN_INTEREST | REF_ONE);
        assert!(!s.set_output_gone().has(OUTPUT_GONE));
        assert!(
            s.set_output_gone().has(OUTPUT_GONE),
            "second time: already gone"
        );
        assert_eq!(
            format!("{:?}", s.load()),
            "Snapshot(COMPLETE | JOIN_INTEREST | OUTPUT_GONE | refs = 1)"
        );
    }

    #[test]
    fn reference_limit_leaves_headroom_in_the_count() {
        // Twice the limit still fits in the 26 bits above the flags: `MAX_REFS` more racing
        // increments are needed before the count could carry out of the word.
        assert_eq!(
            u64::from(MAX_REFS) * 2 + 1,
            u64::from(u32::MAX >> REF_SHIFT)
        );
        let s = state(COMPLETE | (MAX_REFS * REF_ONE));
        s.ref_inc(); // the previous count is exactly the limit: allowed
        assert_eq!(s.load(), Snapshot(COMPLETE | ((MAX_REFS + 1) * REF_ONE)));
        assert_eq!(s.load().refs(), MAX_REFS + 1);
    }

    #[test]
    fn last_reference_is_reported_once() {
        let s = state(COMPLETE | SCHEDULED | (2 * REF_ONE));
        assert_eq!(s.ref_dec(), Release::Alive);
        assert_eq!(s.unset_scheduled_and_ref_dec(), Release::Dealloc);
        assert_eq!(s.load(), Snapshot(COMPLETE));
    }
}
