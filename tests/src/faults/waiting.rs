//! Facts that change while a run waits: between the plan and the erase, and during an
//! approval. The harness makes a faulty step's run stop for approval (`max_per_run = 0`),
//! then, to customers the plan selected, one of each: a login, a new active service, an
//! unpaid invoice in billing, and their mailbox moved to a customer who stays. Half of the
//! changes come before `gallra approve`, half after it; then `gallra run --once` carries out
//! the approved run (and plans afresh), faults on.
//!
//! The model learns each change, so every customer who must stay now is checked to stay in
//! every system ([`super::kept`]), and the calm plan of the erase step (taken after the
//! changes) is what bounds what that step may delete.

use jiff::{ToSpan, Zoned};
use serde_json::Value;

use super::family::{rotated, set_email};
use super::model::day;
use super::stores::Stores;
use super::FaultScenario;

/// `max_per_run` of the demo policy, put back after the run that stopped.
const MAX_PER_RUN: i64 = 100_000;

/// Ids of the rows the harness adds (services and invoices): far above the generated ones.
const ADDED_IDS: i64 = 1_000_000;

/// What changes about a customer the plan selected, while the run waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The customer logs in to the panel.
    Login,
    /// The customer starts an active service in the panel.
    NewService,
    /// The customer's billing client gets an invoice that is not paid.
    UnpaidInvoice,
    /// The customer's email moves to a customer who stays, in every system; the customer
    /// gets a new one.
    MailboxMoved,
}

impl Change {
    /// Every change, in the order the seed rotates.
    pub const ALL: [Change; 4] = [
        Change::Login,
        Change::NewService,
        Change::UnpaidInvoice,
        Change::MailboxMoved,
    ];

    /// What the customer did, for a failure message.
    fn done(self) -> &'static str {
        match self {
            Change::Login => "logged in",
            Change::NewService => "started a service",
            Change::UnpaidInvoice => "left an invoice unpaid",
            Change::MailboxMoved => "handed over their mailbox",
        }
    }

    /// The change's name in the figures.
    pub fn name(self) -> &'static str {
        match self {
            Change::Login => "login",
            Change::NewService => "new_service",
            Change::UnpaidInvoice => "unpaid_invoice",
            Change::MailboxMoved => "mailbox_moved",
        }
    }
}

impl FaultScenario {
    /// A faulty step at `at` whose run stops for approval; facts change, the run is approved
    /// and carried out an hour later. Returns false if no run waited (its scan failed or it
    /// selected no one): the step was then an ordinary faulty one.
    pub(super) fn waiting_step(&mut self, step: u64, at: &Zoned) -> bool {
        self.set_max_per_run(0);
        let reports = self.step_at(step, at, true);
        self.set_max_per_run(MAX_PER_RUN);
        let Some(run) = waiting_run(&reports) else {
            return false;
        };
        let changed_at = at.checked_add(30.minutes()).unwrap();
        let changes = self.pick_changes(at);
        let (during, after) = changes.split_at(changes.len().div_ceil(2));
        for (customer, change) in during {
            self.apply(*customer, *change, &changed_at, run);
        }
        let instant = changed_at.timestamp().to_string();
        let approved = self.gallra.at(&instant, &["approve", &run.to_string()]);
        assert_eq!(
            approved.code,
            Some(0),
            "seed {}: `gallra approve {run}` refused: {}",
            self.seed,
            approved.stderr
        );
        for (customer, change) in after {
            self.apply(*customer, *change, &changed_at, run);
        }
        self.figures.approved += 1;
        self.step_at(step + 50, &at.checked_add(1.hour()).unwrap(), true);
        true
    }

    fn set_max_per_run(&self, max: i64) {
        self.scenario.edit_config(|config| {
            config["policies"]["inactive-6-months"]
                .as_table_mut()
                .unwrap()
                .insert("max_per_run".into(), max.into());
        });
    }

    /// One change per kind (kinds in an order drawn from the seed), each to another customer
    /// the calm plan selects at `at`, who has not asked to be erased and whom nothing has
    /// touched yet (a half-erased customer who logs in is kept with what is left, which the
    /// model does not follow). A mailbox moves only if a customer who stays can take it.
    fn pick_changes(&self, at: &Zoned) -> Vec<(i64, Change)> {
        let now = Stores::read(&self.scenario);
        let plan = self.calm_plan(&at.timestamp().to_string());
        let candidates = rotated(
            plan.into_iter().filter(|id| self.untouched(*id, &now)),
            self.seed,
        );
        let kinds = rotated(0..Change::ALL.len() as i64, self.seed / 5);
        candidates
            .into_iter()
            .zip(kinds)
            .map(|(id, kind)| (id, Change::ALL[kind as usize]))
            .filter(|(id, change)| *change != Change::MailboxMoved || self.may_move(*id, &now))
            .collect()
    }

    /// Whether customer `id` may take part in a change: not asking to be erased, not already
    /// made to stay, and every row of theirs as the harness last left it.
    fn untouched(&self, id: i64, now: &Stores) -> bool {
        let billing = self.model.billing_ids[&id];
        let crm = self.model.crm_ids.get(&id);
        !self.requested.contains_key(&id)
            && !self.stay.contains_key(&id)
            && now.panel.contains_key(&id)
            && now.panel.get(&id) == self.initial.panel.get(&id)
            && crm.is_none_or(|c| now.crm.get(c) == self.initial.crm.get(c))
            && now.clients.get(&billing) == self.initial.clients.get(&billing)
            && !now.anonymized(billing)
    }

    /// Whether customer `id`'s mailbox may move: someone can take it over, and the CRM can
    /// find `id` without it unless the shape allows otherwise.
    fn may_move(&self, id: i64, now: &Stores) -> bool {
        self.heir(now).is_some()
            && (self.shape.crm_by_email_only || now.crm_has_personnummer(&self.model, id))
    }

    /// A customer to take over a mailbox: one the policy never selects in this scenario,
    /// untouched and not made to stay already.
    fn heir(&self, now: &Stores) -> Option<i64> {
        let last = day(&self.start, *self.shape.steps.last().unwrap() + 3);
        let selected = self.model.selected(&last, now);
        let stayers = self
            .model
            .customers()
            .into_iter()
            .filter(|id| !selected.contains(id) && self.untouched(*id, now));
        rotated(stayers, self.seed / 7).first().copied()
    }

    /// Writes `change` to customer `id`'s rows at `at`, tells the model, and takes the rows
    /// as they now are as the expected ones.
    fn apply(&mut self, id: i64, change: Change, at: &Zoned, run: i64) {
        let local = at.strftime("%Y-%m-%d %H:%M:%S").to_string();
        let mut touched = vec![id];
        let why = format!("{} while run {run} waited", change.done());
        match change {
            Change::Login => {
                self.scenario.db("panel").execute(&[format!(
                    "UPDATE customers SET last_login = '{local}' WHERE id = {id}"
                )]);
                self.model.logged_in(id, at.timestamp());
                self.stay.insert(id, why);
            }
            Change::NewService => {
                self.scenario.db("panel").execute(&[format!(
                    "INSERT INTO services (id, customer_id, kind, status, started_at, ended_at) \
                     VALUES ({}, {id}, 'web', 'active', '{local}', NULL)",
                    ADDED_IDS + id
                )]);
                self.model.gained_service(id);
                self.stay.insert(id, why);
            }
            Change::UnpaidInvoice => {
                let client = self.model.billing_ids[&id];
                self.scenario.db("billing").execute(&[format!(
                    "INSERT INTO invoices (id, client_id, amount_ore, issued_at, paid_at) \
                     VALUES ({}, {client}, 10000, '{local}', NULL)",
                    ADDED_IDS + id
                )]);
                self.model.owes(id);
                self.stay.insert(id, why);
            }
            Change::MailboxMoved => {
                let now = Stores::read(&self.scenario);
                let Some(heir) = self.heir(&now) else { return };
                let email = now.panel[&id][1].clone().unwrap();
                set_email(
                    &self.scenario,
                    &self.model,
                    id,
                    &format!("moved{id}@example.se"),
                );
                set_email(&self.scenario, &self.model, heir, &email);
                self.model.move_email(id, heir);
                self.stay.insert(
                    heir,
                    format!("took over customer {id}'s mailbox while run {run} waited"),
                );
                touched.push(heir);
            }
        }
        let now = Stores::read(&self.scenario);
        for customer in touched {
            self.initial.adopt(&now, &self.model, customer);
        }
        *self.figures.faults.entry(change.name().into()).or_default() += 1;
    }
}

/// The run of the inactivity policy that stopped for approval on `max_per_run`, if any.
fn waiting_run(reports: &Value) -> Option<i64> {
    reports.as_array()?.iter().find_map(|report| {
        let stopped = report["policy"] == "inactive-6-months"
            && report["state"] == "awaiting_approval"
            && report["detail"]
                .as_str()
                .is_some_and(|d| d.contains("max_per_run"));
        stopped.then(|| report["run"].as_i64()).flatten()
    })
}
