//! `SlimWaker`: a timer entry's waker in one word instead of two.
//!
//! A `Waker` is two words: a data pointer and a vtable pointer. When the waker is one of this
//! executor's task wakers, the vtable word says nothing the timer does not already know — every
//! task waker has the same vtable (`waker.rs`) — so the timer keeps only the data pointer, the
//! task's header. That saves 8 bytes in every `Sleep`, and so in every sleeping task's cell.
//!
//! The two low bits of the word (free, since everything it points to is at least 4-byte aligned)
//! say what the rest is:
//!
//! | tag | the word points to      | owns                         | when                          |
//! |-----|-------------------------|------------------------------|-------------------------------|
//! | `TASK`  | a task header       | one task reference (R4)      | a task of the timer's executor |
//! | `MAIN`  | the executor's core | nothing (the core owns the `block_on` waker) | the `block_on` future |
//! | `BOXED` | a `Box<Boxed>`      | a full `Waker` and the core  | any other waker (another executor's task, a combinator's waker) |
//!
//! Only the last kind allocates, and only when a `Sleep` is polled by a waker that is not one of
//! its executor's own — inside a `FuturesUnordered`, say. Every kind can tell which executor's
//! timer the entry is in ([`SlimWaker::core`]): that is how a `Sleep` finds its timer again when
//! it is polled or dropped, without spending a word of its own on it.
//!
//! A `SlimWaker` never leaves its executor's thread (it is `!Send`, as the `Sleep` holding it is).

use crate::core::Core;
use crate::task::{Header, TaskRef};
use crate::trace;
use crate::waker;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::task::Waker;

const TAG_MASK: usize = 0b11;
// The two tag bits are free in every pointer a `SlimWaker` holds.
const _: () = assert!(
    align_of::<Header>() > TAG_MASK
        && align_of::<Core>() > TAG_MASK
        && align_of::<Boxed>() > TAG_MASK
);
const TASK: usize = 0b00;
const MAIN: usize = 0b01;
const BOXED: usize = 0b10;

/// A waker that is neither a task of the timer's executor nor its `block_on` future.
struct Boxed {
    waker: Waker,
    core: NonNull<Core>,
}

/// One word: a tagged pointer, see the module docs. Dropping it drops what it owns.
pub(crate) struct SlimWaker(NonNull<()>);

impl SlimWaker {
    /// Stores (a clone of) `waker` for an entry in `core`'s timer.
    ///
    /// `core` is a raw pointer, dereferenced only before `waker` is cloned: cloning a foreign
    /// waker runs its code, which may drop that very executor (one kept in a thread-local, say).
    /// The caller must check afterwards that the entry is still registered before storing the
    /// result in it.
    ///
    /// # Safety
    /// `core` is alive on entry, and this is its owning thread.
    pub(crate) unsafe fn new(waker: &Waker, core: NonNull<Core>) -> SlimWaker {
        {
            // SAFETY: alive on entry (the caller's precondition); this borrow ends before any
            // foreign code runs.
            let core_ref = unsafe { core.as_ref() };
            if let Some(header) = waker::task_of(waker) {
                // SAFETY: `task_of` only returns headers of live tasks: `waker` holds a
                // reference for as long as it is borrowed here.
                let header_ref = unsafe { header.as_ref() };
                if core_ref.owns_header(header_ref) {
                    // The stored word owns a reference of its own, as a clone would.
                    header_ref.state.ref_inc();
                    trace::waker_cloned(header_ref);
                    return SlimWaker(header.cast());
                }
            }
            if core_ref.is_main_waker(waker) {
                return SlimWaker(core.cast::<()>().map_addr(|addr| addr | MAIN));
            }
        }
        // Foreign code runs here; from now on `core` is only carried, never dereferenced.
        let waker = waker.clone();
        let boxed = NonNull::from(Box::leak(Box::new(Boxed { waker, core })));
        SlimWaker(boxed.cast::<()>().map_addr(|addr| addr | BOXED))
    }

    fn tag(&self) -> usize {
        self.0.addr().get() & TAG_MASK
    }

    fn untagged(&self) -> NonNull<()> {
        // The pointee is at least 4-aligned (checked below), so clearing the tag bits never
        // yields null.
        self.0.map_addr(|addr| {
            std::num::NonZeroUsize::new(addr.get() & !TAG_MASK).expect("aligned, non-null")
        })
    }

    fn boxed(&self) -> &Boxed {
        debug_assert_eq!(self.tag(), BOXED);
        // SAFETY: a `BOXED` word owns a live `Box<Boxed>` until it is dropped or woken.
        unsafe { self.untagged().cast::<Boxed>().as_ref() }
    }

    /// The core of the executor whose timer holds this entry.
    ///
    /// It may be dereferenced while the entry is registered, on the owning thread (rule C1 in
    /// `core.rs`).
    pub(crate) fn core(&self) -> NonNull<Core> {
        match self.tag() {
            TASK => {
                // SAFETY: a `TASK` word owns a reference to the task, so its header is alive.
                let header = unsafe { self.untagged().cast::<Header>().as_ref() };
                Core::home_of(&header.shared)
                    .expect("a registered timer entry outlived its executor's core")
            }
            MAIN => self.untagged().cast(),
            _ => self.boxed().core,
        }
    }

    /// Would waking this wake the same task as `waker`?
    pub(crate) fn will_wake(&self, waker: &Waker) -> bool {
        match self.tag() {
            TASK => waker::task_of(waker) == Some(self.untagged().cast()),
            MAIN => {
                // SAFETY: the entry holding this word is registered (C1).
                unsafe { self.untagged().cast::<Core>().as_ref() }.is_main_waker(waker)
            }
            _ => self.boxed().waker.will_wake(waker),
        }
    }

    /// Wakes the task (or the `block_on` future) and gives up what the word owned.
    ///
    /// For `MAIN` the core must still be alive: the executor wakes entries of its own timer only
    /// from its own run loop, and the entry was registered until just now (C1).
    pub(crate) fn wake(self) {
        let this = ManuallyDrop::new(self);
        match this.tag() {
            TASK => {
                // SAFETY: the word owns one task reference: it becomes the waker's, which `wake`
                // consumes.
                let waker = unsafe { waker::owned(this.untagged().cast()) };
                let _timer = trace::timer_scope(); // the wake is recorded as the timer's
                waker.wake();
            }
            MAIN => {
                // SAFETY: see the doc comment: called from the core's own run loop.
                unsafe { this.untagged().cast::<Core>().as_ref() }.wake_main();
            }
            _ => {
                // SAFETY: the word owned the box; `this` is never used again.
                let boxed = unsafe { Box::from_raw(this.untagged().cast::<Boxed>().as_ptr()) };
                boxed.waker.wake();
            }
        }
    }
}

impl Drop for SlimWaker {
    fn drop(&mut self) {
        match self.tag() {
            TASK => {
                // SAFETY: the word owned one task reference; it is released exactly once, here.
                let task = unsafe { TaskRef::from_raw(self.untagged().cast()) };
                trace::waker_dropped(task.header());
                drop(task);
            }
            MAIN => {}
            _ => {
                // SAFETY: the word owned the box; it is freed exactly once, here.
                drop(unsafe { Box::from_raw(self.untagged().cast::<Boxed>().as_ptr()) });
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn one_word_even_inside_an_option() {
        use super::SlimWaker;
        assert_eq!(size_of::<SlimWaker>(), 8);
        assert_eq!(size_of::<Option<SlimWaker>>(), 8);
    }
}
