//! gallra's pure rules, in a crate of their own so that Cargo keeps the direction one way:
//! the daemon (engine, store, plugins, service) depends on these, and nothing here can
//! reach back into it, open a database or start a runtime.
//!
//! - [`config`]: what the sysadmin writes in `gallra.toml`, parsed and validated;
//! - [`policy`]: who is selected, as pure functions of facts and a moment;
//! - [`duration`], [`clock`], [`schedule`]: time as gallra counts it;
//! - [`template`]: the placeholders of notice and warning texts;
//! - [`free_text`]: refusing personal data in what people type (notes, reasons);
//! - [`task`]: a task's states and the one state machine every engine moves them by.

pub mod clock;
pub mod config;
pub mod duration;
pub mod free_text;
pub mod named;
pub mod policy;
pub mod schedule;
pub mod task;
pub mod template;
