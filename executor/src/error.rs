//! `JoinError`: why a task produced no output.
//!
//! Cancellation is an outcome, not a crash: a cancelled task's `JoinHandle` yields
//! `Err(e)` with `e.is_cancelled()`. A panic in the task's `poll` or in its future's destructor
//! is caught on the executor thread and delivered the same way, with `e.is_panic()`; the payload
//! can be taken back with [`JoinError::into_panic`] (e.g. to `std::panic::resume_unwind`).
//!
//! A `JoinError` is `Send + Sync`, so `?` turns it into a `Box<dyn Error + Send + Sync>` (or an
//! `anyhow::Error`). A panic payload is only `Send`; the error is `Sync` anyway because a shared
//! reference to it reaches the payload only as a `&str` or a `&String`, which are `Sync`
//! ([`SyncPayload`], the same argument as tokio's `SyncWrapper`).

use std::any::Any;
use std::fmt;

/// A caught panic's payload.
pub(crate) type Payload = Box<dyn Any + Send + 'static>;

/// The task ended without an output: it was cancelled, or it panicked.
pub struct JoinError {
    repr: Repr,
}

enum Repr {
    Cancelled,
    Panic(SyncPayload),
}

/// A panic payload behind a type that is `Sync`: through `&SyncPayload` the payload can only be
/// downcast to a type that is itself `Sync`; anything else needs `&mut` or ownership.
struct SyncPayload(Payload);

// SAFETY: `Sync` means a `&SyncPayload` may be used from several threads at once. The only
// thing a `&SyncPayload` gives access to is `downcast_ref`, which returns `&T` only for
// `T: Sync`, and sharing a `&T` between threads is exactly what `T: Sync` permits (the type
// check itself reads only the vtable). The `Box<dyn Any + Send>` inside is never touched through
// a shared reference otherwise; `into_inner` takes the wrapper by value.
unsafe impl Sync for SyncPayload {}

impl SyncPayload {
    fn downcast_ref<T: Any + Sync>(&self) -> Option<&T> {
        self.0.downcast_ref::<T>()
    }

    fn into_inner(self) -> Payload {
        self.0
    }
}

impl JoinError {
    pub(crate) fn cancelled() -> JoinError {
        JoinError {
            repr: Repr::Cancelled,
        }
    }

    pub(crate) fn panic(payload: Payload) -> JoinError {
        JoinError {
            repr: Repr::Panic(SyncPayload(payload)),
        }
    }

    /// The task was cancelled (by `JoinHandle::cancel`, `JoinHandle::cancel_now` or executor
    /// shutdown) before it finished.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// The task's `poll`, or its future's destructor, panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// The panic payload, or `Err(self)` if the task was cancelled.
    pub fn into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(payload) => Ok(payload.into_inner()),
            Repr::Cancelled => Err(self),
        }
    }

    fn panic_message(&self) -> Option<&str> {
        let Repr::Panic(payload) = &self.repr else {
            return None;
        };
        payload
            .downcast_ref::<&'static str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.repr, self.panic_message()) {
            (Repr::Cancelled, _) => f.write_str("task was cancelled"),
            (Repr::Panic(_), Some(message)) => write!(f, "task panicked: {message}"),
            (Repr::Panic(_), None) => f.write_str("task panicked"),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.repr, self.panic_message()) {
            (Repr::Cancelled, _) => f.write_str("JoinError::Cancelled"),
            (Repr::Panic(_), Some(message)) => write!(f, "JoinError::Panic({message:?})"),
            (Repr::Panic(_), None) => f.write_str("JoinError::Panic(..)"),
        }
    }
}

impl std::error::Error for JoinError {}
