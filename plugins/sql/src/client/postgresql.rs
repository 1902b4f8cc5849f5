//! PostgreSQL through the synchronous `postgres` client (no TLS).

use std::collections::HashMap;
use std::error::Error as StdError;
use std::time::Duration;

use bytes::BytesMut;
use gallra_plugin_api::ConnectorError;
use postgres::config::Host;
use postgres::types::{IsNull, ToSql, Type};
use postgres::{Client as PgClient, Config, NoTls, Statement};

use super::{Client, DbError, Row};
use crate::sql::{Dialect, Param, Query};

/// Used when the URL sets no `connect_timeout`: an unreachable server must fail fast.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Prepared statements kept per connection; our statements repeat, so this is plenty.
const STATEMENT_CACHE: usize = 256;

/// Parses the URL; the label names the server without user or password.
pub fn parse_url(url: &str) -> Result<(Config, String), ConnectorError> {
    // The parser's message could quote the URL, password and all: leave it out.
    let mut config: Config = url.parse().map_err(|_| {
        ConnectorError::config(
            "url_file",
            "the file does not hold a valid PostgreSQL URL (postgres://user@host:port/db)",
        )
    })?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(host)) => host.clone(),
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let label = format!(
        "PostgreSQL at {host}:{port}/{}",
        config.get_dbname().unwrap_or_default()
    );
    Ok((config, label))
}

/// A connection with its prepared statements.
pub struct Postgres {
    client: PgClient,
    statements: HashMap<String, Statement>,
}

impl Postgres {
    /// Connects, and fixes the session's date output so that timestamps read back in ISO
    /// form with an offset.
    pub fn connect(config: &Config) -> Result<Self, DbError> {
        let mut client = config.connect(NoTls).map_err(map_error)?;
        client
            .batch_execute("SET DateStyle = 'ISO, YMD'; SET TimeZone = 'UTC'")
            .map_err(map_error)?;
        Ok(Self {
            client,
            statements: HashMap::new(),
        })
    }

    fn prepare(&mut self, sql: &str) -> Result<Statement, DbError> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql).map_err(map_error)?;
        if self.statements.len() >= STATEMENT_CACHE {
            self.statements.clear();
        }
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }
}

impl Client for Postgres {
    fn query(&mut self, query: &Query) -> Result<Vec<Row>, DbError> {
        let statement = self.prepare(&query.sql)?;
        let bound: Vec<Bound<'_>> = query.params.iter().map(Bound).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(|b| b as _).collect();
        let rows = self.client.query(&statement, &refs).map_err(map_error)?;
        rows.iter()
            .map(|row| {
                (0..row.len())
                    .map(|i| row.try_get::<_, Option<String>>(i).map_err(map_error))
                    .collect()
            })
            .collect()
    }

    fn execute(&mut self, query: &Query) -> Result<u64, DbError> {
        let statement = self.prepare(&query.sql)?;
        let bound: Vec<Bound<'_>> = query.params.iter().map(Bound).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(|b| b as _).collect();
        self.client.execute(&statement, &refs).map_err(map_error)
    }

    fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        self.client.batch_execute(sql).map_err(map_error)
    }

    fn columns(&mut self, table: &str) -> Result<Vec<String>, DbError> {
        let sql = format!(
            "SELECT * FROM {} WHERE 1 = 0",
            Dialect::Postgres.quote(table)
        );
        // Not cached: the table may have gained or lost columns since the last export.
        let statement = self.client.prepare(&sql).map_err(map_error)?;
        Ok(statement
            .columns()
            .iter()
            .map(|c| c.name().to_owned())
            .collect())
    }
}

/// A parameter encoded for whatever type the server inferred for its placeholder, so that
/// `"id" = $1` works whether `id` is `int4`, `int8` or `text`.
#[derive(Debug)]
struct Bound<'a>(&'a Param);

type EncodeResult = Result<IsNull, Box<dyn StdError + Sync + Send>>;

impl ToSql for Bound<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> EncodeResult {
        match self.0 {
            Param::Null => Ok(IsNull::Yes),
            Param::Int(i) => encode_int(*i, ty, out),
            Param::Text(s) => encode_text(s, ty, out, false),
            Param::Match(s) => encode_text(s, ty, out, true),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    fn to_sql_checked(&self, ty: &Type, out: &mut BytesMut) -> EncodeResult {
        self.to_sql(ty, out)
    }
}

fn encode_int(i: i64, ty: &Type, out: &mut BytesMut) -> EncodeResult {
    match *ty {
        Type::INT2 => i16::try_from(i)?.to_sql(ty, out),
        Type::INT4 => i32::try_from(i)?.to_sql(ty, out),
        Type::INT8 => i.to_sql(ty, out),
        _ if <&str as ToSql>::accepts(ty) => i.to_string().as_str().to_sql(ty, out),
        _ => Err(unsupported(ty)),
    }
}

fn encode_text(s: &str, ty: &Type, out: &mut BytesMut, matching: bool) -> EncodeResult {
    if <&str as ToSql>::accepts(ty) {
        return s.to_sql(ty, out);
    }
    let int = match *ty {
        Type::INT2 | Type::INT4 | Type::INT8 => s.trim().parse::<i64>().ok(),
        _ => return Err(unsupported(ty)),
    };
    match int {
        Some(i) => encode_int(i, ty, out),
        // Text that no integer column can hold equals nothing there.
        None if matching => Ok(IsNull::Yes),
        None => Err(format!("a text value does not fit a column of type {ty}").into()),
    }
}

fn unsupported(ty: &Type) -> Box<dyn StdError + Sync + Send> {
    format!("gallra binds only text and integer values, not {ty}").into()
}

/// Keeps the server's message only for the SQLSTATE classes whose messages name objects
/// rather than quote data (class 22 messages quote the offending value). `DETAIL` lines,
/// which show key values and whole rows, are never kept.
fn map_error(error: postgres::Error) -> DbError {
    if let Some(db) = error.as_db_error() {
        let code = db.code().code();
        let class = &code[..2];
        let safe = matches!(
            class,
            "08" | "23" | "25" | "28" | "3D" | "3F" | "40" | "42" | "53" | "55" | "57"
        );
        let column = db
            .column()
            .map(|c| format!(", column {c}"))
            .unwrap_or_default();
        let message = if safe {
            format!("{} (SQLSTATE {code}{column})", db.message())
        } else {
            format!("the server refused the statement (SQLSTATE {code}{column})")
        };
        let mut mapped = match class {
            "08" => DbError::connection_lost(message),
            "57" if code.starts_with("57P") => DbError::connection_lost(message),
            "40" | "53" | "57" => DbError::transient(message),
            _ if code == "55P03" => DbError::transient(message),
            _ => DbError::permanent(message),
        };
        if let Some(table) = db.table() {
            mapped = mapped.on_table(table);
        }
        return mapped;
    }
    let io = std::iter::successors(error.source(), |e| (*e).source())
        .any(|e| e.downcast_ref::<std::io::Error>().is_some());
    if error.is_closed() || io {
        DbError::connection_lost(error.to_string())
    } else {
        // Encoding and decoding errors: ours say which type, never which value.
        DbError::permanent(error.to_string())
    }
}
