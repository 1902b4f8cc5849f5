//! What the sysadmin writes in `gallra.toml`: parsing, validation, and error locations.
//!
//! [`load`] reads and validates the file into a [`Config`]; the daemon's `gallra check` does
//! that through [`validated_with`] and also asks each system's plugin to validate its
//! settings, without connecting to any system. Either way every problem is reported, one line each, in file order:
//!
//! ```text
//! /etc/gallra/gallra.toml:12:1: policies.inactive.idle_for: not a duration (write e.g. "6 months", …)
//! ```
//!
//! The stages: [`raw`] (serde structs mirroring the file, `deny_unknown_fields`), `parse`
//! (text to raw, one serde pass per system and policy so one typo does not hide the next),
//! `validate` (raw to [`Config`]), `locate` (key paths to `line:col`).

mod cron;
mod keep;
mod locate;
mod parse;
pub mod raw;
mod types;
mod validate;

use std::fmt;
use std::path::{Path, PathBuf};

use locate::{join, Locator};
use validate::Problem;

pub use keep::{CountFrom, FinancialYearEnd, Keep, RoundUp};
pub use types::{
    ApiConfig, Config, Confirm, CustomerIds, Handling, InactivityWarning, LegalHold, Mode,
    NotifyTarget, NotifyVia, Policy, RequestsConfig, Rule, Safety, SmtpConfig, StateBackend,
    StateStoreConfig, SystemConfig, DEFAULT_LEASE,
};
pub use validate::{DEFAULT_CALL_TIMEOUT, DEFAULT_CONCURRENCY, DEFAULT_TIME_ZONE};

/// One problem in a configuration file, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file, as the caller named it.
    pub file: PathBuf,
    /// 1-based line; 0 when the problem is the file itself (missing, unreadable).
    pub line: usize,
    /// 1-based column, in characters; 0 when `line` is.
    pub col: usize,
    /// The dotted key path, e.g. `policies.inactive.idle_for` or
    /// `systems.crm.settings.children[1].table`; empty for a TOML syntax error or the file.
    pub key: String,
    /// What is wrong and what to write instead. Never holds personal data: it names keys,
    /// systems and plugins, not values from the systems.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.file.display())?;
        if self.line > 0 {
            write!(f, "{}:{}:", self.line, self.col)?;
        }
        if !self.key.is_empty() {
            write!(f, " {}:", self.key)?;
        }
        write!(f, " {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Every problem found in a configuration file, in file order. Displays one line per
/// problem: `FILE:LINE:COL: KEY: MESSAGE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors {
    /// The problems, at least one.
    pub errors: Vec<ConfigError>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Reads and validates the configuration file at `path`. Relative directories in it are
/// resolved against the file's directory. Plugins are not consulted (see [`validated_with`]).
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    parse(&read(path)?, path)
}

/// Validates configuration `text` as if read from `path` (which names the file in errors
/// and anchors relative directories).
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigErrors> {
    validated(text, path, |_| None)
}

/// A problem another layer found in a file that validated this far: `gallra check` asks each
/// system's plugin about its settings, and reports what it says with every other problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The dotted key path the problem is at (see [`key_path`] and [`settings_key_path`]).
    pub key: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// Parses and validates, then lets `more` add problems about the systems that validated
/// (whatever else failed; with the configured plugin directory, if the top level validated),
/// so one pass reports every mistake.
pub fn validated_with(
    text: &str,
    path: &Path,
    more: impl FnOnce(&[SystemConfig], Option<&Path>) -> Vec<Finding>,
) -> Result<Config, ConfigErrors> {
    validated(text, path, |v| {
        let found = more(&v.systems, v.plugin_dir.as_deref());
        Some(
            found
                .into_iter()
                .map(|f| problem(f.key, f.message))
                .collect(),
        )
    })
}

fn validated(
    text: &str,
    path: &Path,
    more: impl FnOnce(&validate::Validated) -> Option<Vec<Problem>>,
) -> Result<Config, ConfigErrors> {
    let locator = Locator::new(text);
    let mut problems = Vec::new();
    let validated = parse::parse(text, &locator, &mut problems)
        .map(|parsed| validate::validate(parsed, path, &mut problems));
    if let Some(found) = validated.as_ref().and_then(more) {
        problems.extend(found);
    }
    match validated.and_then(|v| v.config) {
        Some(config) if problems.is_empty() => Ok(config),
        _ => Err(errors(path, &locator, problems)),
    }
}

/// The key path of `key` under `base` (`systems` + `crm` = `systems.crm`), quoted where
/// TOML needs it.
pub fn key_path(base: &str, key: &str) -> String {
    join(base, key)
}

/// The configuration file's text, or the error that says why it cannot be read.
pub fn read(path: &Path) -> Result<String, ConfigErrors> {
    std::fs::read_to_string(path).map_err(|e| ConfigErrors {
        errors: vec![ConfigError {
            file: path.to_path_buf(),
            line: 0,
            col: 0,
            key: String::new(),
            message: format!("cannot read the configuration file: {e}"),
        }],
    })
}

fn problem(key: String, message: String) -> Problem {
    Problem {
        key,
        span: None,
        message,
    }
}

/// A plugin's key (relative to its settings, e.g. `children[1].table`) as a full path.
pub fn settings_key_path(settings: &str, key: &str) -> String {
    let key = key.trim_start_matches('.');
    if key.is_empty() {
        settings.to_owned()
    } else if key.starts_with('[') {
        format!("{settings}{key}")
    } else {
        format!("{settings}.{key}")
    }
}

fn errors(path: &Path, locator: &Locator, problems: Vec<Problem>) -> ConfigErrors {
    let mut errors: Vec<ConfigError> = problems
        .into_iter()
        .map(|p| {
            let (line, col) = match &p.span {
                Some(span) => locator.position(span.start),
                None => locator.locate(&p.key),
            };
            ConfigError {
                file: path.to_path_buf(),
                line,
                col,
                key: p.key,
                message: p.message,
            }
        })
        .collect();
    if errors.is_empty() {
        errors.push(ConfigError {
            file: path.to_path_buf(),
            line: 1,
            col: 1,
            key: String::new(),
            message: "the configuration is invalid".to_owned(),
        });
    }
    errors.sort_by_key(|e| (e.line, e.col));
    ConfigErrors { errors }
}

#[cfg(test)]
mod tests {
    use super::settings_key_path;

    #[test]
    fn a_plugin_key_is_placed_under_the_systems_settings() {
        let base = "systems.crm.settings";
        assert_eq!(settings_key_path(base, ""), base);
        assert_eq!(
            settings_key_path(base, "subjects.table"),
            "systems.crm.settings.subjects.table"
        );
        assert_eq!(settings_key_path(base, "[0]"), "systems.crm.settings[0]");
    }
}
