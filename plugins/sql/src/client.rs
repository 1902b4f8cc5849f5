//! One small trait over the three database clients, and the shared connection behind it
//! (with group commit: see [`group`]).
//!
//! Each backend reads every value as text (the queries cast), binds [`Param`]s its own way,
//! and turns its driver's errors into a [`DbError`] that says whether to retry and never
//! carries a bound value.

mod group;
mod mariadb;
mod postgresql;
mod sqlite;

use std::path::{Path, PathBuf};

use gallra_plugin_api::ConnectorError;

use crate::config::{BackendKind, Settings};
use crate::sql::{Dialect, Query};

/// One result row, every column as text (`None` for NULL).
pub type Row = Vec<Option<String>>;

/// A synchronous connection to one database.
pub trait Client: Send {
    /// Runs a statement that returns rows.
    fn query(&mut self, query: &Query) -> Result<Vec<Row>, DbError>;
    /// Runs a statement that changes rows; returns how many it matched.
    fn execute(&mut self, query: &Query) -> Result<u64, DbError>;
    /// Runs parameterless statements (`BEGIN`, `COMMIT`, `SELECT 1`).
    fn batch(&mut self, sql: &str) -> Result<(), DbError>;
    /// The column names of `table`, in table order.
    fn columns(&mut self, table: &str) -> Result<Vec<String>, DbError>;
}

/// A database error, already stripped of anything that could be personal data.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}{}", table.as_ref().map(|t| format!(" (table {t})")).unwrap_or_default())]
pub struct DbError {
    /// Worth retrying later: the server is down, a lock, a deadlock, a timeout.
    pub transient: bool,
    /// The connection is unusable and must be opened again.
    pub connection_lost: bool,
    /// What went wrong, safe to show a sysadmin.
    pub message: String,
    /// The table the failing statement was about, if known.
    pub table: Option<String>,
}

impl DbError {
    /// A retryable error.
    pub fn transient(message: impl Into<String>) -> Self {
        Self::new(true, false, message)
    }

    /// An error that will repeat until someone changes something.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self::new(false, false, message)
    }

    /// The connection broke; retry on a new one.
    pub fn connection_lost(message: impl Into<String>) -> Self {
        Self::new(true, true, message)
    }

    fn new(transient: bool, connection_lost: bool, message: impl Into<String>) -> Self {
        Self {
            transient,
            connection_lost,
            message: message.into(),
            table: None,
        }
    }

    /// Names the table the statement was about.
    pub fn on_table(mut self, table: &str) -> Self {
        self.table.get_or_insert_with(|| table.to_owned());
        self
    }
}

/// Where to connect. Holds the secret URL's parsed form, so it has no `Debug`.
enum Target {
    Sqlite(PathBuf),
    Postgres(Box<postgres::Config>),
    Mysql(Box<mysql::Opts>),
}

/// The connection of one connector instance. Calls take turns on it, and concurrent write
/// transactions share one commit; a connection that broke is dropped and opened again on
/// the next call.
pub struct Database {
    dialect: Dialect,
    target: Target,
    label: String,
    time_zone: String,
    shared: group::Shared,
}

impl Database {
    /// Reads the connection settings (and the URL file) and connects once, so that a wrong
    /// setting or an unreachable server shows at open.
    pub fn open(settings: &Settings, time_zone: &str) -> Result<Self, ConnectorError> {
        let (dialect, target, label) = match settings.backend {
            BackendKind::Sqlite => {
                let path = settings.path.clone().unwrap_or_default();
                if !path.is_file() {
                    return Err(ConnectorError::config(
                        "path",
                        format!("the SQLite database {} does not exist", path.display()),
                    ));
                }
                let label = format!("SQLite at {}", path.display());
                (Dialect::Sqlite, Target::Sqlite(path), label)
            }
            BackendKind::Postgres => {
                let url = read_url_file(settings)?;
                let (config, label) = postgresql::parse_url(&url)?;
                (Dialect::Postgres, Target::Postgres(Box::new(config)), label)
            }
            BackendKind::Mysql => {
                let url = read_url_file(settings)?;
                let (opts, label) = mariadb::parse_url(&url)?;
                (Dialect::Mysql, Target::Mysql(Box::new(opts)), label)
            }
        };
        let database = Self {
            dialect,
            target,
            label,
            time_zone: time_zone.to_owned(),
            shared: group::Shared::new(),
        };
        let client = database.connect().map_err(|e| {
            let message = format!("cannot connect to {}: {e}", database.label);
            if e.transient {
                ConnectorError::transient(format!(
                    "{message} (is the server running and reachable?)"
                ))
            } else {
                ConnectorError::permanent(message)
            }
        })?;
        database.shared.read().client = Some(client);
        Ok(database)
    }

    /// The SQL dialect of this database.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Which database this is, e.g. `PostgreSQL at db.example:5432`. Never holds credentials.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Runs `f` on the connection, connecting first if needed. Nothing is committed for it:
    /// it reads, or runs in autocommit.
    pub fn with<T>(
        &self,
        f: impl FnOnce(&mut dyn Client) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let mut state = self.shared.read();
        if state.client.is_none() {
            state.client = Some(self.connect()?);
        }
        let result = self.shared.guarded(&mut state, f);
        if matches!(&result, Err(e) if e.connection_lost) {
            state.client = None;
        }
        result
    }

    /// Runs `f` in a transaction: rolled back if it fails, and committed (possibly together
    /// with concurrent calls' work) before this returns if it succeeds.
    pub fn transaction<T>(
        &self,
        f: impl FnOnce(&mut dyn Client) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        self.shared
            .write(self.dialect.begin(), || self.connect(), f)
    }

    fn connect(&self) -> Result<Box<dyn Client>, DbError> {
        Ok(match &self.target {
            Target::Sqlite(path) => Box::new(sqlite::Sqlite::open(path)?),
            Target::Postgres(config) => Box::new(postgresql::Postgres::connect(config)?),
            Target::Mysql(opts) => Box::new(mariadb::Mysql::connect(opts, &self.time_zone)?),
        })
    }
}

/// Reads the connection URL, refusing a file that others may read.
fn read_url_file(settings: &Settings) -> Result<String, ConnectorError> {
    let path = settings.url_file.as_deref().unwrap_or(Path::new(""));
    let shown = path.display();
    let metadata = std::fs::metadata(path)
        .map_err(|e| ConnectorError::config("url_file", format!("cannot read {shown}: {e}")))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if metadata.permissions().mode() & 0o004 != 0 {
            return Err(ConnectorError::config(
                "url_file",
                format!("{shown} holds a secret but others can read it (run chmod o-r on it)"),
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = metadata;
    let url = std::fs::read_to_string(path)
        .map_err(|e| ConnectorError::config("url_file", format!("cannot read {shown}: {e}")))?;
    let url = url.trim().to_owned();
    if url.is_empty() {
        return Err(ConnectorError::config(
            "url_file",
            format!("{shown} is empty"),
        ));
    }
    Ok(url)
}
