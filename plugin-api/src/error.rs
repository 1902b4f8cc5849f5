//! The one error type a connector returns, classified so that gallra knows what to do next.

use serde::{Deserialize, Serialize};

use crate::problems::SettingsProblem;

/// What went wrong in a connector, and therefore what gallra does about it.
///
/// Messages are read by sysadmins and land in logs: say what failed and how to fix it, name
/// the table, endpoint or setting — and **never** include an identifier, a name or any other
/// personal data. The conformance suite checks this. Do not name the configured system
/// ([`crate::OpenContext::system`]): gallra puts its name in front of every error a
/// connector gives (`system "shop": status failed: …`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConnectorError {
    /// Worth trying again later: a timeout, a refused connection, a 5xx, a 429, a lock.
    /// gallra retries with backoff. An unreachable system is always this, never "not found".
    #[error("{message}")]
    Transient {
        /// What happened, with a hint at the remedy.
        message: String,
        /// How long the system asked us to wait, if it said (e.g. `Retry-After`).
        retry_after_secs: Option<u64>,
    },
    /// Will fail the same way every time until someone changes something: bad credentials,
    /// a missing table, a 4xx that is not a rate limit. gallra does not retry it.
    #[error("{message}")]
    Permanent {
        /// What happened and what to change.
        message: String,
    },
    /// The system refused because a rule requires the data to stay: a bookkeeping law, a
    /// contact still linked to a domain. gallra records the task as retained or blocked with
    /// this reason — never as done.
    #[error("refused: {reason}")]
    Refused {
        /// The rule, in words for a privacy officer.
        reason: String,
        /// The law or agreement behind it, if any.
        legal_basis: Option<String>,
    },
    /// This connector (or this configuration of it) does not do that operation.
    #[error("operation {operation} is not supported by this connector")]
    Unsupported {
        /// The operation's name.
        operation: String,
    },
    /// The connector's settings are wrong. `key` is the dotted path inside the system's
    /// `settings` table, so gallra can point at the file, line and column.
    #[error("{message}")]
    Config {
        /// Dotted path of the offending key, e.g. `subject.identifiers.email`; empty if none.
        key: String,
        /// What is wrong and what is expected.
        message: String,
    },
    /// Several settings are wrong: what [`crate::SettingsProblems`] gives for more than one
    /// problem, so that `gallra check` shows every one at once.
    #[error("{} problems with the settings, the first at {}: {}", problems.len(),
        problems.first().map_or("", |p| p.key.as_str()),
        problems.first().map_or("", |p| p.message.as_str()))]
    Settings {
        /// Each problem, in the order found.
        problems: Vec<SettingsProblem>,
    },
}

impl ConnectorError {
    /// A transient error with this message.
    pub fn transient(message: impl Into<String>) -> Self {
        Self::Transient {
            message: message.into(),
            retry_after_secs: None,
        }
    }

    /// A permanent error with this message.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self::Permanent {
            message: message.into(),
        }
    }

    /// A settings error at `key`.
    pub fn config(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Config {
            key: key.into(),
            message: message.into(),
        }
    }

    /// Whether gallra should try the call again later.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient { .. })
    }
}
