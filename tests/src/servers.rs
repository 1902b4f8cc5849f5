//! Databases for the tests: a SQLite file, or a fresh database on the running PostgreSQL or
//! MariaDB. A server that is not there skips the test loudly — or fails it when
//! `GALLRA_REQUIRE_SERVERS=1` (as CI sets), so a missing server never passes in silence.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use mysql::prelude::Queryable;

/// The database kinds the SQL connector speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file.
    Sqlite,
    /// The local PostgreSQL server.
    Postgres,
    /// The local MariaDB/MySQL server.
    Mysql,
}

impl Backend {
    /// Its `backend` value in the SQL connector's settings.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::Mysql => "mysql",
        }
    }

    /// The demo generator's SQL dialect for it.
    pub fn dialect(self) -> gallra_demo::Dialect {
        match self {
            Backend::Sqlite => gallra_demo::Dialect::Sqlite,
            Backend::Postgres => gallra_demo::Dialect::Postgres,
            Backend::Mysql => gallra_demo::Dialect::Mysql,
        }
    }
}

fn pg_admin_url() -> String {
    std::env::var("GALLRA_TEST_PG")
        .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".into())
}

fn mysql_admin_url() -> String {
    std::env::var("GALLRA_TEST_MYSQL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into())
}

/// Whether a backend's server is reachable; if not, says so on stderr, and panics when the
/// environment requires servers.
pub fn available(backend: Backend, test: &str) -> bool {
    let reachable = match backend {
        Backend::Sqlite => Ok(()),
        Backend::Postgres => postgres::Client::connect(&pg_admin_url(), postgres::NoTls)
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Backend::Mysql => {
            mysql::Conn::new(mysql::Opts::from_url(&mysql_admin_url()).expect("valid url"))
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
    };
    match reachable {
        Ok(()) => true,
        Err(why) => {
            assert!(
                std::env::var("GALLRA_REQUIRE_SERVERS").as_deref() != Ok("1"),
                "{test}: {} server required (GALLRA_REQUIRE_SERVERS=1) but unreachable: {why}",
                backend.name()
            );
            eprintln!(
                "SKIPPED: {test} on {}: server unreachable: {why}",
                backend.name()
            );
            false
        }
    }
}

/// One database for one system in one test; a server database is dropped with it.
pub struct TestDb {
    /// The backend.
    pub backend: Backend,
    /// SQLite: the file.
    pub path: Option<PathBuf>,
    /// PostgreSQL / MySQL: the connection URL of the fresh database.
    pub url: Option<String>,
    /// PostgreSQL / MySQL: the database's name.
    name: String,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = &self.name;
        match self.backend {
            Backend::Sqlite => {}
            Backend::Postgres => {
                if let Ok(mut admin) = postgres::Client::connect(&pg_admin_url(), postgres::NoTls) {
                    let _ = admin
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                }
            }
            Backend::Mysql => {
                if let Ok(mut admin) =
                    mysql::Conn::new(mysql::Opts::from_url(&mysql_admin_url()).unwrap())
                {
                    let _ = admin.query_drop(format!("DROP DATABASE IF EXISTS {name}"));
                }
            }
        }
    }
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    /// Creates an empty database named after `label` (SQLite: a file in `dir`).
    pub fn create(backend: Backend, dir: &Path, label: &str) -> TestDb {
        let unique = format!(
            "gallra_{label}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        match backend {
            Backend::Sqlite => TestDb {
                backend,
                path: Some(dir.join(format!("{label}.db"))),
                url: None,
                name: unique,
            },
            Backend::Postgres => {
                let mut admin =
                    postgres::Client::connect(&pg_admin_url(), postgres::NoTls).expect("postgres");
                admin
                    .batch_execute(&format!("CREATE DATABASE {unique}"))
                    .expect("create database");
                TestDb {
                    backend,
                    path: None,
                    url: Some(format!("postgres://postgres@127.0.0.1:5432/{unique}")),
                    name: unique,
                }
            }
            Backend::Mysql => {
                let mut admin =
                    mysql::Conn::new(mysql::Opts::from_url(&mysql_admin_url()).unwrap())
                        .expect("mysql");
                admin
                    .query_drop(format!("CREATE DATABASE {unique}"))
                    .expect("create database");
                TestDb {
                    backend,
                    path: None,
                    url: Some(format!("mysql://root@127.0.0.1:3306/{unique}")),
                    name: unique,
                }
            }
        }
    }

    /// Runs SQL statements, in order.
    pub fn execute(&self, statements: &[String]) {
        match self.backend {
            Backend::Sqlite => {
                let mut db = rusqlite::Connection::open(self.path.as_ref().unwrap()).unwrap();
                let tx = db.transaction().unwrap();
                for s in statements {
                    tx.execute_batch(s)
                        .unwrap_or_else(|e| panic!("statement failed: {e}"));
                }
                tx.commit().unwrap();
            }
            Backend::Postgres => {
                let mut db =
                    postgres::Client::connect(self.url.as_ref().unwrap(), postgres::NoTls).unwrap();
                for s in statements {
                    db.batch_execute(s)
                        .unwrap_or_else(|e| panic!("statement failed: {e}"));
                }
            }
            Backend::Mysql => {
                let mut db =
                    mysql::Conn::new(mysql::Opts::from_url(self.url.as_ref().unwrap()).unwrap())
                        .unwrap();
                for s in statements {
                    db.query_drop(s)
                        .unwrap_or_else(|e| panic!("statement failed: {e}"));
                }
            }
        }
    }

    /// Every row of a query, each column as text (NULL as `None`), sorted: a snapshot to
    /// compare before and after a run.
    pub fn rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        let mut rows: Vec<Vec<Option<String>>> = match self.backend {
            Backend::Sqlite => {
                let db = rusqlite::Connection::open(self.path.as_ref().unwrap()).unwrap();
                let mut stmt = db.prepare(sql).unwrap();
                let n = stmt.column_count();
                stmt.query_map([], |row| {
                    Ok((0..n)
                        .map(|i| match row.get_ref(i).unwrap() {
                            rusqlite::types::ValueRef::Null => None,
                            rusqlite::types::ValueRef::Integer(v) => Some(v.to_string()),
                            rusqlite::types::ValueRef::Real(v) => Some(v.to_string()),
                            rusqlite::types::ValueRef::Text(t) => {
                                Some(String::from_utf8_lossy(t).into_owned())
                            }
                            rusqlite::types::ValueRef::Blob(b) => Some(format!("{b:?}")),
                        })
                        .collect())
                })
                .unwrap()
                .map(Result::unwrap)
                .collect()
            }
            Backend::Postgres => {
                let mut db =
                    postgres::Client::connect(self.url.as_ref().unwrap(), postgres::NoTls).unwrap();
                // The simple-query protocol returns every column as text, in SELECT order.
                db.simple_query(sql)
                    .unwrap()
                    .into_iter()
                    .filter_map(|message| match message {
                        postgres::SimpleQueryMessage::Row(row) => Some(
                            (0..row.len())
                                .map(|i| row.get(i).map(str::to_owned))
                                .collect(),
                        ),
                        _ => None,
                    })
                    .collect()
            }
            Backend::Mysql => {
                let mut db =
                    mysql::Conn::new(mysql::Opts::from_url(self.url.as_ref().unwrap()).unwrap())
                        .unwrap();
                let rows: Vec<mysql::Row> = db.query(sql).unwrap();
                rows.into_iter()
                    .map(|row| {
                        (0..row.len())
                            .map(|i| match row.as_ref(i).unwrap() {
                                mysql::Value::NULL => None,
                                mysql::Value::Bytes(b) => {
                                    Some(String::from_utf8_lossy(b).into_owned())
                                }
                                other => Some(other.as_sql(true)),
                            })
                            .collect()
                    })
                    .collect()
            }
        };
        rows.sort();
        rows
    }

    /// `SELECT COUNT(*)` of a table, optionally with a condition.
    pub fn count(&self, table: &str, condition: Option<&str>) -> u64 {
        let sql = match condition {
            Some(c) => format!("SELECT COUNT(*) FROM {table} WHERE {c}"),
            None => format!("SELECT COUNT(*) FROM {table}"),
        };
        self.rows(&sql)[0][0]
            .as_deref()
            .unwrap_or("0")
            .parse()
            .unwrap()
    }
}
