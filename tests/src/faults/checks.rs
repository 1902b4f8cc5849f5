//! The invariants checked after every step of a fault scenario. Each panics with the seed,
//! so that `GALLRA_FAULT_SEED=n` replays the scenario that broke it.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use jiff::{Timestamp, ToSpan};
use serde_json::Value;

use super::model::{Model, ZONE};
pub use super::stores::Stores;
use super::Figures;

/// Everything one check looks at.
pub struct Observed<'a> {
    /// The scenario's seed, for the failure message.
    pub seed: u64,
    /// The model.
    pub model: &'a Model,
    /// The stores as generated.
    pub initial: &'a Stores,
    /// The stores now.
    pub after: &'a Stores,
    /// Panel id → request id of each erasure request.
    pub requested: &'a BTreeMap<i64, i64>,
    /// Each request's view (`gallra request show --json`), by request id.
    pub views: &'a BTreeMap<i64, Value>,
    /// The state store, read directly.
    pub state_db: PathBuf,
    /// Whether billing is under the bookkeeping hold (the invoices an erasure leaves must
    /// then be explained by the law in the receipt).
    pub billing_hold: bool,
    /// Invariant checks that held so far.
    checks: Cell<u64>,
}

/// Task states a request task may be in; anything else is a lost or corrupt task.
const TASK_STATES: [&str; 8] = [
    "pending",
    "running",
    "done",
    "retained",
    "failed",
    "blocked",
    "needs_person",
    "in_progress",
];

impl<'a> Observed<'a> {
    /// Starts checking.
    pub fn new(
        seed: u64,
        model: &'a Model,
        initial: &'a Stores,
        after: &'a Stores,
        requested: &'a BTreeMap<i64, i64>,
        views: &'a BTreeMap<i64, Value>,
        state_db: PathBuf,
    ) -> Self {
        Observed {
            seed,
            model,
            initial,
            after,
            requested,
            views,
            state_db,
            billing_hold: true,
            checks: Cell::new(0),
        }
    }

    /// How many checks held.
    pub fn checks(&self) -> u64 {
        self.checks.get()
    }

    pub(super) fn check(&self, holds: bool, what: impl FnOnce() -> String) {
        assert!(holds, "seed {}: {}", self.seed, what());
        self.checks.set(self.checks.get() + 1);
    }

    /// The calm plan selects exactly what the model selects among the customers still there.
    pub fn plan_matches_model(&self, plan: &BTreeSet<i64>, model: &BTreeSet<i64>, before: &Stores) {
        let present: BTreeSet<i64> = before.panel.keys().copied().collect();
        let expected: BTreeSet<i64> = model.intersection(&present).copied().collect();
        self.check(plan == &expected, || {
            format!("the calm plan selects {plan:?}, the model {expected:?}")
        });
    }

    /// Every invariant after one step.
    pub fn step(
        &self,
        before: &Stores,
        plan: &BTreeSet<i64>,
        reports: &Value,
        figures: &mut Figures,
    ) {
        self.requests_kept();
        self.legal_hold_kept();
        let allowed: BTreeSet<i64> = plan.iter().chain(self.requested.keys()).copied().collect();
        self.only_selected_deleted(before, &allowed);
        self.done_means_gone();
        self.deadlines_exact();
        self.refused_scans_delete_nothing(before, reports, figures);
    }

    /// No request or request task is lost: each submitted request is there, its tasks in
    /// states gallra knows. (Runs file requests of their own for the held billing system.)
    fn requests_kept(&self) {
        for id in self.requested.values() {
            let there = self.count(&format!("SELECT COUNT(*) FROM requests WHERE id = {id}"));
            self.check(there == 1, || {
                format!("request {id} is no longer in the store")
            });
        }
        for (id, view) in self.views {
            let tasks = view["task_list"].as_array().cloned().unwrap_or_default();
            self.check(!tasks.is_empty(), || {
                format!("request {id} has no tasks: {view:#}")
            });
            for task in &tasks {
                let state = task["state"].as_str().unwrap_or_default();
                self.check(TASK_STATES.contains(&state), || {
                    format!("request {id}: a task in state {state:?}: {task:#}")
                });
            }
        }
    }

    /// Nothing under the bookkeeping hold is deleted: every invoice and client row stays.
    fn legal_hold_kept(&self) {
        self.check(self.after.invoices == self.initial.invoices, || {
            "invoices under the legal hold were deleted".to_owned()
        });
        let clients: BTreeSet<&i64> = self.after.clients.keys().collect();
        self.check(clients == self.initial.clients.keys().collect(), || {
            "billing clients (anonymized in place under the hold) were deleted".to_owned()
        });
    }

    /// What a step removed is among what the calm plan selected or what was requested.
    fn only_selected_deleted(&self, before: &Stores, allowed: &BTreeSet<i64>) {
        for panel_id in before.panel.keys() {
            if allowed.contains(panel_id) {
                continue;
            }
            self.check(self.after.panel.contains_key(panel_id), || {
                format!("customer {panel_id} was deleted from the panel though not selected")
            });
            if let Some(crm) = self.model.crm_ids.get(panel_id) {
                self.check(
                    before.crm.contains_key(crm) <= self.after.crm.contains_key(crm),
                    || format!("customer {panel_id} was deleted from the CRM though not selected"),
                );
            }
            let billing = self.model.billing_ids[panel_id];
            self.check(
                before.anonymized(billing) || !self.after.anonymized(billing),
                || format!("customer {panel_id} was anonymized in billing though not selected"),
            );
        }
    }

    /// A request is done only when each system's data is really gone, or the receipt says
    /// why it stays (billing's invoices under the hold).
    fn done_means_gone(&self) {
        for (panel_id, id) in self.requested {
            let view = &self.views[id];
            if view["state"] != "done" {
                continue;
            }
            self.check(!self.after.panel.contains_key(panel_id), || {
                format!("request {id} is done but the panel still holds the customer: {view:#}")
            });
            if let Some(crm) = self.model.crm_ids.get(panel_id) {
                self.check(!self.after.crm.contains_key(crm), || {
                    format!("request {id} is done but the CRM still holds the customer: {view:#}")
                });
            }
            let billing = self.model.billing_ids[panel_id];
            self.check(self.after.anonymized(billing), || {
                format!(
                    "request {id} is done but billing still holds the customer's data: {view:#}"
                )
            });
            if self.after.invoices.get(&billing).copied().unwrap_or(0) > 0 {
                let line = receipt_line(view, "billing");
                let explained = line["outcome"] == "retained" && line["legal_basis"].is_string();
                self.check(
                    explained
                        || !self.billing_hold
                        || self.anonymized_by_a_purge_first(*panel_id, line),
                    || format!("request {id}: invoices stay but the receipt does not say why: {view:#}"),
                );
            }
        }
    }

    /// Whether a purge reached billing before the customer's own request did: a policy run
    /// selected the customer and filed billing's erasure (the system is under the hold), and
    /// that filed request was retained under the law. The customer's request then finds
    /// nothing of them in billing (the client no longer has their email or personnummer),
    /// and its receipt says so — "0 records" — while the filed request's receipt says why
    /// the (anonymized) invoices stay. Anything else than "found nothing" still fails.
    fn anonymized_by_a_purge_first(&self, panel_id: i64, line: &Value) -> bool {
        let found_nothing = line["detail"]
            .as_str()
            .is_some_and(|d| d.ends_with(" 0 records"));
        found_nothing
            && self.count(&format!(
                "SELECT COUNT(*) FROM requests r JOIN request_tasks t ON t.request = r.id \
                 WHERE r.from_subject = '{panel_id}' AND t.system = 'billing' \
                 AND t.state = 'retained' AND t.legal_basis IS NOT NULL"
            )) > 0
    }

    /// Each request is due exactly 7 calendar days after it was received, in Stockholm
    /// (the same wall-clock time, across the change to summer time).
    fn deadlines_exact(&self) {
        for (id, view) in self.views {
            let received: Timestamp = view["received_at"].as_str().unwrap().parse().unwrap();
            let due: Timestamp = view["due_at"].as_str().unwrap().parse().unwrap();
            let expected = received
                .in_tz(ZONE)
                .unwrap()
                .checked_add(7.days())
                .unwrap()
                .timestamp();
            self.check(due == expected, || {
                format!("request {id} is due {due}, expected {expected} (received {received})")
            });
        }
    }

    /// A policy run whose scan failed or looked broken made no task and deleted nothing; a
    /// run that finished saw every subject the store holds (or it is counted as accepted).
    fn refused_scans_delete_nothing(
        &self,
        before: &Stores,
        reports: &Value,
        figures: &mut Figures,
    ) {
        for report in reports.as_array().into_iter().flatten() {
            if report["policy"] != "inactive-6-months" {
                continue;
            }
            let run = report["run"].as_i64().unwrap_or(-1);
            let detail = report["detail"].as_str().unwrap_or_default();
            match report["state"].as_str() {
                Some("failed") if detail.starts_with("scan of") => {
                    figures.scans_refused += 1;
                    let tasks =
                        self.count(&format!("SELECT COUNT(*) FROM tasks WHERE run = {run}"));
                    self.check(tasks == 0, || {
                        format!("run {run} failed its scan but made {tasks} tasks: {report:#}")
                    });
                    let others = self.subjects_of_other_runs(run);
                    for panel_id in before.panel.keys() {
                        if self.after.panel.contains_key(panel_id)
                            || self.requested.contains_key(panel_id)
                        {
                            continue;
                        }
                        self.check(others.contains(panel_id), || {
                            format!(
                                "run {run} failed its scan, yet customer {panel_id} was deleted"
                            )
                        });
                    }
                }
                Some("awaiting_approval") => {
                    figures.valve_stops += 1;
                    let tasks =
                        self.count(&format!("SELECT COUNT(*) FROM tasks WHERE run = {run}"));
                    self.check(tasks == 0, || {
                        format!("run {run} awaits approval but made {tasks} tasks: {report:#}")
                    });
                }
                Some("done") => {
                    let scanned = report["scanned"].as_u64().unwrap_or(0);
                    if scanned < self.after.panel.len() as u64 {
                        figures.incomplete_scans_accepted += 1;
                    }
                }
                _ => {}
            }
        }
    }

    /// After the calm runs: exactly the selected and the erased-on-request customers are
    /// gone (panel and CRM rows deleted, billing anonymized), and every other row is as it
    /// was generated. The selected customers `for_a_person` (their email is another
    /// customer's too) are not expected gone: [`Observed::left_for_a_person`] checks them.
    ///
    /// A request a run filed for billing (under the hold) that failed for good (a panic, a
    /// renamed column) leaves billing as it is, visibly: such customers are only checked
    /// for the panel and the CRM.
    pub fn end_state(&self, selected: &BTreeSet<i64>, for_a_person: &BTreeSet<i64>) {
        let failed = self.failed_handovers();
        for panel_id in self.model.customers() {
            let request = self.requested.get(&panel_id).map(|id| &self.views[id]);
            if request.is_some_and(|v| v["state"] != "done") {
                continue;
            }
            if request.is_none() && for_a_person.contains(&panel_id) {
                continue;
            }
            let crm = self.model.crm_ids.get(&panel_id);
            let billing = self.model.billing_ids[&panel_id];
            if selected.contains(&panel_id) || request.is_some() {
                self.check(!self.after.panel.contains_key(&panel_id), || {
                    format!("customer {panel_id} should be gone from the panel after the calm runs")
                });
                self.check(crm.is_none_or(|c| !self.after.crm.contains_key(c)), || {
                    format!("customer {panel_id} should be gone from the CRM after the calm runs")
                });
                self.check(
                    failed.contains(&panel_id) || self.after.anonymized(billing),
                    || format!("customer {panel_id} should be anonymized in billing after the calm runs"),
                );
            } else {
                let same = self.after.panel.get(&panel_id) == self.initial.panel.get(&panel_id)
                    && crm.is_none_or(|c| self.after.crm.get(c) == self.initial.crm.get(c))
                    && self.after.clients.get(&billing) == self.initial.clients.get(&billing);
                self.check(same, || {
                    format!("customer {panel_id} was not selected, yet their rows changed")
                });
            }
        }
    }

    /// The subjects of the requests runs filed that ended failed.
    pub fn failed_handovers(&self) -> BTreeSet<i64> {
        let db = self.state();
        let mut stmt = db
            .prepare("SELECT from_subject FROM requests WHERE state = 'failed' AND from_subject IS NOT NULL")
            .unwrap();
        stmt.query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .filter_map(|k| k.ok()?.parse().ok())
            .collect()
    }

    fn subjects_of_other_runs(&self, run: i64) -> BTreeSet<i64> {
        let db = self.state();
        let mut stmt = db
            .prepare("SELECT DISTINCT subject_key FROM tasks WHERE run <> ?1")
            .unwrap();
        stmt.query_map([run], |r| r.get::<_, String>(0))
            .unwrap()
            .filter_map(|k| k.ok()?.parse().ok())
            .collect()
    }

    pub(super) fn count(&self, sql: &str) -> i64 {
        self.state().query_row(sql, [], |r| r.get(0)).unwrap()
    }

    pub(super) fn state(&self) -> rusqlite::Connection {
        rusqlite::Connection::open_with_flags(
            &self.state_db,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap()
    }
}

fn receipt_line<'v>(view: &'v Value, system: &str) -> &'v Value {
    view["receipt"]["systems"]
        .as_array()
        .and_then(|lines| lines.iter().find(|l| l["system"] == system))
        .unwrap_or(&Value::Null)
}
