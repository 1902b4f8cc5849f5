//! Never the wrong person: the checks for customers who must stay whatever a plan said (their
//! facts changed while a run waited, they took over a mailbox, they share a family address),
//! and for what a finished task promises.

use std::collections::{BTreeMap, BTreeSet};

use super::checks::Observed;

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
