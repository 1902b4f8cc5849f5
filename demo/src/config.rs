//! The demo's `gallra.toml`: the three SQLite systems and one inactivity policy, written as
//! a sysadmin would, with comments.

use std::path::Path;

use super::DemoFiles;

/// A complete, commented `gallra.toml` for the demo databases in `files`, keeping state in
/// `state_dir`. The policy purges customers inactive for 6 months from every system, and
/// runs in `enforce` mode: the demo exists to show a purge.
pub fn demo_config(files: &DemoFiles, state_dir: &Path) -> String {
    let state_dir = quoted(state_dir);
    let panel = quoted(&files.panel);
    let billing = quoted(&files.billing);
    let crm = quoted(&files.crm);
    format!(
        r#"# gallra demo configuration: a hosting company with three systems, each a SQLite
# database of made-up customers. Written by `gallra demo`; edit freely.

time_zone = "Europe/Stockholm"   # calendar durations ("6 months") count on this calendar
state_dir = {state_dir}
account_source = "panel"         # the system that lists every customer

# --- Control panel: accounts and the services they run -------------------------------
[systems.panel]
plugin = "sql"
activity = true                  # logins, sign-ups and service ends count as activity
description = "Control panel: customer accounts and hosting services"
data_categories = ["name", "email", "personnummer", "phone"]
processor = "own"
purpose = "deliver the hosting service"
legal_basis = "contract"
backup_retention = "30 days"

[systems.panel.settings]
backend = "sqlite"
path = {panel}

[systems.panel.settings.subjects]
table = "customers"
key = "id"
identifiers = {{ email = "email", personnummer = "personnummer", phone = "phone", customer_id = "id" }}
activity = ["last_login", "created_at"]   # a sign-up that never logged in is still new
relationship_end = "closed_at"
on_erase = "delete"

[[systems.panel.settings.children]]
table = "services"
foreign_key = "customer_id"
activity = ["ended_at"]                   # a service that just ended is recent activity
active_when = "status = 'active'"         # a customer with an active service is kept
on_erase = "delete"

# --- Billing: clients and invoices --------------------------------------------------
# Bookkeeping law (Bokföringslagen 7 kap. 2 §) requires invoices to be kept for seven
# years, so an erased client is anonymized in place and the invoices stay.
[systems.billing]
plugin = "sql"
activity = true                  # a paid invoice is activity
description = "Billing: clients and invoices"
data_categories = ["name", "email", "personnummer", "address", "invoices"]
processor = "own"
purpose = "invoicing and bookkeeping"
legal_basis = "contract; legal obligation (Bokföringslagen)"
backup_retention = "30 days"

[systems.billing.settings]
backend = "sqlite"
path = {billing}

[systems.billing.settings.subjects]
table = "clients"
key = "id"                       # billing's own numbering, unrelated to the panel's ids
identifiers = {{ email = "email", personnummer = "personnummer" }}
on_erase = "anonymize"
anonymize = {{ name = {{ value = "Anonymiserad kund" }}, email = "null", personnummer = "null", address = "null" }}

[[systems.billing.settings.children]]
table = "invoices"
foreign_key = "client_id"
activity = ["paid_at"]
unpaid_when = "paid_at IS NULL"  # a customer who owes money is kept
on_erase = "keep"

# --- CRM: contacts and the notes staff wrote ---------------------------------------------
[systems.crm]
plugin = "sql"
activity = false                 # notes are written by staff, not by the customer
description = "CRM: customer contacts and support notes"
data_categories = ["name", "email", "phone", "personnummer", "notes"]
processor = "own"
purpose = "customer support"
legal_basis = "legitimate interest"
backup_retention = "30 days"

[systems.crm.settings]
backend = "sqlite"
path = {crm}

[systems.crm.settings.subjects]
table = "people"
key = "id"
identifiers = {{ email = "email", phone = "phone", personnummer = "personnummer" }}
on_erase = "delete"

[[systems.crm.settings.children]]
table = "notes"
foreign_key = "person_id"
on_erase = "delete"

# --- Policy ----------------------------------------------------------------------------
# Customers with no activity in any activity-bearing system for 6 months, no active
# service and nothing unpaid are erased everywhere: the CRM first, the panel last, so
# that an interrupted run can always find the customer again in the account source.
[policies.inactive-6-months]
kind = "inactivity"
mode = "enforce"                 # new policies should start in "report"; the demo shows a purge
idle_for = "6 months"
systems = ["crm", "billing", "panel"]
max_fraction = 0.5               # stop and wait for `gallra approve` if half would go
max_per_run = 100000
# schedule = "0 0 3 * * *"       # without a schedule it runs on `gallra run --once`
"#
    )
}

/// A path as a TOML basic string, escaped by the toml crate itself.
fn quoted(path: &Path) -> String {
    toml::Value::String(path.display().to_string()).to_string()
}
