//! `invalid-settings-refused`: each broken `validate` fails it.

use gallra_plugin_api::conformance;

use super::memory::{Flaw, Style};
use super::settings::ValidateFlaw;
use super::system::MemorySystem;

fn run(flaw: ValidateFlaw) {
    let mut system = MemorySystem::new(Flaw::None, Style::Delete);
    system.validate_flaw = flaw;
    conformance::run(&mut system);
}

#[test]
#[should_panic(
    expected = "conformance rule \"invalid-settings-refused\" violated: invalid settings #1 (of invalid_settings()) were accepted"
)]
fn accepting_invalid_settings_fails() {
    run(ValidateFlaw::AcceptsAnything);
}

#[test]
#[should_panic(
    expected = "conformance rule \"invalid-settings-refused\" violated: invalid settings #1 (of invalid_settings()) were refused naming [\"size\"], not the wrong key \"page_size\""
)]
fn a_refusal_naming_another_key_fails() {
    run(ValidateFlaw::NamesAnotherKey);
}

#[test]
#[should_panic(
    expected = "conformance rule \"invalid-settings-refused\" violated: invalid settings #1 (of invalid_settings()) were refused with an error that names no setting"
)]
fn a_refusal_that_names_no_key_fails() {
    run(ValidateFlaw::NamesNoKey);
}

#[test]
#[should_panic(
    expected = "conformance rule \"invalid-settings-refused\" violated: after validate refused invalid settings, the system no longer holds the subject"
)]
fn a_validate_that_touches_the_system_fails() {
    run(ValidateFlaw::EmptiesTheSystem);
}
