//! A small world of named customers for the identity tests: each one written into the panel
//! (the account source), the CRM and, where a test needs it, billing, so that a test can say
//! "customer 1 is inactive and shares an email with active customer 2" and then count that
//! customer's rows in the databases after a run.

use std::path::Path;

use jiff::{ToSpan, Zoned};

use crate::{Backend, Gallra, Scenario};

/// Long ago: a login this old is past any policy's `idle_for`.
pub const LONG_AGO: &str = "2020-01-15 10:00:00";

/// One customer of the world.
#[derive(Debug, Clone)]
pub struct Customer {
    /// Panel id (the account source's key); the CRM person has the same id.
    pub id: i64,
    /// Email in the panel and the CRM.
    pub email: String,
    /// Personnummer (12 digits with a dash) in the panel and the CRM, if any.
    pub personnummer: Option<String>,
    /// Whether the customer logged in yesterday (else long ago).
    pub active: bool,
}

impl Customer {
    /// An inactive customer with an email made from `id`, and a personnummer.
    pub fn inactive(id: i64) -> Customer {
        Customer {
            id,
            email: format!("customer{id}@example.se"),
            personnummer: Some(personnummer(id)),
            active: false,
        }
    }

    /// An active customer with an email made from `id`, and a personnummer.
    pub fn active(id: i64) -> Customer {
        Customer {
            active: true,
            ..Customer::inactive(id)
        }
    }

    /// The same customer with another email.
    pub fn with_email(mut self, email: &str) -> Customer {
        self.email = email.to_owned();
        self
    }

    /// The same customer with no personnummer anywhere.
    pub fn without_personnummer(mut self) -> Customer {
        self.personnummer = None;
        self
    }
}

/// A valid personnummer (`19800101-NNNC`) made from `n` (1–999).
pub fn personnummer(n: i64) -> String {
    let nine = format!("800101{:03}", n % 1000);
    let check = gallra_plugin_api::Personnummer::check_digit(&nine).expect("nine digits");
    format!("19{}-{}{check}", &nine[..6], &nine[6..])
}

/// The panel, billing and CRM of a scenario with no generated customers, holding only the
/// customers a test names, and the config and binary that act on them.
pub struct World {
    /// The databases and config.
    pub scenario: Scenario,
    /// The real binary with the world's config.
    pub gallra: Gallra,
    backend: Backend,
}

impl World {
    /// Builds the world in `dir` on `backend`. The policy (6 months' inactivity, enforce) has
    /// no `max_fraction` and `max_per_run` stops at `max_per_run`.
    pub fn build(backend: Backend, dir: &Path, customers: &[Customer], max_per_run: i64) -> World {
        let scenario = Scenario::build(backend, dir, 1, 0);
        scenario.edit_config(|config| {
            let policy = config["policies"]["inactive-6-months"]
                .as_table_mut()
                .expect("the demo policy");
            policy.remove("max_fraction");
            policy.insert("max_fraction".into(), toml::Value::Float(1.0));
            policy.insert("max_per_run".into(), max_per_run.into());
        });
        let world = World {
            gallra: Gallra::new(&scenario.config),
            scenario,
            backend,
        };
        for customer in customers {
            world.add(customer);
        }
        world
    }

    /// Writes a customer into the panel and the CRM (with a note).
    pub fn add(&self, customer: &Customer) {
        let login = if customer.active {
            yesterday()
        } else {
            LONG_AGO.to_owned()
        };
        let pnr = sql_text(customer.personnummer.as_deref());
        let id = customer.id;
        let email = &customer.email;
        self.scenario.db("panel").execute(&[format!(
            "INSERT INTO customers (id, email, name, personnummer, phone, created_at, last_login, closed_at) \
             VALUES ({id}, '{email}', 'Kund {id}', {pnr}, NULL, '{LONG_AGO}', '{login}', NULL)"
        )]);
        self.scenario.db("crm").execute(&[
            format!(
                "INSERT INTO people (id, email, name, phone, personnummer) \
                 VALUES ({id}, '{email}', 'Kund {id}', NULL, {pnr})"
            ),
            format!(
                "INSERT INTO notes (id, person_id, body, created_at) \
                 VALUES ({id}, {id}, 'called about invoice', '{LONG_AGO}')"
            ),
        ]);
    }

    /// The customer logs in now.
    pub fn login(&self, id: i64) {
        let now = now_text();
        self.scenario.db("panel").execute(&[format!(
            "UPDATE customers SET last_login = '{now}' WHERE id = {id}"
        )]);
    }

    /// The customer gets an active service.
    pub fn add_service(&self, id: i64) {
        let now = now_text();
        self.scenario.db("panel").execute(&[format!(
            "INSERT INTO services (id, customer_id, kind, status, started_at, ended_at) \
             VALUES ({id}, {id}, 'web', 'active', '{now}', NULL)"
        )]);
    }

    /// Billing gets a client with `email` and an invoice issued long ago and never paid.
    pub fn add_unpaid_invoice(&self, id: i64, email: &str) {
        self.scenario.db("billing").execute(&[
            format!(
                "INSERT INTO clients (id, email, name, personnummer, address) \
                 VALUES ({id}, '{email}', 'Kund {id}', NULL, 'Gatan 1')"
            ),
            format!(
                "INSERT INTO invoices (id, client_id, amount_ore, issued_at, paid_at) \
                 VALUES ({id}, {id}, 10000, '{LONG_AGO}', NULL)"
            ),
        ]);
    }

    /// Moves `email` to customer `to` in the panel and the CRM; customer `from` gets a new one.
    pub fn move_email(&self, email: &str, from: i64, to: i64) {
        for (system, table) in [("panel", "customers"), ("crm", "people")] {
            self.scenario.db(system).execute(&[
                format!("UPDATE {table} SET email = 'moved{from}@example.se' WHERE id = {from}"),
                format!("UPDATE {table} SET email = '{email}' WHERE id = {to}"),
            ]);
        }
    }

    /// Whether the panel still has customer `id`.
    pub fn in_panel(&self, id: i64) -> bool {
        self.scenario
            .db("panel")
            .count("customers", Some(&format!("id = {id}")))
            == 1
    }

    /// Whether the CRM still has person `id` and their note.
    pub fn in_crm(&self, id: i64) -> bool {
        let crm = self.scenario.db("crm");
        let person = crm.count("people", Some(&format!("id = {id}")));
        let notes = crm.count("notes", Some(&format!("person_id = {id}")));
        assert_eq!(person, notes, "person {id} and their note go together");
        person == 1
    }

    /// The backend the world is on.
    pub fn backend(&self) -> Backend {
        self.backend
    }
}

fn sql_text(value: Option<&str>) -> String {
    value.map_or_else(|| "NULL".to_owned(), |v| format!("'{v}'"))
}

fn yesterday() -> String {
    let day = crate::now().checked_sub(1.day()).expect("in range");
    format_time(&day)
}

fn now_text() -> String {
    format_time(&crate::now())
}

fn format_time(at: &Zoned) -> String {
    at.strftime("%Y-%m-%d %H:%M:%S").to_string()
}
