//! When the next cycle starts, and whether the reconciler is healthy: pure functions of the
//! interval, the failures so far and the instants given (no clock of their own, so the tests
//! give them the instants).

use std::time::{Duration, Instant};

/// How many intervals without a successful cycle make `/healthz` answer 503.
pub const UNHEALTHY_AFTER_INTERVALS: u32 = 3;

/// The longest wait between two attempts after failures: 5 minutes (or the interval, when it
/// is longer).
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(300);

/// The first retry after a failure waits at most this long (less when the interval is shorter).
pub const FIRST_RETRY_DELAY: Duration = Duration::from_secs(5);

/// The wait before the next attempt after `consecutive_failures` failed cycles in a row
/// (at least 1): capped exponential backoff. It starts at the interval or 5 s, whichever is
/// shorter, doubles with each failure and stops growing at ten intervals or 5 minutes,
/// whichever is shorter (but never below the interval).
///
/// With a 60 s interval: 5 s, 10 s, 20 s, 40 s, 80 s, 160 s, 300 s, 300 s, ...
pub fn retry_delay(interval: Duration, consecutive_failures: u32) -> Duration {
    let first = interval.min(FIRST_RETRY_DELAY);
    let cap = interval
        .saturating_mul(10)
        .min(MAX_RETRY_DELAY)
        .max(interval);
    let doublings = consecutive_failures.saturating_sub(1).min(30);
    first.saturating_mul(1 << doublings).min(cap)
}

/// Whether the reconciler is healthy at `now`: its last successful cycle started less than
/// [`UNHEALTHY_AFTER_INTERVALS`] intervals ago. Never healthy before a first success.
pub fn is_healthy(last_success: Option<Instant>, interval: Duration, now: Instant) -> bool {
    last_success.is_some_and(|success| {
        now.saturating_duration_since(success) < interval.saturating_mul(UNHEALTHY_AFTER_INTERVALS)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_a_cap() {
        let minute = Duration::from_secs(60);
        let delays: Vec<u64> = (1..=9)
            .map(|failures| retry_delay(minute, failures).as_secs())
            .collect();
        assert_eq!(delays, [5, 10, 20, 40, 80, 160, 300, 300, 300]);
        let short = Duration::from_millis(200);
        let delays: Vec<u128> = (1..=6)
            .map(|failures| retry_delay(short, failures).as_millis())
            .collect();
        assert_eq!(delays, [200, 400, 800, 1600, 2000, 2000]);
        let hour = Duration::from_secs(3600);
        assert_eq!(retry_delay(hour, 1), Duration::from_secs(5));
        assert_eq!(retry_delay(hour, 40), hour, "never below the interval");
        assert_eq!(retry_delay(minute, u32::MAX), Duration::from_secs(300));
    }

    #[test]
    fn health_needs_a_success_younger_than_three_intervals() {
        let interval = Duration::from_secs(10);
        let start = Instant::now();
        assert!(!is_healthy(None, interval, start));
        assert!(is_healthy(Some(start), interval, start));
        assert!(is_healthy(
            Some(start),
            interval,
            start + Duration::from_millis(29_999)
        ));
        assert!(!is_healthy(
            Some(start),
            interval,
            start + Duration::from_secs(30)
        ));
    }
}
