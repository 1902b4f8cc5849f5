//! The system's protocol: here, reading the CSV file whole and writing it back atomically.
//! It knows the file, not gallra: `lib.rs` decides what a row means for a subject.
//!
//! CHANGE: your API client or database connection. Whatever it is, map its failures as
//! [`io_error`] does: "could not look" is [`ConnectorError::Transient`] (gallra tries again
//! later), never an empty answer, which gallra would take as "this person has no data here".

use std::collections::HashSet;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use csv::StringRecord;
use gallra_plugin_api::{ConnectorError, Identifier, IdentifierError, IdentifierKind};

/// The column holding each customer's unique key.
pub const CUSTOMER_ID: &str = "customer_id";
/// The column holding each customer's email address.
pub const EMAIL: &str = "email";
/// The column holding each customer's last login, in local time.
pub const LAST_LOGIN: &str = "last_login";

/// The customer file, as the settings name it.
pub struct CustomerFile {
    path: PathBuf,
}

/// The file's content: its header and one row per customer.
pub struct Table {
    /// The header row: every column's name.
    pub headers: StringRecord,
    /// The customers, in the file's order.
    pub rows: Vec<StringRecord>,
    key: usize,
    email: usize,
    last_login: usize,
}

impl CustomerFile {
    /// The file at `path` (nothing is read yet).
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    /// Reads the whole file, checking its header and that every `customer_id` is there and
    /// unique (a scan's cursor relies on it).
    pub fn read(&self) -> Result<Table, ConnectorError> {
        let mut reader = csv::Reader::from_path(&self.path).map_err(|e| self.csv_error(e))?;
        let headers = reader.headers().map_err(|e| self.csv_error(e))?.clone();
        let column = |name: &str| {
            headers.iter().position(|h| h == name).ok_or_else(|| {
                ConnectorError::permanent(format!(
                    "{} has no `{name}` column in its header",
                    self.path.display()
                ))
            })
        };
        let (key, email, last_login) = (column(CUSTOMER_ID)?, column(EMAIL)?, column(LAST_LOGIN)?);
        let mut rows = Vec::new();
        let mut seen = HashSet::new();
        for row in reader.records() {
            let row = row.map_err(|e| self.csv_error(e))?;
            // The message names the line, never the value: it is someone's customer id.
            if !seen.insert(row[key].to_owned()) || row[key].is_empty() {
                return Err(ConnectorError::permanent(format!(
                    "{} line {}: customer_id is empty or repeats an earlier row's (each \
                     customer needs a key of its own)",
                    self.path.display(),
                    line(&row)
                )));
            }
            rows.push(row);
        }
        Ok(Table {
            headers,
            rows,
            key,
            email,
            last_login,
        })
    }

    /// Replaces the file with `table`, atomically: a new file beside it, flushed to disk,
    /// then renamed over it, so that a crash leaves either the old file or the new one,
    /// never half of one.
    pub fn write(&self, table: &Table) -> Result<(), ConnectorError> {
        let new = self.path.with_extension("csv.gallra-new");
        let written = write_then_rename(&self.path, &new, table);
        if written.is_err() {
            let _ = fs::remove_file(&new);
        }
        written.map_err(|e| self.io_error(e))
    }

    fn csv_error(&self, error: csv::Error) -> ConnectorError {
        let at = error.position().map(|p| p.line()).unwrap_or(0);
        match error.into_kind() {
            csv::ErrorKind::Io(e) => self.io_error(e),
            csv::ErrorKind::Utf8 { .. } => self.bad_line(at, "is not UTF-8"),
            csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => self.bad_line(
                at,
                &format!("has {len} fields where the header has {expected_len}"),
            ),
            _ => self.bad_line(at, "is not valid CSV"),
        }
    }

    fn bad_line(&self, line: u64, what: &str) -> ConnectorError {
        ConnectorError::permanent(format!("{} line {line} {what}", self.path.display()))
    }

    /// A missing file may be a file system not mounted yet: transient, never "nobody here".
    /// Wrong permissions will not fix themselves: permanent, with the remedy.
    fn io_error(&self, error: io::Error) -> ConnectorError {
        let path = self.path.display();
        match error.kind() {
            io::ErrorKind::NotFound => ConnectorError::transient(format!(
                "{path} (or its directory) is missing (is its file system mounted?)"
            )),
            io::ErrorKind::PermissionDenied => ConnectorError::permanent(format!(
                "{path}: permission denied (gallra's user must be able to read and write the \
                 file and its directory)"
            )),
            _ => ConnectorError::transient(format!("{path}: {error}")),
        }
    }
}

impl Table {
    /// The row's `customer_id`.
    pub fn key<'r>(&self, row: &'r StringRecord) -> &'r str {
        &row[self.key]
    }

    /// The row's `last_login` as written (empty when the customer never logged in).
    pub fn last_login<'r>(&self, row: &'r StringRecord) -> &'r str {
        &row[self.last_login]
    }

    /// The row's identifier of `kind`: `None` where the file holds none of that kind or the
    /// cell is empty, an error where the cell cannot be read as one.
    pub fn identifier(
        &self,
        row: &StringRecord,
        kind: IdentifierKind,
    ) -> Option<Result<Identifier, IdentifierError>> {
        let column = match kind {
            IdentifierKind::CustomerId => self.key,
            IdentifierKind::Email => self.email,
            _ => return None,
        };
        // Parsing normalizes the stored value as gallra normalized the one it asks for
        // (`Anna@Example.se` is `anna@example.se`), so equal identifiers mean one person.
        Some(row[column].trim())
            .filter(|value| !value.is_empty())
            .map(|value| Identifier::parse(kind, value))
    }

    /// Every (column, value) of the row.
    pub fn fields<'r>(&'r self, row: &'r StringRecord) -> impl Iterator<Item = (&'r str, &'r str)> {
        self.headers.iter().zip(row.iter())
    }
}

/// The row's line in the file, for messages.
pub fn line(row: &StringRecord) -> u64 {
    row.position().map_or(0, |p| p.line())
}

fn write_then_rename(path: &Path, new: &Path, table: &Table) -> io::Result<()> {
    let file = File::create(new)?;
    // Whoever may read the old file may read the new one, no one else.
    file.set_permissions(fs::metadata(path)?.permissions())?;
    let mut writer = csv::Writer::from_writer(file);
    writer.write_record(&table.headers)?;
    for row in &table.rows {
        writer.write_record(row)?;
    }
    let file = writer.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    fs::rename(new, path)?;
    // The rename is durable only once the directory is.
    let directory = path.parent().unwrap_or(Path::new("."));
    File::open(directory)?.sync_all()
}
