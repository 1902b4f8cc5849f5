//! What the 6-month inactivity policy must select on a given day, computed from the rows as
//! they were generated — never from gallra's own policy code —, from the facts the harness
//! itself changed since (a login, a new service, an unpaid invoice: see `super::waiting`),
//! from which billing clients share an email (see `super::family`), and from which of them
//! an earlier erasure has since unlinked from the customer (see [`Model::selected`]).

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, Zoned};

use super::checks::Stores;
use crate::scenario::Scenario;

/// The calendar the demo data and config use.
pub const ZONE: &str = "Europe/Stockholm";

/// One customer's facts across the panel and billing, as generated.
#[derive(Debug, Clone, Default)]
struct Facts {
    /// The latest login, sign-up or service end in the panel.
    panel_activity: Option<Timestamp>,
    /// The latest paid invoice in billing.
    billing_activity: Option<Timestamp>,
    active_service: bool,
    unpaid: bool,
}

/// The generated customers' facts, by panel id, and their ids in the other systems.
#[derive(Clone)]
pub struct Model {
    facts: BTreeMap<i64, Facts>,
    /// Panel id → CRM id, for the customers the CRM holds.
    pub crm_ids: BTreeMap<i64, i64>,
    /// Panel id → billing id.
    pub billing_ids: BTreeMap<i64, i64>,
    /// Panel id → the other customers whose billing client holds the same email (a family
    /// address): asking billing about one by email finds both clients.
    partners: BTreeMap<i64, BTreeSet<i64>>,
}

impl Model {
    /// Reads the facts from a freshly built scenario's databases.
    pub fn of(scenario: &Scenario) -> Model {
        let zone = TimeZone::get(ZONE).unwrap();
        let mut facts: BTreeMap<i64, Facts> = BTreeMap::new();
        let panel = scenario.db("panel");
        for row in panel.rows("SELECT id, created_at, last_login FROM customers") {
            let f = facts.entry(int(&row[0])).or_default();
            f.panel_activity = latest(&zone, f.panel_activity, &row[1..]);
        }
        for row in panel.rows("SELECT customer_id, status, ended_at FROM services") {
            let f = facts.entry(int(&row[0])).or_default();
            f.active_service |= row[1].as_deref() == Some("active");
            f.panel_activity = latest(&zone, f.panel_activity, &row[2..]);
        }
        let customers = scenario.data.customers();
        let billing_ids: BTreeMap<i64, i64> = customers
            .iter()
            .map(|c| (c.panel_id(), c.billing_id()))
            .collect();
        let by_billing: BTreeMap<i64, i64> = billing_ids.iter().map(|(p, b)| (*b, *p)).collect();
        let invoices = scenario
            .db("billing")
            .rows("SELECT client_id, paid_at FROM invoices");
        for row in invoices {
            let Some(panel_id) = by_billing.get(&int(&row[0])) else {
                continue;
            };
            let f = facts.entry(*panel_id).or_default();
            f.unpaid |= row[1].is_none();
            f.billing_activity = latest(&zone, f.billing_activity, &row[1..]);
        }
        let crm_ids = customers
            .iter()
            .filter_map(|c| c.crm_id().map(|crm| (c.panel_id(), crm)))
            .collect();
        Model {
            facts,
            crm_ids,
            billing_ids,
            partners: BTreeMap::new(),
        }
    }

    /// The customer logged in at `at` (the harness wrote it into the panel).
    pub fn logged_in(&mut self, panel_id: i64, at: Timestamp) {
        let f = self.facts.entry(panel_id).or_default();
        f.panel_activity = f.panel_activity.max(Some(at));
    }

    /// The customer started an active service (the harness wrote it into the panel).
    pub fn gained_service(&mut self, panel_id: i64) {
        self.facts.entry(panel_id).or_default().active_service = true;
    }

    /// The customer's billing client got an unpaid invoice (the harness wrote it).
    pub fn owes(&mut self, panel_id: i64) {
        self.facts.entry(panel_id).or_default().unpaid = true;
    }

    /// Customers `a` and `b` hold one email in billing: each one's invoices are found by
    /// the other's email too, so each one's debts and payments count for both.
    pub fn share_billing_email(&mut self, a: i64, b: i64) {
        self.partners.entry(a).or_default().insert(b);
        self.partners.entry(b).or_default().insert(a);
    }

    /// Customer `from`'s email moved to `to` (a mailbox handed over; `from` got a new one of
    /// their own): whoever shared it with `from` in billing shares it with `to` now.
    pub fn move_email(&mut self, from: i64, to: i64) {
        for partner in self.partners.remove(&from).unwrap_or_default() {
            let theirs = self.partners.entry(partner).or_default();
            theirs.remove(&from);
            theirs.insert(to);
            self.partners.entry(to).or_default().insert(partner);
        }
    }

    /// The billing facts a question about `panel_id` finds at the moment of `now_stores`: the
    /// customer's own client's and those of every partner whose client still holds the
    /// shared email. An anonymized client's payments count for no one (see
    /// [`Model::selected`]); its debts still count for its own customer.
    fn billing(&self, panel_id: i64, now_stores: &Stores) -> (Option<Timestamp>, bool) {
        let own = &self.facts[&panel_id];
        let linked = |id: &i64| !now_stores.anonymized(self.billing_ids[id]);
        let mut activity = own.billing_activity.filter(|_| linked(&panel_id));
        let mut unpaid = own.unpaid;
        for partner in self.partners.get(&panel_id).into_iter().flatten() {
            if linked(partner) {
                let f = &self.facts[partner];
                activity = activity.max(f.billing_activity);
                unpaid |= f.unpaid;
            }
        }
        (activity, unpaid)
    }

    /// Every panel id.
    pub fn customers(&self) -> BTreeSet<i64> {
        self.facts.keys().copied().collect()
    }

    /// The panel ids the policy must select at `now`, given the systems' rows `now_stores`:
    /// no active service, nothing unpaid, and the latest activity anywhere strictly before
    /// `now` minus 6 calendar months in Stockholm.
    ///
    /// A billing client anonymized by an earlier step (a customer's own erasure request that
    /// reached billing but not yet the panel, or failed after it) has lost the email and
    /// personnummer that tie its invoices to the customer: the invoices stay under the hold,
    /// but nobody — gallra or a person reading billing — can tell whose payments they were.
    /// From then on the customer's paid invoices are no activity of theirs, and only the
    /// panel's times count. This is the data as it is, not gallra's answer: the model
    /// reads which clients are anonymized from the rows (`now_stores`), never from gallra.
    ///
    /// Active services and unpaid invoices still count as generated, anonymized or not: no
    /// erasure may unlink a customer who owes money (a request waits on the debt, a policy
    /// never selects it), and services go only with the panel row (one transaction). If
    /// gallra ever did so, the plan selecting the debtor fails the check, as it should.
    pub fn selected(&self, now: &Zoned, now_stores: &Stores) -> BTreeSet<i64> {
        let cutoff = now
            .in_tz(ZONE)
            .unwrap()
            .checked_sub(6.months())
            .unwrap()
            .timestamp();
        self.facts
            .iter()
            .filter(|(id, f)| {
                let (billing, unpaid) = self.billing(**id, now_stores);
                !f.active_service
                    && !unpaid
                    && matches!(f.panel_activity.max(billing), Some(last) if last < cutoff)
            })
            .map(|(id, _)| *id)
            .collect()
    }
}

/// The customers of `now_stores`' panel whose email another customer there holds too (a
/// family address, a mailbox taken over), compared as gallra compares emails (surrounding
/// space and case aside). Read from the rows, never from gallra.
///
/// Such an email picks out no one: gallra never hands it to a system. The CRM and billing find
/// people by email, so whatever they hold of such a customer under it only a person can find;
/// a policy run erases what their personnummer finds in the CRM (the first system), leaves the
/// CRM task to a person, and goes no further with them — billing (when the run erases it
/// itself) and the panel keep them, whole, until the email is theirs alone again.
pub fn email_held_by_another(now_stores: &Stores) -> BTreeSet<i64> {
    let mut holders: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for (id, row) in &now_stores.panel {
        if let Some(email) = &row[1] {
            holders
                .entry(email.trim().to_lowercase())
                .or_default()
                .push(*id);
        }
    }
    holders
        .into_values()
        .filter(|ids| ids.len() > 1)
        .flatten()
        .collect()
}

fn int(value: &Option<String>) -> i64 {
    value.as_deref().unwrap().parse().unwrap()
}

/// The later of `current` and the local times in `values` (`YYYY-MM-DD HH:MM:SS` in `zone`).
fn latest(
    zone: &TimeZone,
    current: Option<Timestamp>,
    values: &[Option<String>],
) -> Option<Timestamp> {
    values
        .iter()
        .flatten()
        .map(|text| {
            DateTime::strptime("%Y-%m-%d %H:%M:%S", text)
                .unwrap_or_else(|e| panic!("a generated time: {e}"))
                .to_zoned(zone.clone())
                .unwrap()
                .timestamp()
        })
        .chain(current)
        .max()
}

/// `start` plus `days` calendar days in Stockholm, as `GALLRA_NOW` takes it.
pub fn day(start: &Zoned, days: i64) -> Zoned {
    start.checked_add(days.days()).unwrap()
}
