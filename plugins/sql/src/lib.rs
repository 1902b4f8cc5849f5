//! # gallra-plugin-sql
//!
//! The gallra connector for systems whose data sits in a SQL database: SQLite, PostgreSQL
//! or MySQL/MariaDB. It is configured entirely in `gallra.toml` (see [`config::Settings`]):
//! one subjects table, child tables that hang on it, and record kinds with their own
//! retention clock.
//!
//! - `scan` pages through the subjects table in key order (`WHERE key > ? ORDER BY key
//!   LIMIT ?`) and gathers each subject's facts from it and its children.
//! - `lookup`, `status`, `export`, `erase` and `anonymize` find a subject's rows by any
//!   configured identifier column, exactly: a stored value matches when it normalizes to the
//!   same identifier as the one asked for (trimmed, NFC, case-folded for email and domain,
//!   personnummer with its century), whatever the column's collation (see `matching`).
//! - `erase` runs in one transaction: children first (per their `on_erase`), then the
//!   subject rows. It is idempotent: a subject that is gone erases as `Erased { records: 0 }`.
//! - `restore` puts back the rows of an export (every column of the subject rows and child
//!   rows, as `export` gives them) in one transaction, leaving rows that are there as they
//!   are (see `restore`). Offered only where `erase` deletes the subject row
//!   (`subjects.on_erase = "delete"`, the default): an anonymized row is still there.
//! - `expire` counts or deletes records whose clock is before the cutoff.
//! - An activity value that is present but cannot be read (`'last Tuesday'`, PostgreSQL's
//!   `infinity`) is never dropped from a subject's latest activity: the subject's activity is
//!   reported as 1970, which the daemon takes as broken and keeps the subject for (see
//!   `timestamps`). The warning names the columns and counts, never a value or a key.
//!
//! Values always travel as bound parameters; table and column names are validated and
//! quoted. Errors name the system, database and table, never a value.
//!
//! Watch out: `active_when`, `unpaid_when` and `where` are SQL written by the sysadmin and
//! pasted into queries as they are. They are trusted configuration, like the database URL.

#![forbid(unsafe_code)]

mod anonymize;
mod batch;
mod client;
pub mod config;
mod erase;
mod expire;
mod facts;
mod indexes;
mod matching;
mod records;
mod restore;
mod schema;
mod set_based;
mod sql;
mod timestamps;

use gallra_plugin_api::{
    Capability, Connector, ConnectorError, Description, EraseOutcome, ExpireRequest, ExpireResult,
    ExportResult, LookupResult, OpenContext, RestoreOutcome, ScanPage, ScanRequest, Subject,
    SubjectFacts,
};

use crate::anonymize::Hasher;
use crate::client::{Client, Database, DbError};
use crate::config::Settings;
use crate::erase::Mode;
use crate::facts::Tally;
use crate::schema::Schema;
use crate::timestamps::Reader;

/// One configured SQL system.
pub struct SqlConnector {
    system: String,
    schema: Schema,
    database: Database,
}

impl Connector for SqlConnector {
    type Settings = Settings;

    fn validate(settings: &Settings) -> Result<(), ConnectorError> {
        settings.validate()
    }

    fn open(settings: Settings, context: OpenContext) -> Result<Self, ConnectorError> {
        let zone = context.tz()?;
        let database = Database::open(&settings, &context.time_zone)?;
        let schema = Schema {
            dialect: database.dialect(),
            settings,
            zone,
            hasher: Hasher::for_system(&context.system),
        };
        let connector = Self {
            system: context.system,
            schema,
            database,
        };
        connector.warn_missing_indexes();
        Ok(connector)
    }

    fn describe(&self) -> Description {
        let settings = &self.schema.settings;
        let mut capabilities = Vec::new();
        let mut identifier_kinds = Vec::new();
        let mut activity_bearing = false;
        if let Some(s) = &settings.subjects {
            capabilities.extend([
                Capability::Scan,
                Capability::Lookup,
                Capability::Export,
                Capability::Erase,
                Capability::Status,
            ]);
            if !s.anonymize.is_empty() {
                capabilities.push(Capability::Anonymize);
            }
            // Restoring re-inserts deleted rows; a child anonymized in place would stay
            // anonymized (its row is there), so such a table cannot promise a full undo.
            let children_restorable = settings
                .children
                .iter()
                .all(|c| c.on_erase != config::ChildOnErase::Anonymize);
            if s.on_erase == config::SubjectOnErase::Delete && children_restorable {
                capabilities.push(Capability::Restore);
            }
            identifier_kinds.extend(s.identifiers.keys().copied());
            activity_bearing =
                !s.activity.is_empty() || settings.children.iter().any(|c| !c.activity.is_empty());
        }
        if !settings.records.is_empty() {
            capabilities.push(Capability::Expire);
        }
        Description {
            name: "sql".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            capabilities,
            identifier_kinds,
            record_kinds: settings.records.iter().map(|r| r.kind.clone()).collect(),
            activity_bearing,
        }
    }

    fn scan(&self, request: ScanRequest) -> Result<ScanPage, ConnectorError> {
        self.require_subjects("scan")?;
        let mut tally = self.tally();
        let page = self.run("scan", |c| {
            facts::scan(&self.schema, c, &request, &mut tally)
        });
        self.report("scan", &tally);
        page
    }

    fn lookup(&self, subject: &Subject) -> Result<LookupResult, ConnectorError> {
        self.require_subjects("lookup")?;
        self.run("lookup", |c| records::lookup(&self.schema, c, subject))
    }

    fn export(&self, subject: &Subject) -> Result<ExportResult, ConnectorError> {
        self.require_subjects("export")?;
        self.run("export", |c| records::export(&self.schema, c, subject))
    }

    fn erase(&self, subject: &Subject) -> Result<EraseOutcome, ConnectorError> {
        let mut erased = self.erase_many(std::slice::from_ref(subject));
        erased.pop().expect("one answer per subject")
    }

    fn erase_many(&self, subjects: &[Subject]) -> Vec<Result<EraseOutcome, ConnectorError>> {
        self.write_many("erase", subjects, Mode::Erase)
    }

    fn anonymize_many(&self, subjects: &[Subject]) -> Vec<Result<EraseOutcome, ConnectorError>> {
        self.write_many("anonymize", subjects, Mode::Anonymize)
    }

    fn lookup_many(&self, subjects: &[Subject]) -> Vec<Result<LookupResult, ConnectorError>> {
        self.lookup_batch(subjects)
    }

    fn export_many(&self, subjects: &[Subject]) -> Vec<Result<ExportResult, ConnectorError>> {
        self.read_many("export", subjects, |c, s| {
            records::export(&self.schema, c, s)
        })
    }

    fn status_many(&self, subjects: &[Subject]) -> Vec<Result<SubjectFacts, ConnectorError>> {
        self.status_batch(subjects)
    }

    fn anonymize(&self, subject: &Subject) -> Result<EraseOutcome, ConnectorError> {
        let mut anonymized = self.anonymize_many(std::slice::from_ref(subject));
        anonymized.pop().expect("one answer per subject")
    }

    fn restore(&self, data: &ExportResult) -> Result<RestoreOutcome, ConnectorError> {
        self.require_subjects("restore")?;
        self.database
            .transaction(|c| restore::run(&self.schema, c, data))
            .map_err(|e| self.failed("restore", e))
    }

    fn status(&self, subject: &Subject) -> Result<SubjectFacts, ConnectorError> {
        self.require_subjects("status")?;
        let mut tally = self.tally();
        let facts = self.run("status", |c| {
            facts::status(&self.schema, c, subject, &mut tally)
        });
        self.report("status", &tally);
        facts
    }

    fn expire(&self, request: &ExpireRequest) -> Result<ExpireResult, ConnectorError> {
        let settings = &self.schema.settings;
        let Some(kind) = settings.records.iter().find(|r| r.kind == request.kind) else {
            return Err(ConnectorError::permanent(format!(
                "no record kind {:?} in its settings (records[].kind)",
                request.kind
            )));
        };
        let mut times = Reader::new(self.schema.zone.clone());
        let run = |c: &mut dyn Client| {
            expire::run(
                &self.schema,
                c,
                kind,
                request.cutoff,
                request.dry_run,
                &mut times,
            )
        };
        let result = if request.dry_run {
            self.database.with(run)
        } else {
            self.database.transaction(run)
        };
        times.report(&self.system, "expire");
        result.map_err(|e| self.failed("expire", e))
    }

    fn health(&self) -> Result<(), ConnectorError> {
        // On SQLite the question must read the file: `SELECT 1` needs no lock once the
        // schema is cached (it is, after the index check at open), so it would answer Ok
        // while another process holds the database locked.
        let sql = match self.schema.dialect {
            sql::Dialect::Sqlite => "SELECT CAST(count(*) AS TEXT) FROM sqlite_master".to_owned(),
            dialect => format!("SELECT {}", dialect.text("1")),
        };
        let query = sql::Query {
            sql,
            params: Vec::new(),
        };
        self.run("health", |c| c.query(&query).map(drop))
    }
}

impl SqlConnector {
    /// The `CREATE INDEX` statements the subjects table lacks for its matches to be served by
    /// an index (SQLite and PostgreSQL; see `indexes`). Empty when none is missing, when the
    /// backend is not checked, or when the catalog cannot be read.
    pub fn missing_indexes(&self) -> Vec<String> {
        match self.database.with(|c| indexes::missing(&self.schema, c)) {
            Ok(missing) => missing.into_iter().map(|m| m.statement).collect(),
            Err(error) => {
                tracing::debug!(system = %self.system, %error, "could not read the index catalog");
                Vec::new()
            }
        }
    }

    /// Says at open which indexes the matches need and lack, with the statement for each.
    fn warn_missing_indexes(&self) {
        for statement in self.missing_indexes() {
            tracing::warn!(
                system = %self.system,
                "no index serves the connector's match on an identifier column, so every \
                 lookup reads the whole table; add one: {statement}"
            );
        }
    }

    fn require_subjects(&self, operation: &str) -> Result<&config::SubjectTable, ConnectorError> {
        self.schema
            .settings
            .subjects
            .as_ref()
            .ok_or_else(|| ConnectorError::Unsupported {
                operation: format!("{operation} (no subjects table configured)"),
            })
    }

    fn run<T>(
        &self,
        operation: &str,
        f: impl FnOnce(&mut dyn Client) -> Result<T, DbError>,
    ) -> Result<T, ConnectorError> {
        self.database.with(f).map_err(|e| self.failed(operation, e))
    }

    fn failed(&self, operation: &str, error: DbError) -> ConnectorError {
        let message = format!("{operation} failed on {}: {error}", self.database.label());
        if error.transient {
            ConnectorError::transient(message)
        } else if error.table.is_some() {
            ConnectorError::permanent(format!(
                "{message}; check the system's settings against that table"
            ))
        } else {
            ConnectorError::permanent(message)
        }
    }

    fn tally(&self) -> Tally {
        Tally {
            times: Reader::new(self.schema.zone.clone()),
            unreadable: Default::default(),
        }
    }

    fn report(&self, operation: &str, tally: &Tally) {
        tally.times.report(&self.system, operation);
        let table = self
            .schema
            .settings
            .subjects
            .as_ref()
            .map(|s| s.table.as_str());
        for ((column, kind), count) in &tally.unreadable {
            tracing::warn!(
                system = %self.system,
                table = table.unwrap_or_default(),
                column = %column,
                kind = %kind,
                operation,
                count,
                "stored {kind} values in {}.{column} cannot be read as a {kind}: those \
                 subjects are handed on with {kind} marked unreadable, and their tasks in \
                 systems that match on {kind} need a person (fix the stored values to clear this)",
                table.unwrap_or_default()
            );
        }
    }
}

gallra_plugin_api::export_connector!(SqlConnector);
