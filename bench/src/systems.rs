//! The three systems a hosting company's purge reaches (control panel, CRM, billing), and
//! the web shop the request workload erases and exports from, as SQLite files or PostgreSQL
//! schemas, generated from [`crate::people`] in one transaction with prepared statements.
//!
//! Each system has the indexes its own application would have for finding a customer: the
//! foreign keys, `lower(trim(email))` and `trim(personnummer)` (the expressions the sql
//! connector matches on). Without them every lookup by email is a table scan, in gallra and
//! in the application alike.

use std::path::Path;

use anyhow::{Context, Result};
use rusqlite::{params, Connection};

use crate::people::{spread, standing, Clock, Person, Standing};

/// Rows per subject in each child table.
pub const SERVICES_PER_SUBJECT: u64 = 2;
pub const NOTES_PER_SUBJECT: u64 = 3;
pub const INVOICES_PER_SUBJECT: u64 = 3;

/// One system: its subjects table and the child table hanging on it.
#[derive(Debug, Clone, Copy)]
pub struct System {
    pub name: &'static str,
    pub subjects: &'static str,
    pub children: &'static str,
    pub foreign_key: &'static str,
}

pub const PANEL: System = System {
    name: "panel",
    subjects: "customers",
    children: "services",
    foreign_key: "customer_id",
};
pub const CRM: System = System {
    name: "crm",
    subjects: "people",
    children: "notes",
    foreign_key: "person_id",
};
pub const BILLING: System = System {
    name: "billing",
    subjects: "clients",
    children: "invoices",
    foreign_key: "client_id",
};
/// A shop's customers and their invoices, which carry billing copies of the customer's
/// name, address and email (the requests workload; a unique index on `email`, as the
/// application would have it).
pub const SHOP: System = System {
    name: "shop",
    subjects: "customers",
    children: "invoices",
    foreign_key: "customer_id",
};

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct Population {
    pub subjects: u64,
    /// Inactive subjects per thousand.
    pub inactive_per_mille: u64,
}

impl Population {
    /// Subject ids (1-based, the same in every system) that a 6-month inactivity policy
    /// purges.
    pub fn inactive_ids(&self) -> Vec<i64> {
        (0..self.subjects)
            .filter(|&i| standing(i, self.inactive_per_mille) == Standing::Inactive)
            .map(|i| i as i64 + 1)
            .collect()
    }
}

/// The DDL of one system, in a dialect both SQLite and PostgreSQL accept.
pub fn schema(system: System) -> String {
    let subject_columns = match system.name {
        "panel" => "email TEXT, name TEXT, personnummer TEXT, phone TEXT, created_at TEXT NOT NULL, last_login TEXT, closed_at TEXT",
        "crm" => "email TEXT, name TEXT, phone TEXT, personnummer TEXT",
        "shop" => "email TEXT UNIQUE, name TEXT, personnummer TEXT, phone TEXT, address TEXT, created_at TEXT NOT NULL",
        _ => "email TEXT, name TEXT, personnummer TEXT, address TEXT",
    };
    let child_columns = match system.name {
        "panel" => {
            "kind TEXT NOT NULL, status TEXT NOT NULL, started_at TEXT NOT NULL, ended_at TEXT"
        }
        "crm" => "body TEXT, created_at TEXT NOT NULL",
        "shop" => "amount_ore BIGINT NOT NULL, issued_at TEXT NOT NULL, paid_at TEXT, billing_name TEXT, billing_address TEXT, billing_email TEXT",
        _ => "amount_ore BIGINT NOT NULL, issued_at TEXT NOT NULL, paid_at TEXT",
    };
    let System {
        subjects,
        children,
        foreign_key,
        ..
    } = system;
    format!(
        "CREATE TABLE {subjects} (id INTEGER PRIMARY KEY, {subject_columns});
         CREATE TABLE {children} (id INTEGER PRIMARY KEY, {foreign_key} INTEGER NOT NULL REFERENCES {subjects} (id), {child_columns});"
    )
}

/// Indexes, created after the rows are in (faster than maintaining them row by row).
pub fn indexes(system: System) -> String {
    let System {
        subjects,
        children,
        foreign_key,
        ..
    } = system;
    // Every system, the account source too: gallra looks each identifier up there before it
    // uses it to erase anywhere (is another customer holding it?).
    format!(
        "CREATE INDEX {children}_{foreign_key} ON {children} ({foreign_key});
         CREATE INDEX {subjects}_email ON {subjects} (lower(trim(email)));
         CREATE INDEX {subjects}_personnummer ON {subjects} (trim(personnummer));"
    )
}

/// Writes `system`'s rows for `population` through `insert_subject` and `insert_child`,
/// which take the values in column order.
pub fn rows(
    system: System,
    population: Population,
    clock: &Clock,
    mut insert_subject: impl FnMut(&[&dyn ToText]) -> Result<()>,
    mut insert_child: impl FnMut(&[&dyn ToText]) -> Result<()>,
) -> Result<()> {
    let mut child_id = 0i64;
    for index in 0..population.subjects {
        let id = index as i64 + 1;
        let person = Person::of(index);
        let inactive = standing(index, population.inactive_per_mille) == Standing::Inactive;
        // Inactive: nothing for over a year. Active: something within the last 150 days.
        let last = if inactive {
            400 + spread(index, 1, 1000)
        } else {
            spread(index, 1, 150)
        };
        let created = clock.ago(last + 200 + spread(index, 2, 2000));
        match system.name {
            "panel" => {
                let closed = inactive.then(|| clock.ago(last));
                insert_subject(&[
                    &id,
                    &person.email,
                    &person.name,
                    &person.personnummer,
                    &person.phone,
                    &created,
                    &clock.ago(last),
                    &closed,
                ])?;
                for n in 0..SERVICES_PER_SUBJECT {
                    child_id += 1;
                    // Active subjects keep one service running.
                    let running = !inactive && n == 0;
                    let (status, ended) = if running {
                        ("active", None)
                    } else {
                        ("ended", Some(clock.ago(last + 30 * n)))
                    };
                    insert_child(&[&child_id, &id, &"web", &status, &created, &ended])?;
                }
            }
            "crm" => {
                insert_subject(&[
                    &id,
                    &person.email,
                    &person.name,
                    &person.phone,
                    &person.personnummer,
                ])?;
                for n in 0..NOTES_PER_SUBJECT {
                    child_id += 1;
                    let body = format!("Called about invoice {n}; customer satisfied.");
                    insert_child(&[&child_id, &id, &body, &clock.ago(last + 10 * n)])?;
                }
            }
            "shop" => {
                let address = address(index);
                insert_subject(&[
                    &id,
                    &person.email,
                    &person.name,
                    &person.personnummer,
                    &person.phone,
                    &address,
                    &created,
                ])?;
                for n in 0..INVOICES_PER_SUBJECT {
                    child_id += 1;
                    // Every invoice is paid: no erasure waits for one.
                    let issued = clock.ago(last + 30 * n + 10);
                    let paid = clock.ago(last + 30 * n);
                    insert_child(&[
                        &child_id,
                        &id,
                        &(19_900i64),
                        &issued,
                        &paid,
                        &person.name,
                        &address,
                        &person.email,
                    ])?;
                }
            }
            _ => {
                insert_subject(&[
                    &id,
                    &person.email,
                    &person.name,
                    &person.personnummer,
                    &address(index),
                ])?;
                for n in 0..INVOICES_PER_SUBJECT {
                    child_id += 1;
                    // Every invoice is paid: nobody is kept for owing money.
                    let issued = clock.ago(last + 30 * n + 10);
                    let paid = clock.ago(last + 30 * n);
                    insert_child(&[&child_id, &id, &(19_900i64), &issued, &paid])?;
                }
            }
        }
    }
    Ok(())
}

fn address(index: u64) -> String {
    format!("Storgatan {}, 111 22 Stockholm", index % 200 + 1)
}

/// A value as SQL text or NULL, for both drivers.
pub trait ToText {
    fn to_text(&self) -> Option<String>;
    fn to_int(&self) -> Option<i64> {
        None
    }
}

impl ToText for i64 {
    fn to_text(&self) -> Option<String> {
        Some(self.to_string())
    }
    fn to_int(&self) -> Option<i64> {
        Some(*self)
    }
}

impl ToText for &str {
    fn to_text(&self) -> Option<String> {
        Some((*self).to_owned())
    }
}

impl ToText for String {
    fn to_text(&self) -> Option<String> {
        Some(self.clone())
    }
}

impl ToText for Option<&str> {
    fn to_text(&self) -> Option<String> {
        self.map(str::to_owned)
    }
}

fn sqlite_value(v: &&dyn ToText) -> rusqlite::types::Value {
    use rusqlite::types::Value;
    match (v.to_int(), v.to_text()) {
        (Some(i), _) => Value::Integer(i),
        (None, Some(t)) => Value::Text(t),
        (None, None) => Value::Null,
    }
}

/// Creates `path` as a SQLite database of `system` in WAL mode (as a busy application
/// would run it).
pub fn create_sqlite(path: &Path, system: System, population: Population) -> Result<()> {
    let _ = std::fs::remove_file(path);
    let mut conn =
        Connection::open(path).with_context(|| format!("creating {}", path.display()))?;
    conn.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")?;
    conn.execute_batch(&schema(system))?;
    let clock = Clock::now();
    let tx = conn.transaction()?;
    {
        let marks = |n: usize| vec!["?"; n].join(", ");
        let mut subject_stmt: Option<rusqlite::Statement<'_>> = None;
        let mut child_stmt: Option<rusqlite::Statement<'_>> = None;
        rows(
            system,
            population,
            &clock,
            |values| {
                let stmt = match &mut subject_stmt {
                    Some(s) => s,
                    None => subject_stmt.insert(tx.prepare(&format!(
                        "INSERT INTO {} VALUES ({})",
                        system.subjects,
                        marks(values.len())
                    ))?),
                };
                stmt.execute(rusqlite::params_from_iter(values.iter().map(sqlite_value)))?;
                Ok(())
            },
            |values| {
                let stmt = match &mut child_stmt {
                    Some(s) => s,
                    None => child_stmt.insert(tx.prepare(&format!(
                        "INSERT INTO {} VALUES ({})",
                        system.children,
                        marks(values.len())
                    ))?),
                };
                stmt.execute(rusqlite::params_from_iter(values.iter().map(sqlite_value)))?;
                Ok(())
            },
        )?;
    }
    tx.commit()?;
    conn.execute_batch(&indexes(system))?;
    // No ANALYZE: most applications never run it, and with its sqlite_stat4 table SQLite
    // re-prepares every lookup whose plan could depend on the bound value (see BENCHMARKS.md).
    conn.execute_batch("PRAGMA journal_mode = WAL;")?;
    Ok(())
}

/// What a table holds, to compare two databases' end states: row count and sum of ids.
pub fn sqlite_fingerprint(path: &Path, system: System) -> Result<[(i64, i64); 2]> {
    let conn = Connection::open(path)?;
    let mut out = [(0, 0); 2];
    for (slot, table) in out.iter_mut().zip([system.subjects, system.children]) {
        *slot = conn.query_row(
            &format!("SELECT count(*), coalesce(sum(id), 0) FROM {table}"),
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
    }
    Ok(out)
}

/// The floor: deletes the subjects `ids` and their child rows by id, in one transaction,
/// with prepared statements, at SQLite's default durability (what the connector gets).
pub fn sqlite_floor_delete(path: &Path, system: System, ids: &[i64]) -> Result<u64> {
    let mut conn = Connection::open(path)?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut deleted = 0;
    {
        let mut children = tx.prepare(&format!(
            "DELETE FROM {} WHERE {} = ?1",
            system.children, system.foreign_key
        ))?;
        let mut subjects = tx.prepare(&format!("DELETE FROM {} WHERE id = ?1", system.subjects))?;
        for id in ids {
            deleted += children.execute(params![id])? as u64;
            deleted += subjects.execute(params![id])? as u64;
        }
    }
    tx.commit()?;
    Ok(deleted)
}
