//! `expire`: count or delete the records of a kind whose clock started before a cutoff.
//!
//! Clock values are read as text and parsed like every other timestamp, so the cutoff means
//! the same whatever the column's type (text, `DATETIME`, `timestamptz`, Unix seconds) and
//! whatever zone naive values are in. NULL, zero dates and unreadable clocks never expire.
//! Rows are then deleted by their clock's text, which needs no key column.

use gallra_plugin_api::jiff::Timestamp;
use gallra_plugin_api::ExpireResult;

use crate::client::{Client, DbError};
use crate::config::RecordKind;
use crate::schema::{count, run_execute, run_query, Schema};
use crate::sql::{Builder, Param};
use crate::timestamps::Reader;

/// Clock values per DELETE statement.
const CHUNK: usize = 500;

/// Counts (and unless `dry_run`, deletes) the rows of `kind` with clock < `cutoff`.
pub fn run(
    schema: &Schema,
    client: &mut dyn Client,
    kind: &RecordKind,
    cutoff: Timestamp,
    dry_run: bool,
    times: &mut Reader,
) -> Result<ExpireResult, DbError> {
    let d = schema.dialect;
    let mut b = Builder::new(d);
    b.sql("SELECT ")
        .text_of(&kind.clock)
        .sql(", ")
        .sql(&d.text("COUNT(*)"));
    b.sql(" FROM ").name(&kind.table).sql(" WHERE ");
    push_filter(&mut b, kind);
    b.sql(" GROUP BY ").name(&kind.clock);
    let groups = run_query(client, &b.finish(), &kind.table)?;
    let mut matched = 0;
    let mut expired = Vec::new();
    for row in groups {
        let Some(clock) = row[0].clone() else {
            continue;
        };
        if times
            .read(Some(&clock), &kind.table, &kind.clock)
            .is_some_and(|t| t < cutoff)
        {
            matched += count(row[1].as_ref());
            expired.push(clock);
        }
    }
    let mut removed = 0;
    if !dry_run {
        for chunk in expired.chunks(CHUNK) {
            let mut b = Builder::new(d);
            b.sql("DELETE FROM ").name(&kind.table).sql(" WHERE ");
            push_filter(&mut b, kind);
            b.sql(" AND ").text_of(&kind.clock).sql(" IN ");
            b.bind_list(chunk.iter().map(|c| Param::Match(c.clone())));
            removed += run_execute(client, &b.finish(), &kind.table)?;
        }
    }
    Ok(ExpireResult { matched, removed })
}

fn push_filter(b: &mut Builder, kind: &RecordKind) {
    b.name(&kind.clock).sql(" IS NOT NULL");
    if let Some(condition) = &kind.condition {
        b.sql(" AND ").condition(condition);
    }
}
