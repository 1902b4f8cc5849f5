use std::path::Path;

use super::*;

const CONFIG: &str = r#"state_dir = "s"
account_source = "panel"

[smtp]
host = "127.0.0.1"
from = "privacy@hosting.example"

[systems.panel]
plugin = "sql"
description = "Control panel | accounts"
data_categories = ["name", "email", "personnummer"]
processor = "own"
purpose = "deliver the hosting service"
legal_basis = "contract"
backup_retention = "30 days"

[systems.billing]
plugin = "fortnox"
description = "Billing and bookkeeping"
data_categories = ["name", "email", "address"]
processor = "Fortnox AB"
purpose = "invoicing"
legal_basis = "contract; legal obligation"
recipients = ["Skatteverket, on request"]
legal_hold = { keep = "7 years", law = "Bokföringslagen 7 kap. 2 §", from = "end_of_financial_year", round_up_to = "year" }

[systems.registry]
description = "Domain registry"
processor = "Internetstiftelsen"
notify = { email = "privacy@registry.example", template = "Delete {domain}", confirm = true }

[systems.binders]
description = "Printed notes"
manual = { instructions = "Shred the customer's folder" }
retention = "until no longer needed, or on request"

[policies.inactive]
kind = "inactivity"
mode = "enforce"
idle_for = "6 months"
systems = ["billing", "panel"]

[policies.invoices]
kind = "record_retention"
after = "7 years"
from = "end_of_financial_year"
round_up_to = "year"
system = "billing"
records = "invoices"
"#;

fn config() -> crate::config::Config {
    crate::config::parse(CONFIG, Path::new("/etc/gallra/gallra.toml")).unwrap()
}

fn row<'a>(rows: &'a [Row], system: &str) -> &'a Row {
    rows.iter().find(|r| r.system == system).unwrap()
}

#[test]
fn each_system_is_one_row_with_its_register_keys() {
    let rows = rows(&config());
    let names: Vec<&str> = rows.iter().map(|r| r.system.as_str()).collect();
    assert_eq!(names, ["billing", "binders", "panel", "registry"]);
    let panel = row(&rows, "panel");
    assert_eq!(panel.reached, "connector sql (account source)");
    assert_eq!(panel.data_categories, ["name", "email", "personnummer"]);
    assert_eq!(panel.backup_retention, "30 days");
    assert_eq!(
        panel.retention,
        ["erased after 6 months without activity in any system (policy inactive)"]
    );
    let billing = row(&rows, "billing");
    assert_eq!(billing.processor, "Fortnox AB");
    assert_eq!(billing.recipients, ["Skatteverket, on request"]);
    assert_eq!(billing.backup_retention, "not stated");
}

#[test]
fn retention_names_every_rule_that_acts_on_the_system_and_says_which_only_report() {
    let rows = rows(&config());
    let billing = row(&rows, "billing");
    assert_eq!(
        billing.retention,
        [
            "erased after 6 months without activity in any system (policy inactive)",
            "invoices removed 7 years after the end of the financial year (ending 12-31) of the record's own date, to the end of that calendar year (policy invoices, report mode: not enforced yet)",
            "on erasure, records kept 7 years after the end of the financial year (ending 12-31) of the subject's last activity here, to the end of that calendar year (Bokföringslagen 7 kap. 2 §); personal data the law does not need anonymized at once",
        ]
    );
    let binders = row(&rows, "binders");
    assert_eq!(binders.reached, "a person (manual tasks)");
    assert_eq!(binders.retention, ["until no longer needed, or on request"]);
    let registry = row(&rows, "registry");
    assert_eq!(
        registry.reached,
        "notice to the processor by email, answer confirmed by a person"
    );
    assert_eq!(
        registry.retention,
        ["no rule in this configuration; erased on request"]
    );
}

#[test]
fn markdown_is_one_table_with_pipes_escaped() {
    let text = markdown(&rows(&config()), "/etc/gallra/gallra.toml", "2027-03-01");
    assert!(text.starts_with("# Record of processing activities (GDPR Art. 30)\n"));
    assert!(text.contains("`/etc/gallra/gallra.toml` on 2027-03-01"));
    let table: Vec<&str> = text.lines().filter(|l| l.starts_with('|')).collect();
    assert_eq!(table.len(), 2 + 4, "{text}");
    assert!(table[0].starts_with("| system | description | reached by |"));
    assert!(text.contains("Control panel \\| accounts"), "{text}");
    // Every row has the same number of unescaped pipes as the heading.
    let pipes = |l: &str| l.replace("\\|", "").matches('|').count();
    assert!(
        table.iter().all(|l| pipes(l) == COLUMNS.len() + 1),
        "{text}"
    );
}

#[test]
fn csv_is_rfc_4180_and_reads_back_to_the_same_cells() {
    let rows = rows(&config());
    let text = csv(&rows);
    assert!(text.starts_with("system,description,reached by,data categories,"));
    assert!(text.contains("\r\n"));
    let mut reader = ::csv::Reader::from_reader(text.as_bytes());
    let back: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    let expected: Vec<Vec<String>> = rows.iter().map(|r| r.cells().to_vec()).collect();
    assert_eq!(back, expected);
}
