//! The configured tables, and the queries every operation shares: which subject rows belong
//! to a subject, and how keys are bound.

use gallra_plugin_api::jiff::tz::TimeZone;
use gallra_plugin_api::{Identifier, Subject};

use crate::anonymize::Hasher;
use crate::client::{Client, DbError, Row};
use crate::config::{KeyType, Settings, SubjectTable};
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

    /// The keys of every subject row that holds one of the subject's identifiers, in key
    /// order. Empty when none do, or when the subject has no identifier this system knows.
    pub fn find_keys(
        &self,
        client: &mut dyn Client,
        subject: &Subject,
    ) -> Result<Vec<String>, DbError> {
        let s = self.subjects();
        let mut b = Builder::new(self.dialect);
        b.sql("SELECT ")
            .text_of(&s.key)
            .sql(" FROM ")
            .name(&s.table);
        b.sql(" WHERE ");
        if !self.push_match(&mut b, subject) {
            return Ok(Vec::new());
        }
        // Qualified: the bare name would order PostgreSQL's output by the key's text.
        b.sql(" ORDER BY ").name(&s.table).sql(".").name(&s.key);
        let rows = run_query(client, &b.finish(), &s.table)?;
        Ok(rows
            .into_iter()
            .filter_map(|mut r| r.swap_remove(0))
            .collect())
    }

    /// Appends `(col = ? OR …)` over the configured identifier columns; `false` (and nothing
    /// usable appended) if no identifier of the subject can match here.
    fn push_match(&self, b: &mut Builder, subject: &Subject) -> bool {
        let s = self.subjects();
        let mut terms = 0;
        b.sql("(");
        for (kind, column) in &s.identifiers {
            for identifier in subject.of_kind(*kind) {
                let Some((lower, values)) = self.spellings(identifier, column) else {
                    continue;
                };
                if terms > 0 {
                    b.sql(" OR ");
                }
                terms += 1;
                if lower {
                    b.sql("LOWER(").name(column).sql(")");
                } else {
                    b.name(column);
                }
                b.sql(" IN ").bind_list(values);
            }
        }
        b.sql(")");
        terms > 0
    }

    /// The values a column may hold for one identifier, and whether to compare lower-case.
    fn spellings(&self, identifier: &Identifier, column: &str) -> Option<(bool, Vec<Param>)> {
        let text = |v: &str| Param::Match(v.to_owned());
        Some(match identifier {
            Identifier::Email(v) | Identifier::Domain(v) => (true, vec![text(v)]),
            Identifier::Personnummer(p) => {
                let twelve = p.as_str();
                let short = p.short_form();
                let dashed = format!("{}-{}", &twelve[..8], &twelve[8..]);
                let ten = short.replace('-', "");
                (false, [twelve, &dashed, &short, &ten].map(text).to_vec())
            }
            Identifier::Phone(v) => {
                let mut values = vec![text(v)];
                if let Some(national) = v.strip_prefix("+46") {
                    values.push(text(&format!("0{national}")));
                }
                (false, values)
            }
            Identifier::CustomerId(v) => {
                let s = self.subjects();
                if column == s.key && s.key_type == KeyType::Integer {
                    // A customer id that is no integer is no key here. Binding it as text
                    // would let MySQL compare it as 0.
                    (false, vec![Param::Int(v.trim().parse().ok()?)])
                } else {
                    (false, vec![text(v)])
                }
            }
            Identifier::Ip(_) => (false, vec![text(&identifier.value())]),
        })
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
