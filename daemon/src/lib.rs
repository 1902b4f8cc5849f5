//! gallra: enforces personal-data retention across every system a hosting company runs.
//!
//! One module per concern: [`config`] (what the sysadmin writes), [`store`] (durable state),
//! [`plugins`] (loading and calling connectors), [`policy`] (pure decisions of time and facts),
//! [`runner`] (carrying decisions out), [`cli`] (the `gallra` command), [`demo`] (sample
//! systems for the README's first command). Policy logic never does I/O; the runner never
//! decides policy.
#![forbid(unsafe_code)]

pub mod api;
pub mod audit;
pub mod cli;
pub mod context;
pub mod identity;
pub mod metrics;
pub mod notify;
pub mod plugins;
pub mod register;
pub mod requests;
pub mod restore;
pub mod runner;
pub mod serve;
pub mod statelock;
pub mod statestore;
pub mod tombstones;
pub mod version;

// The pure rules live in gallra-core; they keep their old paths here.
pub use gallra_core::{clock, config, duration, policy, schedule};
// The state store lives in gallra-store; it keeps its old path here.
pub use gallra_store as store;
