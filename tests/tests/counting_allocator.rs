//! The instrument itself: the counting allocator counts each kind of call exactly, and per
//! thread, so that the other test binaries can trust its figures.

use std::hint::black_box;
use std::sync::mpsc;
use std::thread;

use workspace_tests::counting::{CountingAlloc, Delta, Heap, assert_installed};

#[global_allocator]
static ALLOCATOR: CountingAlloc = CountingAlloc;

#[test]
fn alloc_realloc_free_are_counted_apart() {
    assert_installed();
    let start = Heap::now();
    let mut v: Vec<u64> = Vec::with_capacity(4);
    let allocated = Heap::now();
    assert_eq!(
        allocated.since(start),
        Delta {
            allocs: 1,
            frees: 0,
            reallocs: 0,
            bytes: 32,
        }
    );
    assert_eq!(allocated.last_alloc, 32);
    v.extend([1, 2, 3, 4, 5]);
    assert_eq!(v.capacity(), 8);
    assert_eq!(
        Heap::now().since(allocated),
        Delta {
            allocs: 0,
            frees: 0,
            reallocs: 1,
            bytes: 32,
        },
        "growth is one realloc, not a new block"
    );
    drop(black_box(v));
    let end = Heap::now();
    assert_eq!(end.since(start).bytes, 0);
    assert_eq!(end.last_free, 64);
    assert_eq!((end.since(start).allocs, end.since(start).frees), (1, 1));
}

#[test]
fn other_threads_allocations_are_not_counted_here() {
    let (sender, receiver) = mpsc::channel::<Box<[u8; 100]>>();
    let worker = thread::spawn(move || {
        let before = Heap::now();
        sender.send(Box::new([1u8; 100])).unwrap();
        Heap::now().since(before)
    });
    // Measured from here: the thread and the channel are set up.
    let start = Heap::now();
    let worker_delta = worker.join().unwrap();
    assert!(worker_delta.allocs >= 1 && worker_delta.bytes >= 100);
    let block = receiver.recv().unwrap();
    let before_free = Heap::now();
    drop(block);
    let freed = Heap::now();
    // Allocated over there, freed here: only the free shows on this thread.
    assert_eq!(
        freed.since(before_free),
        Delta {
            allocs: 0,
            frees: 1,
            reallocs: 0,
            bytes: -100,
        }
    );
    assert_eq!(freed.last_free, 100);
    assert_eq!(
        freed.since(start).allocs,
        0,
        "nothing allocated on this thread"
    );
}
