//! The three REST APIs the erasures go to, and what their own request logs say afterwards.
//!
//! Each is `gallra_testkit::rest::RestApi` behind its `RateLimit`: at most 200 requests in
//! any sliding second, 429 with `Retry-After: 1` above it, and 20 ms before every answer.
//! The limit logs every arrival with the status it was answered with, which is enough to
//! tell the requests apart on this API: a lookup (`GET /v1/users?email=`) answers 200, a
//! delete of a user that was there 204, and a delete of one already gone 404.

use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use gallra_testkit::rate_limit::RateLimit;
use gallra_testkit::rest::{Options, RestApi};

/// The limit each API enforces, in requests per second.
pub const LIMIT_PER_SEC: usize = 200;
/// How long each API takes to answer.
pub const LATENCY: Duration = Duration::from_millis(20);
/// The systems, as named in gallra.toml.
pub const NAMES: [&str; 3] = ["shop", "helpdesk", "newsletter"];

/// One running API and its name in gallra.toml.
pub struct Api {
    pub name: &'static str,
    pub rest: RestApi,
    limit: RateLimit,
    /// Requests it admits in any second.
    per_sec: usize,
}

/// Starts the three APIs, each holding `users` users `user<id>@example.test`, ids 1 to
/// `users` (the ids the account source gives the same customers).
pub fn start(users: usize) -> Result<Vec<Api>> {
    start_with(users, LATENCY, LIMIT_PER_SEC)
}

/// [`start`], answering after `latency` and admitting `per_sec` requests in any second.
pub fn start_with(users: usize, latency: Duration, per_sec: usize) -> Result<Vec<Api>> {
    NAMES
        .iter()
        .map(|&name| {
            let limit = RateLimit::per_second(per_sec).retry_after(Some(1));
            let rest = RestApi::start_with(Options {
                rate_limit: Some(limit.clone()),
                latency,
                ..Options::default()
            });
            let ids = rest.add_users(users);
            ensure!(
                ids.first() == Some(&1) && ids.len() == users,
                "{name}: the API did not number its users 1 to {users}"
            );
            Ok(Api {
                name,
                rest,
                limit,
                per_sec,
            })
        })
        .collect()
}

/// What one API's log says about a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    /// Admitted requests answered 200 (lookups).
    pub lookups: usize,
    /// Admitted requests answered 204 (a user deleted).
    pub deleted: usize,
    /// Admitted requests answered anything else (404: a user deleted twice), by status.
    pub other: Vec<u16>,
    /// Requests answered 429.
    pub rejected: usize,
    /// The most requests admitted within any one second.
    pub max_per_second: usize,
    /// Users still there.
    pub left: usize,
    /// From the first admitted request to the last.
    pub span: Duration,
}

impl Tally {
    /// Requests the API admitted: what the erasures actually needed.
    pub fn admitted(&self) -> usize {
        self.lookups + self.deleted + self.other.len()
    }
}

impl Api {
    /// Reads the API's log.
    pub fn tally(&self) -> Tally {
        let log = self.limit.log();
        let admitted: Vec<_> = log.iter().filter(|a| a.admitted).collect();
        let count = |status: u16| admitted.iter().filter(|a| a.status == status).count();
        let first: Option<Instant> = admitted.first().map(|a| a.at);
        let last: Option<Instant> = admitted.last().map(|a| a.at);
        Tally {
            lookups: count(200),
            deleted: count(204),
            other: admitted
                .iter()
                .map(|a| a.status)
                .filter(|s| !matches!(s, 200 | 204))
                .collect(),
            rejected: self.limit.rejected(),
            max_per_second: self.limit.max_admitted_in_any_second(),
            left: self.rest.user_count(),
            span: match (first, last) {
                (Some(first), Some(last)) => last.duration_since(first),
                _ => Duration::ZERO,
            },
        }
    }

    /// Checks the log against `erasures` erasures carried out exactly once: every user
    /// deleted, each by one DELETE (a second would have been answered 404), one lookup per
    /// erasure at least, no other answer, and never more than the limit in a second.
    pub fn check(&self, erasures: usize) -> Result<Tally> {
        let t = self.tally();
        let name = self.name;
        ensure!(
            t.left == 0,
            "{name}: {} of {erasures} users were not erased (lost)",
            t.left
        );
        ensure!(
            t.deleted == erasures,
            "{name}: {} DELETEs succeeded for {erasures} users",
            t.deleted
        );
        ensure!(
            t.other.is_empty(),
            "{name}: {} requests were answered other than 200/204 (404 is a repeated DELETE): {:?}",
            t.other.len(),
            first_few(&t.other)
        );
        ensure!(
            t.lookups >= erasures,
            "{name}: {} lookups for {erasures} erasures",
            t.lookups
        );
        ensure!(
            t.max_per_second <= self.per_sec,
            "{name}: {} requests admitted within one second",
            t.max_per_second
        );
        Ok(t)
    }

    /// Forgets the log (what came before the timed run).
    pub fn reset(&self) {
        self.limit.reset();
    }
}

fn first_few(statuses: &[u16]) -> &[u16] {
    &statuses[..statuses.len().min(10)]
}

/// Checks every API; the tallies in [`NAMES`] order.
pub fn check_all(apis: &[Api], erasures: usize) -> Result<Vec<Tally>> {
    apis.iter()
        .map(|api| api.check(erasures))
        .collect::<Result<_>>()
        .context("the APIs' own logs")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_or_repeated_erasure_is_caught_from_the_log() {
        let apis = start(3).unwrap();
        let api = &apis[0];
        // Nothing erased: all three users lost.
        let error = api.check(3).unwrap_err().to_string();
        assert!(error.contains("3 of 3 users were not erased"), "{error}");
        // Deleting by hand once each passes; a second DELETE (404) is a repeat.
        for id in 1..=3 {
            assert_eq!(
                send(
                    api,
                    "GET",
                    &format!("/v1/users?email=user{id}%40example.test")
                ),
                200
            );
            assert_eq!(send(api, "DELETE", &format!("/v1/users/{id}")), 204);
        }
        let tally = api.check(3).unwrap();
        assert_eq!((tally.lookups, tally.deleted, tally.admitted()), (3, 3, 6));
        assert_eq!(send(api, "DELETE", "/v1/users/2"), 404);
        let error = api.check(3).unwrap_err().to_string();
        assert!(error.contains("repeated DELETE"), "{error}");
    }

    /// One request with the API's token; its status.
    fn send(api: &Api, method: &str, path: &str) -> u16 {
        use std::io::{Read, Write};
        let addr = api.rest.base_url().trim_start_matches("http://").to_owned();
        let mut stream = std::net::TcpStream::connect(&addr).unwrap();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
            gallra_testkit::rest::TOKEN
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer[9..12].parse().unwrap()
    }
}
