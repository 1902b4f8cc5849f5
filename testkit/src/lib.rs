//! Local test servers for gallra's connectors.
//!
//! Each module reproduces one real system as `../shared/connectors.md` documents it — its
//! endpoints, status codes, pagination, rate-limit answers and deletion quirks — so that a
//! connector can be tested, and pass the conformance suite, without the vendor. The tests
//! of the connector crates and the end-to-end tests of `gallra-e2e` share them.

pub mod connector;
pub mod rate_limit;
pub mod secrets;
pub mod server;
pub mod smtp_sink;

pub mod copper;
pub mod epp;
pub mod fortnox;
pub mod imap;
pub mod mailchimp;
pub mod rest;
pub mod whmcs;
pub mod zendesk;

use std::sync::atomic::{AtomicU32, Ordering};

/// A name no other test, thread or process is using at the same time: `prefix`, the process
/// id, a counter and the clock's nanoseconds, joined by `separator` (`'_'` where the name
/// must be a bare SQL identifier, as a schema or database name).
pub fn unique_name(prefix: &str, separator: char) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let count = NEXT.fetch_add(1, Ordering::Relaxed);
    let process = std::process::id();
    format!("{prefix}{separator}{process}{separator}{count}{separator}{nanos}")
}
