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
//! | `describe` | the connector claims `lookup` and `erase` and at least one identifier kind |
//! | `unreachable-is-transient` | pointed at a system that is down, `open` or every operation (`health` included) fails with [`ConnectorError::Transient`] — never an empty lookup, never `Erased` |
//! | `lookup-finds-subject` | lookup finds the seeded subject by each identifier kind the connector claims, alone |
//! | `lookup-absent-is-empty` | lookup of someone the system never held is an empty result, not an error |
//! | `batch-matches-single` | a batched lookup, status and export (those claimed) of the subject, the bystander and someone never held answer each of them as the single call does, in order |
//! | `export-complete` | export (if claimed) holds every expected value of the subject |
//! | `export-only-subject` | export holds no value of the bystander |
//! | `erase-succeeds` | erasing the subject answers `Erased` or `Anonymized` without retention (`InProgress` is re-asked until done) |
//! | `erase-removes` | afterwards lookup by each identifier kind finds nothing, and the system (checked directly) holds none of the subject's data |
//! | `erase-spares-bystander` | the bystander is still found and still held |
//! | `erase-idempotent` | erasing again succeeds |
//! | `batch-erase-matches-single` | a batched erase of the erased subject and someone never held answers each as the single erase does (and removes nothing of the bystander) |
//! | `restore-round-trip` | (if `restore` is claimed, with `export`) restoring the export made before the erase answers `restored` > 0, after which lookup finds the subject again, the system holds it, and its export equals the one before, field for field |
//! | `restore-idempotent` | restoring the same export again puts nothing back (`restored` = 0, `already_present` > 0) and changes no field |
//! | `refusal-honest` | a subject the system must keep is answered `Retained`, `Anonymized` with a retention, or [`ConnectorError::Refused`] — never `Erased` |
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
mod suite;
mod system;

use crate::messages::{Capability, Reply};

use suite::Suite;
pub use system::ConformanceSystem;

/// Runs every check against `system`; panics with the first violated rule.
///
/// See the [module docs](self) for the rules.
pub fn run<S: ConformanceSystem>(system: &mut S) {
    let subject = system.subject();
    let bystander = system.bystander();
    let refused = system.refused_subject();
    let mut suite = Suite::new(system, &subject, &bystander, refused.as_ref());
    suite.describe_claims_enough();
    suite.unreachable_is_transient();
    let connector = suite.open();
    suite.lookups(&connector);
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
        other => format!("{other:?}"),
    }
}
