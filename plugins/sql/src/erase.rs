//! `erase` and `anonymize`: children first, then the subject rows, in one transaction (the
//! caller opens it).

use std::collections::BTreeMap;

use gallra_plugin_api::{EraseOutcome, IdentifierKind, RecordRef, Subject};

use crate::anonymize::{is_hashed, AnonymizeRule};
use crate::client::{Client, DbError};
use crate::config::{ChildOnErase, SubjectOnErase};
use crate::records::key_params;
use crate::schema::{count, run_execute, run_query, KeyFilter, Schema};
use crate::sql::{Builder, Param};

/// Which operation gallra asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `erase`: each table per its `on_erase`.
    Erase,
    /// `anonymize`: overwrite the `anonymize` columns of the subject row and of every child
    /// table that has them (except `on_erase = "keep"`); delete nothing.
    Anonymize,
}

enum Action {
    Delete,
    Anonymize,
    Keep,
}

/// Erases or anonymizes the subject. Finding nothing is success with 0 records.
pub fn run(
    schema: &Schema,
    client: &mut dyn Client,
    subject: &Subject,
    mode: Mode,
) -> Result<EraseOutcome, DbError> {
    let s = schema.subjects();
    let anonymize_subject = mode == Mode::Anonymize || s.on_erase == SubjectOnErase::Anonymize;
    let found = schema.find_keys(client, subject)?;
    let mut records = 0;
    if !found.is_empty() {
        let keys = key_params(schema, &found)?;
        for child in &schema.settings.children {
            let action = match (mode, child.on_erase) {
                (_, ChildOnErase::Keep) => Action::Keep,
                (Mode::Erase, ChildOnErase::Delete) => Action::Delete,
                (Mode::Erase, ChildOnErase::Anonymize) => Action::Anonymize,
                (Mode::Anonymize, _) if child.anonymize.is_empty() => Action::Keep,
                (Mode::Anonymize, _) => Action::Anonymize,
            };
            let (table, link) = (&child.table, &child.foreign_key);
            records += match action {
                Action::Delete => delete(schema, client, table, link, &keys)?,
                Action::Anonymize => {
                    anonymize(schema, client, table, link, &keys, &child.anonymize)?
                }
                Action::Keep => 0,
            };
        }
        records += if anonymize_subject {
            anonymize(schema, client, &s.table, &s.key, &keys, &s.anonymize)?
        } else {
            delete(schema, client, &s.table, &s.key, &keys)?
        };
    }
    Ok(if anonymize_subject {
        EraseOutcome::Anonymized {
            records,
            retained: None,
            kept: kept_refs(schema, found),
        }
    } else {
        EraseOutcome::Erased { records }
    })
}

/// The subject rows an anonymization kept, named by their key, if `erase` finds a row by
/// its key: only when `customer_id` is configured as the key column (otherwise nothing
/// finds them once their identifiers are replaced, and gallra must hand them to a person).
fn kept_refs(schema: &Schema, keys: Vec<String>) -> Vec<RecordRef> {
    let s = schema.subjects();
    if s.identifiers.get(&IdentifierKind::CustomerId) != Some(&s.key) {
        return Vec::new();
    }
    keys.into_iter()
        .map(|key| RecordRef {
            collection: s.table.clone(),
            key,
        })
        .collect()
}

/// `DELETE FROM table WHERE link IN (keys)`; how many rows it removed.
pub(crate) fn delete(
    schema: &Schema,
    client: &mut dyn Client,
    table: &str,
    link: &str,
    keys: &[Param],
) -> Result<u64, DbError> {
    let mut b = Builder::new(schema.dialect);
    b.sql("DELETE FROM ")
        .name(table)
        .sql(" WHERE ")
        .name(link)
        .sql(" IN ");
    b.bind_list(keys.iter().cloned());
    run_execute(client, &b.finish(), table)
}

/// Overwrites the rule columns of the rows whose `link` is one of `keys`; returns how many
/// rows that covers. A hash is computed here (SQLite has no SHA-256), once per distinct
/// value, so rows need no key of their own; values that already are hashes stay, so a second
/// run changes nothing.
fn anonymize(
    schema: &Schema,
    client: &mut dyn Client,
    table: &str,
    link: &str,
    keys: &[Param],
    rules: &BTreeMap<String, AnonymizeRule>,
) -> Result<u64, DbError> {
    let d = schema.dialect;
    let mut b = Builder::new(d);
    b.sql("SELECT ")
        .sql(&d.text("COUNT(*)"))
        .sql(" FROM ")
        .name(table);
    b.sql(" WHERE ");
    KeyFilter::Keys(keys.to_vec()).push(&mut b, link);
    let rows = count(
        run_query(client, &b.finish(), table)?
            .first()
            .and_then(|r| r[0].as_ref()),
    );
    if rows == 0 {
        return Ok(0);
    }
    let fixed: Vec<(&String, Param)> = rules
        .iter()
        .filter_map(|(column, rule)| match rule {
            AnonymizeRule::Null => Some((column, Param::Null)),
            AnonymizeRule::Value(v) => Some((column, Param::Text(v.clone()))),
            AnonymizeRule::Hash => None,
        })
        .collect();
    if !fixed.is_empty() {
        let mut b = Builder::new(d);
        b.sql("UPDATE ").name(table).sql(" SET ");
        for (i, (column, value)) in fixed.into_iter().enumerate() {
            b.sql(if i == 0 { "" } else { ", " })
                .name(column)
                .sql(" = ")
                .bind(value);
        }
        b.sql(" WHERE ");
        KeyFilter::Keys(keys.to_vec()).push(&mut b, link);
        run_execute(client, &b.finish(), table)?;
    }
    let hashed = rules.iter().filter(|(_, r)| **r == AnonymizeRule::Hash);
    for (column, _) in hashed {
        let mut b = Builder::new(d);
        b.sql("SELECT DISTINCT ")
            .text_of(column)
            .sql(" FROM ")
            .name(table);
        b.sql(" WHERE ");
        KeyFilter::Keys(keys.to_vec()).push(&mut b, link);
        b.sql(" AND ").name(column).sql(" IS NOT NULL");
        let values = run_query(client, &b.finish(), table)?;
        for value in values.into_iter().filter_map(|mut r| r.swap_remove(0)) {
            if is_hashed(&value) {
                continue;
            }
            let mut b = Builder::new(d);
            b.sql("UPDATE ")
                .name(table)
                .sql(" SET ")
                .name(column)
                .sql(" = ");
            b.bind(Param::Text(schema.hasher.hash(&value)));
            b.sql(" WHERE ");
            KeyFilter::Keys(keys.to_vec()).push(&mut b, link);
            b.sql(" AND ")
                .text_of(column)
                .sql(" = ")
                .bind(Param::Match(value));
            run_execute(client, &b.finish(), table)?;
        }
    }
    Ok(rows)
}
