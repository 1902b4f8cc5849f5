//! Sample systems for the demo and the end-to-end tests: a hosting company's control panel,
//! billing and CRM, filled with made-up customers.
//!
//! Every customer is made to be one [`Category`] (active, inactive, inactive but still
//! owing money, …), so a test can compare what gallra did with what the data was built to
//! need, never with gallra's own policy code:
//!
//! ```no_run
//! use gallra_demo::{demo_config, Dataset};
//!
//! let now: jiff::Zoned = "2026-03-15T10:00:00[Europe/Stockholm]".parse().unwrap();
//! let data = Dataset::generate(7, 1_000, now);
//! let dir = std::path::Path::new("/tmp/gallra-demo");
//! let files = data.write_sqlite(dir).unwrap();
//! let toml = demo_config(&files, &dir.join("state"));
//! std::fs::write(dir.join("gallra.toml"), toml).unwrap();
//! // run gallra against it, then: the panel ids left == all ids − data.expected_purged()
//! ```
//!
//! The one thing to watch: generate with the same `now` the daemon will use (or within a
//! few hours of it). Everything but [`Category::Borderline`] keeps two weeks from the
//! 6-month cutoff, but the borderline customers are one day inside it.
//!
//! The data is made up, but gallra treats it as real personal data: `Debug` never shows it.

mod category;
mod config;
mod dataset;
mod people;
mod rng;
mod rows;
mod schema;
mod sql;
mod timeline;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

pub use category::Category;
pub use config::demo_config;
pub use dataset::{Customer, Dataset};
pub use sql::Dialect;

/// The demo's SQLite databases, as written by [`Dataset::write_sqlite`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoFiles {
    /// The control panel, `panel.db`.
    pub panel: PathBuf,
    /// Billing, `billing.db`.
    pub billing: PathBuf,
    /// The CRM, `crm.db`.
    pub crm: PathBuf,
}

impl DemoFiles {
    /// The database of one of [`Dataset::SYSTEMS`].
    pub fn path(&self, system: &str) -> Option<&Path> {
        match system {
            "panel" => Some(&self.panel),
            "billing" => Some(&self.billing),
            "crm" => Some(&self.crm),
            _ => None,
        }
    }
}

/// Why the demo databases could not be written.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The target directory could not be created.
    #[error("cannot create the demo directory {path}: {source} (is the parent writable?)")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A database file is already there; the demo never writes into existing data.
    #[error("{path} already exists (remove it, or choose an empty directory for the demo)")]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// SQLite refused to create or fill a database.
    #[error(
        "cannot write the demo database {path}: {source} (is the directory writable? disk full?)"
    )]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
}

/// The demo module's result.
pub type Result<T, E = DemoError> = std::result::Result<T, E>;
