//! The per-system request gate: a token bucket plus a pause that a `Retry-After` imposes on
//! every thread of the client.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How much slower than configured the bucket refills. The vendor counts requests when they
/// arrive, and arrival times wobble with the network and the scheduler; 3% of a second is
/// room for that wobble, so a window of the vendor's never sees one request too many.
const SAFETY_MARGIN: f64 = 0.97;

/// Shared by all clones of one [`super::HttpClient`].
#[derive(Debug)]
pub(crate) struct Limiter {
    state: Mutex<State>,
    bucket: Option<Bucket>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Tokens per second.
    rate: f64,
    capacity: f64,
}

#[derive(Debug)]
struct State {
    tokens: f64,
    refilled_at: Instant,
    /// No request leaves before this instant (set by a 429 or 503 with `Retry-After`).
    paused_until: Option<Instant>,
}

impl Limiter {
    pub(crate) fn new(rate_per_sec: Option<f64>, burst: Option<u32>) -> Self {
        let bucket = rate_per_sec.map(|rate| Bucket {
            rate: rate * SAFETY_MARGIN,
            capacity: f64::from(burst.unwrap_or(1).max(1)),
        });
        Self {
            state: Mutex::new(State {
                tokens: bucket.map_or(0.0, |b| b.capacity),
                refilled_at: Instant::now(),
                paused_until: None,
            }),
            bucket,
        }
    }

    /// Blocks until a request may leave, and takes its token.
    pub(crate) fn acquire(&self) {
        loop {
            let wait = self.try_acquire(Instant::now());
            match wait {
                None => return,
                Some(wait) => std::thread::sleep(wait),
            }
        }
    }

    /// Takes a token and returns `None`, or returns how long to wait before trying again.
    fn try_acquire(&self, now: Instant) -> Option<Duration> {
        // A poisoned lock only means another thread panicked mid-update of plain numbers.
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(until) = state.paused_until {
            if until > now {
                return Some(until - now);
            }
            state.paused_until = None;
        }
        // No bucket: nothing to wait for.
        let bucket = self.bucket?;
        let elapsed = now
            .saturating_duration_since(state.refilled_at)
            .as_secs_f64();
        state.tokens = (state.tokens + elapsed * bucket.rate).min(bucket.capacity);
        state.refilled_at = now;
        if state.tokens >= 1.0 {
            state.tokens -= 1.0;
            None
        } else {
            let missing = 1.0 - state.tokens;
            Some(Duration::from_secs_f64(missing / bucket.rate).max(Duration::from_micros(100)))
        }
    }

    /// Holds every request of this client back until `until` (never shortens a pause).
    pub(crate) fn pause_until(&self, until: Instant) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.paused_until.is_none_or(|current| current < until) {
            state.paused_until = Some(until);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlimited_never_waits() {
        let limiter = Limiter::new(None, None);
        let now = Instant::now();
        for _ in 0..1000 {
            assert_eq!(limiter.try_acquire(now), None);
        }
    }

    #[test]
    fn bucket_admits_burst_then_one_per_interval() {
        let limiter = Limiter::new(Some(10.0), Some(3));
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.try_acquire(start), None);
        }
        let wait = limiter.try_acquire(start).expect("bucket empty");
        assert!(wait >= Duration::from_millis(100), "{wait:?}");
        assert_eq!(limiter.try_acquire(start + wait), None);
    }

    #[test]
    fn pause_holds_everyone_back() {
        let limiter = Limiter::new(None, None);
        let now = Instant::now();
        limiter.pause_until(now + Duration::from_secs(2));
        limiter.pause_until(now + Duration::from_secs(1));
        assert_eq!(
            limiter.try_acquire(now),
            Some(Duration::from_secs(2)),
            "a shorter pause must not cut a longer one"
        );
        assert_eq!(limiter.try_acquire(now + Duration::from_secs(2)), None);
    }
}
