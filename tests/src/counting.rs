//! A counting global allocator, kept per thread.
//!
//! [`CountingAlloc`] forwards every call unchanged to [`System`] and counts, **for the thread
//! that made the call**, what it did:
//!
//! | counter      | changes on                                                   |
//! |--------------|--------------------------------------------------------------|
//! | `allocs`     | +1 per new block (`alloc`, `alloc_zeroed`)                   |
//! | `frees`      | +1 per block returned (`dealloc`)                            |
//! | `reallocs`   | +1 per block resized in place or moved (`realloc`)           |
//! | `bytes`      | +size on alloc, -size on free, +new-old on realloc           |
//! | `last_alloc` | the size of the latest new block                             |
//! | `last_free`  | the size of the latest block returned                        |
//!
//! Sizes are what the program asked for (`Layout::size`), not what `malloc` rounds them up to,
//! so every figure is the same on every run.
//!
//! # Why per thread
//!
//! The test harness runs tests side by side on its own threads, and it allocates (for
//! captured output, for its bookkeeping) while they run. Counting per thread keeps all of that
//! out of a test's numbers without serialising the tests: everything a test measures happens on
//! its own thread, the executor's. The one thing this hides on purpose is a block allocated on
//! one thread and freed on another: the first thread's `bytes` stay up, the second's go down.
//! That is exactly what a test needs to show *where* a task cell was freed; the sum over both
//! threads is the net effect.
//!
//! A test binary installs it and reads the counts with [`Heap::now`]:
//!
//! ```
//! use workspace_tests::counting::{CountingAlloc, Delta, Heap, assert_installed};
//!
//! #[global_allocator]
//! static ALLOCATOR: CountingAlloc = CountingAlloc;
//!
//! fn main() {
//!     assert_installed();
//!     let before = Heap::now();
//!     let block = Box::new([0u8; 64]);
//!     assert_eq!(Heap::now().since(before).bytes, 64);
//!     drop(block);
//!     assert_eq!(
//!         Heap::now().since(before),
//!         Delta { allocs: 1, frees: 1, reallocs: 0, bytes: 0 }
//!     );
//! }
//! ```
//!
//! Print only after the last measurement: output captured by the test harness allocates on
//! the test's thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;

/// A [`GlobalAlloc`] that forwards to [`System`] and counts per thread (see the module docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct CountingAlloc;

struct Counters {
    allocs: Cell<u64>,
    frees: Cell<u64>,
    reallocs: Cell<u64>,
    bytes: Cell<i64>,
    last_alloc: Cell<usize>,
    last_free: Cell<usize>,
}

std::thread_local! {
    // `const`, and without a destructor: touching it never allocates and never registers a
    // thread-exit hook, so the allocator can use it from the first allocation of a thread to
    // the last.
    static COUNTERS: Counters = const {
        Counters {
            allocs: Cell::new(0),
            frees: Cell::new(0),
            reallocs: Cell::new(0),
            bytes: Cell::new(0),
            last_alloc: Cell::new(0),
            last_free: Cell::new(0),
        }
    };
}

fn record(f: impl FnOnce(&Counters)) {
    // `try_with`: an allocator must not panic, not even while the thread is being torn down.
    let _ = COUNTERS.try_with(f);
}

fn add(cell: &Cell<u64>) {
    cell.set(cell.get() + 1);
}

fn count_alloc(size: usize) {
    record(|c| {
        add(&c.allocs);
        c.bytes.set(c.bytes.get() + size as i64);
        c.last_alloc.set(size);
    });
}

fn count_free(size: usize) {
    record(|c| {
        add(&c.frees);
        c.bytes.set(c.bytes.get() - size as i64);
        c.last_free.set(size);
    });
}

fn count_realloc(old_size: usize, new_size: usize) {
    record(|c| {
        add(&c.reallocs);
        c.bytes
            .set(c.bytes.get() + new_size as i64 - old_size as i64);
    });
}

// SAFETY: every method passes its arguments unchanged to `System` and returns what `System`
// returned, so `System`'s fulfilment of the `GlobalAlloc` contract is ours. The counting only
// touches a thread-local of `Cell`s that is `const`-initialised and has no destructor: it
// neither allocates (no re-entrancy) nor unwinds.
unsafe impl GlobalAlloc for CountingAlloc {
    /// Allocates through [`System`] and counts one new block.
    ///
    /// # Safety
    /// The caller upholds [`GlobalAlloc::alloc`]'s contract (`layout` has a non-zero size).
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract for `layout`; passed on unchanged.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            count_alloc(layout.size());
        }
        ptr
    }

    /// Allocates zeroed memory through [`System`] and counts one new block.
    ///
    /// # Safety
    /// The caller upholds [`GlobalAlloc::alloc_zeroed`]'s contract.
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            count_alloc(layout.size());
        }
        ptr
    }

    /// Returns the block to [`System`] and counts one free.
    ///
    /// # Safety
    /// `ptr` was allocated by this allocator with `layout` and is not used afterwards.
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, that is from `System`, with `layout` (the
        // caller's contract); passed on unchanged.
        unsafe { System.dealloc(ptr, layout) };
        count_free(layout.size());
    }

    /// Resizes the block through [`System`] and counts one reallocation.
    ///
    /// # Safety
    /// The caller upholds [`GlobalAlloc::realloc`]'s contract: `ptr` came from this allocator
    /// with `layout`, and `new_size` is non-zero and does not overflow when rounded up to
    /// `layout.align()`.
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from `System` with `layout`; the caller upholds the rest of
        // `realloc`'s contract; passed on unchanged.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            count_realloc(layout.size(), new_size);
        }
        new
    }
}

/// The calling thread's counters at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Heap {
    /// New blocks allocated on this thread so far.
    pub allocs: u64,
    /// Blocks freed on this thread so far.
    pub frees: u64,
    /// Blocks resized on this thread so far.
    pub reallocs: u64,
    /// Bytes allocated minus bytes freed on this thread so far (negative if this thread freed
    /// more than it allocated, e.g. blocks that other threads allocated).
    pub bytes: i64,
    /// The size of the latest block allocated on this thread.
    pub last_alloc: usize,
    /// The size of the latest block freed on this thread.
    pub last_free: usize,
}

/// What happened on one thread between two [`Heap`] readings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Delta {
    /// New blocks.
    pub allocs: u64,
    /// Blocks freed.
    pub frees: u64,
    /// Blocks resized.
    pub reallocs: u64,
    /// Net bytes: up for allocations and growth, down for frees and shrinking.
    pub bytes: i64,
}

impl Heap {
    /// The calling thread's counters now. Never allocates.
    pub fn now() -> Heap {
        COUNTERS.with(|c| Heap {
            allocs: c.allocs.get(),
            frees: c.frees.get(),
            reallocs: c.reallocs.get(),
            bytes: c.bytes.get(),
            last_alloc: c.last_alloc.get(),
            last_free: c.last_free.get(),
        })
    }

    /// What happened from `earlier` to `self` (both read on the same thread).
    pub fn since(self, earlier: Heap) -> Delta {
        Delta {
            allocs: self.allocs - earlier.allocs,
            frees: self.frees - earlier.frees,
            reallocs: self.reallocs - earlier.reallocs,
            bytes: self.bytes - earlier.bytes,
        }
    }
}

/// Panics unless [`CountingAlloc`] is this binary's global allocator: without it every count
/// stays at zero and an exact assertion like "the heap is back where it started" would pass
/// for the wrong reason.
pub fn assert_installed() {
    let before = Heap::now();
    drop(black_box(Box::new(black_box(0u64))));
    let delta = Heap::now().since(before);
    assert_eq!(
        (delta.allocs, delta.frees, delta.bytes),
        (1, 1, 0),
        "install `CountingAlloc` as this test binary's #[global_allocator]"
    );
}
