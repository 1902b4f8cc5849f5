//! Customers' histories turned into the rows each system keeps, in that system's own
//! numbering and spelling of the identifiers.

use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::dataset::Customer;
use super::people::{respell_email, respell_phone, spell, Identity, Spelling};
use super::rng::Rng;
use super::schema::{TableSchema, BILLING, CRM, PANEL};
use super::timeline::History;

/// One cell of a generated row. No `Debug`: the text is (made-up) personal data.
#[derive(Clone, PartialEq, Eq)]
pub(super) enum Value {
    Null,
    Int(i64),
    Text(String),
}

/// One generated table: its schema and its rows, in key order.
pub(super) struct Table {
    pub(super) schema: &'static TableSchema,
    pub(super) rows: Vec<Vec<Value>>,
}

/// One system's tables, parents before children.
pub(super) struct SystemData {
    pub(super) name: &'static str,
    pub(super) tables: Vec<Table>,
}

/// A customer with everything the rows are made from.
pub(super) struct Draft {
    pub(super) customer: Customer,
    pub(super) identity: Identity,
    pub(super) history: History,
}

/// The three systems' tables for `drafts`, timestamps written in `tz`.
pub(super) fn build(drafts: &[Draft], tz: TimeZone, rng: &mut Rng) -> Vec<SystemData> {
    let mut rows = RowBuilder { tz, rng };
    vec![rows.panel(drafts), rows.billing(drafts), rows.crm(drafts)]
}

/// Turns drafts into table rows, choosing each system's spelling of the identifiers.
struct RowBuilder<'a> {
    tz: TimeZone,
    rng: &'a mut Rng,
}

impl RowBuilder<'_> {
    fn time(&self, t: Timestamp) -> Value {
        Value::Text(
            t.to_zoned(self.tz.clone())
                .strftime("%Y-%m-%d %H:%M:%S")
                .to_string(),
        )
    }

    fn maybe_time(&self, t: Option<Timestamp>) -> Value {
        t.map_or(Value::Null, |t| self.time(t))
    }

    fn panel(&mut self, drafts: &[Draft]) -> SystemData {
        let mut customers = Vec::with_capacity(drafts.len());
        let mut services = Vec::new();
        for d in drafts {
            let (c, h) = (&d.customer, &d.history);
            customers.push(vec![
                Value::Int(c.panel_id),
                text(&c.email),
                text(&c.name),
                text(&c.personnummer),
                text(&c.phone),
                self.time(h.created_at),
                self.maybe_time(h.last_login),
                self.maybe_time(h.closed_at),
            ]);
            for s in &h.services {
                services.push(vec![
                    Value::Int(services.len() as i64 + 1),
                    Value::Int(c.panel_id),
                    text(s.kind),
                    text(if s.ended_at.is_none() {
                        "active"
                    } else {
                        "ended"
                    }),
                    self.time(s.started_at),
                    self.maybe_time(s.ended_at),
                ]);
            }
        }
        system("panel", PANEL, [customers, services])
    }

    fn billing(&mut self, drafts: &[Draft]) -> SystemData {
        let mut order: Vec<&Draft> = drafts.iter().collect();
        order.sort_by_key(|d| d.customer.billing_id);
        let mut clients = Vec::with_capacity(drafts.len());
        let mut invoices = Vec::new();
        for d in order {
            let c = &d.customer;
            let spelling = match self.rng.below(10) {
                0..=4 => Spelling::TenDash,
                5 => Spelling::Ten,
                _ => Spelling::Twelve,
            };
            clients.push(vec![
                Value::Int(c.billing_id),
                Value::Text(respell_email(&c.email, self.rng)),
                text(&c.name),
                Value::Text(spell(&c.personnummer, spelling)),
                text(&d.identity.address),
            ]);
            for i in &d.history.invoices {
                invoices.push(vec![
                    Value::Int(invoices.len() as i64 + 1),
                    Value::Int(c.billing_id),
                    Value::Int(i.amount_ore),
                    self.time(i.issued_at),
                    self.maybe_time(i.paid_at),
                ]);
            }
        }
        system("billing", BILLING, [clients, invoices])
    }

    fn crm(&mut self, drafts: &[Draft]) -> SystemData {
        let mut order: Vec<(i64, &Draft)> = drafts
            .iter()
            .filter_map(|d| Some((d.customer.crm_id?, d)))
            .collect();
        order.sort_by_key(|(id, _)| *id);
        let mut people = Vec::with_capacity(order.len());
        let mut notes = Vec::new();
        for (id, d) in order {
            let c = &d.customer;
            let personnummer = match self.rng.below(20) {
                0..=7 => Some(Spelling::TwelveDash),
                8..=13 => Some(Spelling::Twelve),
                14..=16 => Some(Spelling::TenDash),
                _ => None,
            };
            people.push(vec![
                Value::Int(id),
                Value::Text(respell_email(&c.email, self.rng)),
                text(&c.name),
                Value::Text(respell_phone(&c.phone, self.rng)),
                personnummer.map_or(Value::Null, |s| Value::Text(spell(&c.personnummer, s))),
            ]);
            for n in &d.history.notes {
                notes.push(vec![
                    Value::Int(notes.len() as i64 + 1),
                    Value::Int(id),
                    text(n.body),
                    self.time(n.created_at),
                ]);
            }
        }
        system("crm", CRM, [people, notes])
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

fn system(
    name: &'static str,
    schemas: &'static [TableSchema],
    rows: [Vec<Vec<Value>>; 2],
) -> SystemData {
    SystemData {
        name,
        tables: schemas
            .iter()
            .zip(rows)
            .map(|(schema, rows)| Table { schema, rows })
            .collect(),
    }
}
