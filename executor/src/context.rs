//! Which executor is running on this thread.
//!
//! `block_on` (and shutdown) record their executor's core in a thread-local for as long as they
//! run. Three things look it up:
//!
//! - [`schedule`]: a woken task whose executor is the one running here goes straight into the
//!   local run queue. So does one whose executor belongs to this thread but is not running
//!   right now (found through `Shared::owner_core`). Any other wake — from another thread, or
//!   after the executor is gone — goes through its executor's remote queue (which, once the
//!   executor has closed, just releases the reference).
//! - the free function `spawn`, which spawns on the running executor;
//! - `Sleep`'s first poll, which registers with the running executor's timer.

use crate::core::Core;
use crate::shared::Shared;
use crate::task::TaskRef;
use std::cell::Cell;
use std::ptr;

#[cfg(not(loom))]
std::thread_local! {
    static CURRENT: Cell<*const Core> = const { Cell::new(ptr::null()) };
}

#[cfg(loom)]
loom::thread_local! {
    static CURRENT: Cell<*const Core> = Cell::new(ptr::null());
}

/// Restores the previous value of `CURRENT` when dropped (also on unwind).
pub(crate) struct Enter {
    prev: *const Core,
}

impl Drop for Enter {
    fn drop(&mut self) {
        let _ = CURRENT.try_with(|c| c.set(self.prev));
    }
}

fn current_ptr() -> *const Core {
    CURRENT.try_with(Cell::get).unwrap_or(ptr::null())
}

/// Marks `core` as running on this thread until the guard drops. `block_on` first checks that
/// nothing is running ([`is_running`]); shutdown may nest inside another executor's run.
pub(crate) fn enter(core: &Core) -> Enter {
    let prev = CURRENT.with(|c| c.replace(core));
    Enter { prev }
}

/// Is any executor running on this thread?
pub(crate) fn is_running() -> bool {
    !current_ptr().is_null()
}

/// Calls `f` with the executor running on this thread, if any.
pub(crate) fn with_current<R>(f: impl FnOnce(Option<&Core>) -> R) -> R {
    let core = current_ptr();
    // SAFETY: `CURRENT` holds a non-null pointer only between `enter` and the drop of its guard,
    // and the caller of `enter` keeps the core alive for that whole time; we are on that thread.
    f(unsafe { core.as_ref() })
}

/// Queues a woken task. The caller hands over the queue entry's reference (R2) and has set
/// `SCHEDULED`.
pub(crate) fn schedule(task: TaskRef) {
    let task = with_current(|core| match core {
        Some(core) if core.owns_header(task.header()) => {
            core.push_local(task);
            None
        }
        _ => Some(task),
    });
    let Some(task) = task else { return };
    if let Some(core) = Core::owner_of(&task.header().shared) {
        // SAFETY: `owner_core` returned it on this thread, just now: see its docs for why the
        // core is alive and its local queue is ours to push onto.
        unsafe { core.as_ref() }.push_local(task);
        return;
    }
    let shared = task.header().shared.clone();
    Shared::push_remote(shared, task);
}
