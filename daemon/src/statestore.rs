//! Opening the state store the configuration names: SQLite in `state_dir` (one daemon), or
//! a PostgreSQL database several daemons share (`[state_store]`). Everything above this
//! module sees only the store's traits ([`Backend`]), never which database it is.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use crate::config::{Config, StateBackend};
use crate::store::{Backend, Lease, SqliteStore, StoreError};

/// This daemon's lease: its node name (`[state_store] node`, else the host's) and length.
pub fn lease(config: &Config) -> Lease {
    let lease = match &config.state_store.node {
        Some(node) => Lease::new(node.clone()),
        None => Lease::default(),
    };
    lease.lasting(config.state_store.lease)
}

/// Opens the state store (creating and migrating it as needed), taking leases as
/// [`lease`] says.
pub fn open(config: &Config) -> Result<Arc<dyn Backend>, StoreError> {
    match &config.state_store.backend {
        StateBackend::Sqlite => Ok(Arc::new(
            SqliteStore::open(&config.state_dir)?.leasing(lease(config)),
        )),
        StateBackend::Postgresql { url_file } => postgres::open(url_file, lease(config)),
    }
}

/// Opens the state store to read it without changing it, or `None` if there is none yet
/// (a SQLite state directory no `gallra run` has made).
pub fn open_read_only(config: &Config) -> Result<Option<Arc<dyn Backend>>, StoreError> {
    match &config.state_store.backend {
        StateBackend::Sqlite => Ok(SqliteStore::open_read_only(&config.state_dir)?
            .map(|store| Arc::new(store.leasing(lease(config))) as Arc<dyn Backend>)),
        StateBackend::Postgresql { url_file } => postgres::open(url_file, lease(config)).map(Some),
    }
}

/// The URL in `url_file` (`[state_store] url_file`; one line, blanks around it ignored). It
/// may hold a password: it appears in no message, and a file others can read is warned about.
pub fn read_url_file(url_file: &Path) -> Result<String, StoreError> {
    let bad = |why: String| StoreError::UrlFile {
        path: url_file.to_owned(),
        why,
    };
    let text =
        std::fs::read_to_string(url_file).map_err(|e| bad(format!("cannot be read ({e})")))?;
    let url = text.trim();
    if url.is_empty() {
        return Err(bad("it is empty".to_owned()));
    }
    if let Ok(meta) = std::fs::metadata(url_file) {
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o044 != 0 {
            tracing::warn!(path = %url_file.display(), mode = format!("{mode:o}"), "the state store's URL file is readable by group or others; it may hold the database password: chmod 0600 it");
        }
    }
    Ok(url.to_owned())
}

mod postgres {
    use std::path::Path;
    use std::sync::Arc;

    use crate::store::{Backend, Lease, PostgresStore, StoreError};

    /// Connects to the database whose URL `url_file` holds.
    pub(super) fn open(url_file: &Path, lease: Lease) -> Result<Arc<dyn Backend>, StoreError> {
        let url = super::read_url_file(url_file)?;
        Ok(Arc::new(PostgresStore::connect(&url)?.leasing(lease)))
    }
}
