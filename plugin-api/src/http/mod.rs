//! The connector kit for HTTP APIs (feature `http`).
//!
//! Every SaaS connector needs the same things, and gets them wrong in the same ways: a
//! timeout, retries that back off, respect for `Retry-After`, a rate limit shared by all
//! threads, and errors that do not leak the email in the URL. This module does them once.
//!
//! - [`HttpSettings`]: the `http` table of a connector's settings (timeout, retries, rate).
//! - [`Secret`]: a credential read from a file, redacted in `Debug` and `Display`.
//! - [`HttpClient`] and [`RequestBuilder`]: a blocking client; [`RequestBuilder::send`]
//!   documents exactly which answers are retried and how each status maps to a
//!   [`ConnectorError`](crate::ConnectorError). [`RequestBuilder::accept`] hands a status
//!   the connector gives its own meaning back as an answer (never match an error's text);
//!   [`RequestBuilder::no_retry`] keeps a non-idempotent POST from being sent twice.
//! - [`Response`]: status, headers, and a body that decodes with PII-free errors.
//! - [`pagination`]: iterators over page-number, offset and cursor listings that treat a
//!   short or failed page as an error, never as the end of the data; and
//!   [`until_short_page`] for listings whose only end marker is a short page.
//!
//! `guide` (with feature `conformance` too) is a complete connector built on the kit,
//! with its test server and its conformance test.
//!
//! ## What to watch out for
//!
//! Label every request with [`RequestBuilder::endpoint`] (`"GET /users/{id}"`): that label,
//! the system name and the status are all the kit ever puts in an error or a log line. And
//! build URLs from subject data with [`join_url`], which percent-encodes each segment, or
//! [`path_segment`] for a path written as a template.

#![deny(missing_docs)]

mod client;
#[cfg(feature = "conformance")]
pub mod guide;
mod limiter;
pub mod pagination;
mod request;
mod response;
mod retry;
mod secret;
mod settings;
#[cfg(test)]
mod tests;

pub use client::{join_url, path_segment, HttpClient};
pub use request::RequestBuilder;
pub use response::Response;
pub use secret::Secret;
pub use settings::HttpSettings;

pub use pagination::{
    by_cursor, by_offset, by_page_number, until_short_page, CursorPage, NumberedPage, OffsetPage,
};

/// HTTP methods (re-exported from reqwest).
pub use reqwest::Method;
/// HTTP status codes (re-exported from reqwest).
pub use reqwest::StatusCode;
