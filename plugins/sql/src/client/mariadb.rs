//! MySQL and MariaDB through the synchronous `mysql` client (no TLS).

use std::time::Duration;

use gallra_plugin_api::ConnectorError;
use mysql::consts::CapabilityFlags;
use mysql::prelude::Queryable;
use mysql::{Conn, Opts, OptsBuilder, Params, Value};

use super::{Client, DbError, Row};
use crate::sql::{Dialect, Param, Query};

/// Used when the URL sets no connect timeout: an unreachable server must fail fast.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Parses the URL; the label names the server without user or password.
pub fn parse_url(url: &str) -> Result<(Opts, String), ConnectorError> {
    // The parser's message could quote the URL, password and all: leave it out.
    let opts = Opts::from_url(url).map_err(|_| {
        ConnectorError::config(
            "url_file",
            "the file does not hold a valid MySQL URL (mysql://user@host:port/db)",
        )
    })?;
    let label = format!(
        "MySQL/MariaDB at {}:{}/{}",
        opts.get_ip_or_hostname(),
        opts.get_tcp_port(),
        opts.get_db_name().unwrap_or_default()
    );
    let timeout = opts.get_tcp_connect_timeout().or(Some(CONNECT_TIMEOUT));
    let opts = OptsBuilder::from_opts(opts)
        .tcp_connect_timeout(timeout)
        // Count rows matched, not only rows whose value changed, like the other backends.
        .additional_capabilities(CapabilityFlags::CLIENT_FOUND_ROWS);
    Ok((opts.into(), label))
}

/// One connection.
pub struct Mysql {
    conn: Conn,
}

impl Mysql {
    /// Connects, and asks the server to show `TIMESTAMP` columns in the configured zone so
    /// they read back like the zone-less `DATETIME` values around them.
    pub fn connect(opts: &Opts, time_zone: &str) -> Result<Self, DbError> {
        let mut conn = Conn::new(opts.clone()).map_err(map_error)?;
        if let Err(e) = conn.exec_drop("SET time_zone = ?", (time_zone,)) {
            // Servers without time zone tables know no names; keep the server's zone.
            tracing::debug!(error = %map_error(e), "could not set the session time zone");
        }
        Ok(Self { conn })
    }
}

impl Client for Mysql {
    fn query(&mut self, query: &Query) -> Result<Vec<Row>, DbError> {
        let rows: Vec<mysql::Row> = self
            .conn
            .exec(query.sql.as_str(), params(&query.params))
            .map_err(map_error)?;
        Ok(rows
            .into_iter()
            .map(|row| row.unwrap().into_iter().map(text).collect())
            .collect())
    }

    fn execute(&mut self, query: &Query) -> Result<u64, DbError> {
        self.conn
            .exec_drop(query.sql.as_str(), params(&query.params))
            .map_err(map_error)?;
        Ok(self.conn.affected_rows())
    }

    fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        self.conn.query_drop(sql).map_err(map_error)
    }

    fn columns(&mut self, table: &str) -> Result<Vec<String>, DbError> {
        let sql = format!("SELECT * FROM {} WHERE 1 = 0", Dialect::Mysql.quote(table));
        let statement = self.conn.prep(sql).map_err(map_error)?;
        Ok(statement
            .columns()
            .iter()
            .map(|c| c.name_str().into_owned())
            .collect())
    }
}

fn params(params: &[Param]) -> Params {
    if params.is_empty() {
        return Params::Empty;
    }
    Params::Positional(
        params
            .iter()
            .map(|p| match p {
                Param::Int(i) => Value::Int(*i),
                Param::Text(s) | Param::Match(s) => Value::Bytes(s.as_bytes().to_vec()),
                Param::Null => Value::NULL,
            })
            .collect(),
    )
}

fn text(value: Value) -> Option<String> {
    Some(match value {
        Value::NULL => return None,
        Value::Bytes(b) => String::from_utf8_lossy(&b).into_owned(),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Double(f) => f.to_string(),
        Value::Date(y, mo, d, h, mi, s, us) => {
            format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{us:06}")
        }
        Value::Time(neg, days, h, mi, s, us) => {
            let sign = if neg { "-" } else { "" };
            let hours = u32::from(h) + days * 24;
            format!("{sign}{hours:02}:{mi:02}:{s:02}.{us:06}")
        }
    })
}

/// Server error codes whose message names objects or quotes our SQL (which holds only
/// placeholders), never row data. Others, like 1062 "Duplicate entry '…'", quote values.
const SAFE_MESSAGES: &[u16] = &[
    1044, 1045, 1046, 1048, 1049, 1054, 1064, 1142, 1143, 1146, 1205, 1213, 1364, 1406, 1451, 1452,
];
/// Locks, deadlocks, overload and timeouts: worth another try.
const TRANSIENT: &[u16] = &[1040, 1205, 1213, 1317, 3024];
/// The server went away or killed the connection.
const CONNECTION_LOST: &[u16] = &[1053, 1927, 2006, 2013];

fn map_error(error: mysql::Error) -> DbError {
    match error {
        mysql::Error::MySqlError(e) => {
            let message = if SAFE_MESSAGES.contains(&e.code) {
                format!("{} (error {}, SQLSTATE {})", e.message, e.code, e.state)
            } else {
                format!(
                    "the server refused the statement (error {}, SQLSTATE {})",
                    e.code, e.state
                )
            };
            if CONNECTION_LOST.contains(&e.code) {
                DbError::connection_lost(message)
            } else if TRANSIENT.contains(&e.code) {
                DbError::transient(message)
            } else {
                DbError::permanent(message)
            }
        }
        mysql::Error::IoError(e) => DbError::connection_lost(e.to_string()),
        mysql::Error::CodecError(e) => DbError::connection_lost(e.to_string()),
        mysql::Error::DriverError(e) => {
            use mysql::DriverError as D;
            let lost = matches!(
                e,
                D::ConnectTimeout
                    | D::CouldNotConnect(_)
                    | D::PacketOutOfSync
                    | D::UnexpectedPacket
                    | D::Timeout
            );
            if lost {
                DbError::connection_lost(e.to_string())
            } else {
                DbError::permanent(e.to_string())
            }
        }
        // Conversion errors carry the value itself: say only what kind of failure it was.
        mysql::Error::FromValueError(_) | mysql::Error::FromRowError(_) => {
            DbError::permanent("a value read from the database has an unexpected type")
        }
        #[allow(unreachable_patterns)]
        _ => DbError::permanent("the MySQL client failed (URL or TLS setup)"),
    }
}
