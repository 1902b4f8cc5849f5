//! Never the wrong person: the checks for customers who must stay whatever a plan said (their
//! facts changed while a run waited, they took over a mailbox, they share a family address),
//! and for what a finished task promises.

use std::collections::{BTreeMap, BTreeSet};

use super::checks::{Observed, Stores};

impl Observed<'_> {
    /// Every customer in `stay` is whole in every system: still in the panel and the CRM,
    /// and not anonymized in billing.
    pub fn stayed(&self, stay: &BTreeMap<i64, String>) {
        for (panel_id, why) in stay {
            self.check(self.after.panel.contains_key(panel_id), || {
                format!("customer {panel_id} {why}, yet was deleted from the panel")
            });
            if let Some(crm) = self.model.crm_ids.get(panel_id) {
                self.check(self.after.crm.contains_key(crm), || {
                    format!("customer {panel_id} {why}, yet was deleted from the CRM")
                });
            }
            let billing = self.model.billing_ids[panel_id];
            self.check(!self.after.anonymized(billing), || {
                format!("customer {panel_id} {why}, yet was anonymized in billing")
            });
        }
    }

    /// In a step, nothing of a customer whose email another customer holds (`shared`, as
    /// `before` the step: see [`super::model::email_held_by_another`]) that only the email
    /// finds is deleted: they stay in the panel as they were (the account source waits for a
    /// person), so does a CRM person of theirs without a personnummer, and so does their
    /// billing client when the run erases billing itself (the CRM task before it is left to a
    /// person, so the run goes no further with them).
    pub fn nothing_by_a_shared_email(&self, before: &Stores, shared: &BTreeSet<i64>) {
        for panel_id in shared {
            if self.requested.contains_key(panel_id) {
                continue;
            }
            self.check(
                self.after.panel.get(panel_id) == before.panel.get(panel_id),
                || format!("customer {panel_id}'s email is another customer's too, yet their panel row went or changed"),
            );
            if let Some(crm) = self.model.crm_ids.get(panel_id) {
                let only_by_email = before.crm.get(crm).is_some_and(|row| row[4].is_none());
                self.check(
                    !only_by_email || self.after.crm.get(crm) == before.crm.get(crm),
                    || format!("customer {panel_id}'s CRM person, found only by an email another customer holds too, was deleted"),
                );
            }
            let billing = self.model.billing_ids[panel_id];
            self.check(
                self.billing_hold
                    || self.after.clients.get(&billing) == before.clients.get(&billing),
                || format!("customer {panel_id}'s email is another customer's too, yet the run went on to billing"),
            );
        }
    }

    /// After the calm runs, each customer the policy selects whose email another customer
    /// still holds (`waiting`) is left for a person, exactly: still in the panel as generated
    /// (or as the harness left them), their CRM person gone if their personnummer found it and
    /// as it was if only the email would, their billing client as it was when the run erases
    /// billing itself (anonymized, by personnummer, through the request a run files when
    /// billing is under the hold, unless that request failed for good); the latest CRM task
    /// needs a person and says why by kind ("unmatched", "email", never the address), and
    /// the latest panel task waits.
    pub fn left_for_a_person(&self, waiting: &BTreeSet<i64>) {
        let failed = self.failed_handovers();
        for panel_id in waiting {
            self.check(
                self.after.panel.contains_key(panel_id)
                    && self.after.panel.get(panel_id) == self.initial.panel.get(panel_id),
                || format!("customer {panel_id}'s email is another customer's too: they should be in the panel as they were, for a person"),
            );
            if let Some(crm) = self.model.crm_ids.get(panel_id) {
                let by_personnummer = self.initial.crm.get(crm).is_some_and(|r| r[4].is_some());
                let expected = if by_personnummer {
                    None
                } else {
                    self.initial.crm.get(crm)
                };
                self.check(self.after.crm.get(crm) == expected, || {
                    format!(
                        "customer {panel_id}'s CRM person should be {} after the calm runs",
                        if by_personnummer {
                            "erased by personnummer"
                        } else {
                            "as it was (only the shared email finds it)"
                        }
                    )
                });
            }
            let billing = self.model.billing_ids[panel_id];
            let billing_ok = if self.billing_hold {
                failed.contains(panel_id) || self.after.anonymized(billing)
            } else {
                self.after.clients.get(&billing) == self.initial.clients.get(&billing)
            };
            self.check(billing_ok, || {
                format!("customer {panel_id}'s billing client is not as expected for a customer left for a person (hold: {})", self.billing_hold)
            });
            let (crm_state, crm_detail) = self.latest_task(*panel_id, "crm");
            self.check(
                crm_state == "needs_person"
                    && crm_detail.contains("unmatched")
                    && crm_detail.contains("email")
                    && !crm_detail.contains('@'),
                || format!("customer {panel_id}'s latest CRM task should need a person, naming the email kind only: {crm_state} {crm_detail:?}"),
            );
            let (panel_state, panel_detail) = self.latest_task(*panel_id, "panel");
            self.check(panel_state == "blocked", || {
                format!("customer {panel_id}'s latest panel task should wait: {panel_state} {panel_detail:?}")
            });
        }
    }

    /// The state and detail of the latest policy task for `panel_id` in `system`.
    fn latest_task(&self, panel_id: i64, system: &str) -> (String, String) {
        self.state()
            .query_row(
                "SELECT state, COALESCE(detail, '') FROM tasks \
                 WHERE subject_key = ?1 AND system = ?2 ORDER BY run DESC, id DESC LIMIT 1",
                rusqlite::params![panel_id.to_string(), system],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap_or_default()
    }

    /// A task that says "done" left nothing of its customer in its system: a policy run's
    /// tasks in the panel and the CRM, and the billing tasks of the requests runs filed
    /// (billing is under the hold: done or retained means anonymized).
    pub fn done_tasks_gone(&self) {
        for (panel_id, system) in
            self.keys_of("SELECT DISTINCT subject_key, system FROM tasks WHERE state = 'done'")
        {
            let gone = match system.as_str() {
                "panel" => !self.after.panel.contains_key(&panel_id),
                "crm" => self
                    .model
                    .crm_ids
                    .get(&panel_id)
                    .is_none_or(|crm| !self.after.crm.contains_key(crm)),
                "billing" => self.after.anonymized(self.model.billing_ids[&panel_id]),
                _ => true,
            };
            self.check(gone, || {
                format!("a policy task for customer {panel_id} in {system} is done, but the customer's row is still there")
            });
        }
        let filed = self.keys_of(
            "SELECT DISTINCT r.from_subject, t.system FROM requests r \
             JOIN request_tasks t ON t.request = r.id \
             WHERE r.from_subject IS NOT NULL AND t.state IN ('done', 'retained')",
        );
        for (panel_id, system) in filed {
            if system != "billing" {
                continue;
            }
            self.check(self.after.anonymized(self.model.billing_ids[&panel_id]), || {
                format!("the billing task a run filed for customer {panel_id} is finished, but billing still holds the customer's data")
            });
        }
    }

    /// (panel id, system) pairs a query gives.
    fn keys_of(&self, sql: &str) -> BTreeSet<(i64, String)> {
        let db = self.state();
        let mut stmt = db.prepare(sql).unwrap();
        stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .unwrap()
            .filter_map(|row| {
                let (key, system) = row.ok()?;
                Some((key.parse().ok()?, system))
            })
            .collect()
    }
}
