//! [`Store`] on PostgreSQL: runs and their decisions here, their tasks in [`super::tasks`].

use gallra_plugin_api::ResumeToken;
use jiff::Timestamp;
use postgres::types::ToSql;

use super::fail::{all, big, Fail};
use super::PostgresStore;
use crate::columns::{self, decision_identifiers, ts, RUN_COLUMNS};
use crate::{
    Action, Decision, DecisionFilter, NewRequestTask, NewTask, NewTombstone, Result, RunId,
    RunRecord, RunState, Store, StoreError, TaskId, TaskRecord, TaskState,
};

/// A page of selected decisions after key `$3` (`''` sorts before every key); served by the
/// index `decisions_selected`.
const SELECTED_DECISIONS: &str = "SELECT subject_key, reason, identifiers_json FROM decisions
    WHERE run = $1 AND selected AND subject_key > $3
    ORDER BY subject_key LIMIT $2";

impl PostgresStore {
    fn query_runs(
        &self,
        sql: String,
        params: Vec<Box<dyn ToSql + Sync + Send>>,
    ) -> Result<Vec<RunRecord>> {
        self.read(move |client, _| {
            let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref() as _).collect();
            all(&client.query(&sql, &refs)?, columns::run)
        })
    }

    fn selected_decisions(
        &self,
        run: RunId,
        after_key: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Decision>> {
        let after = after_key.unwrap_or_default().to_owned();
        self.read(move |client, _| {
            let rows = client.query(SELECTED_DECISIONS, &[&run.0, &big(limit), &after])?;
            all(&rows, |r| {
                Ok(Decision {
                    selected: true,
                    ..columns::decision(r)?
                })
            })
        })
    }
}

impl Store for PostgresStore {
    fn begin_run(
        &self,
        policy: &str,
        mode: &str,
        scheduled_for: Timestamp,
        now: Timestamp,
    ) -> Result<RunId> {
        let (policy, mode) = (policy.to_owned(), mode.to_owned());
        let (slot, now) = (ts(scheduled_for), ts(now));
        self.write(move |tx, _| {
            // Two nodes beginning the same slot: the second's insert waits for the first's
            // commit, then finds the conflict.
            let inserted = tx.query_opt(
                "INSERT INTO runs (policy, mode, scheduled_for, state, started_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (policy, scheduled_for) DO NOTHING RETURNING id",
                &[&policy, &mode, &slot, &RunState::Planning.as_str(), &now],
            )?;
            if let Some(row) = inserted {
                return Ok(RunId(row.get(0)));
            }
            let run = tx.query_one(
                "SELECT id FROM runs WHERE policy = $1 AND scheduled_for = $2",
                &[&policy, &slot],
            )?;
            Err(Fail::Store(StoreError::RunExists {
                run: RunId(run.get(0)),
            }))
        })
    }

    fn record_decisions(&self, run: RunId, decisions: &[Decision]) -> Result<()> {
        if decisions.is_empty() {
            return Ok(());
        }
        let decisions = decisions.to_vec();
        self.write(move |tx, ctx| {
            ctx.ensure_run(tx, run, false)?;
            let stmt = tx.prepare(
                "INSERT INTO decisions (run, subject_key, selected, reason, identifiers_json)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (run, subject_key) DO UPDATE SET
                     selected = excluded.selected,
                     reason = excluded.reason,
                     identifiers_json = excluded.identifiers_json",
            )?;
            for d in &decisions {
                let identifiers = decision_identifiers(d)?;
                tx.execute(
                    &stmt,
                    &[&run.0, &d.subject_key, &d.selected, &d.reason, &identifiers],
                )?;
            }
            Ok(())
        })
    }

    fn set_run_state(
        &self,
        run: RunId,
        state: RunState,
        scanned: u64,
        selected: u64,
        detail: Option<&str>,
        now: Timestamp,
    ) -> Result<()> {
        let (detail, now) = (detail.map(str::to_owned), ts(now));
        self.write(move |tx, ctx| {
            // A final state keeps the time it was first reached.
            let changed = tx.execute(
                "UPDATE runs SET state = $2, scanned = $3, selected = $4, detail = $5,
                     finished_at = CASE WHEN $6 THEN coalesce(finished_at, $7) END
                 WHERE id = $1",
                &[
                    &run.0,
                    &state.as_str(),
                    &big(scanned),
                    &big(selected),
                    &detail,
                    &state.is_final(),
                    &now,
                ],
            )?;
            match changed {
                0 => Err(ctx.no_such_run(run)),
                _ => Ok(()),
            }
        })
    }

    fn create_tasks_for_selected(
        &self,
        run: RunId,
        systems: &[(String, Action, u32)],
    ) -> Result<u64> {
        self.create_tasks(run, systems)
    }

    fn file_requests_for_selected(
        &self,
        run: RunId,
        origin: &str,
        received_at: Timestamp,
        due_at: Timestamp,
        tasks: &[NewRequestTask],
    ) -> Result<u64> {
        self.file_requests(run, origin, received_at, due_at, tasks)
    }

    fn create_task(&self, run: RunId, task: &NewTask) -> Result<TaskId> {
        self.create_one_task(run, task)
    }

    fn start_tasks(&self, tasks: &[TaskId], now: Timestamp) -> Result<u64> {
        self.claim_tasks(tasks, now)
    }

    fn release_tasks(&self, tasks: &[TaskId], now: Timestamp) -> Result<u64> {
        self.give_back_tasks(tasks, now)
    }

    fn pending_tasks(&self, run: RunId, limit: usize) -> Result<Vec<TaskRecord>> {
        self.open_tasks(run, limit)
    }

    fn claim_tasks(&self, run: RunId, subjects: usize, now: Timestamp) -> Result<Vec<TaskRecord>> {
        self.claim_subjects(run, subjects, now)
    }

    fn finish_tasks_and_bury(
        &self,
        updates: &[(TaskId, TaskState, Option<String>)],
        tombstones: &[NewTombstone],
        now: Timestamp,
    ) -> Result<()> {
        self.finish_tasks(updates, tombstones, now)
    }

    fn keep_resume_tokens(&self, tokens: &[(TaskId, ResumeToken)]) -> Result<()> {
        self.keep_resume(tokens)
    }

    fn run(&self, run: RunId) -> Result<Option<RunRecord>> {
        self.read(move |client, _| {
            let sql = format!("{RUN_COLUMNS} WHERE id = $1");
            client
                .query_opt(&sql, &[&run.0])?
                .as_ref()
                .map(columns::run)
                .transpose()
        })
    }

    fn runs_in_state(&self, states: &[RunState]) -> Result<Vec<RunRecord>> {
        let states: Vec<&'static str> = states.iter().map(|s| s.as_str()).collect();
        let sql = format!("{RUN_COLUMNS} WHERE state = ANY($1) ORDER BY id");
        self.query_runs(sql, vec![Box::new(states)])
    }

    fn recent_runs(&self, policy: Option<&str>, limit: usize) -> Result<Vec<RunRecord>> {
        let (policy, limit) = (policy.map(str::to_owned), big(limit));
        let sql = format!(
            "{RUN_COLUMNS} WHERE $1::text IS NULL OR policy = $1 ORDER BY id DESC LIMIT $2"
        );
        self.query_runs(sql, vec![Box::new(policy), Box::new(limit)])
    }

    fn decisions(
        &self,
        run: RunId,
        which: DecisionFilter,
        after_key: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Decision>> {
        match which {
            DecisionFilter::Selected => self.selected_decisions(run, after_key, limit),
            DecisionFilter::WarningDue => self.warnings_due(run, after_key, limit),
        }
    }

    fn deselect(&self, run: RunId, subjects: &[(String, String)]) -> Result<()> {
        if subjects.is_empty() {
            return Ok(());
        }
        let subjects = subjects.to_vec();
        self.write(move |tx, ctx| {
            ctx.ensure_run(tx, run, false)?;
            let update = tx.prepare(
                "UPDATE decisions SET selected = false, reason = $3, identifiers_json = NULL
                 WHERE run = $1 AND subject_key = $2",
            )?;
            for (key, reason) in &subjects {
                tx.execute(&update, &[&run.0, key, reason])?;
            }
            Ok(())
        })
    }

    fn decision_counts(&self, run: RunId) -> Result<Vec<(String, bool, u64)>> {
        self.read(move |client, _| {
            let rows = client.query(
                "SELECT reason, selected, count(*) FROM decisions WHERE run = $1
                 GROUP BY reason, selected ORDER BY reason, selected",
                &[&run.0],
            )?;
            all(&rows, |r| {
                Ok((r.try_get(0)?, r.try_get(1)?, r.try_get::<_, i64>(2)? as u64))
            })
        })
    }

    fn task_counts(&self, run: RunId) -> Result<Vec<(String, TaskState, u64)>> {
        self.read(move |client, _| {
            let rows = client.query(
                "SELECT system, state, count(*) FROM tasks WHERE run = $1
                 GROUP BY system, state ORDER BY system, state",
                &[&run.0],
            )?;
            all(&rows, columns::task_count)
        })
    }

    fn forget_identifiers(&self, run: RunId) -> Result<()> {
        self.write(move |tx, ctx| {
            // Locking the run holds back new tasks of it (their foreign key waits), so the
            // count stays true until the identifiers are gone.
            ctx.ensure_run(tx, run, true)?;
            let open: i64 = tx
                .query_one(
                    "SELECT count(*) FROM tasks
                     WHERE run = $1 AND state IN ('pending', 'running')",
                    &[&run.0],
                )?
                .get(0);
            if open > 0 {
                let open = open as u64;
                return Err(Fail::Store(StoreError::TasksOpen { run, open }));
            }
            tx.execute(
                "UPDATE decisions SET identifiers_json = NULL
                 WHERE run = $1 AND identifiers_json IS NOT NULL",
                &[&run.0],
            )?;
            Ok(())
        })
    }
}
