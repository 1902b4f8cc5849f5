//! The rows of the three systems at one moment, as the checks compare them.

use std::collections::BTreeMap;

use super::model::Model;
use crate::scenario::Scenario;

type Row = Vec<Option<String>>;

/// The rows of the three systems at one moment, by their own ids.
pub struct Stores {
    /// Panel customers by id.
    pub panel: BTreeMap<i64, Row>,
    /// CRM people by id.
    pub crm: BTreeMap<i64, Row>,
    /// Billing clients by id.
    pub clients: BTreeMap<i64, Row>,
    /// Invoices per billing client.
    pub invoices: BTreeMap<i64, u64>,
}

impl Stores {
    /// Reads every system.
    pub fn read(scenario: &Scenario) -> Stores {
        let keyed = |system: &str, sql: &str| -> BTreeMap<i64, Row> {
            scenario
                .db(system)
                .rows(sql)
                .into_iter()
                .map(|row| (row[0].as_deref().unwrap().parse().unwrap(), row))
                .collect()
        };
        let invoices = keyed(
            "billing",
            "SELECT client_id, COUNT(*) FROM invoices GROUP BY client_id",
        )
        .into_iter()
        .map(|(id, row)| (id, row[1].as_deref().unwrap().parse().unwrap()))
        .collect();
        Stores {
            panel: keyed("panel", "SELECT * FROM customers"),
            crm: keyed("crm", "SELECT * FROM people"),
            clients: keyed(
                "billing",
                "SELECT id, email, name, personnummer, address FROM clients",
            ),
            invoices,
        }
    }

    /// Whether a billing client's personal data is gone (anonymized: no email).
    pub fn anonymized(&self, billing_id: i64) -> bool {
        self.clients
            .get(&billing_id)
            .is_none_or(|row| row[1].is_none())
    }

    /// Whether customer `panel_id`'s CRM person, if they have one, carries a personnummer:
    /// whether the CRM can find them by something other than their email.
    pub fn crm_has_personnummer(&self, model: &Model, panel_id: i64) -> bool {
        model
            .crm_ids
            .get(&panel_id)
            .is_none_or(|crm| self.crm.get(crm).is_some_and(|row| row[4].is_some()))
    }

    /// Takes a customer's rows as they are in `now` as the expected ones from here on: the
    /// harness itself changed them (a login, a moved mailbox, a new invoice), so they are no
    /// longer "as generated" but must stay as the harness left them.
    pub fn adopt(&mut self, now: &Stores, model: &Model, panel_id: i64) {
        fn copy<V: Clone>(to: &mut BTreeMap<i64, V>, from: &BTreeMap<i64, V>, id: i64) {
            match from.get(&id) {
                Some(value) => to.insert(id, value.clone()),
                None => to.remove(&id),
            };
        }
        copy(&mut self.panel, &now.panel, panel_id);
        if let Some(crm) = model.crm_ids.get(&panel_id) {
            copy(&mut self.crm, &now.crm, *crm);
        }
        let billing = model.billing_ids[&panel_id];
        copy(&mut self.clients, &now.clients, billing);
        copy(&mut self.invoices, &now.invoices, billing);
    }
}
