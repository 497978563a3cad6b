//! Retry policy: which failures are retried, exponential backoff with full jitter, and
//! `Retry-After` (seconds or HTTP-date).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng;
use reqwest::Method;

use crate::error::TransportKind;

/// How often and how patiently requests are retried. A plain value so tests can use
/// [`RetryPolicy::immediate`].
///
/// - GET is retried on connect errors, timeouts, 408, 429, 418 and 5xx.
/// - POST/PUT/DELETE are retried only when the request certainly was not processed:
///   a connect error (never sent), 429 or 418.
///
/// The delay before retry `n` is a random duration in `[0, min(max_delay, base_delay * 2^(n-1))]`
/// (full jitter), unless the server sent `Retry-After`, which is honoured up to `max_retry_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (default 5, so at most 6 attempts).
    pub max_retries: u32,
    /// Backoff base (default 500 ms).
    pub base_delay: Duration,
    /// Backoff ceiling (default 30 s).
    pub max_delay: Duration,
    /// Longest `Retry-After` the client will wait (default 120 s); longer values are capped.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// No retries at all: one attempt per request.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// `max_retries` retries with zero backoff, for tests. A server's `Retry-After` is still
    /// honoured (capped by the default `max_retry_after`); set `max_retry_after` to zero to ignore it.
    pub fn immediate(max_retries: u32) -> Self {
        Self {
            max_retries,
            base_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
            ..Self::default()
        }
    }

    /// Total attempts allowed per request (`max_retries + 1`).
    pub fn max_attempts(&self) -> u32 {
        self.max_retries.saturating_add(1)
    }

    /// The upper bound of the jittered backoff before retry number `retry` (1-based).
    pub fn backoff_ceiling(&self, retry: u32) -> Duration {
        let exponent = retry.saturating_sub(1).min(31);
        let factor = 1u32 << exponent;
        self.base_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// The delay before retry number `retry` (1-based): `Retry-After` if the server sent one
    /// (capped by `max_retry_after`), otherwise full-jitter exponential backoff.
    pub fn delay_before_retry(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        match retry_after {
            Some(server_delay) => server_delay.min(self.max_retry_after),
            None => {
                let ceiling = self.backoff_ceiling(retry);
                if ceiling.is_zero() {
                    Duration::ZERO
                } else {
                    rand::rng().random_range(Duration::ZERO..=ceiling)
                }
            }
        }
    }
}

/// Whether the method is safe to repeat blindly.
fn is_idempotent_read(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether a response with this status should be retried for this method.
pub(crate) fn status_is_retryable(method: &Method, status: u16) -> bool {
    match status {
        // The server did not process the request: safe for any method.
        429 | 418 => true,
        408 | 500..=599 => is_idempotent_read(method),
        _ => false,
    }
}

/// Whether a transport failure should be retried for this method.
pub(crate) fn transport_error_is_retryable(method: &Method, kind: TransportKind) -> bool {
    kind == TransportKind::Connect || is_idempotent_read(method)
}

/// Parses a `Retry-After` header value: delay-seconds or an HTTP-date (IMF-fixdate, RFC 850
/// or asctime). A date in the past gives zero. Returns `None` for anything unparseable.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(
            value.parse::<u64>().unwrap_or(u64::MAX),
        ));
    }
    let at = parse_http_date(value)?;
    let now_secs = now.duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(at.saturating_sub(now_secs)))
}

/// Seconds since the Unix epoch for an HTTP-date (RFC 9110 §5.6.7).
fn parse_http_date(value: &str) -> Option<u64> {
    let parts: Vec<&str> = value.split_whitespace().collect();
    let (day, month, year, time) = match parts.as_slice() {
        // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
        [weekday, day, month, year, time, "GMT"] if weekday.ends_with(',') => {
            (day.parse().ok()?, *month, year.parse().ok()?, *time)
        }
        // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
        [weekday, date, time, "GMT"] if weekday.ends_with(',') => {
            let mut fields = date.split('-');
            let day = fields.next()?.parse().ok()?;
            let month = fields.next()?;
            let short_year: u64 = fields.next()?.parse().ok()?;
            let year = if short_year < 70 {
                2000 + short_year
            } else if short_year < 100 {
                1900 + short_year
            } else {
                short_year
            };
            (day, month, year, *time)
        }
        // asctime: Sun Nov  6 08:49:37 1994
        [_weekday, month, day, time, year] => {
            (day.parse().ok()?, *month, year.parse().ok()?, *time)
        }
        _ => return None,
    };
    let month = match month {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let mut clock = time.split(':');
    let hour: u64 = clock.next()?.parse().ok()?;
    let minute: u64 = clock.next()?.parse().ok()?;
    let second: u64 = clock.next()?.parse().ok()?;
    if clock.next().is_some()
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
        || year < 1970
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3_600 + minute * 60 + second)
}

/// Days since 1970-01-01 for a proleptic Gregorian date (year >= 1970).
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let (year, month) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = year / 400;
    let year_of_era = year - era * 400;
    let day_of_year = (153 * month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_product_contract() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.max_retries, 5);
        assert_eq!(policy.max_attempts(), 6);
        assert_eq!(policy.base_delay, Duration::from_millis(500));
        assert_eq!(policy.max_delay, Duration::from_secs(30));
        assert_eq!(policy.max_retry_after, Duration::from_secs(120));
        assert_eq!(RetryPolicy::none().max_attempts(), 1);
    }

    #[test]
    fn backoff_doubles_up_to_the_ceiling() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.backoff_ceiling(1), Duration::from_millis(500));
        assert_eq!(policy.backoff_ceiling(2), Duration::from_secs(1));
        assert_eq!(policy.backoff_ceiling(4), Duration::from_secs(4));
        assert_eq!(policy.backoff_ceiling(7), Duration::from_secs(30));
        assert_eq!(policy.backoff_ceiling(u32::MAX), Duration::from_secs(30));
    }

    #[test]
    fn jittered_delay_stays_within_the_ceiling() {
        let policy = RetryPolicy::default();
        for retry in 1..10 {
            let delay = policy.delay_before_retry(retry, None);
            assert!(delay <= policy.backoff_ceiling(retry), "{delay:?}");
        }
        assert_eq!(
            RetryPolicy::immediate(3).delay_before_retry(3, None),
            Duration::ZERO
        );
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let policy = RetryPolicy::immediate(3);
        assert_eq!(
            policy.delay_before_retry(1, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
        assert_eq!(
            policy.delay_before_retry(1, Some(Duration::from_secs(99_999))),
            Duration::from_secs(120)
        );
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_770); // Sun, 06 Nov 1994 08:49:30 GMT
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_retry_after("Sunday, 06-Nov-94 08:49:40 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Sun Nov  6 08:49:37 1994", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_retry_after("Sat, 05 Nov 1994 08:49:37 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("", now), None);
        assert_eq!(
            parse_retry_after("Sun, 06 Foo 1994 08:49:37 GMT", now),
            None
        );
    }

    #[test]
    fn days_from_civil_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2024, 2, 29), 19_782);
    }

    #[test]
    fn which_failures_are_retried() {
        assert!(status_is_retryable(&Method::GET, 503));
        assert!(status_is_retryable(&Method::GET, 408));
        assert!(status_is_retryable(&Method::GET, 429));
        assert!(status_is_retryable(&Method::GET, 418));
        assert!(!status_is_retryable(&Method::GET, 404));
        assert!(!status_is_retryable(&Method::POST, 503));
        assert!(!status_is_retryable(&Method::POST, 500));
        assert!(!status_is_retryable(&Method::PUT, 408));
        assert!(status_is_retryable(&Method::POST, 429));
        assert!(status_is_retryable(&Method::DELETE, 418));
        assert!(transport_error_is_retryable(
            &Method::POST,
            TransportKind::Connect
        ));
        assert!(!transport_error_is_retryable(
            &Method::POST,
            TransportKind::Timeout
        ));
        assert!(!transport_error_is_retryable(
            &Method::PUT,
            TransportKind::Other
        ));
        assert!(transport_error_is_retryable(
            &Method::GET,
            TransportKind::Timeout
        ));
        assert!(transport_error_is_retryable(
            &Method::GET,
            TransportKind::Other
        ));
    }
}
