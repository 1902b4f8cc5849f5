//! What a failed PostgreSQL call becomes: a [`StoreError`] that names the database and what
//! to check, and never quotes a value (personal data).

use postgres::error::SqlState;
use postgres::Row;

use crate::columns::{Cause, Columns};
use crate::StoreError;

/// A failure inside a job: the server's, or one of ours that already says what happened.
pub(crate) enum Fail {
    Sql(postgres::Error),
    Store(StoreError),
    /// A value is not in the form gallra writes.
    Corrupt(Cause),
}

impl From<postgres::Error> for Fail {
    fn from(e: postgres::Error) -> Self {
        Fail::Sql(e)
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail::Store(e)
    }
}

impl From<serde_json::Error> for Fail {
    fn from(e: serde_json::Error) -> Self {
        Fail::Corrupt(e.into())
    }
}

/// A job's result.
pub(crate) type Step<T> = std::result::Result<T, Fail>;

/// Whether the transaction lost a race with another one and may simply run again.
pub(super) fn is_retryable(fail: &Fail) -> bool {
    let Fail::Sql(e) = fail else { return false };
    matches!(
        e.code(),
        Some(&SqlState::T_R_SERIALIZATION_FAILURE) | Some(&SqlState::T_R_DEADLOCK_DETECTED)
    )
}

/// Whether the connection is gone (the server restarted or ended the session), so that the
/// worker must open a new one.
pub(super) fn is_broken(e: &postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    // The socket failed without a word from the server.
    let source = std::error::Error::source(e);
    if source.is_some_and(|s| s.is::<std::io::Error>()) {
        return true;
    }
    e.code()
        .is_some_and(|code| code.code().starts_with("08") || code.code().starts_with("57P"))
}

/// The error for `fail`, naming `database`.
pub(super) fn store_error(database: &str, fail: Fail) -> StoreError {
    match fail {
        Fail::Store(e) => e,
        Fail::Corrupt(source) => StoreError::Corrupt {
            path: database.into(),
            source,
        },
        Fail::Sql(e) if is_broken(&e) => StoreError::Unreachable {
            database: database.to_owned(),
            reason: reason(&e),
        },
        Fail::Sql(e) => StoreError::Postgres {
            database: database.to_owned(),
            reason: reason(&e),
            check: check(&e),
        },
    }
}

/// The server's message only for the SQLSTATE classes whose messages name objects rather
/// than quote data (class 22 messages quote the offending value); `DETAIL` lines, which show
/// key values and whole rows, never.
fn reason(e: &postgres::Error) -> String {
    let Some(db) = e.as_db_error() else {
        // Our own side: the socket, the protocol, a type that does not convert. These name
        // no values.
        return e.to_string();
    };
    let code = db.code().code();
    let names_objects = matches!(
        &code[..2],
        "08" | "23" | "25" | "28" | "3D" | "3F" | "40" | "42" | "53" | "55" | "57"
    );
    match names_objects {
        true => format!("{} (SQLSTATE {code})", db.message()),
        false => format!("the server refused a statement (SQLSTATE {code})"),
    }
}

fn check(e: &postgres::Error) -> &'static str {
    if is_broken(e) {
        return "is the PostgreSQL server running and reachable? the next call opens a new connection";
    }
    match e.code().map(SqlState::code).unwrap_or_default() {
        c if c.starts_with("28") => {
            "are the user and password in the URL right, and does pg_hba.conf let this host in?"
        }
        "3D000" => "does the database in the URL exist?",
        "42501" => "may the user in the URL create and change tables in the store's schema?",
        c if c.starts_with("53") => "is the server out of disk space, memory or connections?",
        _ => "was the store's schema changed by hand, or by a newer gallra?",
    }
}

impl Columns for Row {
    type Error = Fail;

    fn text(&self, idx: usize) -> Step<Option<String>> {
        Ok(self.try_get(idx)?)
    }

    fn int(&self, idx: usize) -> Step<Option<i64>> {
        Ok(self.try_get(idx)?)
    }

    fn blob(&self, idx: usize) -> Step<Vec<u8>> {
        Ok(self.try_get(idx)?)
    }

    fn corrupt(&self, _idx: usize, cause: Cause) -> Fail {
        Fail::Corrupt(cause)
    }
}

/// Reads every row with `read`.
pub(super) fn all<T>(rows: &[Row], read: impl Fn(&Row) -> Step<T>) -> Step<Vec<T>> {
    rows.iter().map(read).collect()
}

/// A count or limit as PostgreSQL's BIGINT.
pub(super) fn big(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}
