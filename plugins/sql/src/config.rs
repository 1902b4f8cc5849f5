//! The settings a sysadmin writes under `[systems.NAME.settings]` for `plugin = "sql"`.
//!
//! serde catches unknown keys and wrong types; [`Settings::validate`] checks the rest
//! (identifiers, which keys go with which backend, cross references) without touching the
//! database, and names the offending key (`subjects.identifiers.email`, `children[1].table`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use gallra_plugin_api::{ConnectorError, IdentifierKind, SettingsProblems};
use serde::Deserialize;

pub use crate::anonymize::AnonymizeRule;

/// The connector's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Which database the system keeps its data in: `sqlite`, `postgres`, or `mysql`
    /// (which also covers MariaDB).
    pub backend: BackendKind,
    /// SQLite only: absolute path of the database file. The file must exist; gallra never
    /// creates it.
    pub path: Option<PathBuf>,
    /// PostgreSQL and MySQL only: absolute path of a file holding the connection URL, e.g.
    /// `postgres://gallra@db.example/panel` or `mysql://gallra@127.0.0.1:3306/panel`. The URL
    /// is a secret (it may hold a password), so it never sits in `gallra.toml`, and the file
    /// must not be readable by others (`chmod 600` or `640`). Only plain (non-TLS)
    /// connections are supported.
    pub url_file: Option<PathBuf>,
    /// The most subjects one scan page may hold, whatever gallra asks for. Default: no cap
    /// beyond gallra's own page size.
    pub page_size: Option<u32>,
    /// The table with one row per subject. Required unless the system only has `records`.
    pub subjects: Option<SubjectTable>,
    /// Tables whose rows belong to a subject through a foreign key to `subjects.key`.
    #[serde(default)]
    pub children: Vec<ChildTable>,
    /// Record kinds for record-level retention (`expire`).
    #[serde(default)]
    pub records: Vec<RecordKind>,
}

/// The database server behind the system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackendKind {
    /// A SQLite database file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
    /// A MySQL or MariaDB server.
    Mysql,
}

/// The table with one row per subject.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubjectTable {
    /// The table's name.
    pub table: String,
    /// A unique key column; scans go in its order and hand it back as the subject's key.
    pub key: String,
    /// How `key` compares: `integer` (default) or `text`.
    #[serde(default)]
    pub key_type: KeyType,
    /// Which column holds each kind of identifier, e.g. `{ email = "email", customer_id =
    /// "id" }`. Kinds: `email`, `customer_id`, `personnummer`, `phone`, `domain`, `ip`.
    ///
    /// A stored value matches when it normalizes to the identifier asked for (trimmed, NFC,
    /// lower-cased for email, domain and IP, personnummer with its century), whatever the
    /// column's collation. The database compares `lower(trim(col))` (email, domain, IP) or
    /// `trim(col)` (the others; the key column as it is): build an index on that expression
    /// (see the connectors README).
    #[serde(default)]
    pub identifiers: BTreeMap<IdentifierKind, String>,
    /// For backends that cannot index an expression (MariaDB): per identifier kind, a column
    /// (e.g. an indexed generated column) holding exactly the expression gallra compares for
    /// that kind, `lower(trim(col))` or `trim(col)`. gallra then finds candidates through it
    /// and still checks each against the identifier column itself.
    #[serde(default)]
    pub match_columns: BTreeMap<IdentifierKind, String>,
    /// Timestamp columns of this table that record activity; the latest of these (and of the
    /// children's activity columns) is the subject's last activity.
    #[serde(default)]
    pub activity: Vec<String>,
    /// A timestamp column holding when the customer relationship ended.
    pub relationship_end: Option<String>,
    /// What erase does to the subject's row: `delete` (default) or `anonymize`.
    #[serde(default)]
    pub on_erase: SubjectOnErase,
    /// Columns to overwrite when anonymizing: column -> `"null"`, `"hash"` (hex SHA-256 of
    /// the value with a salt fixed per system) or `{ value = "…" }`.
    #[serde(default)]
    pub anonymize: BTreeMap<String, AnonymizeRule>,
}

/// How the subject key compares and is bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyType {
    /// Whole numbers.
    #[default]
    Integer,
    /// Text.
    Text,
}

/// What erase does to a subject's row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectOnErase {
    /// Delete the row.
    #[default]
    Delete,
    /// Overwrite the `anonymize` columns and keep the row.
    Anonymize,
}

/// A table holding rows that belong to a subject.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChildTable {
    /// The table's name.
    pub table: String,
    /// The column referencing `subjects.key`.
    pub foreign_key: String,
    /// More activity timestamp columns (the latest of all wins).
    #[serde(default)]
    pub activity: Vec<String>,
    /// A SQL condition (trusted admin text) marking rows that are active services.
    pub active_when: Option<String>,
    /// A SQL condition (trusted admin text) marking rows that are unpaid invoices.
    pub unpaid_when: Option<String>,
    /// What erase does to these rows: `delete` (default), `anonymize` or `keep`.
    #[serde(default)]
    pub on_erase: ChildOnErase,
    /// Columns to overwrite when anonymizing, as for `subjects.anonymize`.
    #[serde(default)]
    pub anonymize: BTreeMap<String, AnonymizeRule>,
}

/// What erase does to a child table's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChildOnErase {
    /// Delete the rows.
    #[default]
    Delete,
    /// Overwrite the `anonymize` columns and keep the rows.
    Anonymize,
    /// Leave the rows as they are (they hold no personal data, or a law keeps them).
    Keep,
}

/// A kind of record with its own retention clock.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordKind {
    /// The name policies use for it (`records = "…"`), letters, digits, `_` and `-`.
    pub kind: String,
    /// The table holding the records.
    pub table: String,
    /// The timestamp column where the record's retention clock starts.
    pub clock: String,
    /// A SQL condition (trusted admin text) limiting which rows are of this kind.
    #[serde(rename = "where")]
    pub condition: Option<String>,
}

impl Settings {
    /// Checks what serde cannot, naming the key of every problem.
    pub fn validate(&self) -> Result<(), ConnectorError> {
        let mut problems = SettingsProblems::new();
        problems.check(self.validate_connection());
        if self.page_size == Some(0) {
            problems.add("page_size", "must be at least 1");
        }
        if self.subjects.is_none() && self.records.is_empty() {
            problems.add(
                "subjects",
                "configure a subjects table, or records for expire, or both",
            );
        }
        if let Some(subjects) = &self.subjects {
            problems.check(subjects.validate());
        } else if !self.children.is_empty() {
            problems.add("children", "children need a subjects table to belong to");
        }
        for (i, child) in self.children.iter().enumerate() {
            problems.check(child.validate(&format!("children[{i}]")));
        }
        let mut kinds = BTreeSet::new();
        for (i, record) in self.records.iter().enumerate() {
            let at = format!("records[{i}]");
            problems.check(record.validate(&at));
            if !kinds.insert(record.kind.as_str()) {
                problems.add(format!("{at}.kind"), "this record kind is already defined");
            }
        }
        problems.into_result()
    }

    fn validate_connection(&self) -> Result<(), ConnectorError> {
        let mut problems = SettingsProblems::new();
        let (needed, refused) = match self.backend {
            BackendKind::Sqlite => (("path", &self.path), ("url_file", &self.url_file)),
            _ => (("url_file", &self.url_file), ("path", &self.path)),
        };
        if refused.1.is_some() {
            problems.add(
                refused.0,
                format!("not used with this backend (use `{}`)", needed.0),
            );
        }
        match needed.1 {
            None => problems.add(needed.0, "required for this backend"),
            Some(path) if !path.is_absolute() => problems.add(needed.0, "must be an absolute path"),
            Some(_) => {}
        }
        problems.into_result()
    }
}

impl SubjectTable {
    fn validate(&self) -> Result<(), ConnectorError> {
        let mut problems = SettingsProblems::new();
        problems.check(identifier("subjects.table", &self.table));
        problems.check(identifier("subjects.key", &self.key));
        if self.identifiers.is_empty() {
            problems.add(
                "subjects.identifiers",
                "name at least one identifier column, e.g. { email = \"email\" }",
            );
        }
        for (kind, column) in &self.identifiers {
            problems.check(identifier(&format!("subjects.identifiers.{kind}"), column));
        }
        for (kind, column) in &self.match_columns {
            let at = format!("subjects.match_columns.{kind}");
            problems.check(identifier(&at, column));
            if !self.identifiers.contains_key(kind) || self.identifiers[kind] == self.key {
                problems.add(
                    at,
                    format!(
                        "a match column stands in for subjects.identifiers.{kind}, which must \
                         be set and not be the key column"
                    ),
                );
            }
        }
        problems.check(columns("subjects.activity", &self.activity));
        if let Some(column) = &self.relationship_end {
            problems.check(identifier("subjects.relationship_end", column));
        }
        problems.check(anonymize_map("subjects", &self.anonymize, &self.key));
        if self.on_erase == SubjectOnErase::Anonymize && self.anonymize.is_empty() {
            problems.add(
                "subjects.anonymize",
                "on_erase = \"anonymize\" needs the columns to anonymize",
            );
        }
        problems.into_result()
    }
}

impl ChildTable {
    fn validate(&self, at: &str) -> Result<(), ConnectorError> {
        let mut problems = SettingsProblems::new();
        problems.check(identifier(&format!("{at}.table"), &self.table));
        problems.check(identifier(&format!("{at}.foreign_key"), &self.foreign_key));
        problems.check(columns(&format!("{at}.activity"), &self.activity));
        if let Some(sql) = &self.active_when {
            problems.check(condition(&format!("{at}.active_when"), sql));
        }
        if let Some(sql) = &self.unpaid_when {
            problems.check(condition(&format!("{at}.unpaid_when"), sql));
        }
        problems.check(anonymize_map(at, &self.anonymize, &self.foreign_key));
        if self.on_erase == ChildOnErase::Anonymize && self.anonymize.is_empty() {
            problems.add(
                format!("{at}.anonymize"),
                "on_erase = \"anonymize\" needs the columns to anonymize",
            );
        }
        problems.into_result()
    }
}

impl RecordKind {
    fn validate(&self, at: &str) -> Result<(), ConnectorError> {
        let mut problems = SettingsProblems::new();
        let kind_ok = !self.kind.is_empty()
            && self
                .kind
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !kind_ok {
            problems.add(format!("{at}.kind"), "must be letters, digits, `_` or `-`");
        }
        problems.check(identifier(&format!("{at}.table"), &self.table));
        problems.check(identifier(&format!("{at}.clock"), &self.clock));
        if let Some(sql) = &self.condition {
            problems.check(condition(&format!("{at}.where"), sql));
        }
        problems.into_result()
    }
}

/// Whether `name` can be a table or column name: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_identifier(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn identifier(key: &str, name: &str) -> Result<(), ConnectorError> {
    if is_identifier(name) {
        Ok(())
    } else {
        Err(ConnectorError::config(
            key,
            "not a table or column name (letters, digits and `_`, not starting with a digit)",
        ))
    }
}

fn columns(key: &str, names: &[String]) -> Result<(), ConnectorError> {
    let mut problems = SettingsProblems::new();
    for (i, name) in names.iter().enumerate() {
        problems.check(identifier(&format!("{key}[{i}]"), name));
    }
    problems.into_result()
}

fn anonymize_map(
    at: &str,
    map: &BTreeMap<String, AnonymizeRule>,
    key_column: &str,
) -> Result<(), ConnectorError> {
    let mut problems = SettingsProblems::new();
    for column in map.keys() {
        let key = format!("{at}.anonymize.{column}");
        problems.check(identifier(&key, column));
        if column == key_column {
            problems.add(
                key,
                "the key column links the rows and cannot be anonymized",
            );
        }
    }
    problems.into_result()
}

/// Admin SQL is trusted, but it is pasted into queries whose values are bound: it must not
/// end the statement or bring placeholders of its own.
fn condition(key: &str, sql: &str) -> Result<(), ConnectorError> {
    let has_numbered_placeholder = sql
        .as_bytes()
        .windows(2)
        .any(|w| w[0] == b'$' && w[1].is_ascii_digit());
    let problem = if sql.trim().is_empty() {
        "is empty"
    } else if sql.contains(';') {
        "must be one condition, without `;`"
    } else if sql.contains('?') || has_numbered_placeholder {
        "must not contain `?` or `$1`-style placeholders (values are bound by gallra)"
    } else {
        return Ok(());
    };
    Err(ConnectorError::config(key, problem))
}
