//! [`WorkScheduler`]: register, unregister, stop (and their eager forms `unregister_now`,
//! `stop_now`) — and how each stays safe when the scheduler is reached again from inside itself.
//!
//! # Who may reach the table, and when
//!
//! The table of slots sits in a `RefCell` behind an `Rc`, shared by every clone of the
//! `WorkScheduler` and reached weakly by every done hook. Code outside this crate can run in
//! the middle of our methods and call back into the scheduler:
//!
//! - the work's function, called by `register`;
//! - `JoinHandle::cancel_now`, which drops the future at once: the future's destructors and
//!   its done hook run inside it (and so inside `unregister_now` and `stop_now`), and a
//!   destructor may register works, unregister or stop — this scheduler included;
//! - `JoinHandle::cancel`, if an executor drops a cancelled future at once (ours drops it on
//!   its next run of the queue, but the scheduler does not depend on that);
//! - dropping a `JoinHandle`, which may drop a finished task's output;
//! - `executor::spawn`, which drops the future (and so runs its hook) if it panics.
//!
//! Four rules, S1–S4 (S for scheduler), keep it correct whichever of these runs user code:
//!
//! - **S1. No borrow across a call out.** A `RefCell` borrow of the table never spans any
//!   of the calls above. Each method takes out what it needs (a `Slot`, or the whole table),
//!   lets the borrow end, and only then cancels or drops handles. So a re-entrant call
//!   always finds the table unborrowed: no double-borrow panic.
//! - **S2. Remove first, cancel second.** `unregister` and `stop` (and their `_now` forms)
//!   remove the entry *before* cancelling. When the hook then runs (inside `cancel_now()`, or
//!   on a later tick) it finds no slot and does nothing, and `len()` is already right when a
//!   destructor runs. A destructor that unregisters a work `stop` has already taken out of the
//!   table gets `false`: that work is being stopped anyway.
//! - **S3. The slot exists before the task does.** `register` reserves the slot, then
//!   spawns, then fills the slot with the handle. Whoever ends the work first — its done
//!   hook, `unregister`, `stop` — removes the slot. If `register` finds its slot gone when
//!   it comes back with the handle, the work was ended or unregistered meanwhile, and
//!   `register` cancels the task instead of storing a stale entry.
//! - **S4. `stop` repeats until the table stays empty.** It takes the whole table, cancels
//!   everything in it, and looks again: a destructor that registered new works while `stop`
//!   was cancelling has its works cancelled too, so `len() == 0` when `stop` returns. (With
//!   `stop_now` those are dropped too before it returns, unless one is in the middle of its own
//!   poll.)
//!
//! `cancel_now` of a task that is inside its own poll only asks (like `cancel`): so a work that
//! calls `unregister_now` on itself, or `stop_now`, from its own body is dropped right after
//! that poll, as with the lazy forms, while every *other* work is dropped inside the call.
//!
//! And the `Rc` structure:
//!
//! - **S5. The hook holds a `Weak`.** No cycle through the task (see `done_hook.rs`).
//!   Dropping every `WorkScheduler` clone drops the table and its handles, which *detaches*
//!   the works (a dropped `JoinHandle` does not cancel); their hooks then find no scheduler.
//!   Call [`WorkScheduler::stop`] first to cancel them.

use std::cell::RefCell;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::rc::Rc;

use crate::done_hook::DoneHook;
use crate::slots::{Slot, Slots};
use crate::work::Work;

/// The state every clone of a [`WorkScheduler`] shares, and that done hooks reach weakly.
pub(crate) struct Inner {
    slots: RefCell<Slots>,
}

impl Inner {
    /// The done hook's entry point: removes `index` if it is still there. The borrow ends
    /// inside; the caller drops the returned slot (S1).
    pub(crate) fn forget(&self, index: u64) -> Option<Slot> {
        self.slots.borrow_mut().remove(index)
    }
}

/// Keeps the works registered on the executor running on this thread, and cancels them on
/// request.
///
/// A `WorkScheduler` is a cheap handle (one `Rc`): clone it into a work's function so the
/// work can unregister itself, register others, or stop everything from its own body. It is
/// `!Send`, like the `JoinHandle`s it keeps: it belongs to the executor's thread.
///
/// See the [crate docs](crate) for the life of a registered work and the moments at which
/// its future is dropped and its memory freed.
#[derive(Clone)]
pub struct WorkScheduler {
    inner: Rc<Inner>,
}

impl WorkScheduler {
    /// An empty scheduler. Allocates its shared state (one `Rc`) but no table yet: the
    /// table is allocated by the first `register`.
    pub fn new() -> WorkScheduler {
        WorkScheduler {
            inner: Rc::new(Inner {
                slots: RefCell::new(Slots::default()),
            }),
        }
    }

    /// Spawns `work` on the executor running on this thread, keeps its `JoinHandle`, and
    /// returns the work's index.
    ///
    /// Like asyncio's `create_task`, this calls the work's function now (building its
    /// future) but does not poll it: the body starts when the executor next runs its queue.
    /// It allocates the task cell and nothing else, unless the table has to grow.
    ///
    /// # Panics
    ///
    /// If no executor is running on this thread (`executor::spawn` panics), or if the
    /// work's function panics. Either way no entry is left behind.
    pub fn register(&self, work: Work) -> u64 {
        let (index, start) = work.into_parts();
        // S3: the slot first. The borrow ends at the semicolon (S1).
        self.inner.slots.borrow_mut().reserve(index);
        // Calls the work's function and the executor: no borrow held (S1). If either
        // panics, the hook is dropped during unwinding and removes the reserved slot.
        let hook = DoneHook::new(Rc::downgrade(&self.inner), index);
        let handle = start(hook);
        // S3: fill the slot, or learn that it is gone.
        let stale = self.inner.slots.borrow_mut().fill(index, handle);
        if let Err(handle) = stale {
            // The work was unregistered or stopped while its function ran: honour that.
            // The borrow has ended (S1).
            handle.cancel();
        }
        index
    }

    /// Removes work `index` and cancels it. Returns `false` if it was not registered
    /// (never was, already unregistered, stopped, or already ended).
    ///
    /// # When what happens
    ///
    /// 1. **Now, inside `unregister`:** the entry leaves the table (`len()` drops; its 16
    ///    bytes are a tombstone until swept, see `slots.rs`), then the scheduler asks for
    ///    the cancel (`JoinHandle::cancel`) and drops its handle.
    /// 2. **On the executor thread, at the latest when the executor next runs its queue**
    ///    (our executor: the next tick, e.g. the caller's next `yield_now().await`; never
    ///    inside `cancel()`): the work's future is dropped without another poll, and its
    ///    done hook finds nothing to remove. If `unregister` is called from inside the
    ///    work's own body, that poll runs to its end and the future is dropped right after
    ///    it, in the same tick (if the poll returned `Ready`, the work simply completed).
    /// 3. **When the last reference to the task goes:** the executor frees the task cell.
    ///    The scheduler held the handle and has dropped it, so unless a `Waker` of the task
    ///    is still stored somewhere, that is the same moment as step 2.
    pub fn unregister(&self, index: u64) -> bool {
        self.unregister_with(index, |handle| handle.cancel())
    }

    /// Like [`unregister`](Self::unregister), but the work's future is dropped **inside this
    /// call**, with `JoinHandle::cancel_now`, and the task's cell is freed with the scheduler's
    /// handle right after: when `unregister_now` returns, the work's memory is back, no tick
    /// needed (unless a `Waker` of the task is kept somewhere, which keeps the cell).
    ///
    /// The future's destructors (and its done hook) run inside this call and may call back
    /// into the scheduler — register, unregister, stop: the entry has left the table before
    /// they run and no borrow is held (rules S1, S2 in the module docs). Exceptions, where only
    /// the cancel is asked for and the future is dropped as with `unregister`: called from the
    /// work's own body (dropped right after that poll), or from a destructor running inside
    /// the drop of that same work; and a work whose function is still running inside
    /// `register` (its `register` cancels it when the handle comes back, rule S3).
    pub fn unregister_now(&self, index: u64) -> bool {
        // [F] inside, unless the work is in its own poll; then [M] as the handle goes.
        self.unregister_with(index, |handle| {
            handle.cancel_now();
        })
    }

    /// `unregister` and `unregister_now`: takes the entry out of the table, then cancels its
    /// work with `cancel` and drops the handle (S2).
    fn unregister_with(&self, index: u64, cancel: impl FnOnce(&executor::JoinHandle<()>)) -> bool {
        // The borrow ends at the semicolon (S1, S2).
        let removed = self.inner.slots.borrow_mut().remove(index);
        match removed {
            None => false,
            Some(Slot::Filled(handle)) => {
                cancel(&handle);
                drop(handle);
                true
            }
            // `register` is between spawn and fill for this index; it will find the slot
            // gone and cancel the task itself (S3).
            Some(Slot::Reserved) => true,
        }
    }

    /// Cancels every registered work and empties the scheduler.
    ///
    /// The works are cancelled in order of their index, which is the order they were
    /// registered in whenever each was registered after the works created before it; the
    /// executor then drops them in that order too.
    ///
    /// When `stop` returns, `len() == 0` and every work that was registered has been asked
    /// to cancel; after the executor next runs its queue, every one of their futures has
    /// been dropped. The table's memory is given back. The scheduler stays usable: works
    /// registered after `stop` run normally.
    pub fn stop(&self) {
        self.stop_with(|handle| handle.cancel());
    }

    /// Like [`stop`](Self::stop), but every work's future is dropped **inside this call**, in
    /// index order, with `JoinHandle::cancel_now`, and each task's cell is freed as its handle
    /// goes: when `stop_now` returns, every work's memory is back (except cells a kept `Waker`
    /// still holds), with no tick in between.
    ///
    /// Destructors run inside this call and may register works, unregister or stop: no borrow
    /// is held while they run (S1), and works registered meanwhile are stopped too before
    /// `stop_now` returns (S4). Called from a work's own body, that work is dropped right after
    /// its poll, like with `stop`; every other work inside the call.
    ///
    /// # Panics
    /// If dropping a work's handle panics (its output is the payload of a panic caught in the
    /// work's destructor, and that payload's own destructor panics): every work is still
    /// stopped and dropped first, then the first such panic resumes.
    pub fn stop_now(&self) {
        self.stop_with(|handle| {
            handle.cancel_now();
        });
    }

    /// `stop` and `stop_now`: takes the table, cancels each work with `cancel`, drops its
    /// handle, and repeats until the table stays empty (S4).
    ///
    /// A panic while one work is cancelled or its handle dropped (with `cancel_now`, the
    /// output can be the payload of a panic caught in the work's destructor, and that
    /// payload's own destructor may panic) must not cut the loop short: the rest of the taken
    /// works would be dropped as handles only, which *detaches* them, and their futures would
    /// run on out of the table. So each cancel-and-drop is contained, and the first panic
    /// resumes once the table stays empty.
    fn stop_with(&self, cancel: impl Fn(&executor::JoinHandle<()>)) {
        let mut first_panic = None;
        loop {
            // S4: the whole table at once; the borrow ends at the semicolon (S1).
            let taken = self.inner.slots.borrow_mut().take_all();
            if taken.len() == 0 {
                break;
            }
            // Index order: registration order for works registered as they were created,
            // and so the order the executor allocated their cells (see `slots.rs`).
            for slot in taken.into_slots() {
                if let Slot::Filled(handle) = slot {
                    let cancelled = catch_unwind(AssertUnwindSafe(|| {
                        cancel(&handle);
                        drop(handle);
                    }));
                    match (cancelled, &first_panic) {
                        (Ok(()), _) => {}
                        (Err(payload), None) => first_panic = Some(payload),
                        // Only the first is reported; a later payload is dropped quietly (its
                        // own destructor may panic too: then it is leaked).
                        (Err(payload), Some(_)) => {
                            if let Err(inner) = catch_unwind(AssertUnwindSafe(|| drop(payload))) {
                                std::mem::forget(inner);
                            }
                        }
                    }
                }
                // A `Slot::Reserved` is cancelled by its `register` (S3).
            }
        }
        if let Some(payload) = first_panic {
            resume_unwind(payload);
        }
    }

    /// Number of registered works that have not ended, been unregistered, or been stopped.
    pub fn len(&self) -> usize {
        self.inner.slots.borrow().len()
    }

    /// `true` if no work is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many entries the table holds before it must grow: 0 before the first `register`
    /// and after `stop`, at least 16 otherwise. The table's memory is exactly 16 bytes per
    /// entry of this capacity. Entries left by unregistered works may still take room
    /// until they are swept (see `slots.rs`), so this is not always how many more works fit.
    pub fn capacity(&self) -> usize {
        self.inner.slots.borrow().capacity()
    }
}

impl Default for WorkScheduler {
    fn default() -> WorkScheduler {
        WorkScheduler::new()
    }
}

impl fmt::Debug for WorkScheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkScheduler")
            .field("len", &self.len())
            .finish()
    }
}
