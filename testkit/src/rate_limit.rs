//! [`RateLimit`]: a vendor's request limit as axum middleware, with a log of every arrival
//! so a test can assert "never more than N admitted in any second".
//!
//! It admits at most `max` requests in any sliding `window` (Fortnox: 25 per 5 s) and
//! answers the rest `429 Too Many Requests`, with or without `Retry-After`, as the vendor
//! does.
//!
//! ```
//! use std::time::Duration;
//! use axum::{routing::get, Router};
//! use gallra_testkit::{rate_limit::RateLimit, server::TestServer};
//!
//! let limit = RateLimit::new(25, Duration::from_secs(5)).retry_after(Some(1));
//! let router = limit.apply(Router::new().route("/customers", get(|| async { "[]" })));
//! let server = TestServer::start(router);
//! // … run the connector against server.base_url() …
//! assert!(limit.max_admitted_in(Duration::from_secs(5)) <= 25);
//! ```

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;

/// One request as the limit saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arrival {
    /// When it arrived.
    pub at: Instant,
    /// Whether it was let through (else it was answered 429).
    pub admitted: bool,
    /// The status it was answered with (the handler's, when admitted).
    pub status: u16,
}

/// A sliding-window request limit, shared by clones (clone it before `apply`, keep one to
/// inspect the log).
#[derive(Debug, Clone)]
pub struct RateLimit {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    max: usize,
    window: Duration,
    retry_after: Mutex<Option<u64>>,
    state: Mutex<LimitState>,
}

#[derive(Debug, Default)]
struct LimitState {
    /// Admission times inside the current window.
    recent: VecDeque<Instant>,
    log: Vec<Arrival>,
}

impl RateLimit {
    /// At most `max` requests in any `window`; above it 429 without `Retry-After`.
    pub fn new(max: usize, window: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                max,
                window,
                retry_after: Mutex::new(None),
                state: Mutex::new(LimitState::default()),
            }),
        }
    }

    /// At most `max` requests in any second.
    pub fn per_second(max: usize) -> Self {
        Self::new(max, Duration::from_secs(1))
    }

    /// Answers 429 with `Retry-After: <secs>` (`None`: without the header).
    pub fn retry_after(self, secs: Option<u64>) -> Self {
        *lock(&self.inner.retry_after) = secs;
        self
    }

    /// `router` with this limit in front of every route.
    pub fn apply(&self, router: Router) -> Router {
        router.layer(axum::middleware::from_fn_with_state(
            self.clone(),
            middleware,
        ))
    }

    /// Every request so far, in arrival order.
    pub fn log(&self) -> Vec<Arrival> {
        lock(&self.inner.state).log.clone()
    }

    /// Arrival times of the admitted requests.
    pub fn admitted(&self) -> Vec<Instant> {
        self.log()
            .into_iter()
            .filter(|a| a.admitted)
            .map(|a| a.at)
            .collect()
    }

    /// How many requests were answered 429.
    pub fn rejected(&self) -> usize {
        self.log().iter().filter(|a| !a.admitted).count()
    }

    /// The most admitted requests that arrived within any span shorter than `span`.
    pub fn max_admitted_in(&self, span: Duration) -> usize {
        busiest(&self.admitted(), span)
    }

    /// [`max_admitted_in`](Self::max_admitted_in) one second.
    pub fn max_admitted_in_any_second(&self) -> usize {
        self.max_admitted_in(Duration::from_secs(1))
    }

    /// The shortest gap between an answered-429 request and the next admitted one, over the
    /// whole log: with `Retry-After: n`, a client that honours it never comes back sooner
    /// than `n` seconds.
    pub fn shortest_wait_after_rejection(&self) -> Option<Duration> {
        let log = self.log();
        log.iter()
            .enumerate()
            .filter(|(_, a)| !a.admitted)
            .filter_map(|(i, rejected)| {
                log[i + 1..]
                    .iter()
                    .find(|a| a.admitted)
                    .map(|next| next.at.duration_since(rejected.at))
            })
            .min()
    }

    /// Forgets the log and the window.
    pub fn reset(&self) {
        *lock(&self.inner.state) = LimitState::default();
    }

    /// Admits (and records) a request arriving `now`, or refuses it.
    fn admit(&self, now: Instant) -> Option<usize> {
        let mut state = lock(&self.inner.state);
        while state
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.inner.window)
        {
            state.recent.pop_front();
        }
        let admitted = state.recent.len() < self.inner.max;
        if admitted {
            state.recent.push_back(now);
        }
        state.log.push(Arrival {
            at: now,
            admitted,
            status: 429,
        });
        admitted.then_some(state.log.len() - 1)
    }

    fn record_status(&self, index: usize, status: u16) {
        if let Some(arrival) = lock(&self.inner.state).log.get_mut(index) {
            arrival.status = status;
        }
    }
}

/// The middleware itself, for `router.layer(axum::middleware::from_fn_with_state(limit,
/// middleware))` when [`RateLimit::apply`] does not fit.
pub async fn middleware(State(limit): State<RateLimit>, request: Request, next: Next) -> Response {
    match limit.admit(Instant::now()) {
        Some(index) => {
            let response = next.run(request).await;
            limit.record_status(index, response.status().as_u16());
            response
        }
        None => {
            let mut response =
                (StatusCode::TOO_MANY_REQUESTS, "rate limit exceeded").into_response();
            if let Some(secs) = *lock(&limit.inner.retry_after) {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            response
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// The most of `arrivals` that fall within any `window` (a window holds the times `t` with
/// `first <= t < first + window`), for a test that logs requests itself: "never more than N
/// in any second".
pub fn busiest(arrivals: &[Instant], window: Duration) -> usize {
    let mut times = arrivals.to_vec();
    times.sort();
    let mut most = 0;
    let mut start = 0;
    for end in 0..times.len() {
        while times[end].duration_since(times[start]) >= window {
            start += 1;
        }
        most = most.max(end - start + 1);
    }
    most
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpStream;

    use axum::routing::get;

    use super::*;
    use crate::server::TestServer;

    fn status_of(server: &TestServer) -> (u16, Option<String>) {
        let mut stream = TcpStream::connect(server.addr()).expect("connect");
        write!(
            stream,
            "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let status = answer[9..12].parse().unwrap();
        let retry_after = answer
            .lines()
            .find_map(|l| l.strip_prefix("retry-after: "))
            .map(str::to_owned);
        (status, retry_after)
    }

    #[test]
    fn admits_max_per_window_then_answers_429_with_retry_after() {
        let limit = RateLimit::new(2, Duration::from_secs(60)).retry_after(Some(7));
        let server =
            TestServer::start(limit.apply(Router::new().route("/", get(|| async { "ok" }))));
        assert_eq!(status_of(&server), (200, None));
        assert_eq!(status_of(&server), (200, None));
        assert_eq!(status_of(&server), (429, Some("7".to_owned())));
        let log = limit.log();
        assert_eq!(
            log.iter().map(|a| a.status).collect::<Vec<_>>(),
            [200, 200, 429]
        );
        assert_eq!(limit.rejected(), 1);
        assert_eq!(limit.max_admitted_in_any_second(), 2);
    }

    #[test]
    fn without_retry_after_the_429_has_no_header() {
        let limit = RateLimit::new(0, Duration::from_secs(1));
        let server =
            TestServer::start(limit.apply(Router::new().route("/", get(|| async { "ok" }))));
        assert_eq!(status_of(&server), (429, None));
    }

    #[test]
    fn the_window_slides() {
        let limit = RateLimit::new(1, Duration::from_millis(100));
        let t0 = Instant::now();
        assert!(limit.admit(t0).is_some());
        assert!(limit.admit(t0 + Duration::from_millis(50)).is_none());
        assert!(limit.admit(t0 + Duration::from_millis(100)).is_some());
        assert_eq!(
            limit.shortest_wait_after_rejection(),
            Some(Duration::from_millis(50))
        );
    }

    #[test]
    fn max_admitted_counts_the_densest_span() {
        let limit = RateLimit::new(100, Duration::from_secs(1));
        let t0 = Instant::now();
        for ms in [0, 10, 500, 990, 1000, 1400, 1450, 1480] {
            limit.admit(t0 + Duration::from_millis(ms));
        }
        // [500, 1480] holds 6; [0, 990] holds 4.
        assert_eq!(limit.max_admitted_in_any_second(), 6);
        assert_eq!(limit.max_admitted_in(Duration::from_millis(100)), 3);
    }
}
