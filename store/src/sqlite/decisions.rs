//! Paging through a run's selected decisions, for [`Store::decisions`](crate::Store::decisions).

use super::rows::sql_limit;
use super::{SqliteStore, SELECTED_DECISIONS, SELECTED_DECISIONS_AFTER};
use crate::columns;
use crate::{Decision, Result, RunId};

impl SqliteStore {
    /// Up to `limit` selected decisions of `run` with a key after `after_key`, in key order.
    pub(super) fn selected_decisions(
        &self,
        run: RunId,
        after_key: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Decision>> {
        self.read(|conn| {
            // Two statements rather than `?2 IS NULL OR …`, so that both use the index range.
            let mut stmt = match after_key {
                Some(_) => conn.prepare_cached(SELECTED_DECISIONS_AFTER)?,
                None => conn.prepare_cached(SELECTED_DECISIONS)?,
            };
            stmt.raw_bind_parameter(1, run)?;
            stmt.raw_bind_parameter(2, sql_limit(limit))?;
            if let Some(after) = after_key {
                stmt.raw_bind_parameter(3, after)?;
            }
            let mut rows = stmt.raw_query();
            let mut decisions = Vec::new();
            while let Some(r) = rows.next()? {
                decisions.push(Decision {
                    selected: true,
                    ..columns::decision(r)?
                });
            }
            Ok(decisions)
        })
    }
}
