//! `invalid-settings-refused`: bad settings are refused, naming the key, before anything is
//! touched.

use crate::connector::{parse_settings, Connector};
use crate::error::ConnectorError;

use super::suite::Suite;
use super::{violated, ConformanceSystem};

const RULE: &str = "invalid-settings-refused";

impl<S: ConformanceSystem> Suite<'_, S> {
    /// Puts each of [`ConformanceSystem::invalid_settings`] to the connector as `gallra
    /// check` does, then checks that the subject and the bystander are still there.
    pub(super) fn invalid_settings_refused(&mut self) {
        let cases = self.system.invalid_settings();
        if cases.is_empty() {
            return;
        }
        if let Some(name) = self.not_held() {
            panic!("conformance test setup: the seeded system does not hold the {name}");
        }
        for (n, case) in cases.iter().enumerate() {
            let which = format!("invalid settings #{} (of invalid_settings())", n + 1);
            let refusal =
                match self.through_json("validate", checked::<S::Connector>(&case.settings)) {
                    Ok(()) => violated(RULE, format!("{which} were accepted")),
                    Err(e) => e,
                };
            let problems = refusal.settings_problems();
            if problems.is_empty() {
                violated(
                    RULE,
                    format!(
                        "{which} were refused with an error that names no setting: {refusal:?}; \
                         refuse with ConnectorError::config(key, message)"
                    ),
                );
            }
            if !problems.iter().any(|p| p.key == case.key) {
                let named: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
                violated(
                    RULE,
                    format!(
                        "{which} were refused naming {named:?}, not the wrong key {:?}",
                        case.key
                    ),
                );
            }
        }
        if let Some(name) = self.not_held() {
            violated(
                RULE,
                format!("after validate refused invalid settings, the system no longer holds the {name}"),
            );
        }
    }

    /// The first of the subject and the bystander that the system does not hold.
    fn not_held(&mut self) -> Option<&'static str> {
        [(self.subject, "subject"), (self.bystander, "bystander")]
            .into_iter()
            .find(|(who, _)| !self.system.holds(who))
            .map(|(_, name)| name)
    }
}

/// What `gallra check` (and, before opening, the daemon) asks of a plugin: the settings
/// parsed into the connector's own type, then [`Connector::validate`].
fn checked<C: Connector>(settings: &serde_json::Value) -> Result<(), ConnectorError> {
    let json = serde_json::to_vec(settings).expect("a JSON value serializes");
    parse_settings::<C::Settings>(&json).and_then(|settings| C::validate(&settings))
}
