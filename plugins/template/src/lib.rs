//! A gallra connector for customers kept in a CSV file: the template a new connector starts
//! from (see `plugins/GUIDE.md` in gallra's repository).
//!
//! The file has a header row and one row per customer, found by `email` or `customer_id`.
//! The connector looks customers up, exports their rows, erases them by rewriting the file
//! without their rows, reports their last login (`status`), and lists every customer
//! (`scan`), so it can be gallra's account source.
//!
//! The layout is every connector's: `config.rs` (the settings), `client.rs` (the system's
//! protocol), `lib.rs` (the [`Connector`] and the export), `tests/it/` (the conformance
//! suite against a seeded system). CHANGE: the marked places, then the operations for your
//! system; delete the ones it cannot do, and their capabilities in `describe`.

// The export macro does the unsafe part of crossing the C ABI; a connector needs none.
#![forbid(unsafe_code)]

mod client;
pub mod config;

use std::sync::{Mutex, PoisonError};

use csv::StringRecord;
use gallra_plugin_api::jiff::civil::DateTime;
use gallra_plugin_api::jiff::tz::TimeZone;
use gallra_plugin_api::{
    Capability, Connector, ConnectorError, Description, EraseOutcome, ExportField, ExportResult,
    IdentifierKind, LookupResult, OpenContext, RecordRef, ScanPage, ScanRequest, Subject,
    SubjectFacts, SubjectRecord,
};

use client::{line, CustomerFile, Table};
pub use config::Settings;

/// CHANGE: your plugin's name, as `plugin = "…"` in gallra.toml names it (the crate is
/// `gallra-plugin-<name>`). gallra shows it in logs.
const NAME: &str = "customers-csv";

/// Where the records this connector reports are: an export's and a lookup's `collection`.
const COLLECTION: &str = "customers";

/// The identifier kinds a customer is found by. Claim only kinds the system can search by:
/// the conformance suite looks the subject up by each one alone.
const KINDS: [IdentifierKind; 2] = [IdentifierKind::Email, IdentifierKind::CustomerId];

/// One configured system whose customers are in a CSV file. gallra calls it from several
/// threads at once, so what it shares sits behind a lock.
pub struct CustomersCsv {
    file: CustomerFile,
    /// The zone `last_login` is written in: gallra's `time_zone`.
    zone: TimeZone,
    /// Held while a row is erased: two erasures rewriting the file at once would each put
    /// back the row the other removed.
    writing: Mutex<()>,
}

impl Connector for CustomersCsv {
    type Settings = Settings;

    fn validate(settings: &Settings) -> Result<(), ConnectorError> {
        settings.validate()
    }

    /// Opening touches nothing: a file that is missing now is reported, as transient, by
    /// the calls that need it.
    fn open(settings: Settings, context: OpenContext) -> Result<Self, ConnectorError> {
        Ok(Self {
            file: CustomerFile::new(settings.path),
            zone: context.tz()?,
            writing: Mutex::new(()),
        })
    }

    fn describe(&self) -> Description {
        Description {
            name: NAME.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            capabilities: vec![
                Capability::Scan,
                Capability::Lookup,
                Capability::Export,
                Capability::Erase,
                Capability::Status,
            ],
            identifier_kinds: KINDS.to_vec(),
            record_kinds: vec![],
            // A login is the customer's own doing: it counts against inactivity.
            activity_bearing: true,
        }
    }

    /// Every customer, in `customer_id` order, from just after the cursor (the last key of
    /// the previous page).
    fn scan(&self, request: ScanRequest) -> Result<ScanPage, ConnectorError> {
        let table = self.file.read()?;
        let mut rows: Vec<&StringRecord> = table.rows.iter().collect();
        rows.sort_by(|a, b| table.key(a).cmp(table.key(b)));
        let start = request.cursor.as_deref().map_or(0, |after| {
            rows.partition_point(|row| table.key(row) <= after)
        });
        // A page is empty only when it is the last: never take a limit of 0 literally.
        let limit = usize::try_from(request.limit.max(1)).unwrap_or(usize::MAX);
        let page = &rows[start..rows.len().min(start.saturating_add(limit))];
        let next_cursor = match page.last() {
            Some(last) if start + page.len() < rows.len() => Some(table.key(last).to_owned()),
            _ => None,
        };
        let subjects = page
            .iter()
            .map(|row| self.subject_record(&table, row))
            .collect::<Result<_, _>>()?;
        Ok(ScanPage {
            subjects,
            next_cursor,
            total: Some(rows.len() as u64),
        })
    }

    fn lookup(&self, subject: &Subject) -> Result<LookupResult, ConnectorError> {
        let table = self.file.read()?;
        let records = rows_of(&table, subject)
            .map(|row| RecordRef {
                collection: COLLECTION.into(),
                key: table.key(row).into(),
            })
            .collect();
        Ok(LookupResult { records })
    }

    /// Every column of the subject's rows: all of it is about them.
    fn export(&self, subject: &Subject) -> Result<ExportResult, ConnectorError> {
        let table = self.file.read()?;
        let fields = rows_of(&table, subject)
            .flat_map(|row| {
                table.fields(row).map(|(field, value)| ExportField {
                    collection: COLLECTION.into(),
                    record: table.key(row).into(),
                    field: field.into(),
                    value: (!value.is_empty()).then(|| value.into()),
                })
            })
            .collect();
        Ok(ExportResult { fields })
    }

    /// Rewrites the file without the subject's rows. Erasing someone already gone is
    /// `Erased { records: 0 }`: gallra may ask again after a timeout or a restart.
    fn erase(&self, subject: &Subject) -> Result<EraseOutcome, ConnectorError> {
        let _writing = self.writing.lock().unwrap_or_else(PoisonError::into_inner);
        let mut table = self.file.read()?;
        let rows = std::mem::take(&mut table.rows);
        let (erased, kept): (Vec<_>, Vec<_>) = rows
            .into_iter()
            .partition(|row| is_of(&table, row, subject));
        table.rows = kept;
        if !erased.is_empty() {
            self.file.write(&table)?;
        }
        Ok(EraseOutcome::Erased {
            records: erased.len() as u64,
        })
    }

    /// What the file knows of the subject: the latest login of their rows. `None` means "not
    /// known", never "never": gallra does not take it for inactivity.
    fn status(&self, subject: &Subject) -> Result<SubjectFacts, ConnectorError> {
        let table = self.file.read()?;
        let mut facts = SubjectFacts::default();
        for row in rows_of(&table, subject) {
            facts.last_activity = facts
                .last_activity
                .max(self.facts(&table, row)?.last_activity);
        }
        Ok(facts)
    }

    /// The default answers `Ok` without looking; a connector checks its system is there.
    fn health(&self) -> Result<(), ConnectorError> {
        self.file.read().map(|_| ())
    }
}

impl CustomersCsv {
    /// A row as the account source lists it.
    fn subject_record(
        &self,
        table: &Table,
        row: &StringRecord,
    ) -> Result<SubjectRecord, ConnectorError> {
        let mut record = SubjectRecord {
            key: table.key(row).into(),
            identifiers: vec![],
            facts: self.facts(table, row)?,
            unreadable: vec![],
        };
        // The key itself goes back as a `customer_id` identifier without being listed here.
        match table.identifier(row, IdentifierKind::Email) {
            Some(Ok(email)) => record.identifiers.push(email),
            // Say so rather than leave it out: gallra then trusts no erasure that could only
            // reach this customer by that email.
            Some(Err(_)) => record.unreadable.push(IdentifierKind::Email),
            None => {}
        }
        Ok(record)
    }

    /// What one row says of its customer.
    fn facts(&self, table: &Table, row: &StringRecord) -> Result<SubjectFacts, ConnectorError> {
        let written = table.last_login(row).trim();
        let last_activity = if written.is_empty() {
            None
        } else {
            // A date without a zone is read in gallra's time zone (OpenContext::tz).
            let login = written
                .parse::<DateTime>()
                .and_then(|local| local.to_zoned(self.zone.clone()))
                .map_err(|_| {
                    ConnectorError::permanent(format!(
                        "line {} of the customer file: last_login is not a local date and \
                         time like 2024-05-01 13:45:00",
                        line(row)
                    ))
                })?;
            Some(login.timestamp())
        };
        Ok(SubjectFacts {
            last_activity,
            ..SubjectFacts::default()
        })
    }
}

/// The subject's rows: those holding any identifier gallra asks by.
fn rows_of<'t>(table: &'t Table, subject: &'t Subject) -> impl Iterator<Item = &'t StringRecord> {
    table.rows.iter().filter(|row| is_of(table, row, subject))
}

/// Whether the row holds one of the subject's identifiers of a kind this connector claims.
fn is_of(table: &Table, row: &StringRecord, subject: &Subject) -> bool {
    KINDS.iter().any(|kind| {
        let Some(Ok(stored)) = table.identifier(row, *kind) else {
            return false;
        };
        subject.of_kind(*kind).any(|asked| *asked == stored)
    })
}

// The C ABI entry points gallra loads: once, at the crate root.
gallra_plugin_api::export_connector!(CustomersCsv);
