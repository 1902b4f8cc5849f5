//! A batch's lookups and deletions as one statement per table, not one per subject.
//!
//! The subject rows of every subject in the batch are found by one candidate query (the
//! `IN` lists of [`matching::push_candidates_many`]) and assigned to their subjects by the
//! same exact comparison a single lookup makes; child rows are then read or deleted by one
//! `IN` list of all the batch's keys. Each subject's answer is the one its single call would
//! give, taken in the batch's order: a row two subjects of the batch share goes to the first,
//! as if they had been erased one after the other.
//!
//! Whatever cannot be done so (a subject whose identifiers spell out too many ways, a
//! statement that fails) is an error for the whole attempt, and the caller goes subject by
//! subject instead (see `batch`), so one subject's trouble never fails its neighbours.

use std::collections::{BTreeMap, BTreeSet};

use gallra_plugin_api::{EraseOutcome, LookupResult, RecordRef, Subject};

use crate::client::{Client, DbError};
use crate::config::{ChildOnErase, SubjectOnErase};
use crate::records::{self, key_params};
use crate::schema::{count, run_query, Schema};
use crate::sql::{Builder, Param};
use crate::{erase, matching};

/// Each subject's keys, in key order: the subject rows holding one of its identifiers.
pub fn find_keys_many(
    schema: &Schema,
    client: &mut dyn Client,
    subjects: &[Subject],
) -> Result<Vec<Vec<String>>, DbError> {
    let s = schema.subjects();
    if !matching::batch_exact(schema.dialect) {
        return Err(DbError::permanent(
            "batches are looked up subject by subject here",
        ));
    }
    let mut keys = vec![Vec::new(); subjects.len()];
    let mut b = Builder::new(schema.dialect);
    let owners =
        matching::push_candidates_many(&mut b, s, subjects).map_err(|e| e.on_table(&s.table))?;
    let Some(owners) = owners else {
        return Ok(keys);
    };
    b.sql(" ORDER BY ").name(&s.table).sql(".").name(&s.key);
    for mut row in run_query(client, &b.finish(), &s.table)? {
        let owners = owners.of(s, &row);
        if let Some(key) = row.swap_remove(0) {
            for n in owners {
                keys[n].push(key.clone());
            }
        }
    }
    Ok(keys)
}

/// Each subject's lookup, as [`crate::records::lookup`] answers it.
pub fn lookup_many(
    schema: &Schema,
    client: &mut dyn Client,
    subjects: &[Subject],
) -> Result<Vec<LookupResult>, DbError> {
    let s = schema.subjects();
    let keys = find_keys_many(schema, client, subjects)?;
    let mut found: Vec<LookupResult> = keys
        .iter()
        .map(|keys| LookupResult {
            records: keys
                .iter()
                .map(|key| RecordRef {
                    collection: s.table.clone(),
                    key: key.clone(),
                })
                .collect(),
        })
        .collect();
    let all = all_keys(&keys);
    if all.is_empty() {
        return Ok(found);
    }
    let params = key_params(schema, &all)?;
    for child in &schema.settings.children {
        let held = records::child_keys(schema, client, child, &params)?;
        for (subject, own) in found.iter_mut().zip(&keys) {
            let own: BTreeSet<&String> = own.iter().collect();
            subject.records.extend(
                held.iter()
                    .filter(|k| own.contains(k))
                    .map(|key| RecordRef {
                        collection: child.table.clone(),
                        key: key.clone(),
                    }),
            );
        }
    }
    Ok(found)
}

/// Whether an erase of this system deletes (or keeps) whole rows only, which is what a
/// set-based erase does; anonymizing tables are erased subject by subject.
pub fn erase_deletes_only(schema: &Schema) -> bool {
    schema.subjects().on_erase == SubjectOnErase::Delete
        && schema
            .settings
            .children
            .iter()
            .all(|c| matches!(c.on_erase, ChildOnErase::Delete | ChildOnErase::Keep))
}

/// Deletes every subject's rows (children first, per their `on_erase`), one statement per
/// table, inside the caller's transaction; each subject's `Erased` counts its own rows.
/// Only for a system where [`erase_deletes_only`] holds.
pub fn erase_many(
    schema: &Schema,
    client: &mut dyn Client,
    subjects: &[Subject],
) -> Result<Vec<EraseOutcome>, DbError> {
    let s = schema.subjects();
    let mut keys = find_keys_many(schema, client, subjects)?;
    // A row two subjects share goes to the first, as one erase after the other would find.
    let mut taken = BTreeSet::new();
    for own in &mut keys {
        own.retain(|key| taken.insert(key.clone()));
    }
    let mut records: Vec<u64> = keys.iter().map(|k| k.len() as u64).collect();
    let all = all_keys(&keys);
    if all.is_empty() {
        return Ok(records
            .into_iter()
            .map(|records| EraseOutcome::Erased { records })
            .collect());
    }
    let owner: BTreeMap<&String, usize> = keys
        .iter()
        .enumerate()
        .flat_map(|(n, own)| own.iter().map(move |k| (k, n)))
        .collect();
    let params = key_params(schema, &all)?;
    for child in &schema.settings.children {
        if child.on_erase != ChildOnErase::Delete {
            continue;
        }
        for (key, rows) in child_counts(schema, client, &child.table, &child.foreign_key, &params)?
        {
            if let Some(&n) = owner.get(&key) {
                records[n] += rows;
            }
        }
        erase::delete(schema, client, &child.table, &child.foreign_key, &params)?;
    }
    let deleted = erase::delete(schema, client, &s.table, &s.key, &params)?;
    if deleted != all.len() as u64 {
        // Rows found a moment ago in this transaction are gone or doubled: do not count on
        // the batch; the caller erases subject by subject.
        return Err(DbError::permanent(format!(
            "the batch's delete matched {deleted} subject rows, not the {} it found",
            all.len()
        ))
        .on_table(&s.table));
    }
    Ok(records
        .into_iter()
        .map(|records| EraseOutcome::Erased { records })
        .collect())
}

/// Every key of the batch, once, in order.
fn all_keys(keys: &[Vec<String>]) -> Vec<String> {
    let set: BTreeSet<&String> = keys.iter().flatten().collect();
    set.into_iter().cloned().collect()
}

/// Rows per link value of `table` among `keys`.
fn child_counts(
    schema: &Schema,
    client: &mut dyn Client,
    table: &str,
    link: &str,
    keys: &[Param],
) -> Result<Vec<(String, u64)>, DbError> {
    let d = schema.dialect;
    let mut b = Builder::new(d);
    b.sql("SELECT ")
        .text_of(link)
        .sql(", ")
        .sql(&d.text("COUNT(*)"));
    b.sql(" FROM ")
        .name(table)
        .sql(" WHERE ")
        .name(link)
        .sql(" IN ");
    b.bind_list(keys.iter().cloned());
    b.sql(" GROUP BY ").name(link);
    Ok(run_query(client, &b.finish(), table)?
        .into_iter()
        .filter_map(|mut row| {
            let rows = count(row.get(1).and_then(Option::as_ref));
            row.swap_remove(0).map(|key| (key, rows))
        })
        .collect())
}
