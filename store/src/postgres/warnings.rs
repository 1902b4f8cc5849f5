//! [`WarningStore`] on PostgreSQL: table `warnings`, and the held addresses on `decisions`.

use std::collections::BTreeMap;

use gallra_core::policy::Reason;
use jiff::Timestamp;

use super::fail::{all, big};
use super::PostgresStore;
use crate::columns::{self, ts, WARNING_COLUMNS};
use crate::{ClearWhy, Decision, Result, RunId, WarningRecord, WarningStore};

/// Standing warnings among an array of keys; served by the index `warnings_standing`.
const STANDING: &str = "SELECT subject_key, warned_at FROM warnings
    WHERE policy = $1 AND cleared_at IS NULL AND subject_key = ANY($2)";

const CLEAR: &str = "UPDATE warnings SET cleared_at = $3, cleared_why = $4
    WHERE policy = $1 AND subject_key = $2 AND cleared_at IS NULL";

/// Decisions due a warning after key `$2`; served by the decisions' unique (run, subject_key)
/// index.
const DUE: &str = "SELECT subject_key, reason, identifiers_json FROM decisions
    WHERE run = $1 AND subject_key > $2 AND reason = $3
    ORDER BY subject_key LIMIT $4";

/// Subjects whose every task in the run is done: the erased.
const CLEAR_ERASED: &str = "UPDATE warnings SET cleared_at = $3, cleared_why = 'erased'
    WHERE policy = $1 AND cleared_at IS NULL AND subject_key IN (
        SELECT subject_key FROM tasks WHERE run = $2
        GROUP BY subject_key HAVING bool_and(state = 'done'))";

impl PostgresStore {
    /// Up to `limit` decisions of `run` still due a warning with a key after `after_key`, in
    /// key order, with their held identifiers.
    pub(super) fn warnings_due(
        &self,
        run: RunId,
        after_key: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Decision>> {
        // Every key sorts after the empty string.
        let after = after_key.unwrap_or_default().to_owned();
        self.read(move |client, _| {
            let due = Reason::WarningDue.code();
            let rows = client.query(DUE, &[&run.0, &after, &due, &big(limit)])?;
            all(&rows, columns::decision)
        })
    }

    /// Every warning `policy` sent the subject, oldest first: the record of who was told
    /// what and when, for a person inspecting the database. Not part of the store traits.
    pub fn warning_history(&self, policy: &str, subject_key: &str) -> Result<Vec<WarningRecord>> {
        let (policy, key) = (policy.to_owned(), subject_key.to_owned());
        self.read(move |client, _| {
            let sql =
                format!("{WARNING_COLUMNS} WHERE policy = $1 AND subject_key = $2 ORDER BY id");
            all(&client.query(&sql, &[&policy, &key])?, columns::warning)
        })
    }
}

impl WarningStore for PostgresStore {
    fn standing_warnings(
        &self,
        policy: &str,
        keys: &[&str],
    ) -> Result<BTreeMap<String, Timestamp>> {
        if keys.is_empty() {
            return Ok(BTreeMap::new());
        }
        let policy = policy.to_owned();
        let keys: Vec<String> = keys.iter().map(|&k| k.to_owned()).collect();
        self.read(move |client, _| {
            let rows = client.query(STANDING, &[&policy, &keys])?;
            all(&rows, columns::standing).map(BTreeMap::from_iter)
        })
    }

    fn clear_warnings(
        &self,
        policy: &str,
        keys: &[&str],
        why: ClearWhy,
        now: Timestamp,
    ) -> Result<u64> {
        if keys.is_empty() {
            return Ok(0);
        }
        let policy = policy.to_owned();
        let keys: Vec<String> = keys.iter().map(|&k| k.to_owned()).collect();
        let now = ts(now);
        self.write(move |tx, _| {
            let stmt = tx.prepare(CLEAR)?;
            let mut cleared = 0;
            for key in &keys {
                cleared += tx.execute(&stmt, &[&policy, key, &now, &why.as_str()])?;
            }
            Ok(cleared)
        })
    }

    fn record_warning(
        &self,
        policy: &str,
        run: RunId,
        subject_key: &str,
        warned_at: Timestamp,
        delete_on: Timestamp,
    ) -> Result<()> {
        let (policy, key) = (policy.to_owned(), subject_key.to_owned());
        let (warned_at, delete_on) = (ts(warned_at), ts(delete_on));
        self.write(move |tx, ctx| {
            // Two nodes warning one subject at once: the second waits, then supersedes the
            // first's warning rather than standing beside it.
            tx.execute(
                "SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))",
                &[&policy, &key],
            )?;
            ctx.ensure_run(tx, run, false)?;
            let superseded = ClearWhy::Superseded.as_str();
            tx.execute(CLEAR, &[&policy, &key, &warned_at, &superseded])?;
            tx.execute(
                "INSERT INTO warnings (policy, subject_key, run, warned_at, delete_on)
                 VALUES ($1, $2, $3, $4, $5)",
                &[&policy, &key, &run.0, &warned_at, &delete_on],
            )?;
            tx.execute(
                "UPDATE decisions SET reason = $3 WHERE run = $1 AND subject_key = $2",
                &[&run.0, &key, &Reason::Warned.code()],
            )?;
            Ok(())
        })
    }

    fn clear_erased_warnings(&self, policy: &str, run: RunId, now: Timestamp) -> Result<u64> {
        let (policy, now) = (policy.to_owned(), ts(now));
        self.write(move |tx, _| Ok(tx.execute(CLEAR_ERASED, &[&policy, &run.0, &now])?))
    }
}
