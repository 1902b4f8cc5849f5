//! The conformance suite itself: a sound in-memory connector passes it (deleting,
//! anonymizing or erasing asynchronously), and each deliberately broken one fails it,
//! naming the rule it breaks. The rules for `scan`, `status` and settings have their own
//! files.

#![cfg(feature = "conformance")]

mod memory;
mod scan;
mod settings;
mod status;
mod system;
mod validate;

use gallra_plugin_api::conformance;

use memory::{Flaw, Style};
use system::MemorySystem;

pub(super) fn run(flaw: Flaw, style: Style) {
    conformance::run(&mut MemorySystem::new(flaw, style));
}

#[test]
fn a_deleting_connector_passes() {
    run(Flaw::None, Style::Delete);
}

#[test]
fn an_anonymizing_connector_passes() {
    run(Flaw::None, Style::Anonymize);
}

#[test]
fn an_asynchronous_eraser_passes_once_its_job_has_run() {
    run(Flaw::None, Style::Asynchronous);
}

#[test]
#[should_panic(expected = "conformance rule \"resume-token\" violated")]
fn a_resume_token_that_names_the_subject_fails() {
    run(Flaw::ResumeTokenNamesTheSubject, Style::Asynchronous);
}

#[test]
fn a_system_without_refusals_skips_those_rules() {
    let mut system = MemorySystem::new(Flaw::ErasedForRefused, Style::Delete);
    system.with_refusal = false;
    conformance::run(&mut system);
}

#[test]
#[should_panic(expected = "conformance rule \"unreachable-is-transient\" violated: lookup")]
fn an_empty_lookup_from_an_unreachable_system_fails() {
    run(Flaw::EmptyLookupWhenUnreachable, Style::Delete);
}

#[test]
#[should_panic(
    expected = "conformance rule \"no-personal-data-in-errors\" violated: the lookup error"
)]
fn an_email_in_an_error_message_fails() {
    run(Flaw::EmailInError, Style::Delete);
}

#[test]
#[should_panic(expected = "conformance rule \"refusal-honest\" violated")]
fn reporting_erased_for_a_refused_subject_fails() {
    run(Flaw::ErasedForRefused, Style::Delete);
}

#[test]
#[should_panic(expected = "conformance rule \"erase-removes\" violated")]
fn an_erase_that_leaves_the_data_fails() {
    run(Flaw::EraseLeavesData, Style::Delete);
}

#[test]
#[should_panic(expected = "conformance rule \"erase-spares-bystander\" violated")]
fn an_erase_that_takes_the_bystander_fails() {
    run(Flaw::EraseTakesBystander, Style::Delete);
}

#[test]
#[should_panic(expected = "conformance rule \"export-complete\" violated")]
fn an_export_missing_a_seeded_value_fails() {
    run(Flaw::ExportMissesName, Style::Delete);
}

#[test]
#[should_panic(expected = "conformance rule \"erase-idempotent\" violated")]
fn an_erase_that_fails_the_second_time_fails() {
    run(Flaw::SecondEraseFails, Style::Delete);
}

#[test]
#[should_panic(expected = "conformance rule \"restore-idempotent\" violated")]
fn a_restore_that_puts_back_twice_fails() {
    run(Flaw::RestoreTwice, Style::Delete);
}

#[test]
#[should_panic(
    expected = "conformance rule \"restore-round-trip\" violated: after the restore the subject's export differs"
)]
fn a_restore_that_loses_a_field_fails() {
    run(Flaw::RestoreLosesName, Style::Delete);
}

#[test]
#[should_panic(
    expected = "conformance rule \"batch-matches-single\" violated: subject #1 of a batched lookup"
)]
fn a_batch_answered_out_of_order_fails() {
    run(Flaw::BatchOutOfOrder, Style::Delete);
}

#[test]
#[should_panic(
    expected = "conformance rule \"batch-erase-matches-single\" violated: subject #1 of a batched erase"
)]
fn a_batched_erase_that_answers_unlike_the_single_one_fails() {
    run(Flaw::BatchEraseDoesNothing, Style::Delete);
}

#[test]
#[should_panic(
    expected = "conformance rule \"unreachable-is-transient\" violated: health is not implemented"
)]
fn a_connector_left_with_the_default_health_fails() {
    run(Flaw::NoHealth, Style::Delete);
}

#[test]
#[should_panic(
    expected = "conformance rule \"describe\" violated: the connector says activity_bearing"
)]
fn activity_bearing_without_status_fails() {
    run(Flaw::ActivityBearingWithoutStatus, Style::Delete);
}

/// A connector that implements only what it must.
struct Bare;

impl gallra_plugin_api::Connector for Bare {
    type Settings = settings::MemorySettings;

    fn open(
        _: Self::Settings,
        _: gallra_plugin_api::OpenContext,
    ) -> Result<Self, gallra_plugin_api::ConnectorError> {
        Ok(Bare)
    }

    fn describe(&self) -> gallra_plugin_api::Description {
        unimplemented!("not asked")
    }
}

#[test]
fn the_default_health_answers_unsupported_never_ok() {
    let answer = gallra_plugin_api::dispatch(&Bare, gallra_plugin_api::Call::Health);
    assert!(
        matches!(
            answer,
            Err(gallra_plugin_api::ConnectorError::Unsupported { .. })
        ),
        "{answer:?}"
    );
}
