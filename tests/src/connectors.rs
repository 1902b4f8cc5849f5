//! Every shipped connector in one config, each against its test system: the testkit's WHMCS
//! (the account source), Fortnox, Zendesk, Mailchimp and Copper servers, a fresh user on the
//! private Dovecot, the testkit's EPP registry over mutual TLS, and a system a person tends.
//!
//! Every system holds the same subject and one other person; [`Connectors`] seeds them,
//! writes the config and inspects each system's own state, so a test can tell what an
//! erasure really did there, beside what the receipt says.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use gallra_testkit::copper::{self, Copper, NewPerson};
use gallra_testkit::epp::{ContactData, EppServer};
use gallra_testkit::fortnox::{self, Fortnox, InvoiceData};
use gallra_testkit::imap::{Dovecot, Message};
use gallra_testkit::mailchimp::{self, Mailchimp, NewMember};
use gallra_testkit::whmcs::{self, ClientData, Whmcs};
use gallra_testkit::zendesk::{self, NewUser, Zendesk};
use serde_json::{json, Value};

use crate::binaries::{gallra_bin, target_dir};
use crate::gallra::Gallra;

/// A person seeded in every system.
#[derive(Debug, Clone, Copy)]
pub struct Person {
    /// Given name.
    pub first: &'static str,
    /// Family name.
    pub last: &'static str,
    /// Email address (lower case).
    pub email: &'static str,
    /// The `.se` registry's orgno for a private person (the personnummer).
    pub orgno: &'static str,
}

impl Person {
    /// "First Last".
    pub fn name(&self) -> String {
        format!("{} {}", self.first, self.last)
    }

    /// Every piece of this person's data that must never appear in a log, the audit log or
    /// a receipt's reasons (lower case).
    pub fn needles(&self) -> Vec<String> {
        let digits = self.orgno.trim_start_matches("[SE]");
        [self.email, self.first, self.last, digits]
            .iter()
            .map(|s| s.to_lowercase())
            .collect()
    }
}

/// The person whose erasure the tests ask for.
pub const SUBJECT: Person = Person {
    first: "Astrid",
    last: "Nyberg",
    email: "astrid.nyberg@example.se",
    orgno: "[SE]850412-3345",
};

/// Someone who must stay untouched everywhere.
pub const OTHER: Person = Person {
    first: "Bengt",
    last: "Ekholm",
    email: "bengt.ekholm@example.se",
    orgno: "[SE]790101-2389",
};

/// The subject's Fortnox invoice, paid: Bokföringslagen keeps it (and the anonymized card)
/// through 31 December of the seventh year after 2024.
pub const SUBJECT_INVOICE_DATE: &str = "2024-05-10";
/// The first day the bookkeeping may go: 1 January 2032 in Stockholm.
pub const BOOKKEEPING_UNTIL: &str = "2032-01-01";
/// The law the Fortnox connector names.
pub const BOOKKEEPING_LAW: &str = "Bokföringslagen 7 kap. 2 §";
/// The subject's domain at the registry: it keeps their contact linked.
pub const SUBJECT_DOMAIN: &str = "astrid-nyberg.se";
/// What the person tending the archive is asked to do.
pub const ARCHIVE_INSTRUCTIONS: &str = "Shred the customer's folder in the archive room";

/// The plugins the config loads, as packages.
const PLUGINS: [&str; 7] = [
    "whmcs",
    "fortnox",
    "zendesk",
    "mailchimp",
    "copper",
    "imap",
    "epp",
];

/// The systems' names in the config, by what they are.
pub mod system {
    /// WHMCS: control panel and billing, the account source.
    pub const PANEL: &str = "panel";
    /// Fortnox: bookkeeping.
    pub const BOOKS: &str = "books";
    /// Zendesk: the support desk.
    pub const SUPPORT: &str = "support";
    /// Mailchimp: the newsletter.
    pub const NEWSLETTER: &str = "newsletter";
    /// Copper: the CRM.
    pub const CRM: &str = "crm";
    /// IMAP: the support mailbox.
    pub const MAIL: &str = "mail";
    /// EPP: the `.se` registry.
    pub const REGISTRY: &str = "registry";
    /// A person's job: the paper archive.
    pub const ARCHIVE: &str = "archive";
}

/// Ids of the two people in one system: the subject's and the other person's.
#[derive(Debug, Clone)]
pub struct Pair<T> {
    /// The subject's.
    pub subject: T,
    /// The other person's.
    pub other: T,
}

/// The test systems, seeded, and the config that reaches all of them.
pub struct Connectors {
    /// The scratch directory: secrets, state, the config.
    pub dir: PathBuf,
    /// The config file.
    pub config: PathBuf,
    /// WHMCS, the account source.
    pub whmcs: Whmcs,
    /// WHMCS client ids.
    pub clients: Pair<u64>,
    /// Fortnox.
    pub fortnox: Fortnox,
    /// Zendesk.
    pub zendesk: Zendesk,
    /// Zendesk user ids.
    pub users: Pair<u64>,
    /// Mailchimp.
    pub mailchimp: Mailchimp,
    /// Copper.
    pub copper: Copper,
    /// Copper person ids.
    pub people: Pair<u64>,
    /// This test's own user on the Dovecot.
    pub mail: Dovecot,
    /// The registry.
    pub registry: EppServer,
}

/// Fortnox customer numbers.
pub const CUSTOMERS: Pair<&str> = Pair {
    subject: "1001",
    other: "1002",
};
/// The Mailchimp audiences; both hold both people.
pub const AUDIENCES: [&str; 2] = ["kunder", "nyheter"];
/// The mailboxes the IMAP connector searches.
pub const MAILBOXES: [&str; 2] = ["INBOX", "Sent"];

impl Connectors {
    /// Starts every test system, seeds the subject and the other person in each, and writes
    /// the config. `None` (after `SKIPPED: …` on stderr) when the Dovecot is not running,
    /// unless `GALLRA_REQUIRE_SERVERS=1`, which makes it panic.
    pub fn start(dir: &Path) -> Option<Connectors> {
        let mail = Dovecot::connect()?;
        let whmcs = Whmcs::start();
        let clients = seed_whmcs(&whmcs);
        let fortnox = Fortnox::start();
        seed_fortnox(&fortnox);
        let zendesk = Zendesk::start();
        let users = seed_zendesk(&zendesk);
        let mailchimp = Mailchimp::start();
        seed_mailchimp(&mailchimp);
        let copper = Copper::start();
        let people = seed_copper(&copper);
        seed_mail(&mail);
        let registry = EppServer::start();
        seed_registry(&registry, &clients);
        let connectors = Connectors {
            dir: dir.to_path_buf(),
            config: dir.join("gallra.toml"),
            whmcs,
            clients,
            fortnox,
            zendesk,
            users,
            mailchimp,
            copper,
            people,
            mail,
            registry,
        };
        connectors.write_config();
        Some(connectors)
    }

    /// The `gallra` binary bound to the config, with every plugin it loads built.
    pub fn gallra(&self) -> Gallra {
        ensure_plugins();
        Gallra::new(&self.config)
    }

    /// Files the subject's erasure as the control panel would, knowing the customer's number
    /// (the registry knows the customer only by it, `source_customer_id`); the request's id.
    pub fn submit_erasure(&self, gallra: &Gallra) -> i64 {
        let customer_id = self.subject_ids().client.to_string();
        gallra
            .run(&[
                "request",
                "erase",
                "--email",
                SUBJECT.email,
                "--customer-id",
                &customer_id,
                "--json",
            ])
            .expect_code(0)
            .json()["id"]
            .as_i64()
            .unwrap()
    }

    /// The registry's contact id for a WHMCS client (`contacts.contact_id`).
    pub fn contact_id(client: u64) -> String {
        format!("GALLRA-{client}")
    }

    fn write_config(&self) {
        let secret = |name: &str, value: &str| secret_file(&self.dir, name, value);
        let http = json!({ "timeout_secs": 5, "max_retries": 3, "backoff_initial_ms": 20 });
        let registry = &self.registry;
        let config = json!({
            "time_zone": "Europe/Stockholm",
            "state_dir": self.dir.join("state"),
            "account_source": system::PANEL,
            // Quick re-checks and retries, so that a test need not wait.
            "requests": { "erase_within": "7 days", "recheck_every": "1 second", "retry_base": "200ms" },
            "systems": {
                (system::PANEL): connector("whmcs", json!({
                    "base_url": self.whmcs.base_url(),
                    "identifier": whmcs::IDENTIFIER,
                    "secret_file": self.whmcs.secret_file(),
                    "http": http,
                })),
                (system::BOOKS): connector("fortnox", json!({
                    "base_url": self.fortnox.base_url(),
                    "token_url": self.fortnox.token_url(),
                    "client_id": fortnox::CLIENT_ID,
                    "client_secret_file": self.fortnox.client_secret_file(),
                    "tenant_id": fortnox::TENANT_ID,
                    "http": http,
                })),
                (system::SUPPORT): connector("zendesk", json!({
                    "base_url": self.zendesk.base_url(),
                    "email": zendesk::AGENT_EMAIL,
                    "api_token_file": secret("zendesk-token", zendesk::API_TOKEN),
                    "check_after_secs": 1,
                    "http": http,
                })),
                (system::NEWSLETTER): {
                    "plugin": "mailchimp",
                    "marketing": true,
                    "settings": {
                        "base_url": self.mailchimp.base_url(),
                        "api_key_file": secret("mailchimp-key", mailchimp::API_KEY),
                        "http": http,
                    },
                },
                (system::CRM): connector("copper", json!({
                    "base_url": self.copper.base_url(),
                    "user_email": copper::USER_EMAIL,
                    "token_file": secret("copper-token", copper::TOKEN),
                    // Five retries a call: a short outage is ridden out within one attempt
                    // or a few of the request runner's.
                    "http": { "timeout_secs": 5, "max_retries": 5, "backoff_initial_ms": 20, "rate_per_sec": 20 },
                })),
                (system::MAIL): connector("imap", json!({
                    "host": gallra_testkit::imap::HOST,
                    "port": gallra_testkit::imap::PORT,
                    "tls": "none",
                    "username": self.mail.username(),
                    "password_file": secret("imap-password", gallra_testkit::imap::PASSWORD),
                    "mailboxes": MAILBOXES,
                    "timeout_secs": 10,
                })),
                // Its contact handles are made from WHMCS's client ids.
                (system::REGISTRY): source_ids(connector("epp", json!({
                    "host": "127.0.0.1",
                    "port": registry.port(),
                    "ca_file": registry.ca_pem_path(),
                    "client_cert_file": registry.client_cert_path(),
                    "client_key_file": registry.client_key_path(),
                    "username": gallra_testkit::epp::USERNAME,
                    "password_file": registry.password_file_path(),
                    "extension": "iis",
                    "contacts": { "contact_id": "GALLRA-{customer_id}" },
                    "timeout_secs": 5,
                }))),
                (system::ARCHIVE): { "manual": { "instructions": ARCHIVE_INSTRUCTIONS } },
            },
        });
        let config = toml::Table::try_from(config).unwrap();
        std::fs::write(&self.config, toml::to_string(&config).unwrap()).unwrap();
    }

    /// The audit log's text, every file of it.
    pub fn audit_log(&self) -> String {
        let dir = self.dir.join("state/audit");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files
            .iter()
            .map(|f| std::fs::read_to_string(f).unwrap())
            .collect()
    }

    /// Whether a person's messages are in the mailboxes, by address (From, To or Cc).
    pub fn mail_mentions(&self, person: &Person) -> Vec<String> {
        MAILBOXES
            .iter()
            .flat_map(|mailbox| {
                self.mail
                    .address_headers(mailbox)
                    .into_iter()
                    .filter(|h| h.to_lowercase().contains(person.email))
                    .map(move |h| format!("{mailbox}: {}", h.trim()))
            })
            .collect()
    }

    /// What each system holds of a person, looked at in its own state (not through
    /// gallra): one line per system that still holds their personal data.
    pub fn holdings(&self, person: &Person, ids: Ids) -> Vec<String> {
        let mut held = Vec::new();
        let mut note = |system: &str, holds: bool| {
            if holds {
                held.push(system.to_owned());
            }
        };
        note(
            system::PANEL,
            self.whmcs
                .client(ids.client)
                .is_some_and(|c| c.email == person.email),
        );
        note(
            system::BOOKS,
            self.fortnox.customer(ids.customer).is_some_and(|card| {
                let text = serde_json::Value::Object(card).to_string().to_lowercase();
                text.contains(person.email) || text.contains(&person.last.to_lowercase())
            }),
        );
        note(system::SUPPORT, self.zendesk.holds_email(person.email));
        note(system::NEWSLETTER, self.mailchimp.holds_email(person.email));
        note(system::CRM, self.copper.person_exists(ids.person));
        note(system::MAIL, !self.mail_mentions(person).is_empty());
        note(
            system::REGISTRY,
            self.registry
                .contact(&Self::contact_id(ids.client))
                .is_some_and(|c| c.email == person.email || c.name == person.name()),
        );
        held
    }

    /// Everything each system holds about a person, as text, looked at in its own state:
    /// equal before and after means nothing of theirs was touched.
    pub fn snapshot(&self, person: &Person, ids: Ids) -> Vec<String> {
        let mut shot = vec![
            format!("{:?}", self.whmcs.client(ids.client)),
            format!("{:?}", self.whmcs.invoice_count(ids.client)),
            format!("{:?}", self.fortnox.customer(ids.customer)),
            format!("{:?}", self.fortnox.invoice_count(ids.customer)),
            format!("{:?}", self.zendesk.holds_email(person.email)),
            format!("{:?}", self.zendesk.user_deletion(ids.user)),
            format!("{:?}", self.copper.person(ids.person)),
            format!("{:?}", self.mail_mentions(person)),
            format!("{:?}", self.registry.contact(&Self::contact_id(ids.client))),
        ];
        shot.extend(
            AUDIENCES
                .iter()
                .map(|list| format!("{:?}", self.mailchimp.member_status(list, person.email))),
        );
        shot
    }

    /// The subject's ids in every system.
    pub fn subject_ids(&self) -> Ids {
        Ids {
            client: self.clients.subject,
            customer: CUSTOMERS.subject,
            person: self.people.subject,
            user: self.users.subject,
        }
    }

    /// The other person's ids in every system.
    pub fn other_ids(&self) -> Ids {
        Ids {
            client: self.clients.other,
            customer: CUSTOMERS.other,
            person: self.people.other,
            user: self.users.other,
        }
    }
}

/// One person's keys in the systems that number them.
#[derive(Debug, Clone, Copy)]
pub struct Ids {
    /// WHMCS client id (also the registry contact's `{customer_id}`).
    pub client: u64,
    /// Fortnox customer number.
    pub customer: &'static str,
    /// Copper person id.
    pub person: u64,
    /// Zendesk user id.
    pub user: u64,
}

/// Every system's name, for "held nowhere / everywhere" comparisons.
pub const SYSTEMS_WITH_DATA: [&str; 7] = [
    system::PANEL,
    system::BOOKS,
    system::SUPPORT,
    system::NEWSLETTER,
    system::CRM,
    system::MAIL,
    system::REGISTRY,
];

fn connector(plugin: &str, settings: Value) -> Value {
    json!({ "plugin": plugin, "settings": settings })
}

/// A system that knows customers by the account source's customer id.
fn source_ids(mut system: Value) -> Value {
    system["source_customer_id"] = json!(true);
    system
}

/// Writes a secret file (mode 600) into `dir`; its path.
fn secret_file(dir: &Path, name: &str, value: &str) -> PathBuf {
    let file = dir.join(name);
    std::fs::write(&file, format!("{value}\n")).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    file
}

/// The subject: never logged in, no product, no invoice here (so WHMCS can delete them);
/// the other person: an active product and an unpaid invoice.
fn seed_whmcs(whmcs: &Whmcs) -> Pair<u64> {
    let subject = whmcs.add_client(ClientData::person(
        SUBJECT.first,
        SUBJECT.last,
        SUBJECT.email,
    ));
    let mut other = ClientData::person(OTHER.first, OTHER.last, OTHER.email);
    other.active_products = 1;
    other.lastlogin = "Date: 03/10/2025 10:26<br>IP Address: 192.0.2.7<br>Host: h.example".into();
    let other = whmcs.add_client(other);
    whmcs.add_invoice(other, "2025-10-01", "Unpaid");
    Pair { subject, other }
}

/// Both are customers with an invoice; the subject's is paid.
fn seed_fortnox(fortnox: &Fortnox) {
    for (number, person, invoice) in [
        (
            CUSTOMERS.subject,
            SUBJECT,
            InvoiceData::paid(SUBJECT_INVOICE_DATE),
        ),
        (
            CUSTOMERS.other,
            OTHER,
            InvoiceData::unpaid("2025-10-01", 499.0),
        ),
    ] {
        fortnox.add_customer(
            number,
            serde_json::json!({
                "Name": person.name(),
                "Email": person.email,
                "OrganisationNumber": person.orgno.trim_start_matches("[SE]"),
                "Address1": "Storgatan 1",
                "City": "Stockholm",
                "Currency": "SEK",
                "Type": "PRIVATE",
            }),
        );
        fortnox.add_invoice(number, invoice);
    }
}

fn seed_zendesk(zendesk: &Zendesk) -> Pair<u64> {
    let subject = zendesk.add_user(NewUser::new(&SUBJECT.name(), SUBJECT.email));
    zendesk.add_ticket(subject, "Invoice question", "Why was I charged twice?");
    zendesk.add_ticket(subject, "DNS", "My domain does not resolve");
    let other = zendesk.add_user(NewUser::new(&OTHER.name(), OTHER.email));
    zendesk.add_ticket(other, "Backup", "Please restore yesterday's backup");
    Pair { subject, other }
}

fn seed_mailchimp(mailchimp: &Mailchimp) {
    for list in AUDIENCES {
        mailchimp.add_list(list, list);
        for person in [SUBJECT, OTHER] {
            mailchimp.add_member(
                list,
                NewMember::subscribed(person.email)
                    .field("FNAME", person.first)
                    .field("LNAME", person.last),
            );
        }
    }
}

fn seed_copper(copper: &Copper) -> Pair<u64> {
    Pair {
        subject: copper.add_person(NewPerson::named(&SUBJECT.name(), SUBJECT.email)),
        other: copper.add_person(NewPerson::named(&OTHER.name(), OTHER.email)),
    }
}

/// Mail from and to each of them, in the inbox and the sent folder.
fn seed_mail(mail: &Dovecot) {
    let at = "2025-03-01T10:00:00Z";
    for person in [SUBJECT, OTHER] {
        let address = format!("{} <{}>", person.name(), person.email);
        mail.append(
            "INBOX",
            &Message::new(&address, "support@hosting.example", "Order", at),
        );
        mail.append(
            "Sent",
            &Message::new("support@hosting.example", &address, "Re: Order", at),
        );
    }
}

/// Each has a contact named after their WHMCS client id; the subject's still holds a domain.
fn seed_registry(registry: &EppServer, clients: &Pair<u64>) {
    for (client, person) in [(clients.subject, SUBJECT), (clients.other, OTHER)] {
        registry.add_contact(
            &Connectors::contact_id(client),
            ContactData {
                orgno: Some(person.orgno.to_owned()),
                ..ContactData::person(&person.name(), person.email)
            },
        );
    }
    registry.add_domain(SUBJECT_DOMAIN, &Connectors::contact_id(clients.subject));
}

/// Builds `gallra` and the plugins (once per test process) and makes sure each plugin the
/// config loads sits beside the binary, where gallra looks first: `built_plugin` builds one
/// that is missing or older than its sources, and one built elsewhere (a test's `deps/`) is
/// put beside the binary by rename, so that the file it replaces, perhaps the same file
/// under another name (cargo hard-links them), is never truncated.
fn ensure_plugins() {
    use std::os::unix::fs::MetadataExt;
    let bin = gallra_bin();
    let beside = bin.parent().unwrap().to_path_buf();
    assert_eq!(beside, target_dir());
    let identity = |p: &Path| std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()));
    for plugin in PLUGINS {
        let package = format!("gallra-plugin-{plugin}");
        let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../plugins")
            .join(plugin);
        let built = gallra_plugin_api::built::built_plugin(&package, manifest.to_str().unwrap());
        let wanted = beside.join(gallra_plugin_api::built::library_file_name(&package));
        if identity(&built) != identity(&wanted) {
            let staging = beside.join(format!(".{package}.{}.tmp", std::process::id()));
            std::fs::copy(&built, &staging).unwrap();
            std::fs::rename(&staging, &wanted).unwrap();
        }
        let size = std::fs::metadata(&wanted).map_or(0, |m| m.len());
        assert!(size > 0, "no plugin library at {}", wanted.display());
    }
}
