//! The task cell: one heap allocation holding a header and the future (later its output).
//!
//! ```text
//!  Task<F>  (#[repr(C)], one Box, never moves until freed)       64-bit sizes
//! +---------------------------------------------------------------------+
//! | Header                                                   48 bytes   |
//! |   link        run-queue link        8   executor thread only        |
//! |   state       flags + refcount, u32 4   any thread (atomic)         |
//! |   id          TaskId as u32         4   immutable                   |
//! |   vtable      &'static TaskVTable   8   immutable                   |
//! |   shared      Arc<Shared>           8   immutable                   |
//! |   owned_prev, owned_next            16  live list, executor thread  |
//! +---------------------------------------------------------------------+
//! | stage: union, no tag       the larger of the two, executor thread   |
//! |   future  F                               while !COMPLETE           |
//! |   output  Result<F::Output, JoinError>    COMPLETE, !OUTPUT_GONE    |
//! |   (nothing)                               COMPLETE, OUTPUT_GONE     |
//! +---------------------------------------------------------------------+
//! ```
//!
//! The stage has no discriminant: the state word says which field is live (`state.rs`). The
//! run loop (or shutdown, or `cancel_now`) moves it from future to output while it alone owns
//! the stage (under `RUNNING`) and publishes that with `COMPLETE`; from then on the `JoinHandle`
//! may take the output, and whoever takes or drops it sets `OUTPUT_GONE`. The waker of whoever
//! awaits the `JoinHandle` is not in the cell either: it is in a table in the executor's core,
//! so only awaited handles pay for it (`join.rs`).
//!
//! The header comes first so that a `NonNull<Header>` can stand for the whole cell: the vtable
//! knows the concrete `F` and casts back. Two verbs must not be confused:
//!
//! - **drop the future** (\[F\]: the stage goes from future to output): the future's destructor
//!   runs, and with it everything the future owns (its boxes, its timer entry, the wakers it
//!   registered elsewhere). This always happens on the executor thread, when the future returns
//!   `Ready` or when the run loop reaches a cancelled task (or shutdown does), or inside
//!   `JoinHandle::cancel_now`.
//! - **free the cell** (\[M\], `dealloc`): the cell's bytes go back to the allocator. This
//!   happens when the reference count reaches zero, on whichever thread dropped the last
//!   reference — possibly a foreign thread dropping the last `Waker`. By then the future is gone
//!   and the output taken or dropped (`COMPLETE` and `OUTPUT_GONE`): nothing with a destructor
//!   is left in the cell except the header's `Arc`.
//!
//! Between the two the cell is a husk: the future's own memory is gone but the cell, sized for
//! the larger of future and output, stays until its last reference goes.

use crate::error::{JoinError, Payload};
use crate::loom::Arc;
use crate::queue::Link;
use crate::shared::Shared;
use crate::state::{COMPLETE, OUTPUT_GONE, Release, State};
use crate::trace;
use std::cell::{Cell, UnsafeCell};
use std::fmt;
use std::future::Future;
use std::mem::{self, ManuallyDrop};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll};

/// A task's identity: a number given out at spawn, counting up from 1 across the whole process.
///
/// Ids are unique for the first 2^32 − 1 spawns of a process; after that the counter wraps (to
/// 0, then 1, ...) and ids repeat. The reason is size: every task cell keeps its id, and as 32
/// bits it shares one 8-byte slot with the 32-bit state word; a 64-bit id would take a slot of
/// its own and leave 4 bytes of padding beside the state word, 8 bytes more in each cell. The
/// cell's size is what this crate is about.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct TaskId(u64);

impl TaskId {
    /// The id for the next spawned task, as it is stored in the header.
    fn next() -> u32 {
        // Plain std atomics even under loom (uniqueness needs only the atomicity of the
        // increment). Relaxed for the same reason. `fetch_add` wraps on overflow.
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// The id as a number.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task #{}", self.0)
    }
}

/// The type-independent part of every task cell. See the module docs for who may touch what.
#[repr(C)]
pub(crate) struct Header {
    /// Run-queue link; first, so a queue entry can be a `NonNull<Link>` (see `queue.rs`).
    pub(crate) link: Link,
    /// 32 bits, so that it and `id` share one 8-byte slot.
    pub(crate) state: State,
    /// The `TaskId`, kept as 32 bits (see [`TaskId`] for what that costs).
    id: u32,
    pub(crate) vtable: &'static TaskVTable,
    /// The half of the executor that wakers on any thread can reach; also keeps its counters.
    pub(crate) shared: Arc<Shared>,
    /// Links of the executor's list of live futures (`owned.rs`), reference R1.
    pub(crate) owned_prev: Cell<Option<NonNull<Header>>>,
    pub(crate) owned_next: Cell<Option<NonNull<Header>>>,
}

impl Header {
    /// The task's id.
    pub(crate) fn id(&self) -> TaskId {
        TaskId(u64::from(self.id))
    }
}

/// How a task's future ended. Each task ends exactly once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// `poll` returned `Ready` and the future was dropped cleanly.
    Completed,
    /// The future was dropped because of `cancel()` or shutdown.
    Cancelled,
    /// `poll`, or the future's destructor, panicked.
    Panicked,
}

/// The operations that need the concrete future type, one static table per `F`.
pub(crate) struct TaskVTable {
    /// Polls the future (caller has set `RUNNING`). On `Ready` the future has been dropped and the
    /// output written to the stage; the caller then sets `COMPLETE`.
    pub(crate) poll: unsafe fn(NonNull<Header>, &mut Context<'_>) -> Poll<Outcome>,
    /// Drops the future without polling it and writes `Err(cancelled)` (or `Err(panic)` if the
    /// destructor panicked) to the stage as the output; the caller then sets `COMPLETE`.
    pub(crate) drop_future: unsafe fn(NonNull<Header>) -> Outcome,
    /// Moves the output out of the stage into `*dst`, a `*mut Option<Result<T, JoinError>>`,
    /// and sets `OUTPUT_GONE`. Panics if it was already gone.
    pub(crate) take_output: unsafe fn(NonNull<Header>, *mut ()),
    /// Drops the output if the stage still holds it, and sets `OUTPUT_GONE`.
    pub(crate) drop_output: unsafe fn(NonNull<Header>),
    /// Returns the cell's memory to the allocator.
    pub(crate) dealloc: unsafe fn(NonNull<Header>),
    /// The cell's size in bytes (`Task::<F>::SIZE`): what stays allocated as a husk after \[F\].
    pub(crate) size: usize,
}

/// What the cell holds after the header: the future, then its output, then nothing. A union
/// without a tag; the state word says which field is live (see the module docs). Neither field
/// is ever dropped implicitly: the vtable functions drop each one exactly once, and `dealloc`
/// frees the bytes only after both are gone.
pub(crate) union Stage<F: Future> {
    /// Live while `COMPLETE` is clear. Pinned in place: the cell never moves, and the future is
    /// dropped where it lies.
    future: ManuallyDrop<F>,
    /// Live from the moment the run loop writes it (right after the future was dropped, before
    /// it sets `COMPLETE`) until `OUTPUT_GONE` is set: the result, or why there is none.
    output: ManuallyDrop<Result<F::Output, JoinError>>,
}

/// The cell itself. `#[repr(C)]` with the header first: a pointer to the cell is a pointer to its
/// header.
#[repr(C)]
pub(crate) struct Task<F: Future> {
    header: Header,
    stage: UnsafeCell<Stage<F>>,
}

impl<F: Future> Task<F> {
    const VTABLE: TaskVTable = TaskVTable {
        poll: Self::poll,
        drop_future: Self::drop_future,
        take_output: Self::take_output,
        drop_output: Self::drop_output,
        dealloc: Self::dealloc,
        size: Self::SIZE,
    };

    /// The number of bytes one cell of this type takes from the allocator.
    pub(crate) const SIZE: usize = mem::size_of::<Self>();

    /// \[A\] Allocates the cell: the one and only allocation of a task. Writes the header, whose
    /// state starts at `INITIAL`: three references, owned by the caller (owned list, run queue,
    /// `JoinHandle`). Returns the cell and the place in its stage where the future goes.
    ///
    /// The caller must move the future into that place (`ptr::write`) before anything else
    /// touches the cell: the state already says the stage holds it. The future is not passed in
    /// here because in a debug build every function it passes through, and every wrapper it is
    /// built into (`ManuallyDrop`, `Stage`, `UnsafeCell`, `Task`, the argument of `Box::new`), is
    /// one more copy of it on the stack, and a large future would overflow the stack
    /// (`tests/big_futures.rs`). Written in place, it is copied once, from the caller's argument
    /// into the cell. A release build compiles both ways to the same code.
    pub(crate) fn allocate(shared: Arc<Shared>) -> (NonNull<Header>, *mut F) {
        let cell: *mut Task<F> = Box::into_raw(Box::<Task<F>>::new_uninit()).cast();
        let header = Header {
            link: Link::new(),
            state: State::new(),
            id: TaskId::next(),
            vtable: &Self::VTABLE,
            shared,
            owned_prev: Cell::new(None),
            owned_next: Cell::new(None),
        };
        trace::spawned(&header, Self::SIZE);
        // SAFETY: `cell` is a fresh allocation with the layout of `Task<F>` (`Box::from_raw` in
        // `dealloc` frees it with the same layout): the places below are in bounds and aligned.
        // Writing the header initialises it; the future's place is only computed, not read.
        unsafe {
            std::ptr::addr_of_mut!((*cell).header).write(header);
            let stage = UnsafeCell::raw_get(std::ptr::addr_of!((*cell).stage));
            let future = std::ptr::addr_of_mut!((*stage).future).cast::<F>();
            (NonNull::new_unchecked(cell.cast()), future)
        }
    }

    /// # Safety
    /// - `ptr` points to the header of a live `Task<F>` (the caller holds a reference).
    /// - The caller is on the executor thread and nothing else is using the stage right now:
    ///   whoever set `RUNNING` (the run loop, shutdown or `cancel_now`), or the `JoinHandle`
    ///   after `COMPLETE` was observed.
    ///
    /// Which field is live is for the caller to know (see [`Stage`]).
    unsafe fn stage<'a>(ptr: NonNull<Header>) -> &'a mut Stage<F> {
        // SAFETY: the caller guarantees a live `Task<F>`; the header is its first field
        // (`#[repr(C)]`) and `ptr` was derived from the whole cell, so the cast is in bounds.
        let task = unsafe { ptr.cast::<Task<F>>().as_ref() };
        // SAFETY: exclusive access to the stage on this thread is the caller's precondition.
        unsafe { &mut *task.stage.get() }
    }

    /// \[F\] Drops the future in place, catching a panicking destructor. Even when `drop` panics
    /// the compiler's drop glue still drops the remaining fields, so afterwards the future is
    /// gone either way, and the stage holds nothing until the caller writes the output (which
    /// every caller does, panic or not, before `COMPLETE` is set).
    ///
    /// # Safety
    /// The stage holds the future and the caller has exclusive access to it (see
    /// [`Self::stage`]).
    unsafe fn drop_future_in_place(stage: &mut Stage<F>) -> Result<(), Payload> {
        catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: the future is the live field (precondition) and we have it exclusively;
            // the caller overwrites the stage with the output without reading the future again,
            // so it is dropped exactly once.
            unsafe { ManuallyDrop::drop(&mut stage.future) }
        }))
    }

    /// # Safety
    /// `ptr` is a live `Task<F>`, the caller is the run loop and has set `RUNNING`.
    unsafe fn poll(ptr: NonNull<Header>, cx: &mut Context<'_>) -> Poll<Outcome> {
        // SAFETY: forwarded from the caller: RUNNING gives the run loop the stage.
        let stage = unsafe { Self::stage(ptr) };
        let polled = catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: RUNNING is set, so COMPLETE is clear: the future is the live field. It lives
            // inside the heap cell, which is never moved until it is freed, and it is dropped in
            // place (`drop_future_in_place`): it is pinned.
            unsafe { Pin::new_unchecked(&mut *stage.future) }.poll(cx)
        }));
        let result = match polled {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(output)) => {
                // SAFETY: the future is still the live field; we have the stage exclusively.
                match unsafe { Self::drop_future_in_place(stage) } {
                    Ok(()) => Ok(output),
                    Err(payload) => {
                        drop_quietly(output);
                        Err(JoinError::panic(payload))
                    }
                }
            }
            Err(payload) => {
                // SAFETY: as above; a panicking poll leaves the future in place, to be dropped.
                if let Err(second) = unsafe { Self::drop_future_in_place(stage) } {
                    drop_quietly(second);
                }
                Err(JoinError::panic(payload))
            }
        };
        let outcome = match result {
            Ok(_) => Outcome::Completed,
            Err(_) => Outcome::Panicked,
        };
        // The future is gone: the output becomes the live field (the caller sets COMPLETE).
        stage.output = ManuallyDrop::new(result);
        Poll::Ready(outcome)
    }

    /// # Safety
    /// `ptr` is a live `Task<F>` whose future is still there; executor thread; the caller has
    /// claimed the future for the drop by setting `RUNNING` (run loop, shutdown, `cancel_now`).
    unsafe fn drop_future(ptr: NonNull<Header>) -> Outcome {
        // SAFETY: forwarded from the caller.
        let stage = unsafe { Self::stage(ptr) };
        // SAFETY: the future is the live field (precondition) and the stage is ours.
        let (result, outcome) = match unsafe { Self::drop_future_in_place(stage) } {
            Ok(()) => (Err(JoinError::cancelled()), Outcome::Cancelled),
            Err(payload) => (Err(JoinError::panic(payload)), Outcome::Panicked),
        };
        // The future is gone: the output becomes the live field (the caller sets COMPLETE).
        stage.output = ManuallyDrop::new(result);
        outcome
    }

    /// # Safety
    /// `ptr` is a live `Task<F>` with `COMPLETE` set, executor thread; `dst` points to a valid
    /// `Option<Result<F::Output, JoinError>>`.
    unsafe fn take_output(ptr: NonNull<Header>, dst: *mut ()) {
        // SAFETY: the caller guarantees a live cell; the header is only read through `&`.
        let header = unsafe { ptr.as_ref() };
        if header.state.set_output_gone().has(OUTPUT_GONE) {
            panic!("`JoinHandle` polled after it already returned its output");
        }
        // SAFETY: COMPLETE is set, so the run loop is done with the stage; the JoinHandle that
        // calls us is on the executor thread.
        let stage = unsafe { Self::stage(ptr) };
        // SAFETY: COMPLETE was set and OUTPUT_GONE clear until just now: the output is the live
        // field. Setting OUTPUT_GONE first means it is read out exactly once.
        let result = unsafe { ManuallyDrop::take(&mut stage.output) };
        let dst = dst.cast::<Option<Result<F::Output, JoinError>>>();
        // SAFETY: the caller passes a valid, initialised slot of exactly this type.
        unsafe { *dst = Some(result) };
    }

    /// # Safety
    /// `ptr` is a live `Task<F>` with `COMPLETE` set; executor thread.
    unsafe fn drop_output(ptr: NonNull<Header>) {
        // SAFETY: the caller guarantees a live cell; the header is only read through `&`.
        let header = unsafe { ptr.as_ref() };
        // The flag goes first: if the output's destructor panics, the output still counts as
        // gone (its drop glue has dropped what it could) and is never dropped again.
        if header.state.set_output_gone().has(OUTPUT_GONE) {
            return;
        }
        // SAFETY: as for `take_output`.
        let stage = unsafe { Self::stage(ptr) };
        // SAFETY: COMPLETE was set and OUTPUT_GONE clear until just now: the output is the live
        // field, and with the flag set it is dropped exactly once.
        unsafe { ManuallyDrop::drop(&mut stage.output) };
    }

    /// \[M\] Returns the cell's bytes to the allocator.
    ///
    /// # Safety
    /// - `ptr` came from [`Task::<F>::allocate`] and its reference count has just reached zero:
    ///   nobody else can reach the cell any more.
    /// - The future has been dropped and the output taken or dropped (`COMPLETE` and
    ///   `OUTPUT_GONE`), so nothing `!Send` is left: this may run on any thread. The stage is a
    ///   union of `ManuallyDrop`s, so freeing the box drops nothing in it.
    unsafe fn dealloc(ptr: NonNull<Header>) {
        // SAFETY: refcount zero means exclusive access; the pointer came from `Box::leak` of a
        // `Box<Task<F>>` in `allocate`, so rebuilding the box gives the allocation back exactly.
        let task = unsafe { Box::from_raw(ptr.cast::<Task<F>>().as_ptr()) };
        debug_assert!(
            {
                let state = task.header.state.load();
                state.has(COMPLETE) && state.has(OUTPUT_GONE)
            },
            "freed a cell whose future or output is still there: {:?}",
            task.header.state.load()
        );
        trace::freed(&task.header, Self::SIZE);
        task.header.shared.counters.record_free(Self::SIZE);
        drop(task);
    }
}

/// Drops a value whose destructor may panic, on a path that must not unwind (the run loop). The
/// panic is swallowed; if dropping the panic's own payload panics, that payload is leaked.
pub(crate) fn drop_quietly<T>(value: T) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(|| drop(value))) {
        if let Err(inner) = catch_unwind(AssertUnwindSafe(|| drop(payload))) {
            mem::forget(inner);
        }
    }
}

/// One counted reference to a task (R1, R2, R3 or R4 of `state.rs`), released on drop.
pub(crate) struct TaskRef(NonNull<Header>);

// SAFETY: a `TaskRef` only lets another thread touch the header's atomic state, its immutable
// fields (`vtable`, `shared`, `id`) and, if it drops the last reference, free a cell whose stage
// holds nothing (rule R1 in `state.rs`: the count cannot reach zero while the future lives, and
// the output is taken or dropped before the owned list's reference goes or the handle's does).
// The `Cell` fields and the stage are only touched on the executor thread.
unsafe impl Send for TaskRef {}

impl TaskRef {
    /// Adopts one reference that the caller owns.
    ///
    /// # Safety
    /// `ptr` is the header of a live task and the caller transfers one of its references.
    pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> TaskRef {
        TaskRef(ptr)
    }

    /// Gives up ownership of the reference without dropping it.
    pub(crate) fn into_raw(self) -> NonNull<Header> {
        mem::ManuallyDrop::new(self).0
    }

    pub(crate) fn as_ptr(&self) -> NonNull<Header> {
        self.0
    }

    pub(crate) fn header(&self) -> &Header {
        // SAFETY: we hold a reference, so the cell is allocated; the header is only accessed
        // through shared references (its mutable parts are atomics and cells).
        unsafe { self.0.as_ref() }
    }

    /// Releases a queue entry's reference (R2) without running the task: clears `SCHEDULED`
    /// and drops the reference in one step.
    pub(crate) fn discard_queued(self) {
        let ptr = self.into_raw();
        // SAFETY: we held a reference until this line.
        let header = unsafe { ptr.as_ref() };
        match header.state.unset_scheduled_and_ref_dec() {
            Release::Dealloc => {
                let dealloc = header.vtable.dealloc;
                // SAFETY: the count just reached zero: we were the last reference.
                unsafe { dealloc(ptr) };
            }
            Release::Alive => {}
        }
    }
}

impl Drop for TaskRef {
    fn drop(&mut self) {
        let header = self.header();
        match header.state.ref_dec() {
            Release::Dealloc => {
                let dealloc = header.vtable.dealloc;
                // SAFETY: the count just reached zero: we were the last reference, so nobody
                // else can reach the cell; the vtable was read before the free.
                unsafe { dealloc(self.0) };
            }
            Release::Alive => {}
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn header_is_at_offset_zero() {
        // The casts between `Task<F>` and `Header` rely on this.
        let task = mem::MaybeUninit::<Task<std::future::Ready<u8>>>::uninit();
        let base = task.as_ptr();
        // SAFETY: only computing a field address with `addr_of!`, no read.
        let header = unsafe { std::ptr::addr_of!((*base).header) };
        assert_eq!(base.cast::<u8>(), header.cast::<u8>());
    }

    /// A word-aligned future of five words whose output is `()`.
    struct Words(#[allow(dead_code)] [u64; 5]);

    impl Future for Words {
        type Output = ();
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            Poll::Ready(())
        }
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_64_bit_id_would_cost_8_bytes() {
        #[repr(C)]
        struct WithWideId {
            _link: Link,
            _state: State,
            _id: u64,
            _vtable: &'static TaskVTable,
            _shared: Arc<Shared>,
            _owned: [Cell<Option<NonNull<Header>>>; 2],
        }
        assert_eq!(mem::size_of::<WithWideId>(), mem::size_of::<Header>() + 8);
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn header_is_48_bytes_and_the_stage_has_no_tag() {
        assert_eq!(mem::size_of::<Header>(), 48);
        // The stage is exactly the larger of future and output: no discriminant, no padding.
        assert!(mem::size_of::<Words>() >= mem::size_of::<Result<(), JoinError>>());
        assert_eq!(mem::size_of::<Task<Words>>(), 48 + mem::size_of::<Words>());
        assert_eq!(Task::<Words>::SIZE, 88);
        // A future smaller than its output slot: the output decides.
        assert_eq!(
            mem::size_of::<Task<std::future::Ready<()>>>(),
            48 + mem::size_of::<Result<(), JoinError>>()
        );
    }
}
