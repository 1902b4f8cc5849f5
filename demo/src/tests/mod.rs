//! The demo data is what it claims to be: deterministic, valid, in the stated shares, the
//! same in every SQL dialect, and described by a configuration gallra accepts.

mod config;
mod data;
mod sql;

use jiff::Zoned;

use super::rows::Value;
use super::{Dataset, Dialect};

pub(super) fn now() -> Zoned {
    "2026-03-15T10:00:00[Europe/Stockholm]".parse().unwrap()
}

pub(super) fn dataset(customers: usize) -> Dataset {
    Dataset::generate(20260315, customers, now())
}

/// The values of one column, by row.
pub(super) fn column<'a>(
    data: &'a Dataset,
    system: &str,
    table: &str,
    column: &str,
) -> Vec<&'a Value> {
    let table = data
        .system(system)
        .unwrap()
        .tables
        .iter()
        .find(|t| t.schema.name == table)
        .unwrap();
    let i = table
        .schema
        .columns
        .iter()
        .position(|c| c.name == column)
        .unwrap();
    table.rows.iter().map(|r| &r[i]).collect()
}

pub(super) fn texts(values: Vec<&Value>) -> Vec<&str> {
    values
        .into_iter()
        .filter_map(|v| match v {
            Value::Text(s) => Some(s.as_str()),
            _ => None,
        })
        .collect()
}

pub(super) fn all_statements(data: &Dataset, dialect: Dialect) -> Vec<String> {
    Dataset::SYSTEMS
        .iter()
        .flat_map(|s| data.statements(s, dialect))
        .collect()
}
