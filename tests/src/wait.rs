//! Waiting for what a running daemon does in its own time.

use std::time::{Duration, Instant};

/// Polls `done` every 50 ms until it holds; panics with `what` once `limit` has passed.
pub fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < limit,
            "timed out waiting for {what} ({limit:?})"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
