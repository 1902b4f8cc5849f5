//! `lookup` and `export`: which rows hold a subject's data, and everything in them.
//!
//! Child rows have no key of their own in the settings, so they are named by the subject key
//! they hang on: a lookup lists `(child table, subject key)` once, an export numbers the
//! rows `subject key/1`, `subject key/2`, … in the order of their first column.

use gallra_plugin_api::{ExportField, ExportResult, LookupResult, RecordRef, Subject};

use crate::client::{Client, DbError};
use crate::config::ChildTable;
use crate::schema::{run_query, Schema};
use crate::sql::{Builder, Param};

/// The subject rows, and per child table the subject keys it holds rows for.
pub fn lookup(
    schema: &Schema,
    client: &mut dyn Client,
    subject: &Subject,
) -> Result<LookupResult, DbError> {
    let s = schema.subjects();
    let keys = schema.find_keys(client, subject)?;
    let mut records: Vec<RecordRef> = keys
        .iter()
        .map(|key| RecordRef {
            collection: s.table.clone(),
            key: key.clone(),
        })
        .collect();
    if keys.is_empty() {
        return Ok(LookupResult { records });
    }
    let params = key_params(schema, &keys)?;
    for child in &schema.settings.children {
        records.extend(
            child_keys(schema, client, child, &params)?
                .into_iter()
                .map(|key| RecordRef {
                    collection: child.table.clone(),
                    key,
                }),
        );
    }
    Ok(LookupResult { records })
}

/// The subject keys among `keys` that `child` holds rows for, in key order.
pub fn child_keys(
    schema: &Schema,
    client: &mut dyn Client,
    child: &ChildTable,
    keys: &[Param],
) -> Result<Vec<String>, DbError> {
    let mut b = Builder::new(schema.dialect);
    b.sql("SELECT ")
        .text_of(&child.foreign_key)
        .sql(" FROM ")
        .name(&child.table);
    b.sql(" WHERE ")
        .name(&child.foreign_key)
        .sql(" IN ")
        .bind_list(keys.iter().cloned());
    b.sql(" GROUP BY ").name(&child.foreign_key);
    b.sql(" ORDER BY ").name(&child.foreign_key);
    Ok(run_query(client, &b.finish(), &child.table)?
        .into_iter()
        .filter_map(|row| row.into_iter().next().flatten())
        .collect())
}

/// Every column of every subject row and child row.
pub fn export(
    schema: &Schema,
    client: &mut dyn Client,
    subject: &Subject,
) -> Result<ExportResult, DbError> {
    let s = schema.subjects();
    let keys = schema.find_keys(client, subject)?;
    let mut fields = Vec::new();
    if keys.is_empty() {
        return Ok(ExportResult { fields });
    }
    let params = key_params(schema, &keys)?;
    export_table(
        schema,
        client,
        &s.table,
        &s.key,
        &params,
        false,
        &mut fields,
    )?;
    for child in &schema.settings.children {
        let (table, link) = (&child.table, &child.foreign_key);
        export_table(schema, client, table, link, &params, true, &mut fields)?;
    }
    Ok(ExportResult { fields })
}

fn export_table(
    schema: &Schema,
    client: &mut dyn Client,
    table: &str,
    link: &str,
    keys: &[Param],
    numbered: bool,
    fields: &mut Vec<ExportField>,
) -> Result<(), DbError> {
    let columns = client.columns(table).map_err(|e| e.on_table(table))?;
    let Some(link_at) = columns.iter().position(|c| c == link) else {
        return Err(DbError::permanent(format!("the table has no column {link}")).on_table(table));
    };
    let mut b = Builder::new(schema.dialect);
    b.sql("SELECT ")
        .text_columns(columns.iter().map(String::as_str));
    b.sql(" FROM ").name(table);
    b.sql(" WHERE ")
        .name(link)
        .sql(" IN ")
        .bind_list(keys.iter().cloned());
    b.sql(" ORDER BY ").name(link).sql(", 1");
    let mut previous: Option<String> = None;
    let mut n = 0;
    for row in run_query(client, &b.finish(), table)? {
        let key = row[link_at].clone().unwrap_or_default();
        n = if previous.as_deref() == Some(key.as_str()) {
            n + 1
        } else {
            1
        };
        previous = Some(key.clone());
        let record = if numbered { format!("{key}/{n}") } else { key };
        for (column, value) in columns.iter().zip(row) {
            fields.push(ExportField {
                collection: table.to_owned(),
                record: record.clone(),
                field: column.clone(),
                value,
            });
        }
    }
    Ok(())
}

/// The keys as parameters of the key column's type.
pub fn key_params(schema: &Schema, keys: &[String]) -> Result<Vec<Param>, DbError> {
    keys.iter().map(|k| schema.key_param(k)).collect()
}
