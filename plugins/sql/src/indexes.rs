//! Whether the subjects table has the indexes its matches need, and the statements that
//! would add the missing ones.
//!
//! A lookup compares each identifier column through an expression (`lower(trim(email))`,
//! see `matching`); an index on the bare column does not serve it, and without one every
//! lookup, status and erase reads the whole table (27 ms per lookup on 100,000 rows in
//! PostgreSQL, measured for issue 15). The connector cannot build indexes in someone else's
//! database, so it says at open which are missing and the exact `CREATE INDEX` for each.
//!
//! SQLite and PostgreSQL are checked from their catalogs (the index definitions as text,
//! compared without case, spaces or quotes). MySQL and MariaDB are not: MariaDB cannot index
//! an expression at all, and the README says how to give it a generated column instead.

use crate::client::{Client, DbError};
use crate::matching;
use crate::schema::{run_query, Schema};
use crate::sql::{Builder, Dialect, Param};

/// One missing index: the column it is for, and the statement that adds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// The identifier column.
    pub column: String,
    /// `CREATE INDEX …;` for the expression the connector compares the column through.
    pub statement: String,
}

/// The indexes the subjects table lacks; empty where the backend is not checked.
pub fn missing(schema: &Schema, client: &mut dyn Client) -> Result<Vec<Missing>, DbError> {
    let Some(s) = schema.settings.subjects.as_ref() else {
        return Ok(Vec::new());
    };
    let table = s.table.rsplit('.').next().unwrap_or(&s.table);
    let mut b = Builder::new(schema.dialect);
    match schema.dialect {
        Dialect::Sqlite => b.sql(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL \
             AND tbl_name = ",
        ),
        Dialect::Postgres => b.sql(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() \
             AND tablename = ",
        ),
        Dialect::Mysql => return Ok(Vec::new()),
    };
    b.bind(Param::Text(table.to_owned()));
    let defined: Vec<String> = run_query(client, &b.finish(), &s.table)?
        .into_iter()
        .filter_map(|row| row.into_iter().next().flatten())
        .map(|definition| canonical(&definition))
        .collect();
    Ok(matching::indexed_expressions(s)
        .into_iter()
        .filter(|(_, expression)| !defined.iter().any(|d| serves(d, expression)))
        .map(|(column, expression)| Missing {
            column: column.to_owned(),
            statement: format!(
                "CREATE INDEX {}_{column}_match ON {} ({expression});",
                table, s.table
            ),
        })
        .collect())
}

/// Whether an index (its definition, [`canonical`]) serves a match on `expression`: the
/// expression is its first key. The key list is the first parenthesis of the definition
/// (`CREATE INDEX name ON table [USING btree] (keys)`; names hold none).
fn serves(definition: &str, expression: &str) -> bool {
    let expression = canonical(expression);
    definition.find('(').is_some_and(|at| {
        let keys = &definition[at..];
        keys.starts_with(&format!("({expression})")) || keys.starts_with(&format!("({expression},"))
    })
}

/// An index definition or expression without case, white space or quotes, and with
/// PostgreSQL's `TRIM(BOTH FROM x)` read as `trim(x)`.
fn canonical(sql: &str) -> String {
    let flat: String = sql
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '"' | '`' | '\''))
        .flat_map(char::to_lowercase)
        .collect();
    flat.replace("trim(bothfrom", "trim(")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_serves_a_match_only_with_the_expression_as_its_first_key() {
        let served = |definition: &str, expression| serves(&canonical(definition), expression);
        let postgres =
            "CREATE INDEX x ON public.customers USING btree (lower(TRIM(BOTH FROM email)))";
        assert!(served(postgres, "lower(trim(email))"));
        assert!(served(
            "CREATE INDEX x ON customers (lower(trim(\"email\")))",
            "lower(trim(email))"
        ));
        assert!(served("CREATE INDEX x ON c (trim(pnr), id)", "trim(pnr)"));
        assert!(!served(
            "CREATE INDEX x ON customers (email)",
            "lower(trim(email))"
        ));
        assert!(!served(
            "CREATE INDEX x ON c (lower(email))",
            "lower(trim(email))"
        ));
        assert!(!served(
            "CREATE INDEX x ON c (lower(trim(pnr)))",
            "trim(pnr)"
        ));
        assert!(!served("CREATE INDEX x ON c (id, trim(pnr))", "trim(pnr)"));
    }
}
