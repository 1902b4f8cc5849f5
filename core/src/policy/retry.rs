//! When a task that failed for now is tried again: the one backoff rule of every engine.

use std::time::Duration;

/// Attempts of a transiently failing task before a person is told. Counting attempts alone
/// never makes a transient error final: a connector task then waits for a person
/// (`gallra task retry`, `gallra task done`, `gallra request cancel`), and a notice keeps
/// being tried every [`MAX_BACKOFF`].
pub const MAX_ATTEMPTS: u32 = 10;

/// The longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(6 * 3600);

/// The wait before attempt `attempts + 1`: `base` doubled per attempt, capped at
/// [`MAX_BACKOFF`], then scaled by `jitter` (the caller's random number in `[0, 1)`) to
/// between 80% and 120%, so that many tasks failing together do not retry together.
pub fn backoff(base: Duration, attempts: u32, jitter: f64) -> Duration {
    let exponential = base
        .saturating_mul(1u32 << attempts.min(20))
        .min(MAX_BACKOFF);
    exponential.mul_f64(0.8 + jitter.clamp(0.0, 1.0) * 0.4)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: Duration = Duration::from_secs(30);

    #[test]
    fn the_wait_doubles_per_attempt_within_a_fifth_either_way() {
        assert_eq!(backoff(BASE, 0, 0.5), BASE);
        assert_eq!(backoff(BASE, 3, 0.5), BASE * 8);
        assert_eq!(backoff(BASE, 3, 0.0), (BASE * 8).mul_f64(0.8));
        assert_eq!(backoff(BASE, 3, 1.0), (BASE * 8).mul_f64(1.2));
    }

    #[test]
    fn the_wait_never_exceeds_the_cap_however_many_attempts() {
        assert_eq!(backoff(BASE, 40, 0.5), MAX_BACKOFF);
        assert!(backoff(Duration::MAX, 0, 1.0) <= MAX_BACKOFF.mul_f64(1.2));
    }
}
