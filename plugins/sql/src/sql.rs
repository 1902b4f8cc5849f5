//! Building SQL text for one dialect, with every value bound as a parameter.
//!
//! Table and column names come from validated settings (or the database's own column list)
//! and are quoted; values never enter the text. Placeholders are written in the dialect's
//! own form as the text is built (`?` or `$1`), so admin SQL pasted into a query is never
//! rewritten.

use std::fmt;

/// The SQL dialect of a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite: `"x"` and `?`.
    Sqlite,
    /// PostgreSQL: `"x"` and `$1`.
    Postgres,
    /// MySQL and MariaDB: `` `x` `` and `?`.
    Mysql,
}

impl Dialect {
    /// `name` quoted as an identifier.
    pub fn quote(self, name: &str) -> String {
        let q = if self == Self::Mysql { '`' } else { '"' };
        let mut out = String::with_capacity(name.len() + 2);
        out.push(q);
        for c in name.chars() {
            if c == q {
                out.push(q);
            }
            out.push(c);
        }
        out.push(q);
        out
    }

    /// `expr` converted to text, so that every backend hands back the same shape.
    pub fn text(self, expr: &str) -> String {
        match self {
            Self::Mysql => format!("CAST({expr} AS CHAR)"),
            _ => format!("CAST({expr} AS TEXT)"),
        }
    }

    /// The statement that opens a transaction for a batch of reads, if the backend gains by
    /// one: SQLite takes and drops its file locks and re-reads its header around every
    /// statement outside a transaction (15% of a purge's time, measured with perf), and
    /// takes them once for a transaction. The servers need none.
    pub fn begin_read(self) -> Option<&'static str> {
        match self {
            Self::Sqlite => Some("BEGIN"),
            Self::Postgres | Self::Mysql => None,
        }
    }

    /// The statement that opens a write transaction.
    pub fn begin(self) -> &'static str {
        match self {
            // Take the write lock up front: a reader upgrading later can deadlock.
            Self::Sqlite => "BEGIN IMMEDIATE",
            Self::Postgres => "BEGIN",
            Self::Mysql => "START TRANSACTION",
        }
    }
}

/// A bound value. `Debug` hides it: values are often personal data.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Param {
    /// A whole number.
    Int(i64),
    /// Text to store, or to compare with a column of a matching type.
    Text(String),
    /// Text to compare with a column; where the column's type cannot hold it (a customer id
    /// `C-1` against an integer column), the backend binds NULL, which matches nothing.
    Match(String),
    /// SQL NULL.
    Null,
}

impl fmt::Debug for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Int(_) => f.write_str("Int(<redacted>)"),
            Self::Text(_) => f.write_str("Text(<redacted>)"),
            Self::Match(_) => f.write_str("Match(<redacted>)"),
            Self::Null => f.write_str("Null"),
        }
    }
}

/// SQL text and its parameters, in order.
#[derive(Debug, Clone)]
pub struct Query {
    /// The statement, with placeholders.
    pub sql: String,
    /// The values for the placeholders.
    pub params: Vec<Param>,
}

/// Appends SQL text, quoted names and placeholders for one dialect.
pub struct Builder {
    dialect: Dialect,
    sql: String,
    params: Vec<Param>,
}

impl Builder {
    /// An empty statement.
    pub fn new(dialect: Dialect) -> Self {
        Self {
            dialect,
            sql: String::with_capacity(128),
            params: Vec::new(),
        }
    }

    /// The dialect the statement is written in.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Appends SQL text as is (keywords, or trusted admin conditions).
    pub fn sql(&mut self, text: &str) -> &mut Self {
        self.sql.push_str(text);
        self
    }

    /// Appends a quoted table or column name.
    pub fn name(&mut self, name: &str) -> &mut Self {
        let quoted = self.dialect.quote(name);
        self.sql(&quoted)
    }

    /// Appends a column read as text.
    pub fn text_of(&mut self, column: &str) -> &mut Self {
        let text = self.dialect.text(&self.dialect.quote(column));
        self.sql(&text)
    }

    /// Appends an admin condition in parentheses, on lines of its own so that a trailing
    /// `--` comment in it cannot swallow the rest of the statement.
    pub fn condition(&mut self, sql: &str) -> &mut Self {
        self.sql("(\n").sql(sql).sql("\n)")
    }

    /// Appends a placeholder bound to `param`.
    pub fn bind(&mut self, param: Param) -> &mut Self {
        self.params.push(param);
        match self.dialect {
            Dialect::Postgres => {
                let n = self.params.len();
                self.sql(&format!("${n}"))
            }
            _ => self.sql("?"),
        }
    }

    /// Appends `(p1, p2, …)`. `params` must not be empty.
    pub fn bind_list(&mut self, params: impl IntoIterator<Item = Param>) -> &mut Self {
        self.sql("(");
        for (i, param) in params.into_iter().enumerate() {
            if i > 0 {
                self.sql(", ");
            }
            self.bind(param);
        }
        self.sql(")")
    }

    /// Appends a comma-separated list of columns read as text.
    pub fn text_columns<'a>(&mut self, columns: impl IntoIterator<Item = &'a str>) -> &mut Self {
        for (i, column) in columns.into_iter().enumerate() {
            if i > 0 {
                self.sql(", ");
            }
            self.text_of(column);
        }
        self
    }

    /// The finished statement.
    pub fn finish(self) -> Query {
        Query {
            sql: self.sql,
            params: self.params,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_quotes_follow_the_dialect() {
        let build = |d| {
            let mut b = Builder::new(d);
            b.sql("SELECT ")
                .text_of("email")
                .sql(" FROM ")
                .name("customers");
            b.sql(" WHERE ").name("id").sql(" IN ");
            b.bind_list([Param::Int(1), Param::Int(2)]);
            b.finish().sql
        };
        assert_eq!(
            build(Dialect::Postgres),
            r#"SELECT CAST("email" AS TEXT) FROM "customers" WHERE "id" IN ($1, $2)"#
        );
        assert_eq!(
            build(Dialect::Mysql),
            "SELECT CAST(`email` AS CHAR) FROM `customers` WHERE `id` IN (?, ?)"
        );
        assert_eq!(
            build(Dialect::Sqlite),
            r#"SELECT CAST("email" AS TEXT) FROM "customers" WHERE "id" IN (?, ?)"#
        );
    }

    #[test]
    fn quoting_doubles_the_quote_character() {
        assert_eq!(Dialect::Sqlite.quote("a\"b"), "\"a\"\"b\"");
        assert_eq!(Dialect::Mysql.quote("a`b"), "`a``b`");
    }

    #[test]
    fn debug_never_shows_a_bound_value() {
        let shown = format!("{:?}", Param::Text("anna@example.se".into()));
        assert!(!shown.contains("anna"));
    }
}
