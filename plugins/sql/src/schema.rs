//! The configured tables, and the queries every operation shares: which subject rows belong
//! to a subject, and how keys are bound.

use gallra_plugin_api::jiff::tz::TimeZone;
use gallra_plugin_api::Subject;

use crate::anonymize::Hasher;
use crate::client::{Client, DbError, Row};
use crate::config::{KeyType, Settings, SubjectTable};
use crate::matching;
use crate::sql::{Builder, Dialect, Param, Query};

/// The settings of one instance, with what its queries need alongside.
pub struct Schema {
    /// The database's SQL dialect.
    pub dialect: Dialect,
    /// The validated settings.
    pub settings: Settings,
    /// The zone of timestamps stored without one.
    pub zone: TimeZone,
    /// The hash for `"hash"` anonymization.
    pub hasher: Hasher,
}

/// Which subjects a query about child rows covers.
pub enum KeyFilter {
    /// One scan page: keys after the cursor, up to and including the page's last key.
    Page {
        /// The previous page's last key (`None` on the first page).
        after: Option<Param>,
        /// This page's last key.
        through: Param,
    },
    /// These keys.
    Keys(Vec<Param>),
}

impl KeyFilter {
    /// Appends the condition on `column` (which holds subject keys).
    pub fn push(&self, b: &mut Builder, column: &str) {
        match self {
            Self::Page { after, through } => {
                if let Some(after) = after {
                    b.name(column).sql(" > ").bind(after.clone()).sql(" AND ");
                }
                b.name(column).sql(" <= ").bind(through.clone());
            }
            Self::Keys(keys) => {
                b.name(column).sql(" IN ").bind_list(keys.iter().cloned());
            }
        }
    }
}

impl Schema {
    /// The subjects table; callers check it is configured first.
    pub fn subjects(&self) -> &SubjectTable {
        self.settings
            .subjects
            .as_ref()
            .expect("operations on subjects check that a subjects table is configured")
    }

    /// A subject key (read back as text) as a parameter of the key column's type.
    pub fn key_param(&self, key: &str) -> Result<Param, DbError> {
        match self.subjects().key_type {
            KeyType::Text => Ok(Param::Text(key.to_owned())),
            KeyType::Integer => key.trim().parse().map(Param::Int).map_err(|_| {
                DbError::permanent(
                    "a key is not an integer: set subjects.key_type = \"text\" for this table",
                )
            }),
        }
    }

    /// The keys of every subject row that holds one of the subject's identifiers exactly
    /// (see [`crate::matching`]), in key order. Empty when none do, or when the subject has
    /// no identifier this system knows.
    pub fn find_keys(
        &self,
        client: &mut dyn Client,
        subject: &Subject,
    ) -> Result<Vec<String>, DbError> {
        let s = self.subjects();
        let mut b = Builder::new(self.dialect);
        if !matching::push_candidates(&mut b, s, subject).map_err(|e| e.on_table(&s.table))? {
            return Ok(Vec::new());
        }
        // Qualified: the bare name would order PostgreSQL's output by the key's text.
        b.sql(" ORDER BY ").name(&s.table).sql(".").name(&s.key);
        let rows = run_query(client, &b.finish(), &s.table)?;
        Ok(rows
            .into_iter()
            .filter(|row| matching::verify(s, subject, row))
            .filter_map(|mut row| row.swap_remove(0))
            .collect())
    }
}

/// Runs a query, naming `table` if it fails.
pub fn run_query(client: &mut dyn Client, query: &Query, table: &str) -> Result<Vec<Row>, DbError> {
    client.query(query).map_err(|e| e.on_table(table))
}

/// Runs a statement, naming `table` if it fails.
pub fn run_execute(client: &mut dyn Client, query: &Query, table: &str) -> Result<u64, DbError> {
    client.execute(query).map_err(|e| e.on_table(table))
}

/// Reads a count the database returned as text.
pub fn count(value: Option<&String>) -> u64 {
    value
        .and_then(|v| v.trim().split('.').next().map(str::to_owned))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}
