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

pub mod copper;
pub mod epp;
pub mod fortnox;
pub mod imap;
pub mod mailchimp;
pub mod rest;
pub mod whmcs;
pub mod zendesk;
