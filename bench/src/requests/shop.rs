//! The shop's database ([`SHOP`] on PostgreSQL): who the requests are about, what an
//! erasure must have left, and the floor (the same erasure as two `UPDATE`s).

use std::time::Instant;

use anyhow::{ensure, Result};
use postgres::Client;

use crate::people::Person;
use crate::systems::{INVOICES_PER_SUBJECT, SHOP};

/// The index the sql connector's match can use (README, "Exact matching").
pub const INDEX: &str = "customers_email";

/// The customer columns an erasure nulls, and the invoice columns.
const PERSONAL: [&str; 5] = ["email", "name", "personnummer", "phone", "address"];
const BILLING: [&str; 3] = ["billing_name", "billing_address", "billing_email"];

/// The email of customer `id` (ids start at 1).
pub fn email(id: i64) -> String {
    Person::of(id as u64 - 1).email
}

/// Hands out customers, each to one request only.
pub struct Customers {
    next: i64,
    erased: Vec<i64>,
}

impl Customers {
    pub fn new() -> Customers {
        Customers {
            next: 1,
            erased: Vec::new(),
        }
    }

    /// `n` customers nobody asked about yet; `erase` says they will be erased.
    pub fn take(&mut self, n: usize, erase: bool) -> Vec<i64> {
        let ids: Vec<i64> = (self.next..self.next + n as i64).collect();
        self.next += n as i64;
        if erase {
            self.erased.extend(&ids);
        }
        ids
    }
}

/// `DROP INDEX` of the recommended index: the shop as its application alone indexes it
/// (the primary keys, `UNIQUE (email)`, the invoices' foreign key).
pub fn drop_index(db: &mut Client) -> Result<()> {
    db.batch_execute(&format!("DROP INDEX {INDEX}; ANALYZE customers"))?;
    Ok(())
}

/// Every customer in `ids` has their personal columns and their invoices' billing fields
/// nulled, and still has their rows.
pub fn check_erased(db: &mut Client, ids: &[i64]) -> Result<()> {
    let ids: Vec<i32> = ids.iter().map(|&i| i as i32).collect();
    let row = db.query_one(
        &format!(
            "SELECT count(*), count(*) FILTER (WHERE {}) FROM {} WHERE id = ANY($1)",
            any(&PERSONAL),
            SHOP.subjects
        ),
        &[&ids],
    )?;
    let (rows, personal): (i64, i64) = (row.get(0), row.get(1));
    ensure!(
        rows as usize == ids.len() && personal == 0,
        "of {} erased customers, {rows} rows are left and {personal} still hold personal data",
        ids.len()
    );
    let row = db.query_one(
        &format!(
            "SELECT count(*), count(*) FILTER (WHERE {}) FROM {} WHERE {} = ANY($1)",
            any(&BILLING),
            SHOP.children,
            SHOP.foreign_key
        ),
        &[&ids],
    )?;
    let (rows, billing): (i64, i64) = (row.get(0), row.get(1));
    let expected = ids.len() as i64 * INVOICES_PER_SUBJECT as i64;
    ensure!(
        rows == expected && billing == 0,
        "the erased customers have {rows} invoices (not {expected}), {billing} still with billing fields"
    );
    Ok(())
}

/// Nobody but the erased customers changed: every other customer and invoice still holds
/// its personal data, and no row is gone.
pub fn check_rest(db: &mut Client, customers: &Customers, total: u64) -> Result<()> {
    check_erased(db, &customers.erased)?;
    let kept = total as i64 - customers.erased.len() as i64;
    let row = db.query_one(
        &format!(
            "SELECT (SELECT count(*) FROM {c}), (SELECT count(*) FROM {c} WHERE {}), \
             (SELECT count(*) FROM {i}), (SELECT count(*) FROM {i} WHERE {})",
            all(&PERSONAL),
            all(&BILLING),
            c = SHOP.subjects,
            i = SHOP.children
        ),
        &[],
    )?;
    let counts: [i64; 4] = [row.get(0), row.get(1), row.get(2), row.get(3)];
    let per = INVOICES_PER_SUBJECT as i64;
    let expected = [total as i64, kept, total as i64 * per, kept * per];
    ensure!(
        counts == expected,
        "customers, intact customers, invoices, intact invoices: {counts:?}, not {expected:?}"
    );
    Ok(())
}

/// Whether any of `columns` holds a value.
fn any(columns: &[&str]) -> String {
    not_null(columns, " OR ")
}

/// Whether all of `columns` hold a value.
fn all(columns: &[&str]) -> String {
    not_null(columns, " AND ")
}

fn not_null(columns: &[&str], joined_by: &str) -> String {
    columns
        .iter()
        .map(|c| format!("{c} IS NOT NULL"))
        .collect::<Vec<_>>()
        .join(joined_by)
}

/// The floor of one erasure: the customer found by the expression gallra matches on and
/// nulled, and their invoices' billing fields, in one transaction on an open connection.
/// Returns the milliseconds each took.
pub fn floor_erasures(db: &mut Client, ids: &[i64]) -> Result<Vec<f64>> {
    let customers = db.prepare(&format!(
        "UPDATE {} SET {} WHERE lower(trim(email)) = $1 RETURNING id",
        SHOP.subjects,
        nulls(&PERSONAL)
    ))?;
    let invoices = db.prepare(&format!(
        "UPDATE {} SET {} WHERE {} = $1",
        SHOP.children,
        nulls(&BILLING),
        SHOP.foreign_key
    ))?;
    let mut ms = Vec::new();
    for &id in ids {
        let email = email(id);
        let started = Instant::now();
        let mut tx = db.transaction()?;
        let found = tx.query(&customers, &[&email])?;
        ensure!(
            found.len() == 1,
            "the floor found {} customers",
            found.len()
        );
        let key: i32 = found[0].get(0);
        tx.execute(&invoices, &[&key])?;
        tx.commit()?;
        ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(ms)
}

fn nulls(columns: &[&str]) -> String {
    columns
        .iter()
        .map(|c| format!("{c} = NULL"))
        .collect::<Vec<_>>()
        .join(", ")
}
