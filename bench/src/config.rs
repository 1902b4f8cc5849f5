//! The `gallra.toml` each workload runs with.

use std::fmt::Write as _;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::Result;

use crate::systems::System;

/// How gallra reaches one system.
pub enum Backend<'a> {
    Sqlite(&'a Path),
    /// A file holding the database URL (mode 0600).
    Postgres(&'a Path),
}

/// A TOML string.
pub fn quoted(text: &str) -> String {
    serde_json::to_string(text).expect("a string serializes")
}

pub fn header(state_dir: &Path, account_source: &str) -> String {
    format!(
        "time_zone = \"Europe/Stockholm\"\nstate_dir = {}\naccount_source = {}\n\n",
        quoted(&state_dir.display().to_string()),
        quoted(account_source)
    )
}

/// One `[systems.NAME]` table for a system of [`crate::systems`].
pub fn system(system: System, backend: Backend<'_>, concurrency: u32) -> String {
    let name = system.name;
    let mut s = format!("[systems.{name}]\nplugin = \"sql\"\n");
    let activity = name != "crm";
    let _ = writeln!(s, "activity = {activity}\nconcurrency = {concurrency}");
    match backend {
        Backend::Sqlite(path) => {
            let _ = writeln!(
                s,
                "[systems.{name}.settings]\nbackend = \"sqlite\"\npath = {}",
                quoted(&path.display().to_string())
            );
        }
        Backend::Postgres(url_file) => {
            let _ = writeln!(
                s,
                "[systems.{name}.settings]\nbackend = \"postgres\"\nurl_file = {}",
                quoted(&url_file.display().to_string())
            );
        }
    }
    let (identifiers, subject_extra, child_extra) = match name {
        "panel" => (
            "email = \"email\", personnummer = \"personnummer\", phone = \"phone\", customer_id = \"id\"",
            "activity = [\"last_login\", \"created_at\"]\nrelationship_end = \"closed_at\"\n",
            "activity = [\"ended_at\"]\nactive_when = \"status = 'active'\"\n",
        ),
        "crm" => (
            "email = \"email\", phone = \"phone\", personnummer = \"personnummer\"",
            "",
            "",
        ),
        _ => (
            "email = \"email\", personnummer = \"personnummer\"",
            "",
            "activity = [\"paid_at\"]\nunpaid_when = \"paid_at IS NULL\"\n",
        ),
    };
    let _ = write!(
        s,
        "[systems.{name}.settings.subjects]\ntable = \"{}\"\nkey = \"id\"\nidentifiers = {{ {identifiers} }}\n{subject_extra}on_erase = \"delete\"\n\n",
        system.subjects
    );
    let _ = write!(
        s,
        "[[systems.{name}.settings.children]]\ntable = \"{}\"\nforeign_key = \"{}\"\n{child_extra}on_erase = \"delete\"\n\n",
        system.children, system.foreign_key
    );
    s
}

/// The inactivity policy every workload runs: 6 months idle, valves wide open.
pub fn inactivity_policy(mode: &str, systems: &[&str]) -> String {
    let systems = systems
        .iter()
        .map(|s| quoted(s))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "[policies.inactive]\nkind = \"inactivity\"\nmode = \"{mode}\"\nidle_for = \"6 months\"\nsystems = [{systems}]\nmax_per_run = 10000000\nmax_fraction = 0.99\n"
    )
}

/// Writes a secret (a token, an API key) as its own file, readable only by its owner, as
/// gallra wants secrets kept.
pub fn secret(path: &Path, text: &str) -> Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    writeln!(file, "{text}")?;
    Ok(())
}

/// An account source that only knows its customers: `customers (id, email)` in SQLite,
/// found by email or customer id, deleted on erase.
pub fn plain_account_source(name: &str, db: &Path) -> String {
    format!(
        "[systems.{name}]\nplugin = \"sql\"\n[systems.{name}.settings]\nbackend = \"sqlite\"\npath = {}\n\
         [systems.{name}.settings.subjects]\ntable = \"customers\"\nkey = \"id\"\n\
         identifiers = {{ email = \"email\", customer_id = \"id\" }}\non_erase = \"delete\"\n\n",
        quoted(&db.display().to_string())
    )
}

/// How gallra talks to one REST API through the generic `http` connector.
pub struct HttpSystem<'a> {
    pub name: &'a str,
    pub base_url: &'a str,
    pub token_file: &'a Path,
    /// Calls gallra may have in flight to it (`concurrency`).
    pub concurrency: u32,
    /// The connector's own request rate (`http.rate_per_sec`).
    pub rate_per_sec: u32,
}

/// One `[systems.NAME]` table for the testkit's REST users API
/// (`gallra_testkit::rest`), written as the `http` connector's documentation shows: users
/// looked up by email (matched, so an ignored filter cannot select everyone) and deleted by
/// id, at the API's documented rate.
pub fn http_system(s: &HttpSystem<'_>) -> String {
    let name = s.name;
    format!(
        "[systems.{name}]\nplugin = \"http\"\nconcurrency = {}\n\
         [systems.{name}.settings]\nbase_url = {}\ncollection = \"users\"\n\
         auth = {{ type = \"bearer\", token_file = {} }}\n\
         [[systems.{name}.settings.lookup]]\npath = \"/v1/users?email={{email}}\"\n\
         results = \"/data\"\nkey = \"/id\"\nmatch = \"/email\"\n\
         [systems.{name}.settings.erase]\nmethod = \"DELETE\"\npath = \"/v1/users/{{record.id}}\"\n\
         [systems.{name}.settings.http]\nrate_per_sec = {}\n\n",
        s.concurrency,
        quoted(s.base_url),
        quoted(&s.token_file.display().to_string()),
        s.rate_per_sec,
    )
}

/// The shop of [`crate::systems::SHOP`] on PostgreSQL, as the requests workload reaches it:
/// the account source, found by email (or customer id), whose erasure nulls the customer's
/// personal columns and the billing copies on their invoices and keeps the rows (the
/// bookkeeping needs the invoices).
pub fn shop_system(url_file: &Path, concurrency: u32) -> String {
    format!(
        "[systems.shop]\nplugin = \"sql\"\nactivity = true\nconcurrency = {concurrency}\n\
         [systems.shop.settings]\nbackend = \"postgres\"\nurl_file = {}\n\
         [systems.shop.settings.subjects]\ntable = \"customers\"\nkey = \"id\"\n\
         identifiers = {{ email = \"email\", personnummer = \"personnummer\", phone = \"phone\", customer_id = \"id\" }}\n\
         activity = [\"created_at\"]\non_erase = \"anonymize\"\n\
         anonymize = {{ email = \"null\", name = \"null\", personnummer = \"null\", phone = \"null\", address = \"null\" }}\n\n\
         [[systems.shop.settings.children]]\ntable = \"invoices\"\nforeign_key = \"customer_id\"\n\
         activity = [\"paid_at\"]\nunpaid_when = \"paid_at IS NULL\"\non_erase = \"anonymize\"\n\
         anonymize = {{ billing_name = \"null\", billing_address = \"null\", billing_email = \"null\" }}\n\n",
        quoted(&url_file.display().to_string())
    )
}

/// The admin API on TCP at `listen`, with the bearer tokens in `tokens_file`.
pub fn api(listen: &str, tokens_file: &Path) -> String {
    format!(
        "[api]\nlisten = {}\ntokens_file = {}\n\n",
        quoted(listen),
        quoted(&tokens_file.display().to_string())
    )
}

/// `[state_store]` on PostgreSQL (the URL in `url_file`), as daemon `node` of several, with
/// leases of `lease`.
pub fn state_store(url_file: &Path, node: &str, lease: &str) -> String {
    format!(
        "[state_store]\nbackend = \"postgresql\"\nurl_file = {}\nnode = {}\nlease = {}\n\n",
        quoted(&url_file.display().to_string()),
        quoted(node),
        quoted(lease)
    )
}
