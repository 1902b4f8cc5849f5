//! A population with shared identifiers: some customers the policy will select share their
//! email with a customer it never selects (a family address). The address is written into
//! every system that holds the selected customer (panel, CRM, billing), in the spelling the
//! panel gives the other holder, so every system finds both customers by it.
//!
//! What must hold: the holder who stays is never reached through the shared address (their
//! rows stay in every system), and the one who goes is erased through what is theirs alone.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Zoned;

use super::model::Model;
use super::stores::Stores;
use crate::scenario::Scenario;

/// How the family addresses are chosen.
pub struct Sharing<'a> {
    /// The scenario's seed: which customers share.
    pub seed: u64,
    /// How many addresses are shared (each by two customers).
    pub pairs: usize,
    /// Customers who ask to be erased (they keep their own address: a request names it).
    pub requesting: &'a [i64],
    /// The scenario's last day: who the policy selects by then is who it ever selects.
    pub last: &'a Zoned,
    /// Whether one who goes may have a CRM person without a personnummer (see
    /// [`super::Shape::crm_by_email_only`]).
    pub crm_by_email_only: bool,
}

/// Gives `sharing.pairs` customers the policy will select the email of a customer it never
/// selects, in the databases and in the model; returns the customers who must stay because
/// of it, and why (never the address).
///
/// Each one that goes is paired with the first customer who stays (in an order drawn from
/// the seed) whose billing would not keep them too: billing finds both clients by the shared
/// address, and a pair in which the one who goes is kept anyway tests nothing.
pub fn share_emails(
    scenario: &Scenario,
    model: &mut Model,
    sharing: Sharing<'_>,
) -> BTreeMap<i64, String> {
    let stores = Stores::read(scenario);
    let selected = model.selected(sharing.last, &stores);
    let free = |id: &i64| !sharing.requesting.contains(id);
    let findable = |id: &i64| sharing.crm_by_email_only || stores.crm_has_personnummer(model, *id);
    let going: Vec<i64> = rotated(
        selected.iter().copied().filter(free).filter(findable),
        sharing.seed,
    );
    let staying: Vec<i64> = rotated(
        model
            .customers()
            .difference(&selected)
            .copied()
            .filter(free),
        sharing.seed / 3,
    );
    let mut taken = BTreeSet::new();
    let mut stay = BTreeMap::new();
    for goes in going.into_iter().take(sharing.pairs) {
        let candidates: Vec<i64> = staying
            .iter()
            .copied()
            .filter(|s| !taken.contains(s))
            .collect();
        let still_selected = |holder: i64| {
            let mut trial = model.clone();
            trial.share_billing_email(goes, holder);
            trial.selected(sharing.last, &stores).contains(&goes)
        };
        let Some(holder) = candidates
            .iter()
            .copied()
            .find(|h| still_selected(*h))
            .or_else(|| candidates.first().copied())
        else {
            break;
        };
        taken.insert(holder);
        write_email(scenario, model, goes, holder);
        model.share_billing_email(goes, holder);
        stay.insert(
            holder,
            format!("shares an email with customer {goes}, whom the policy selects"),
        );
    }
    stay
}

/// Writes `holder`'s panel email into every row of customer `goes`.
fn write_email(scenario: &Scenario, model: &Model, goes: i64, holder: i64) {
    let email = scenario.data.customer(holder).unwrap().email().to_owned();
    set_email(scenario, model, goes, &email);
}

/// Sets customer `panel_id`'s email in the panel, their CRM person (if any) and their
/// billing client.
pub fn set_email(scenario: &Scenario, model: &Model, panel_id: i64, email: &str) {
    let set = |system: &str, table: &str, id: i64| {
        scenario.db(system).execute(&[format!(
            "UPDATE {table} SET email = '{email}' WHERE id = {id}"
        )]);
    };
    set("panel", "customers", panel_id);
    if let Some(crm) = model.crm_ids.get(&panel_id) {
        set("crm", "people", *crm);
    }
    set("billing", "clients", model.billing_ids[&panel_id]);
}

/// `ids` in a order drawn from `seed`: rotated by it.
pub(super) fn rotated(ids: impl Iterator<Item = i64>, seed: u64) -> Vec<i64> {
    let mut ids: Vec<i64> = ids.collect();
    if !ids.is_empty() {
        let by = (seed as usize) % ids.len();
        ids.rotate_left(by);
    }
    ids
}
