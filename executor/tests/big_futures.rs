//! A large future spawns on a small stack, in debug builds too.
//!
//! `spawn` moves the future into the task cell. In a debug build every move of a value is a
//! copy into a stack slot of its own, so a spawn path that passes the future through several
//! functions and wrappers needs several times the future's size in stack. These tests spawn
//! futures of 512 KiB on a 2 MiB thread stack and of 1 MiB on an 8 MiB one, in whatever
//! profile the tests are built.
//!
//! A stack overflow aborts the whole process, not just the test, so these tests have a test
//! binary of their own.

use executor::{Executor, spawn, yield_now};
use std::hint::black_box;
use std::thread;

/// A future that holds `N` bytes across an await, so the bytes live in the future itself.
async fn holding<const N: usize>() -> usize {
    let bytes = [7u8; N];
    yield_now().await;
    black_box(&bytes)
        .iter()
        .map(|&b| usize::from(b))
        .sum::<usize>()
        / 7
}

/// Runs `f` on a thread with `stack` bytes of stack and returns what it returns.
fn on_a_stack_of(stack: usize, f: fn() -> usize) -> usize {
    thread::Builder::new()
        .stack_size(stack)
        .spawn(f)
        .expect("spawn the thread")
        .join()
        .expect("the thread does not panic")
}

/// Spawns a future of `N` bytes with `Executor::spawn` and runs it to completion.
fn spawn_and_run<const N: usize>() -> usize {
    let ex = Executor::new();
    let future = holding::<N>();
    assert!(size_of_val(&future) >= N);
    let handle = ex.spawn(future);
    let stats = ex.stats();
    assert_eq!(stats.spawned, 1);
    assert!(stats.live_task_bytes >= N as u64);
    ex.block_on(handle).expect("the task completes")
}

/// The same through the free function `spawn`, called by the `block_on` future.
fn spawn_from_a_task_and_run<const N: usize>() -> usize {
    let ex = Executor::new();
    ex.block_on(async {
        // A statement of its own: a temporary of the `await`'s statement would be kept in the
        // `block_on` future, which would then be as big as the task's.
        let handle = spawn(holding::<N>());
        handle.await.expect("the task completes")
    })
}

#[test]
#[cfg_attr(miri, ignore = "a megabyte future takes minutes under miri")]
fn a_512_kib_future_spawns_on_a_2_mib_stack() {
    assert_eq!(
        on_a_stack_of(2 << 20, spawn_and_run::<{ 512 << 10 }>),
        512 << 10
    );
}

#[test]
#[cfg_attr(miri, ignore = "a megabyte future takes minutes under miri")]
fn a_512_kib_future_spawns_from_a_task_on_a_2_mib_stack() {
    assert_eq!(
        on_a_stack_of(2 << 20, spawn_from_a_task_and_run::<{ 512 << 10 }>),
        512 << 10
    );
}

#[test]
#[cfg_attr(miri, ignore = "a megabyte future takes minutes under miri")]
fn a_1_mib_future_spawns_on_an_8_mib_stack() {
    assert_eq!(
        on_a_stack_of(8 << 20, spawn_and_run::<{ 1 << 20 }>),
        1 << 20
    );
}
