//! Checks of the `sql` connector's settings that only the whole configuration can make:
//! one system per table of a database, and an account source that finds its customers by
//! its own key. Both would otherwise let an erasure reach another customer.

use std::collections::BTreeMap;

use serde_json::Value;

use super::super::locate::join;
use super::super::types::SystemConfig;
use super::Problems;

/// The connector whose settings these checks read.
const SQL: &str = "sql";

/// The dotted key path of these parts, each quoted if it needs to be.
fn key(parts: &[&str]) -> String {
    parts
        .iter()
        .fold(String::new(), |base, part| join(&base, part))
}

/// The database a `sql` system's settings point at, as written, and its subjects table.
fn sql_subjects_table(system: &SystemConfig) -> Option<(String, &str)> {
    let (plugin, settings) = system.connector()?;
    if plugin != SQL {
        return None;
    }
    let database = ["path", "url_file", "url"]
        .iter()
        .find_map(|field| settings.get(*field).and_then(Value::as_str))?;
    let backend = settings
        .get("backend")
        .and_then(Value::as_str)
        .unwrap_or("");
    let table = settings.get("subjects")?.get("table")?.as_str()?;
    Some((format!("{backend} {database}"), table))
}

/// Two systems over the same subjects table of the same database would each erase "their"
/// subject by its identifiers, and one of them by ids that mean another customer there.
pub(super) fn one_system_per_table(systems: &BTreeMap<String, SystemConfig>, p: &mut Problems) {
    let mut seen: BTreeMap<(String, String), &str> = BTreeMap::new();
    for (name, system) in systems {
        let Some((database, table)) = sql_subjects_table(system) else {
            continue;
        };
        match seen.get(&(database.clone(), table.to_owned())) {
            Some(first) => p.at(
                key(&["systems", name, "settings", "subjects", "table"]),
                format!(
                    "system \"{first}\" already covers table \"{table}\" of this database: two systems over one table would erase each other's subjects; keep one system per table (add this system's identifiers and children to \"{first}\")"
                ),
            ),
            None => {
                seen.insert((database, table.to_owned()), name);
            }
        }
    }
}

/// The account source is erased only by its own key: its `sql` settings must resolve
/// `customer_id` by the subjects table's key column.
pub(super) fn account_source_by_its_key(
    systems: &BTreeMap<String, SystemConfig>,
    account_source: Option<&str>,
    p: &mut Problems,
) {
    let Some(system) = account_source.and_then(|name| systems.get(name)) else {
        return;
    };
    let Some((SQL, settings)) = system.connector() else {
        return;
    };
    let Some(subjects) = settings.get("subjects") else {
        return;
    };
    let key_column = subjects.get("key").and_then(Value::as_str).unwrap_or("");
    let resolved_by = subjects
        .get("identifiers")
        .and_then(|ids| ids.get("customer_id"))
        .and_then(Value::as_str);
    if resolved_by == Some(key_column) {
        return;
    }
    let at = [
        "systems",
        system.name.as_str(),
        "settings",
        "subjects",
        "identifiers",
    ];
    let (at, what) = match resolved_by {
        None => (
            key(&at),
            "does not resolve customers by customer_id".to_owned(),
        ),
        Some(column) => (
            join(&key(&at), "customer_id"),
            format!("resolves customer_id by column \"{column}\", not by its key \"{key_column}\""),
        ),
    };
    p.at(
        at,
        format!(
            "the account source {what}: gallra erases it only by its own key, so map customer_id to the key column (customer_id = \"{key_column}\")"
        ),
    );
}
