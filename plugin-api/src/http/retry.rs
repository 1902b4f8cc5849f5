//! When to try again: exponential backoff with jitter, and the `Retry-After` header.

use std::time::{Duration, SystemTime};

use rand::Rng;

/// Exponential backoff: `initial · 2^attempt`, capped, then "equal jitter" — a random point
/// in the upper half — so that threads (and gallra instances) that failed together do not
/// retry together.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Backoff {
    pub(crate) initial: Duration,
    pub(crate) max: Duration,
}

impl Backoff {
    /// The delay before retry number `attempt + 1` (attempt counts from 0).
    pub(crate) fn delay(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.min(20));
        let full = self.initial.saturating_mul(factor).min(self.max);
        let half = full / 2;
        half + rand::rng().random_range(Duration::ZERO..=full - half)
    }
}

/// Parses a `Retry-After` value: delta-seconds (`120`) or an HTTP date
/// (`Wed, 21 Oct 2015 07:28:00 GMT`). A date in the past means "now". `None` if it is
/// neither.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A little extra on top of a server-given wait, so that the threads it paused do not all
/// come back in the same millisecond. Never shortens the wait.
pub(crate) fn with_jitter(wait: Duration) -> Duration {
    let extra = (wait / 10).max(Duration::from_millis(10));
    wait + rand::rng().random_range(Duration::ZERO..=extra)
}

/// Whole seconds, rounded up, for [`crate::ConnectorError::Transient::retry_after_secs`].
pub(crate) fn ceil_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds() {
        let now = SystemTime::now();
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("0", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
    }

    #[test]
    fn retry_after_as_http_date() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO),
            "a date in the past means retry now"
        );
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered_within_the_upper_half() {
        let backoff = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        for _ in 0..100 {
            let first = backoff.delay(0);
            assert!((Duration::from_millis(50)..=Duration::from_millis(100)).contains(&first));
            let third = backoff.delay(2);
            assert!((Duration::from_millis(200)..=Duration::from_millis(400)).contains(&third));
            let late = backoff.delay(30);
            assert!((Duration::from_millis(500)..=Duration::from_secs(1)).contains(&late));
        }
    }

    #[test]
    fn jitter_never_shortens_and_seconds_round_up() {
        let wait = Duration::from_millis(1500);
        assert!(with_jitter(wait) >= wait);
        assert_eq!(ceil_secs(wait), 2);
        assert_eq!(ceil_secs(Duration::from_secs(3)), 3);
    }
}
