//! The conformance suite (feature `conformance`): the promises every connector keeps,
//! checked against a seeded test system.
//!
//! gallra decides from a connector's answers whether a person's data is gone, so a
//! connector must never say "nothing here" when it could not look, never say "erased" when
//! data stays, and never put personal data in an error. Implement [`ConformanceSystem`] for
//! your test system (a seeded database, a testkit server) and call [`run`] in a test:
//!
//! ```ignore
//! #[test]
//! fn the_connector_passes_the_conformance_suite() {
//!     let mut system = SeededHelpdesk::start();
//!     gallra_plugin_api::conformance::run(&mut system);
//! }
//! ```
//!
//! [`run`] panics on the first broken promise with a message that starts with
//! `conformance rule "<rule>" violated`. The rules, in the order they are checked:
//!
//! | rule | what must hold |
//! |---|---|
//! | `describe` | the connector claims `lookup` and `erase` and at least one identifier kind, and `status` if it says [`activity_bearing`](crate::Description::activity_bearing) |
//! | `invalid-settings-refused` | each of [`ConformanceSystem::invalid_settings`], parsed and validated as `gallra check` does, is refused with a settings error ([`ConnectorError::Config`](crate::ConnectorError::Config) or `Settings`) naming its key, and the system still holds the subject and the bystander |
//! | `unreachable-is-transient` | pointed at a system that is down, `open` or every operation (`scan` and `health` included) fails with [`ConnectorError::Transient`](crate::ConnectorError::Transient) — never an empty lookup or scan page, never `Erased`, and never `Ok` from [`health`](crate::Connector::health) |
//! | `lookup-finds-subject` | lookup finds the seeded subject by each identifier kind the connector claims, alone |
//! | `lookup-absent-is-empty` | lookup of someone the system never held is an empty result, not an error |
//! | `scan-ends` | (if `scan` is claimed) a full scan, in pages of 1000, of 1 and of 2 subjects, ends: no page fails, no page but the last is empty, and no page hands on a cursor an earlier page handed on |
//! | `scan-limit` | no page holds more subjects than the `limit` asked (fewer is allowed) |
//! | `scan-total` | every `total` a page gives is the number of subjects the whole scan lists |
//! | `scan-stable` | no key is listed twice, and the three scans list the same keys in the same order: one stable key order, and a cursor goes on right after its page's last subject. (The suite does not compare keys itself: "key order" is the system's, e.g. numeric for numeric keys.) |
//! | `scan-key-resolves` | the connector claims `customer_id`; the scan lists the subject and the bystander (a record sharing one of their identifiers, or keyed by their customer id), and lookup by such a record's `key` alone, as a `customer_id` — as gallra hands it back — finds records, all of them the person's own |
//! | `status-absent-is-empty` | (if `status` is claimed) status of someone never held answers, with no date and no count above 0 — never an error, which would keep every subject the system does not know |
//! | `status-answers` | status of the subject, the bystander and the refused subject answers |
//! | `status-matches-scan` | (if `scan` too) status of each of them by their scanned key alone gives exactly the facts of their scan record: gallra plans from the scan and checks with status before the erase |
//! | `batch-matches-single` | a batched lookup, status and export (those claimed) of the subject, the bystander and someone never held answer each of them as the single call does, in order |
//! | `export-complete` | export (if claimed) holds every expected value of the subject |
//! | `export-only-subject` | export holds no value of the bystander |
//! | `erase-succeeds` | erasing the subject answers `Erased` or `Anonymized` without retention (`InProgress` is re-asked until done, as after a restart: by a new instance handed the answer's resume token) |
//! | `resume-token` | a resume token an `InProgress` answer gives holds no identifier or seeded value of a test subject (gallra stores it) |
//! | `erase-removes` | afterwards lookup by each identifier kind finds nothing, and the system (checked directly) holds none of the subject's data |
//! | `erase-spares-bystander` | the bystander is still found and still held |
//! | `erase-idempotent` | erasing again succeeds |
//! | `batch-erase-matches-single` | a batched erase of the erased subject and someone never held answers each as the single erase does (and removes nothing of the bystander) |
//! | `restore-round-trip` | (if `restore` is claimed, with `export`) restoring the export made before the erase answers `restored` > 0, after which lookup finds the subject again, the system holds it, and its export equals the one before, field for field |
//! | `restore-idempotent` | restoring the same export again puts nothing back (`restored` = 0, `already_present` > 0) and changes no field |
//! | `refusal-honest` | a subject the system must keep is answered `Retained`, `Anonymized` with a retention, or [`ConnectorError::Refused`](crate::ConnectorError::Refused) — never `Erased` |
//! | `refusal-keeps-data` | and the data that must stay is still there |
//! | `no-personal-data-in-errors` | no error returned during the run contains an identifier or seeded value of any test subject |
//!
//! A connector that anonymizes instead of deleting (bookkeeping systems) passes as long as,
//! after the erase, its lookup no longer finds the subject by its identifiers and
//! [`ConformanceSystem::holds`] says the personal data is gone.
//!
//! Every call goes through [`crate::dispatch`] and a JSON round trip of its result, as it
//! would through the plugin ABI.

#![deny(missing_docs)]

mod batch;
mod erase;
mod pii;
mod reads;
mod scan;
mod settings;
mod status;
mod suite;
mod system;

use crate::messages::{Capability, Reply};

use suite::Suite;
pub use system::{ConformanceSystem, InvalidSettings};

/// Runs every check against `system`; panics with the first violated rule.
///
/// See the [module docs](self) for the rules.
pub fn run<S: ConformanceSystem>(system: &mut S) {
    let subject = system.subject();
    let bystander = system.bystander();
    let refused = system.refused_subject();
    let mut suite = Suite::new(system, &subject, &bystander, refused.as_ref());
    suite.describe_claims_enough();
    suite.invalid_settings_refused();
    suite.unreachable_is_transient();
    let connector = suite.open();
    suite.lookups(&connector);
    let scanned = suite
        .claims(Capability::Scan)
        .then(|| suite.scans(&connector));
    if let Some(scanned) = &scanned {
        suite.scan_key_resolves(&connector, scanned);
    }
    if suite.claims(Capability::Status) {
        suite.status(&connector, scanned.as_deref());
    }
    suite.batch_reads(&connector);
    let export = suite.export(&connector);
    suite.erase(&connector);
    suite.batch_erase(&connector);
    if let Some(export) = export.filter(|_| suite.claims(Capability::Restore)) {
        suite.restore(&connector, &export);
    }
    if let Some(refused) = &refused {
        suite.refusal(&connector, refused);
    }
}

/// Panics naming the rule.
#[track_caller]
fn violated(rule: &str, what: impl std::fmt::Display) -> ! {
    panic!("conformance rule \"{rule}\" violated: {what}")
}

fn kind_of(reply: &Reply) -> String {
    match reply {
        Reply::Lookup(found) => format!("a lookup with {} records", found.records.len()),
        Reply::Erase(outcome) => format!("{outcome:?}"),
        Reply::Export(export) => format!("an export of {} fields", export.fields.len()),
        Reply::Done => "done".to_owned(),
        Reply::Status(_) => "status facts".to_owned(),
        Reply::ScanPage(page) => format!("a scan page of {} subjects", page.subjects.len()),
        other => format!("{other:?}"),
    }
}
