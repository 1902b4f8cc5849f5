//! Support for gallra's end-to-end tests: the real binary and plugins (built once), real
//! databases (SQLite files, the local PostgreSQL and MariaDB), and generated customers whose
//! fate is known from how they were made. Each test reads like the promise it proves.

pub mod binaries;
pub mod connectors;
pub mod crash;
pub mod daemon;
pub mod examples;
pub mod faults;
pub mod gallra;
pub mod http;
pub mod identity;
pub mod nodes;
pub mod requests;
pub mod scenario;
pub mod servers;
pub mod wait;

pub use daemon::Daemon;
pub use gallra::{Gallra, Outcome};
pub use scenario::{behind_faults, now, settings_of, Scenario, TABLES};
pub use servers::{available, Backend, TestDb};

/// Whether gallra's state database (with its write-ahead log) holds `needle` in plain
/// bytes: how a test sees that an identifier is kept only sealed.
pub fn state_db_holds(state_dir: &std::path::Path, needle: &str) -> bool {
    ["state.db", "state.db-wal"].iter().any(|name| {
        std::fs::read(state_dir.join(name))
            .unwrap_or_default()
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
    })
}
