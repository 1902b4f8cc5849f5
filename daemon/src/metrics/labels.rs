//! The only values that may become a label: names from the config, checked against the
//! config's own rule, and fixed vocabularies (outcomes, kinds, actions, operations).
//!
//! There is deliberately no way to turn an arbitrary `&str` into a label. An identifier, a
//! subject key or anything derived from them has no type that [`super::Metrics`] accepts.
//! This matters twice: personal data must never reach a metric, and prometheus-client 0.24
//! writes label values verbatim (it does not escape `"`, `\` or a line feed), so a value
//! outside this alphabet could also corrupt the exposition.

use std::fmt;
use std::sync::Arc;

use gallra_plugin_api::Call;
use prometheus_client::encoding::{EncodeLabelValue, LabelValueEncoder};

use crate::store::RequestAction;
use crate::store::{Action, RunState, TaskState};

/// A system, policy or plugin name fit for a label: `[a-z0-9_-]+`, the rule the config applies
/// to system and policy names, plus at least one letter. An email, a name with a capital or a
/// space, a phone number, an IP address or domain cannot pass; the letter rule also keeps
/// out a personnummer (`198112189876`, `811218-9876`) and a numeric customer id.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SafeName(Arc<str>);

/// The placeholder [`SafeName::lossy`] uses for a value that is not a valid name.
pub const INVALID_NAME: &str = "invalid_name";

impl SafeName {
    /// The name, if it uses only `a-z`, `0-9`, `_` and `-`, with at least one letter.
    pub fn new(name: &str) -> Result<Self, UnsafeLabel> {
        if is_safe(name) {
            Ok(Self(Arc::from(name)))
        } else {
            Err(UnsafeLabel { len: name.len() })
        }
    }

    /// The name, or [`INVALID_NAME`] if it is not one. Meant for names the config has already
    /// validated (system and policy names), where a failure would be a bug: the metric is
    /// still counted, and nothing of the rejected value is kept.
    pub fn lossy(name: &str) -> Self {
        Self::new(name).unwrap_or_else(|_| Self(Arc::from(INVALID_NAME)))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SafeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for SafeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl EncodeLabelValue for SafeName {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), fmt::Error> {
        fmt::Write::write_str(encoder, &self.0)
    }
}

/// A value refused as a label. It does not carry the value: that may be personal data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a {len}-byte value is not a valid metric label name: a name uses only a-z, 0-9, `_` and `-`, \
     with at least one letter (the value is not shown: it may be personal data)"
)]
pub struct UnsafeLabel {
    len: usize,
}

fn is_safe(name: &str) -> bool {
    name.bytes().any(|b| b.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// A plugin's version as it reports it in `describe`, fit for a label:
/// `[A-Za-z0-9._+-]`, at most 64 bytes; anything else becomes `unknown`.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct PluginVersion(Arc<str>);

impl PluginVersion {
    /// The version, or `unknown` if it uses other characters or is longer than 64 bytes.
    pub fn lossy(version: &str) -> Self {
        let ok = !version.is_empty()
            && version.len() <= 64
            && version
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'_' | b'-'));
        Self(Arc::from(if ok { version } else { "unknown" }))
    }

    /// The version.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl EncodeLabelValue for PluginVersion {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), fmt::Error> {
        fmt::Write::write_str(encoder, &self.0)
    }
}

macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The label value.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }
        }
    };
}

vocabulary!(
    /// How a policy run ended.
    RunOutcome {
        /// Enforced: every task is final.
        Done => "done",
        /// The run could not complete.
        Failed => "failed",
        /// A safety valve stopped it; it waits for `gallra approve`.
        AwaitingApproval => "awaiting_approval",
        /// Report mode: decisions recorded, nothing acted on.
        Reported => "reported",
    }
);

impl RunOutcome {
    /// The outcome a run in this state ended with; `None` for a state a run does not end in
    /// (planning, approved, enforcing) and for abandoned runs, which no run finishes with.
    pub fn from_state(state: RunState) -> Option<Self> {
        match state {
            RunState::Done => Some(Self::Done),
            RunState::Failed => Some(Self::Failed),
            RunState::AwaitingApproval => Some(Self::AwaitingApproval),
            RunState::Reported => Some(Self::Reported),
            RunState::Planning | RunState::Approved | RunState::Enforcing | RunState::Abandoned => {
                None
            }
        }
    }

    /// Whether the policy did its job: enforced, or reported in report mode.
    pub fn is_success(self) -> bool {
        matches!(self, Self::Done | Self::Reported)
    }
}

vocabulary!(
    /// How a task ended.
    TaskOutcome {
        /// Carried out.
        Done => "done",
        /// Kept on purpose, with a legal basis.
        Retained => "retained",
        /// Cannot be done yet (e.g. an active service).
        Blocked => "blocked",
        /// Gave up after retries.
        Failed => "failed",
        /// Handed to a person.
        NeedsPerson => "needs_person",
        /// Not carried out: the subject changed since the plan and is kept.
        Kept => "kept",
    }
);

impl TaskOutcome {
    /// The outcome of a task that ended in this state; `None` while pending or running.
    pub fn from_state(state: TaskState) -> Option<Self> {
        match state {
            TaskState::Done => Some(Self::Done),
            TaskState::Retained => Some(Self::Retained),
            TaskState::Blocked => Some(Self::Blocked),
            TaskState::Failed => Some(Self::Failed),
            TaskState::NeedsPerson => Some(Self::NeedsPerson),
            TaskState::Kept => Some(Self::Kept),
            TaskState::Pending | TaskState::Running => None,
        }
    }
}

vocabulary!(
    /// How one call to a connector went.
    CallOutcome {
        /// It answered.
        Ok => "ok",
        /// A transient error: retried later.
        Transient => "transient",
        /// A permanent error (also bad settings, an unsupported operation).
        Permanent => "permanent",
        /// No answer within the system's `call_timeout`.
        Timeout => "timeout",
        /// The system refused because a rule requires the data to stay. Not a failure.
        Refused => "refused",
    }
);

vocabulary!(
    /// A connector operation.
    Operation {
        /// `describe`.
        Describe => "describe",
        /// `scan`.
        Scan => "scan",
        /// `lookup`.
        Lookup => "lookup",
        /// `export`.
        Export => "export",
        /// `erase`.
        Erase => "erase",
        /// `anonymize`.
        Anonymize => "anonymize",
        /// `restrict` (and lifting a restriction).
        Restrict => "restrict",
        /// `status`.
        Status => "status",
        /// `expire`.
        Expire => "expire",
        /// `health`.
        Health => "health",
        /// A name this version does not know.
        Other => "other",
    }
);

impl Operation {
    /// The operation named `name` (as [`Call::operation`] spells it), or [`Operation::Other`].
    pub fn from_name(name: &str) -> Self {
        Self::ALL
            .iter()
            .copied()
            .find(|op| op.as_str() == name)
            .unwrap_or(Self::Other)
    }
}

impl From<&Call> for Operation {
    fn from(call: &Call) -> Self {
        Self::from_name(call.operation())
    }
}

/// What a task does, for the `action` label: a policy task's [`Action`] or a request
/// task's [`RequestAction`]. Sealed: only fixed vocabularies implement it.
pub trait TaskAction: sealed::Sealed + Copy {
    /// The label value.
    fn label(self) -> &'static str;
}

impl TaskAction for Action {
    fn label(self) -> &'static str {
        self.as_str()
    }
}

impl TaskAction for RequestAction {
    fn label(self) -> &'static str {
        self.as_str()
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::store::Action {}
    impl Sealed for crate::store::RequestAction {}
}
