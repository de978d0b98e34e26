//! The clock every deadline is measured on: nanoseconds since one process-wide epoch, in a `u64`.
//!
//! A `Sleep` stores its deadline in 8 bytes this way, instead of the 16 of an `Instant`, and the
//! timer wheel turns it into milliseconds with one division. The epoch is the first time anyone
//! asks for the clock.
//!
//! The deadline word:
//!
//! ```text
//!  63   62                                                    0
//! +----+-------------------------------------------------------+
//! | AT |  nanoseconds since the epoch (2^63 ns: 292 years)      |     all ones: NEVER
//! +----+-------------------------------------------------------+
//! ```
//!
//! - A deadline that does not fit in 63 bits is [`NEVER`]: a sleep that long cannot end while
//!   the process runs.
//! - [`AT_ONCE`] marks a deadline that is due at once, whatever the timer has seen:
//!   `sleep(Duration::ZERO)`. The other bits still say when `sleep` was called, so
//!   `Sleep::deadline` reports that moment and not the epoch. Without the mark, a zero-length
//!   sleep would have to wait for the timer to reach the millisecond it was made in (the timer
//!   rounds deadlines up and is only as recent as its last turn), or its first poll would have to
//!   read the clock, which no poll does.
//!
//! [`due`] decodes the word.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The deadline of a sleep that never ends.
pub(crate) const NEVER: u64 = u64::MAX;

/// The mark of a deadline due at once (see the module docs). Also the clock's range: a deadline
/// at or past it is [`NEVER`].
pub(crate) const AT_ONCE: u64 = 1 << 63;

/// When a deadline is due, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Due {
    /// Never ([`NEVER`]).
    Never,
    /// At once ([`AT_ONCE`]).
    AtOnce,
    /// At this wheel tick, the first at or after the deadline (rounded up: a timer never
    /// fires early).
    AtTick(u64),
}

/// Decodes a deadline word.
pub(crate) fn due(deadline: u64) -> Due {
    if deadline == NEVER {
        Due::Never
    } else if deadline & AT_ONCE != 0 {
        Due::AtOnce
    } else {
        Due::AtTick(tick_at_or_after(deadline))
    }
}

/// Nanoseconds in one tick of the timer wheel (a millisecond).
pub(crate) const NANOS_PER_TICK: u64 = 1_000_000;

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Now, in nanoseconds since the epoch.
pub(crate) fn now() -> u64 {
    let epoch = epoch();
    // Saturates below `AT_ONCE`: the process would have to run for 292 years.
    u64::try_from(Instant::now().saturating_duration_since(epoch).as_nanos())
        .map_or(AT_ONCE - 1, |nanos| nanos.min(AT_ONCE - 1))
}

/// `duration` from now, or [`NEVER`] if that is past the clock's range. A zero duration is due
/// at once: now, marked [`AT_ONCE`].
pub(crate) fn deadline_after(duration: Duration) -> u64 {
    let now = now();
    if duration.is_zero() {
        return now | AT_ONCE;
    }
    u64::try_from(duration.as_nanos())
        .ok()
        .and_then(|nanos| now.checked_add(nanos))
        .filter(|&deadline| deadline < AT_ONCE)
        .unwrap_or(NEVER)
}

/// The `Instant` of a deadline; `None` for [`NEVER`] (or one `Instant` cannot represent).
pub(crate) fn to_instant(deadline: u64) -> Option<Instant> {
    if deadline == NEVER {
        return None;
    }
    epoch().checked_add(Duration::from_nanos(deadline & !AT_ONCE))
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
    fn a_zero_sleep_is_due_at_once_and_its_deadline_is_now() {
        let before = Instant::now();
        let deadline = deadline_after(Duration::ZERO);
        let after = Instant::now();
        assert_eq!(due(deadline), Due::AtOnce);
        let instant = to_instant(deadline).unwrap();
        // `Instant`s round-trip through nanoseconds since the epoch exactly.
        assert!(
            before <= instant && instant <= after,
            "{instant:?} not in [{before:?}, {after:?}]"
        );
    }

    #[test]
    fn a_deadline_past_63_bits_never_ends() {
        assert_eq!(deadline_after(Duration::from_nanos(AT_ONCE)), NEVER);
        assert_eq!(due(NEVER), Due::Never);
        assert_eq!(
            due(AT_ONCE - 1),
            Due::AtTick((AT_ONCE - 1).div_ceil(NANOS_PER_TICK))
        );
        assert_eq!(due(0), Due::AtTick(0));
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
