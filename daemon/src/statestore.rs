//! Opening the state store the configuration names: SQLite in `state_dir` (one daemon), or
//! a PostgreSQL database several daemons share (`[state_store]`). Everything above this
//! module sees only the store's traits ([`Backend`]), never which database it is.

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

mod postgres {
    use std::path::Path;
    use std::sync::Arc;

    use crate::store::{Backend, Lease, StoreError};

    pub(super) fn open(url_file: &Path, _lease: Lease) -> Result<Arc<dyn Backend>, StoreError> {
        Err(StoreError::Open {
            path: url_file.to_owned(),
            source: "this gallra cannot keep its state in PostgreSQL yet: remove [state_store]"
                .into(),
        })
    }
}
