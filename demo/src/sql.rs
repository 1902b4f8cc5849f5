//! The dataset as SQL: statements for SQLite, PostgreSQL and MySQL/MariaDB, and ready-made
//! SQLite files for the demo.

use std::path::Path;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{params_from_iter, Connection, ToSql};

use super::dataset::Dataset;
use super::rows::{SystemData, Table, Value};
use super::schema::{Column, ColumnType, TableSchema};
use super::{DemoError, DemoFiles, Result};

/// Rows per `INSERT`: big enough to load fast, small enough for any server's packet limit.
const ROWS_PER_INSERT: usize = 500;

/// The SQL dialects the demo data can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite 3: timestamps as TEXT.
    Sqlite,
    /// PostgreSQL: timestamps as `TIMESTAMP` (without time zone: Europe/Stockholm local).
    Postgres,
    /// MySQL and MariaDB: timestamps as `DATETIME`, InnoDB, utf8mb4.
    Mysql,
}

impl Dataset {
    /// The statements that create one system's tables (with foreign keys and an index on
    /// each) and fill them: `CREATE TABLE`s, `CREATE INDEX`es, then multi-row `INSERT`s of at
    /// most 500 rows, parents before children. One statement per element, without a trailing
    /// `;`. Empty for a name not in [`Dataset::SYSTEMS`].
    ///
    /// The statements assume an empty schema (PostgreSQL) or database (MySQL); for MySQL the
    /// connection must use utf8mb4, since names hold å, ä and ö.
    pub fn statements(&self, system: &str, dialect: Dialect) -> Vec<String> {
        let Some(system) = self.system(system) else {
            return Vec::new();
        };
        let mut out = schema_statements(system, dialect);
        for table in &system.tables {
            out.extend(insert_statements(table, dialect));
        }
        out
    }

    /// Writes `panel.db`, `billing.db` and `crm.db` into `dir` (created if missing), each in
    /// one transaction. Refuses to overwrite an existing file, so demo data never lands in a
    /// real database by a slip of the path.
    pub fn write_sqlite(&self, dir: &Path) -> Result<DemoFiles> {
        std::fs::create_dir_all(dir).map_err(|source| DemoError::CreateDir {
            path: dir.to_owned(),
            source,
        })?;
        let path = |system: &str| dir.join(format!("{system}.db"));
        for system in Dataset::SYSTEMS {
            let path = path(system);
            if path.exists() {
                return Err(DemoError::Exists { path });
            }
        }
        for system in Dataset::SYSTEMS {
            if let Some(data) = self.system(system) {
                let path = path(system);
                write_one(data, &path).map_err(|source| DemoError::Sqlite { path, source })?;
            }
        }
        Ok(DemoFiles {
            panel: path("panel"),
            billing: path("billing"),
            crm: path("crm"),
        })
    }
}

fn write_one(system: &SystemData, path: &Path) -> rusqlite::Result<()> {
    let mut conn = Connection::open(path)?;
    // Catches a generator bug (a child pointing at no parent) before anyone sees the data.
    conn.pragma_update(None, "foreign_keys", true)?;
    let tx = conn.transaction()?;
    for statement in schema_statements(system, Dialect::Sqlite) {
        tx.execute(&statement, [])?;
    }
    for table in &system.tables {
        let columns = table.schema.columns;
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            table.schema.name,
            column_list(columns),
            vec!["?"; columns.len()].join(", ")
        );
        let mut insert = tx.prepare(&sql)?;
        for row in &table.rows {
            insert.execute(params_from_iter(row))?;
        }
    }
    tx.commit()
}

impl ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Int(i) => ValueRef::Integer(*i),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
        }))
    }
}

fn schema_statements(system: &SystemData, dialect: Dialect) -> Vec<String> {
    let mut out = Vec::new();
    for table in &system.tables {
        out.push(create_table(table.schema, dialect));
        for fk in table.schema.foreign_keys() {
            out.push(format!(
                "CREATE INDEX {table}_{column}_idx ON {table} ({column})",
                table = table.schema.name,
                column = fk.name
            ));
        }
    }
    out
}

fn create_table(schema: &TableSchema, dialect: Dialect) -> String {
    let mut parts: Vec<String> = schema
        .columns
        .iter()
        .map(|c| column_definition(c, dialect))
        .collect();
    // Table-level FOREIGN KEY, because MySQL silently ignores a REFERENCES on the column.
    parts.extend(schema.foreign_keys().filter_map(|c| {
        let parent = c.references?;
        Some(format!("FOREIGN KEY ({}) REFERENCES {parent} (id)", c.name))
    }));
    let options = match dialect {
        Dialect::Mysql => " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
        Dialect::Sqlite | Dialect::Postgres => "",
    };
    format!(
        "CREATE TABLE {} (\n  {}\n){options}",
        schema.name,
        parts.join(",\n  ")
    )
}

fn column_definition(column: &Column, dialect: Dialect) -> String {
    use ColumnType::*;
    let ty = match (column.ty, dialect) {
        // INTEGER PRIMARY KEY is SQLite's rowid alias; BIGINT PRIMARY KEY would not be.
        (Key, Dialect::Sqlite) => "INTEGER PRIMARY KEY",
        (Key, _) => "BIGINT PRIMARY KEY",
        (Integer, _) => "BIGINT",
        (Text, Dialect::Mysql) => "VARCHAR(255)",
        (Text | LongText, _) => "TEXT",
        (Timestamp, Dialect::Sqlite) => "TEXT",
        (Timestamp, Dialect::Postgres) => "TIMESTAMP",
        (Timestamp, Dialect::Mysql) => "DATETIME",
    };
    let null = if column.not_null && column.ty != Key {
        " NOT NULL"
    } else {
        ""
    };
    format!("{} {ty}{null}", column.name)
}

fn insert_statements(table: &Table, dialect: Dialect) -> Vec<String> {
    let head = format!(
        "INSERT INTO {} ({}) VALUES\n",
        table.schema.name,
        column_list(table.schema.columns)
    );
    table
        .rows
        .chunks(ROWS_PER_INSERT)
        .map(|chunk| {
            let rows: Vec<String> = chunk
                .iter()
                .map(|row| {
                    let values: Vec<String> = row.iter().map(|v| literal(v, dialect)).collect();
                    format!("({})", values.join(", "))
                })
                .collect();
            format!("{head}{}", rows.join(",\n"))
        })
        .collect()
}

fn column_list(columns: &[Column]) -> String {
    columns
        .iter()
        .map(|c| c.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A value as an SQL literal. Quotes are doubled in every dialect; MySQL also treats `\` as
/// an escape inside strings (unless NO_BACKSLASH_ESCAPES is set, which the demo does not
/// assume), so there it is doubled too.
pub(super) fn literal(value: &Value, dialect: Dialect) -> String {
    match value {
        Value::Null => "NULL".to_owned(),
        Value::Int(i) => i.to_string(),
        Value::Text(s) => {
            let mut out = String::with_capacity(s.len() + 2);
            out.push('\'');
            for c in s.chars() {
                match c {
                    '\'' => out.push_str("''"),
                    '\\' if dialect == Dialect::Mysql => out.push_str("\\\\"),
                    c => out.push(c),
                }
            }
            out.push('\'');
            out
        }
    }
}
