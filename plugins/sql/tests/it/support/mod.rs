//! Test support: the same fixture schema and rows in SQLite, PostgreSQL and MariaDB, each in
//! its own file / schema / database, and a runner that tries a test against every backend
//! it can reach.
//!
//! A server that cannot be reached is skipped with `SKIPPED: …` on stderr, unless
//! `GALLRA_REQUIRE_SERVERS=1` (CI), which makes it a failure. `GALLRA_TEST_PG` and
//! `GALLRA_TEST_MYSQL` override the server addresses.

use std::time::Duration;

use gallra_plugin_api::{testing, ConnectorError, OpenContext};
use gallra_plugin_sql::SqlConnector;
pub use gallra_testkit::connector::{by_email, subject};
use serde_json::{json, Value};

pub const PG_DEFAULT: &str = "postgres://postgres@127.0.0.1:5432/test";
pub const MYSQL_DEFAULT: &str = "mysql://root@127.0.0.1:3306/test";
pub const TIME_ZONE: &str = testing::TIME_ZONE;
pub const SYSTEM: &str = "panel";

/// The backends a fixture can live in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    Mysql,
}

/// A direct connection for seeding and checking, bypassing the connector.
pub enum Admin {
    Sqlite(rusqlite::Connection),
    Postgres(Box<postgres::Client>),
    Mysql(Box<mysql::Conn>),
}

/// One isolated database holding the fixture.
pub struct Fixture {
    pub backend: Backend,
    pub admin: Admin,
    /// `backend` plus `path` or `url_file`: merged into every settings table.
    connection: Value,
    /// Where to drop the schema / database when done.
    namespace: String,
    dir: tempfile::TempDir,
}

/// Runs `test` against every reachable backend, each with a fresh fixture.
pub fn each_backend(test: impl Fn(&mut Fixture)) {
    for backend in [Backend::Sqlite, Backend::Postgres, Backend::Mysql] {
        let Some(mut fixture) = Fixture::new(backend) else {
            continue;
        };
        eprintln!("-- running against {backend:?}");
        test(&mut fixture);
    }
}

fn unique_name() -> String {
    gallra_testkit::unique_name("gallra_sql", '_')
}

/// Prints SKIPPED, or fails when servers are required.
fn unavailable(what: &str, why: impl std::fmt::Display) -> Option<Fixture> {
    if std::env::var("GALLRA_REQUIRE_SERVERS").as_deref() == Ok("1") {
        panic!("{what} is required (GALLRA_REQUIRE_SERVERS=1) but unreachable: {why}");
    }
    eprintln!("SKIPPED: {what} unreachable: {why}");
    None
}

pub fn pg_base() -> String {
    std::env::var("GALLRA_TEST_PG").unwrap_or_else(|_| PG_DEFAULT.to_owned())
}

pub fn mysql_base() -> String {
    std::env::var("GALLRA_TEST_MYSQL").unwrap_or_else(|_| MYSQL_DEFAULT.to_owned())
}

/// The PostgreSQL address with `search_path` set to `schema`, URL or key=value form.
fn pg_url_in(schema: &str) -> String {
    let base = pg_base();
    if base.contains("://") {
        let joiner = if base.contains('?') { '&' } else { '?' };
        format!("{base}{joiner}options=-csearch_path%3D{schema}")
    } else {
        format!("{base} options='-csearch_path={schema}'")
    }
}

/// The MySQL URL with its database replaced by `database`.
fn mysql_url_in(database: &str) -> String {
    let base = mysql_base();
    let (scheme, rest) = base.split_once("://").unwrap_or(("mysql", &base));
    let server = rest.split('/').next().unwrap_or(rest);
    format!("{scheme}://{server}/{database}")
}

impl Fixture {
    pub fn new(backend: Backend) -> Option<Self> {
        let dir = tempfile::tempdir().expect("tempdir");
        let namespace = unique_name();
        let (admin, connection) = match backend {
            Backend::Sqlite => {
                let path = dir.path().join("panel.db");
                let conn = rusqlite::Connection::open(&path).expect("create sqlite file");
                let connection = json!({"backend": "sqlite", "path": path});
                (Admin::Sqlite(conn), connection)
            }
            Backend::Postgres => {
                let mut config: postgres::Config = pg_base().parse().expect("GALLRA_TEST_PG");
                config.connect_timeout(Duration::from_secs(3));
                let mut client = match config.connect(postgres::NoTls) {
                    Ok(client) => client,
                    Err(e) => return unavailable("PostgreSQL", e),
                };
                client
                    .batch_execute(&format!(
                        "CREATE SCHEMA {namespace}; SET search_path TO {namespace}; \
                         SET TimeZone TO '{TIME_ZONE}'"
                    ))
                    .expect("create schema");
                let url_file = write_secret(&dir, &pg_url_in(&namespace));
                let connection = json!({"backend": "postgres", "url_file": url_file});
                (Admin::Postgres(Box::new(client)), connection)
            }
            Backend::Mysql => {
                let opts = mysql::Opts::from_url(&mysql_base()).expect("GALLRA_TEST_MYSQL");
                let opts = mysql::OptsBuilder::from_opts(opts)
                    .tcp_connect_timeout(Some(Duration::from_secs(3)));
                let mut conn = match mysql::Conn::new(opts) {
                    Ok(conn) => conn,
                    Err(e) => return unavailable("MariaDB/MySQL", e),
                };
                use mysql::prelude::Queryable;
                for sql in [
                    format!("CREATE DATABASE {namespace}"),
                    format!("USE {namespace}"),
                    // Zero dates are what old MySQL schemas hold; strict mode refuses them.
                    "SET sql_mode = ''".to_owned(),
                ] {
                    conn.query_drop(sql).expect("create database");
                }
                let url_file = write_secret(&dir, &mysql_url_in(&namespace));
                let connection = json!({"backend": "mysql", "url_file": url_file});
                (Admin::Mysql(Box::new(conn)), connection)
            }
        };
        let mut fixture = Self {
            backend,
            admin,
            connection,
            namespace,
            dir,
        };
        fixture.seed();
        Some(fixture)
    }

    /// A temp directory that lives as long as the fixture.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Full settings: the connection keys plus `rest`.
    pub fn settings(&self, rest: Value) -> Value {
        let mut settings = self.connection.clone();
        let map = settings.as_object_mut().expect("object");
        for (k, v) in rest.as_object().expect("settings object") {
            map.insert(k.clone(), v.clone());
        }
        settings
    }

    /// Parses, validates and opens the connector the way the host does.
    pub fn open(&self, rest: Value) -> Result<SqlConnector, ConnectorError> {
        open_settings(&self.settings(rest))
    }

    /// Opens the connector with the standard settings; panics on failure.
    pub fn connector(&self) -> SqlConnector {
        self.open(standard_settings()).expect("open connector")
    }

    pub fn exec(&mut self, sql: &str) {
        match &mut self.admin {
            Admin::Sqlite(c) => c.execute_batch(sql).expect(sql),
            Admin::Postgres(c) => c.batch_execute(sql).expect(sql),
            Admin::Mysql(c) => mysql::prelude::Queryable::query_drop(c.as_mut(), sql).expect(sql),
        }
    }

    /// The first column of the first row, as text (`None` for NULL).
    pub fn value(&mut self, sql: &str) -> Option<String> {
        match &mut self.admin {
            Admin::Sqlite(c) => c
                .query_row(sql, [], |r| r.get::<_, Option<String>>(0))
                .expect(sql),
            Admin::Postgres(c) => c.query_one(sql, &[]).expect(sql).get(0),
            Admin::Mysql(c) => {
                let row: Option<mysql::Row> =
                    mysql::prelude::Queryable::query_first(c.as_mut(), sql).expect(sql);
                row.and_then(|r| r.get::<Option<String>, _>(0).flatten())
            }
        }
    }

    /// `SELECT COUNT(*) FROM table [WHERE condition]`, by direct SQL.
    pub fn count(&mut self, table: &str, condition: &str) -> u64 {
        let filter = if condition.is_empty() {
            String::new()
        } else {
            format!(" WHERE {condition}")
        };
        let sql = format!("SELECT CAST(COUNT(*) AS CHAR(20)) FROM {table}{filter}");
        self.value(&sql)
            .and_then(|v| v.trim().parse().ok())
            .expect("count")
    }

    fn seed(&mut self) {
        let (ts, tstz, zero) = match self.backend {
            Backend::Sqlite => ("TEXT", "TEXT", "'0000-00-00 00:00:00'"),
            Backend::Postgres => ("TIMESTAMP", "TIMESTAMPTZ", "NULL"),
            Backend::Mysql => ("DATETIME", "DATETIME", "'0000-00-00 00:00:00'"),
        };
        let schema = format!(
            "CREATE TABLE customers (id INTEGER PRIMARY KEY, email VARCHAR(200), \
               personnummer VARCHAR(20), phone VARCHAR(30), name VARCHAR(100) NOT NULL, \
               note VARCHAR(200), last_login {ts}, created_at {ts}, closed_at {ts});
             CREATE TABLE services (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, \
               status VARCHAR(20) NOT NULL, ended_at {tstz});
             CREATE TABLE invoices (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, \
               paid_at {ts}, amount INTEGER NOT NULL);
             CREATE TABLE signups (id INTEGER PRIMARY KEY, email VARCHAR(200), \
               created_at {ts}, converted INTEGER NOT NULL);"
        );
        let rows = format!(
            "INSERT INTO customers VALUES
               (1, 'anna@example.se', '198112189876', '+46701234567', 'Anna', 'vip', \
                  '2024-01-10 10:00:00', '2020-01-01 00:00:00', NULL),
               (2, 'bo@example.se', '121212-1212', NULL, 'Bo', NULL, {zero}, NULL, NULL),
               (3, 'Cecilia@Example.SE', NULL, '070-765 43 21', 'Cecilia', NULL, \
                  '2023-05-05 08:00:00', '2019-06-01 00:00:00', '2023-06-01 00:00:00'),
               (4, 'dan@example.se', '19900101-0017', NULL, 'Dan', NULL, \
                  '2024-06-01 09:00:00', NULL, NULL),
               (5, 'eva@example.se', '8506151235', NULL, 'Eva', NULL, \
                  '2021-01-01 00:00:00', NULL, NULL),
               (6, 'frank at example', NULL, NULL, 'Frank', NULL, \
                  NULL, '2022-02-02 02:02:02', NULL),
               (7, 'gun@example.se', NULL, NULL, 'Gun', NULL, \
                  '2024-12-24 15:00:00', NULL, NULL);
             INSERT INTO services VALUES
               (1, 1, 'active', NULL), (2, 1, 'closed', '2024-03-01 12:00:00'),
               (3, 3, 'closed', '2023-06-01 00:00:00'), (4, 4, 'active', NULL),
               (5, 6, 'active', NULL), (6, 6, 'active', NULL);
             INSERT INTO invoices VALUES
               (1, 1, NULL, 100), (2, 1, '2024-02-01 00:00:00', 50), (3, 4, NULL, 10),
               (4, 4, NULL, 20), (5, 5, '2022-01-01 00:00:00', 5);
             INSERT INTO signups VALUES
               (1, 'old@example.se', '2020-05-05 10:00:00', 0),
               (2, 'kept@example.se', '2020-05-05 10:00:00', 1),
               (3, 'new@example.se', '2024-06-01 00:00:00', 0),
               (4, 'never@example.se', NULL, 0),
               (5, 'zero@example.se', {zero}, 0),
               (6, 'eve@example.se', '2023-12-31 23:30:00', 0),
               (7, 'midnight@example.se', '2024-01-01 00:30:00', 0),
               (8, 'edge@example.se', '2024-01-01 01:00:00', 0);"
        );
        self.exec(&schema);
        self.exec(&rows);
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let ns = &self.namespace;
        // Best effort: a leftover schema only costs disk space.
        match &mut self.admin {
            Admin::Sqlite(_) => {}
            Admin::Postgres(c) => {
                let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {ns} CASCADE"));
            }
            Admin::Mysql(c) => {
                let _ = mysql::prelude::Queryable::query_drop(
                    c.as_mut(),
                    format!("DROP DATABASE IF EXISTS {ns}"),
                );
            }
        }
    }
}

/// Writes a secret file readable only by its owner.
pub fn write_secret(dir: &tempfile::TempDir, contents: &str) -> std::path::PathBuf {
    let path = dir.path().join(format!("{}.url", unique_name()));
    gallra_testkit::secrets::write_private(&path, contents);
    path
}

/// The settings the fixture is made for (without the connection keys).
pub fn standard_settings() -> Value {
    json!({
        "page_size": 3,
        "subjects": {
            "table": "customers",
            "key": "id",
            "identifiers": {
                "email": "email",
                "personnummer": "personnummer",
                "phone": "phone",
                "customer_id": "id"
            },
            "activity": ["last_login", "created_at"],
            "relationship_end": "closed_at"
        },
        "children": [
            {"table": "services", "foreign_key": "customer_id", "activity": ["ended_at"],
             "active_when": "status = 'active' -- a comment must not swallow the query"},
            {"table": "invoices", "foreign_key": "customer_id", "activity": ["paid_at"],
             "unpaid_when": "paid_at IS NULL"}
        ],
        "records": [
            {"kind": "unconverted_signups", "table": "signups", "clock": "created_at",
             "where": "converted = 0"}
        ]
    })
}

/// Parses settings JSON as the host hands it over, validates, and opens.
pub fn open_settings(settings: &Value) -> Result<SqlConnector, ConnectorError> {
    testing::open_settings(SYSTEM, settings)
}

pub fn context() -> OpenContext {
    testing::context(SYSTEM)
}
