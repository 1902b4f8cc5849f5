//! The SQL: SQLite files and statements that load the dataset's rows in every dialect.

use std::collections::{BTreeMap, HashSet};

use rusqlite::Connection;

use super::*;
use crate::DemoError;

fn count(conn: &Connection, table: &str) -> usize {
    conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| {
        r.get::<_, i64>(0)
    })
    .unwrap() as usize
}

fn counts_in(conns: &[(&str, Connection)], data: &Dataset) -> BTreeMap<String, usize> {
    data.row_counts()
        .keys()
        .map(|key| {
            let (system, table) = key.split_once('.').unwrap();
            let conn = &conns.iter().find(|(s, _)| *s == system).unwrap().1;
            (key.clone(), count(conn, table))
        })
        .collect()
}

#[test]
fn write_sqlite_makes_databases_with_the_datasets_rows() {
    let data = dataset(700);
    let dir = tempfile::tempdir().unwrap();
    let files = data.write_sqlite(&dir.path().join("demo")).unwrap();
    let conns: Vec<(&str, Connection)> = Dataset::SYSTEMS
        .iter()
        .map(|s| (*s, Connection::open(files.path(s).unwrap()).unwrap()))
        .collect();
    assert_eq!(counts_in(&conns, &data), data.row_counts());
    assert!(data.row_counts().values().all(|n| *n > 0));

    // Purging the expected customers by hand gives the promised counts afterwards.
    let purged: Vec<String> = data.expected_purged().iter().map(i64::to_string).collect();
    let crm: Vec<String> = data
        .expected_purged()
        .iter()
        .filter_map(|id| data.customer(*id)?.crm_id())
        .map(|id| id.to_string())
        .collect();
    let (panel, crm_conn) = (&conns[0].1, &conns[2].1);
    let (purged, crm) = (purged.join(","), crm.join(","));
    panel
        .execute_batch(&format!(
            "DELETE FROM services WHERE customer_id IN ({purged});
             DELETE FROM customers WHERE id IN ({purged});"
        ))
        .unwrap();
    crm_conn
        .execute_batch(&format!(
            "DELETE FROM notes WHERE person_id IN ({crm});
             DELETE FROM people WHERE id IN ({crm});"
        ))
        .unwrap();
    assert_eq!(counts_in(&conns, &data), data.row_counts_after_purge());
}

#[test]
fn write_sqlite_never_overwrites_an_existing_database() {
    let data = dataset(30);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("billing.db"), b"real data").unwrap();
    let err = data.write_sqlite(dir.path()).unwrap_err();
    assert!(matches!(err, DemoError::Exists { .. }), "{err}");
    assert!(!dir.path().join("panel.db").exists());
    assert_eq!(
        std::fs::read(dir.path().join("billing.db")).unwrap(),
        b"real data"
    );
}

#[test]
fn sqlite_statements_load_the_same_rows() {
    let data = dataset(1_200);
    let conns: Vec<(&str, Connection)> = Dataset::SYSTEMS
        .iter()
        .map(|system| {
            let conn = Connection::open_in_memory().unwrap();
            conn.pragma_update(None, "foreign_keys", true).unwrap();
            for statement in data.statements(system, Dialect::Sqlite) {
                conn.execute(&statement, []).unwrap();
            }
            (*system, conn)
        })
        .collect();
    assert_eq!(counts_in(&conns, &data), data.row_counts());
    // Quotes, backslashes and newlines survive the literals.
    let crm = &conns[2].1;
    let bodies: HashSet<String> = crm
        .prepare("SELECT body FROM notes")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let want: HashSet<String> = texts(column(&data, "crm", "notes", "body"))
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(bodies, want);
    assert!(bodies.iter().any(|b| b.contains('\'') && !b.contains("''")));
    assert!(bodies.iter().any(|b| b.contains('\\')));
}

/// Rows in an `INSERT … VALUES`, counted by a scanner that knows the dialect's string
/// escapes; panics on an unterminated string or unbalanced parentheses.
fn rows_in_insert(statement: &str, dialect: Dialect) -> usize {
    let values = statement.find(") VALUES").expect("multi-row VALUES") + 8;
    let mut chars = statement[values..].chars().peekable();
    let (mut depth, mut rows, mut in_string) = (0i32, 0, false);
    while let Some(c) = chars.next() {
        if in_string {
            match c {
                '\\' if dialect == Dialect::Mysql => {
                    chars.next();
                }
                '\'' if chars.peek() == Some(&'\'') => {
                    chars.next();
                }
                '\'' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '\'' => in_string = true,
            '(' => {
                rows += usize::from(depth == 0);
                depth += 1;
            }
            ')' => depth -= 1,
            c if depth == 0 => assert!(c == ',' || c.is_whitespace(), "stray {c:?}"),
            _ => {}
        }
        assert!(depth >= 0);
    }
    assert!(
        !in_string && depth == 0,
        "unterminated literal or parenthesis"
    );
    rows
}

#[test]
fn postgres_and_mysql_statements_are_well_formed() {
    let data = dataset(1_200);
    for (dialect, timestamp) in [
        (Dialect::Postgres, "TIMESTAMP"),
        (Dialect::Mysql, "DATETIME"),
    ] {
        for system in Dataset::SYSTEMS {
            let statements = data.statements(system, dialect);
            let mut rows = BTreeMap::<String, usize>::new();
            for s in &statements {
                assert!(!s.trim_end().ends_with(';'));
                if let Some(rest) = s.strip_prefix("INSERT INTO ") {
                    let table = rest.split_whitespace().next().unwrap();
                    let n = rows_in_insert(s, dialect);
                    assert!((1..=500).contains(&n));
                    *rows.entry(format!("{system}.{table}")).or_default() += n;
                } else if s.starts_with("CREATE TABLE ") {
                    assert!(s.contains("BIGINT PRIMARY KEY"), "{s}");
                    assert!(!s.contains("INTEGER PRIMARY KEY"), "{s}");
                    if s.contains("_at ") {
                        assert!(s.contains(timestamp), "{s}");
                    }
                    assert_eq!(s.contains("utf8mb4"), dialect == Dialect::Mysql);
                } else {
                    assert!(s.starts_with("CREATE INDEX "), "{s}");
                }
            }
            let want: BTreeMap<String, usize> = data
                .row_counts()
                .into_iter()
                .filter(|(k, _)| k.starts_with(&format!("{system}.")))
                .collect();
            assert_eq!(rows, want, "{dialect:?}");
        }
    }
    let mysql = data.statements("crm", Dialect::Mysql).join("\n");
    assert!(mysql.contains(r"C:\\inetpub\\wwwroot"));
    let pg = data.statements("crm", Dialect::Postgres).join("\n");
    assert!(pg.contains(r"C:\inetpub\wwwroot") && !pg.contains(r"C:\\inetpub"));
    assert!(data.statements("nope", Dialect::Postgres).is_empty());
}

#[test]
fn children_have_foreign_keys_and_indexes_in_every_dialect() {
    let data = dataset(10);
    for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql] {
        let all = all_statements(&data, dialect).join("\n");
        for (child, fk, parent) in [
            ("services", "customer_id", "customers"),
            ("invoices", "client_id", "clients"),
            ("notes", "person_id", "people"),
        ] {
            assert!(all.contains(&format!("FOREIGN KEY ({fk}) REFERENCES {parent} (id)")));
            assert!(all.contains(&format!("CREATE INDEX {child}_{fk}_idx ON {child} ({fk})")));
        }
    }
}
