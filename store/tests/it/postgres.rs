//! The PostgreSQL backend against the server at 127.0.0.1:5432 (user `postgres`, trust,
//! database `test`): the whole conformance suite, each case in a fresh schema, and what only
//! a shared server can show (nodes racing, a runtime around the caller, a restarted server).
//!
//! Without the server the tests print `SKIPPED: …` and pass, unless `GALLRA_REQUIRE_SERVERS=1`.

mod claims;
mod concurrency;
mod conformance;
mod copy;
mod server;
