//! The record of processing activities (GDPR Art. 30), written from the configuration: one
//! row per system, with what it holds, why, on what legal basis, who runs it, who receives
//! the data, and how long it is kept, both by the rules gallra enforces and by the backups.
//!
//! The policies gallra exists for keep this table by hand ("Systemregister"); here it cannot
//! drift from what is enforced, because it is read from the same file. [`rows`] is a pure
//! function of the [`Config`]; [`markdown`] and [`csv`] render the rows.

mod render;

use crate::config::{Config, Confirm, CountFrom, Handling, Keep, Mode, NotifyVia, RoundUp, Rule};

pub use render::{csv, markdown};

/// One system's entry in the register. Every value comes from the configuration; none is
/// personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The system's name in the configuration.
    pub system: String,
    /// What it is, in words.
    pub description: String,
    /// How gallra reaches it: a connector, a person, or a notice to a processor.
    pub reached: String,
    /// The categories of personal data it holds.
    pub data_categories: Vec<String>,
    /// Why the data is processed.
    pub purpose: String,
    /// The legal basis.
    pub legal_basis: String,
    /// Who runs it: `own`, or the processor.
    pub processor: String,
    /// Who the data is disclosed to from here.
    pub recipients: Vec<String>,
    /// How long data is kept here: the configured words, then each rule that names the
    /// system (policies and its legal hold).
    pub retention: Vec<String>,
    /// How long its backups are kept.
    pub backup_retention: String,
}

/// The column headings, in order.
pub const COLUMNS: [&str; 10] = [
    "system",
    "description",
    "reached by",
    "data categories",
    "purpose",
    "legal basis",
    "processor",
    "recipients",
    "retention",
    "backup retention",
];

impl Row {
    /// The cells in [`COLUMNS`] order; lists are joined with `"; "`.
    pub fn cells(&self) -> [String; 10] {
        [
            self.system.clone(),
            self.description.clone(),
            self.reached.clone(),
            self.data_categories.join(", "),
            self.purpose.clone(),
            self.legal_basis.clone(),
            self.processor.clone(),
            self.recipients.join("; "),
            self.retention.join("; "),
            self.backup_retention.clone(),
        ]
    }
}

/// The register: one row per system, in the configuration's (alphabetical) order.
pub fn rows(config: &Config) -> Vec<Row> {
    config
        .systems
        .values()
        .map(|system| {
            let name = system.name.as_str();
            let mut retention: Vec<String> = system.retention.iter().cloned().collect();
            retention.extend(policy_rules(config, name));
            if let Some(hold) = &system.legal_hold {
                retention.push(format!(
                    "on erasure, records kept {} ({}); personal data the law does not need anonymized at once",
                    counted(&hold.keep, "the subject's last activity here"),
                    hold.law
                ));
            }
            if system.marketing {
                retention.push("erased on an objection to marketing".into());
            }
            if retention.is_empty() {
                retention.push("no rule in this configuration; erased on request".into());
            }
            let mut reached = reached(&system.handling);
            if name == config.account_source {
                reached.push_str(" (account source)");
            }
            Row {
                system: name.to_owned(),
                description: text(&system.description),
                reached,
                data_categories: system.data_categories.clone(),
                purpose: text(&system.purpose),
                legal_basis: text(&system.legal_basis),
                processor: text(&system.processor),
                recipients: system.recipients.clone(),
                retention,
                backup_retention: system
                    .backup_retention
                    .as_ref()
                    .map_or_else(|| "not stated".to_owned(), |d| d.to_string()),
            }
        })
        .collect()
}

/// Each policy that acts on `system`, in words.
fn policy_rules(config: &Config, system: &str) -> Vec<String> {
    config
        .policies
        .values()
        .filter_map(|policy| {
            let rule = match &policy.rule {
                Rule::Inactivity { idle_for, systems } if names(systems, system) => {
                    format!("erased after {idle_for} without activity in any system")
                }
                Rule::Retention { after, systems } if names(systems, system) => {
                    format!("erased {after} after the customer relationship ended")
                }
                Rule::RecordRetention {
                    system: s,
                    records,
                    after,
                } if s == system => {
                    format!(
                        "{records} removed {}",
                        counted(after, "the record's own date")
                    )
                }
                _ => return None,
            };
            let mode = match policy.mode {
                Mode::Enforce => "",
                Mode::Report => ", report mode: not enforced yet",
            };
            Some(format!("{rule} (policy {}{mode})", policy.name))
        })
        .collect()
}

fn names(systems: &[String], system: &str) -> bool {
    systems.iter().any(|s| s == system)
}

/// A retention period in words, counted from `event`.
fn counted(keep: &Keep, event: &str) -> String {
    let mut words = match keep.from {
        CountFrom::Event => format!("{} after {event}", keep.duration),
        CountFrom::EndOfFinancialYear(fye) => format!(
            "{} after the end of the financial year (ending {fye}) of {event}",
            keep.duration
        ),
    };
    if keep.round_up_to == RoundUp::Year {
        words.push_str(", to the end of that calendar year");
    }
    words
}

fn reached(handling: &Handling) -> String {
    match handling {
        Handling::Connector { plugin, .. } => format!("connector {plugin}"),
        Handling::Manual { .. } => "a person (manual tasks)".into(),
        Handling::Notify(target) => {
            let via = match target.via {
                NotifyVia::Email(_) => "email",
                NotifyVia::Webhook { .. } => "webhook",
            };
            let answer = match target.confirm {
                Confirm::No => "",
                Confirm::Yes { .. } => ", answer confirmed by a person",
            };
            format!("notice to the processor by {via}{answer}")
        }
    }
}

fn text(value: &Option<String>) -> String {
    value.clone().unwrap_or_else(|| "not stated".into())
}

#[cfg(test)]
mod tests;
