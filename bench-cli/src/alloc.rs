//! The counting allocator: the `tracemalloc` of this project.
//!
//! Every heap allocation in the process goes through [`CountingAlloc`], which forwards it to
//! [`System`] unchanged and keeps five counters beside it:
//!
//! | counter         | changes on                                   |
//! |-----------------|----------------------------------------------|
//! | `current_bytes` | +size on alloc, -size on free, ±delta on realloc |
//! | `peak_bytes`    | raised to `current_bytes` whenever that is higher |
//! | `allocations`   | +1 per new block (`alloc`, `alloc_zeroed`)   |
//! | `reallocations` | +1 per resize of an existing block (`realloc`) |
//! | `frees`         | +1 per block returned (`dealloc`)            |
//!
//! Invariants:
//!
//! 1. `allocations - frees` is the number of live blocks: a `realloc` neither creates nor
//!    returns a block, so it has its own counter.
//! 2. Bytes are the sizes the program asked for (`Layout::size`), not what `malloc` rounds
//!    them up to: the figures are the program's, and they are the same on every run.
//! 3. `peak_bytes` can be pulled down to "now" with [`reset_peak`]; a scenario does
//!    that at its start, so its peak is its own and not an earlier scenario's.
//!
//! The counters are atomics because `GlobalAlloc` must be `Sync`. The scenarios run on one
//! thread, so `Relaxed` ordering is enough: a thread always sees its own writes in order. (A
//! peer runtime may allocate on a helper thread of its own, as smol's `async-io` reactor
//! does; those blocks are counted too, each counter update being atomic.) That is why this
//! allocator counts for the whole process, where the workspace's test allocator
//! (`tests/src/counting.rs`) counts per thread: a test wants only its own thread's blocks, the
//! bench wants everything a runtime costs, helper threads included, and a peak.
//!
//! One thread can be **kept apart**: the progress bar's ([`keep_this_thread_apart`]). Its
//! allocations and frees are not counted at all, so drawing progress while a scenario runs does
//! not move a single figure. This holds because the blocks never cross: the progress thread only
//! reads atomics from the measured side and frees only what it allocated itself (see
//! `progress.rs`).
//!
//! There is one allocator, [`CountingAlloc`], zero-sized; its counters are the private static
//! below, read with [`snapshot`] and [`reset_peak`]. A program installs it as its global
//! allocator, as the `bench-cli` binary does:
//!
//! ```text
//! #[global_allocator]
//! static GLOBAL: bench_cli::alloc::CountingAlloc = bench_cli::alloc::CountingAlloc;
//! ```
//!
//! The criterion benches link the same library without installing it, so their timings carry
//! no counting.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// The counting global allocator: install it with `#[global_allocator]`.
#[derive(Clone, Copy, Debug, Default)]
pub struct CountingAlloc;

/// The process-wide counters.
struct Counters {
    current_bytes: AtomicU64,
    peak_bytes: AtomicU64,
    allocations: AtomicU64,
    reallocations: AtomicU64,
    frees: AtomicU64,
}

static COUNTERS: Counters = Counters {
    current_bytes: AtomicU64::new(0),
    peak_bytes: AtomicU64::new(0),
    allocations: AtomicU64::new(0),
    reallocations: AtomicU64::new(0),
    frees: AtomicU64::new(0),
};

std::thread_local! {
    // `const` and without a destructor: reading it never allocates and never registers a
    // thread-exit hook, so the allocator can read it from a thread's first allocation to its
    // last.
    static APART: Cell<bool> = const { Cell::new(false) };
}

/// The counters read at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeapSnapshot {
    /// Bytes allocated and not yet freed.
    pub current_bytes: u64,
    /// The highest `current_bytes` since the process started or the last `reset_peak`.
    pub peak_bytes: u64,
    /// New blocks handed out so far.
    pub allocations: u64,
    /// Blocks resized so far.
    pub reallocations: u64,
    /// Blocks returned so far.
    pub frees: u64,
}

/// Reads every counter.
pub fn snapshot() -> HeapSnapshot {
    HeapSnapshot {
        current_bytes: COUNTERS.current_bytes.load(Relaxed),
        peak_bytes: COUNTERS.peak_bytes.load(Relaxed),
        allocations: COUNTERS.allocations.load(Relaxed),
        reallocations: COUNTERS.reallocations.load(Relaxed),
        frees: COUNTERS.frees.load(Relaxed),
    }
}

/// Forgets the peak so far: from now on `peak_bytes` is the highest value reached after this
/// call (invariant 3).
pub fn reset_peak() {
    COUNTERS
        .peak_bytes
        .store(COUNTERS.current_bytes.load(Relaxed), Relaxed);
}

/// From now on, nothing the calling thread allocates or frees is counted. Call it first thing
/// in a thread that must not disturb the figures, and let that thread free only its own blocks.
pub fn keep_this_thread_apart() {
    APART.with(|apart| apart.set(true));
}

/// Whether the calling thread is counted (while it is being torn down, it is).
fn counted() -> bool {
    !APART.try_with(Cell::get).unwrap_or(false)
}

/// Records `size` more live bytes and raises the peak if needed.
fn grow(size: usize) {
    let now = COUNTERS.current_bytes.fetch_add(size as u64, Relaxed) + size as u64;
    COUNTERS.peak_bytes.fetch_max(now, Relaxed);
}

/// Records `size` fewer live bytes.
fn shrink(size: usize) {
    COUNTERS.current_bytes.fetch_sub(size as u64, Relaxed);
}

fn count_new_block(size: usize) {
    if counted() {
        COUNTERS.allocations.fetch_add(1, Relaxed);
        grow(size);
    }
}

// SAFETY: every method forwards to `System`, which is a correct `GlobalAlloc`, with the same
// arguments, and returns its result unchanged. The counting around it only touches atomics and
// a `const` thread-local without a destructor: it never allocates (which would recurse) and
// never unwinds.
unsafe impl GlobalAlloc for CountingAlloc {
    /// Allocates a new block from [`System`] and counts it.
    ///
    /// # Safety
    ///
    /// The contract of [`GlobalAlloc::alloc`]: `layout` has a non-zero size.
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: our caller guarantees `layout` has a non-zero size, the only precondition of
        // `System.alloc`.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            count_new_block(layout.size());
        }
        ptr
    }

    /// Allocates a new zeroed block from [`System`] and counts it.
    ///
    /// # Safety
    ///
    /// The contract of [`GlobalAlloc::alloc_zeroed`]: `layout` has a non-zero size.
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: our caller guarantees `layout` has a non-zero size, the only precondition of
        // `System.alloc_zeroed`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            count_new_block(layout.size());
        }
        ptr
    }

    /// Returns a block to [`System`] and counts it.
    ///
    /// # Safety
    ///
    /// The contract of [`GlobalAlloc::dealloc`]:
    /// - `ptr` was returned by this allocator (so by `System`, see `alloc`) and is still live;
    /// - `layout` is the layout it was allocated (or last reallocated) with.
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: every block this allocator hands out comes from `System` with the same
        // layout, and our caller guarantees `ptr` is such a live block with that `layout`.
        unsafe { System.dealloc(ptr, layout) };
        if counted() {
            COUNTERS.frees.fetch_add(1, Relaxed);
            shrink(layout.size());
        }
    }

    /// Resizes a block through [`System`] and counts the change in bytes.
    ///
    /// # Safety
    ///
    /// The contract of [`GlobalAlloc::realloc`]:
    /// - `ptr` was returned by this allocator and is still live;
    /// - `layout` is the layout it was allocated (or last reallocated) with;
    /// - `new_size` is non-zero and, rounded up to `layout.align()`, does not overflow `isize`.
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from `System` with `layout` (every block of ours does), and our
        // caller guarantees the rest of `System.realloc`'s contract for `new_size`.
        let new_ptr = unsafe { System.realloc(ptr, layout, new_size) };
        if !new_ptr.is_null() && counted() {
            COUNTERS.reallocations.fetch_add(1, Relaxed);
            if new_size >= layout.size() {
                grow(new_size - layout.size());
            } else {
                shrink(layout.size() - new_size);
            }
        }
        new_ptr
    }
}

#[cfg(test)]
mod tests {
    use super::{reset_peak, snapshot};

    #[test]
    fn one_box_is_one_allocation_of_its_size_and_one_free() {
        let before = snapshot();
        let boxed = std::hint::black_box(Box::new([7u8; 1000]));
        let during = snapshot();
        drop(boxed);
        let after = snapshot();

        // The test harness runs other tests on other threads, so compare only what this
        // thread's box must have caused: at least one allocation of at least 1000 bytes.
        assert!(during.allocations > before.allocations);
        assert!(during.peak_bytes >= before.current_bytes + 1000);
        assert!(after.frees > during.frees);
    }

    #[test]
    fn reset_peak_forgets_a_freed_megabyte() {
        let big = std::hint::black_box(vec![0u8; 1 << 20]);
        let with_big = snapshot();
        assert!(with_big.peak_bytes >= 1 << 20);
        drop(big);
        reset_peak();
        let after = snapshot();
        // The megabyte is gone and the peak no longer remembers it. (Other test threads only
        // allocate a few small blocks, far less than a megabyte.)
        assert!(after.peak_bytes + (1 << 19) < with_big.peak_bytes);
    }

    #[test]
    fn a_thread_kept_apart_is_not_counted() {
        // Other test threads may allocate meanwhile, so look at this thread's size only: a
        // block of 3 MiB no other test allocates.
        const SIZE: usize = 3 << 20;
        let seen = std::thread::spawn(|| {
            super::keep_this_thread_apart();
            let before = snapshot();
            let block = std::hint::black_box(vec![1u8; SIZE]);
            let during = snapshot();
            drop(block);
            (before, during)
        })
        .join()
        .unwrap();
        let (before, during) = seen;
        assert!(
            during.current_bytes < before.current_bytes + SIZE as u64 / 2,
            "{before:?} {during:?}"
        );
    }
}
