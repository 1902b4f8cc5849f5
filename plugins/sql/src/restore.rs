//! `restore`: puts back the rows of an export, in one transaction (the caller opens it).
//!
//! An export names each row by its table (the collection) and its subject key (child rows
//! `key/1`, `key/2`, …) and holds every column as text, so a row is re-created from its
//! fields alone: the subjects table's rows first, then the children, which may reference
//! them. A row is left as it is, and counted as already present, when an identical row is
//! there, or when inserting it would clash with a row holding the same unique key
//! (`ON CONFLICT DO NOTHING`; on MySQL/MariaDB `ON DUPLICATE KEY UPDATE` that changes
//! nothing, which the server reports as a match, so there it counts as restored). Values
//! are bound as text and converted by the database into each column's type, as it converts
//! them back for the export: PostgreSQL through `json_populate_record` of the table's row
//! type, the others by their own implicit conversion.

use std::collections::BTreeMap;

use gallra_plugin_api::{ExportResult, RestoreOutcome};

use crate::client::{Client, DbError};
use crate::schema::{count, run_execute, run_query, Schema};
use crate::sql::{Builder, Dialect, Param};

/// One exported row: its columns and their values, in export order.
type Fields<'a> = Vec<(&'a str, Option<&'a str>)>;

/// Puts back every row of `data` that is not there.
pub fn run(
    schema: &Schema,
    client: &mut dyn Client,
    data: &ExportResult,
) -> Result<RestoreOutcome, DbError> {
    let mut outcome = RestoreOutcome::default();
    for (table, fields) in rows_parents_first(schema, data)? {
        let known = client.columns(table).map_err(|e| e.on_table(table))?;
        if let Some((column, _)) = fields.iter().find(|(c, _)| !known.iter().any(|k| k == c)) {
            return Err(DbError::permanent(format!(
                "the export names column {column}, which the table no longer has; restore needs the table as it was exported"
            ))
            .on_table(table));
        }
        if present(schema.dialect, client, table, &fields)? {
            outcome.already_present += 1;
        } else if insert(schema.dialect, client, table, &fields)? > 0 {
            outcome.restored += 1;
        } else {
            outcome.already_present += 1;
        }
    }
    Ok(outcome)
}

/// The export's rows grouped by table and record, the subjects table first. A table this
/// system's settings do not name is refused: restore writes only where erase deletes.
fn rows_parents_first<'a>(
    schema: &'a Schema,
    data: &'a ExportResult,
) -> Result<Vec<(&'a str, Fields<'a>)>, DbError> {
    let subjects = schema.subjects().table.as_str();
    let children = &schema.settings.children;
    let mut rows: BTreeMap<(usize, &str, &str), Fields<'a>> = BTreeMap::new();
    for field in &data.fields {
        let table = field.collection.as_str();
        let rank = if table == subjects {
            0
        } else if let Some(i) = children.iter().position(|c| c.table == table) {
            i + 1
        } else {
            return Err(DbError::permanent(
                "the export names a table that is not in this system's settings (subjects.table or children[].table)",
            )
            .on_table(table));
        };
        rows.entry((rank, table, field.record.as_str()))
            .or_default()
            .push((field.field.as_str(), field.value.as_deref()));
    }
    Ok(rows
        .into_iter()
        .map(|((_, table, _), fields)| (table, fields))
        .collect())
}

/// Whether a row with exactly these values (compared as text, NULL as NULL) is there.
fn present(
    dialect: Dialect,
    client: &mut dyn Client,
    table: &str,
    fields: &Fields<'_>,
) -> Result<bool, DbError> {
    let mut b = Builder::new(dialect);
    b.sql("SELECT ")
        .sql(&dialect.text("COUNT(*)"))
        .sql(" FROM ")
        .name(table)
        .sql(" WHERE ");
    for (i, (column, value)) in fields.iter().enumerate() {
        if i > 0 {
            b.sql(" AND ");
        }
        match value {
            Some(value) => {
                b.text_of(column)
                    .sql(" = ")
                    .bind(Param::Text((*value).to_owned()));
            }
            None => {
                b.name(column).sql(" IS NULL");
            }
        }
    }
    let rows = run_query(client, &b.finish(), table)?;
    Ok(count(rows.first().and_then(|r| r[0].as_ref())) > 0)
}

/// Inserts the row unless a row with the same unique key is there; returns rows inserted.
fn insert(
    dialect: Dialect,
    client: &mut dyn Client,
    table: &str,
    fields: &Fields<'_>,
) -> Result<u64, DbError> {
    let mut b = Builder::new(dialect);
    b.sql("INSERT INTO ").name(table).sql(" (");
    column_list(&mut b, fields);
    b.sql(") ");
    match dialect {
        Dialect::Postgres => {
            let record: serde_json::Map<String, serde_json::Value> = fields
                .iter()
                .map(|(c, v)| ((*c).to_owned(), v.map(str::to_owned).into()))
                .collect();
            let json = serde_json::Value::Object(record).to_string();
            b.sql("SELECT ");
            column_list(&mut b, fields);
            b.sql(" FROM json_populate_record(NULL::")
                .name(table)
                .sql(", CAST(CAST(")
                .bind(Param::Text(json))
                .sql(" AS TEXT) AS json)) ON CONFLICT DO NOTHING");
        }
        Dialect::Sqlite | Dialect::Mysql => {
            b.sql("VALUES (");
            for (i, (_, value)) in fields.iter().enumerate() {
                b.sql(if i == 0 { "" } else { ", " });
                b.bind(value.map_or(Param::Null, |v| Param::Text(v.to_owned())));
            }
            b.sql(")");
            if dialect == Dialect::Sqlite {
                b.sql(" ON CONFLICT DO NOTHING");
            } else {
                let first = fields.first().map_or("", |(c, _)| c);
                b.sql(" ON DUPLICATE KEY UPDATE ")
                    .name(first)
                    .sql(" = ")
                    .name(first);
            }
        }
    }
    run_execute(client, &b.finish(), table)
}

fn column_list(b: &mut Builder, fields: &Fields<'_>) {
    for (i, (column, _)) in fields.iter().enumerate() {
        b.sql(if i == 0 { "" } else { ", " }).name(column);
    }
}
