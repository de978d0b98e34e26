//! The clock every deadline is measured on: nanoseconds since one process-wide epoch, in a `u64`.
//!
//! A `Sleep` stores its deadline in 8 bytes this way, instead of the 16 of an `Instant`, and the
//! timer wheel turns it into milliseconds with one division. The epoch is the first time anyone
//! asks for the clock; 2^64 nanoseconds after it is 584 years later, so a deadline that does not
//! fit is [`NEVER`]: a sleep that long cannot end while the process runs.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The deadline of a sleep that never ends.
pub(crate) const NEVER: u64 = u64::MAX;

/// Nanoseconds in one tick of the timer wheel (a millisecond).
pub(crate) const NANOS_PER_TICK: u64 = 1_000_000;

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Now, in nanoseconds since the epoch.
pub(crate) fn now() -> u64 {
    let epoch = epoch();
    // Saturates well before `NEVER`: the process would have to run for 584 years.
    u64::try_from(Instant::now().saturating_duration_since(epoch).as_nanos()).unwrap_or(NEVER - 1)
}

/// `duration` from now, or [`NEVER`] if that is past the clock's range. A zero duration is due
/// at once: its deadline is the epoch itself, and reading the clock is skipped.
pub(crate) fn deadline_after(duration: Duration) -> u64 {
    if duration.is_zero() {
        return 0;
    }
    u64::try_from(duration.as_nanos())
        .ok()
        .and_then(|nanos| now().checked_add(nanos))
        .filter(|&deadline| deadline != NEVER)
        .unwrap_or(NEVER)
}

/// The `Instant` of a deadline; `None` for [`NEVER`] (or one `Instant` cannot represent).
pub(crate) fn to_instant(deadline: u64) -> Option<Instant> {
    if deadline == NEVER {
        return None;
    }
    epoch().checked_add(Duration::from_nanos(deadline))
}

/// The first wheel tick at or after `deadline` (rounded up: a timer never fires early).
pub(crate) fn tick_at_or_after(deadline: u64) -> u64 {
    deadline.div_ceil(NANOS_PER_TICK)
}

/// The wheel tick that `now` lies in (rounded down: only ticks fully passed are due).
pub(crate) fn tick_of(now: u64) -> u64 {
    now / NANOS_PER_TICK
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn deadlines_round_up_to_ticks_and_now_rounds_down() {
        assert_eq!(tick_at_or_after(0), 0);
        assert_eq!(tick_at_or_after(1), 1);
        assert_eq!(tick_at_or_after(NANOS_PER_TICK), 1);
        assert_eq!(tick_at_or_after(NANOS_PER_TICK + 1), 2);
        assert_eq!(tick_of(NANOS_PER_TICK - 1), 0);
        assert_eq!(tick_of(NANOS_PER_TICK), 1);
        // So a tick that `now` has reached never holds a deadline still in the future.
        for deadline in [1, 999_999, 1_000_000, 1_000_001, 123_456_789] {
            let now = tick_at_or_after(deadline) * NANOS_PER_TICK;
            assert!(now >= deadline);
        }
    }

    #[test]
    fn huge_durations_never_end_and_round_trip_through_instant() {
        assert_eq!(deadline_after(Duration::MAX), NEVER);
        assert_eq!(deadline_after(Duration::from_secs(u64::MAX / 4)), NEVER);
        assert_eq!(to_instant(NEVER), None);
        let d = deadline_after(Duration::from_millis(5));
        let instant = to_instant(d).unwrap();
        assert!(instant > Instant::now() - Duration::from_millis(1));
    }
}
