//! What the sysadmin writes in `gallra.toml`: parsing, validation, and error locations.

mod types;

pub use types::{Config, Mode, Policy, Rule, Safety, SystemConfig};
