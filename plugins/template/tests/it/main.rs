//! The connector's tests, in one binary (cargo links each file directly under `tests/` as a
//! binary of its own, and linking is most of a test build): one module a concern.

mod conformance;
mod scan;
mod support;
