//! [`SettingsProblems`]: every problem of a connector's settings at once, so that
//! `gallra check` can show them all in one go instead of one per edit.

use serde::{Deserialize, Serialize};

use crate::error::ConnectorError;

/// One problem with a connector's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsProblem {
    /// Dotted path of the offending key inside the system's `settings` table; empty if none.
    pub key: String,
    /// What is wrong and what is expected.
    pub message: String,
}

/// Collects the problems [`crate::Connector::validate`] finds, then answers them all:
///
/// ```
/// # use gallra_plugin_api::{ConnectorError, SettingsProblems};
/// # struct Settings { page_size: u32, user_email: String }
/// fn validate(settings: &Settings) -> Result<(), ConnectorError> {
///     let mut problems = SettingsProblems::new();
///     if settings.page_size == 0 {
///         problems.add("page_size", "must be at least 1");
///     }
///     if !settings.user_email.contains('@') {
///         problems.add("user_email", "must be an email address");
///     }
///     problems.into_result()
/// }
/// let both = validate(&Settings { page_size: 0, user_email: "x".into() }).unwrap_err();
/// assert_eq!(both.settings_problems().len(), 2);
/// ```
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SettingsProblems(Vec<SettingsProblem>);

impl SettingsProblems {
    /// None yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a problem at `key`.
    pub fn add(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.0.push(SettingsProblem {
            key: key.into(),
            message: message.into(),
        });
    }

    /// Records what a check of one part of the settings found: its settings problems, or
    /// another error as a problem without a key. `Ok` records nothing and gives its value,
    /// for checks that need it.
    pub fn check<T>(&mut self, result: Result<T, ConnectorError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(e) => {
                match e.settings_problems() {
                    found if found.is_empty() => self.add("", e.to_string()),
                    found => self.0.extend(found),
                }
                None
            }
        }
    }

    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok` if nothing was found; one problem as [`ConnectorError::Config`]; several as
    /// [`ConnectorError::Settings`].
    pub fn into_result(mut self) -> Result<(), ConnectorError> {
        match self.0.len() {
            0 => Ok(()),
            1 => {
                let SettingsProblem { key, message } = self.0.remove(0);
                Err(ConnectorError::Config { key, message })
            }
            _ => Err(ConnectorError::Settings { problems: self.0 }),
        }
    }
}

impl ConnectorError {
    /// The settings problems this error reports: one for [`ConnectorError::Config`], each of
    /// [`ConnectorError::Settings`], none for any other error.
    pub fn settings_problems(&self) -> Vec<SettingsProblem> {
        match self {
            Self::Config { key, message } => vec![SettingsProblem {
                key: key.clone(),
                message: message.clone(),
            }],
            Self::Settings { problems } => problems.clone(),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_kept_and_one_stays_a_config_error() {
        let mut problems = SettingsProblems::new();
        assert_eq!(problems.clone().into_result(), Ok(()));
        problems.add("a", "bad");
        assert_eq!(
            problems.clone().into_result(),
            Err(ConnectorError::config("a", "bad"))
        );
        assert_eq!(
            problems.check::<()>(Err(ConnectorError::config("b.c", "worse"))),
            None
        );
        problems.check::<()>(Err(ConnectorError::permanent("cannot read the file")));
        assert_eq!(problems.check(Ok(7)), Some(7));
        let err = problems.into_result().unwrap_err();
        let keys: Vec<String> = err.settings_problems().into_iter().map(|p| p.key).collect();
        assert_eq!(keys, ["a", "b.c", ""]);
        assert!(err.to_string().contains("3 problems"), "{err}");
    }
}
