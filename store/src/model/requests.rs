//! What a data subject's request is, as gallra records it: the request, and one task per
//! system it reaches.

use std::fmt;
use std::str::FromStr;

use gallra_plugin_api::{Identifier, RecordRef, ResumeToken};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::runs::TaskState;

/// A request's number in the state store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RequestId(pub i64);

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A request task's number in the state store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RequestTaskId(pub i64);

impl fmt::Display for RequestTaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The stored and displayed name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }
        }

        impl FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, String> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| format!("unknown {}: {s}", stringify!($name)))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(
    /// What the subject asks for.
    RequestKind {
        /// Erasure (GDPR Art. 17): removed from every system, or kept where a law requires.
        Erase => "erase",
        /// Access and portability (Art. 15, 20): a copy of all their data.
        Export => "export",
        /// Restriction (Art. 18): storage only while accuracy is checked.
        Restrict => "restrict",
        /// Lifting a restriction.
        Unrestrict => "unrestrict",
        /// Objection to marketing (Art. 21): marketing stops.
        Object => "object",
    }
);

text_enum!(
    /// Where a request stands.
    RequestState {
        /// Tasks are pending or running.
        Open => "open",
        /// A precondition holds it (active services, an unpaid invoice); re-checked on schedule.
        Blocked => "blocked",
        /// Every task is final; the data is gone, kept with a legal basis, or delivered.
        Done => "done",
        /// A task failed permanently; a person must look.
        Failed => "failed",
        /// A person cancelled it.
        Cancelled => "cancelled",
    }
);

text_enum!(
    /// What a request task does in its system.
    RequestAction {
        /// Remove the subject's data.
        Erase => "erase",
        /// Replace the subject's personal data (during a legal hold).
        Anonymize => "anonymize",
        /// Read all the subject's data for the export.
        Export => "export",
        /// Mark the subject's data as restricted.
        Restrict => "restrict",
        /// Lift a restriction.
        Unrestrict => "unrestrict",
        /// Tell a processor without an API (SMTP or webhook).
        Notify => "notify",
        /// A person acts and confirms with `gallra task done`.
        Manual => "manual",
    }
);

/// A request as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    /// Its number.
    pub id: RequestId,
    /// What is asked.
    pub kind: RequestKind,
    /// Where it stands.
    pub state: RequestState,
    /// When it was received.
    pub received_at: Timestamp,
    /// When it must be done by.
    pub due_at: Timestamp,
    /// When it became final.
    pub completed_at: Option<Timestamp>,
    /// Who it is about; emptied once the request is final (personal data is kept only while
    /// needed).
    pub identifiers: Vec<Identifier>,
    /// Why it is blocked, failed or cancelled; never personal data.
    pub detail: Option<String>,
    /// The recorded reason for a deadline beyond one month, if any.
    pub extension: Option<String>,
    /// Who filed it when no subject did: the policy run that selected the subject (e.g.
    /// "policy inactive, run 12"). `None` for a subject's own request.
    pub origin: Option<String>,
}

/// A task to create with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRequestTask {
    /// The system.
    pub system: String,
    /// What to do there.
    pub action: RequestAction,
    /// Lower runs first; the account source goes last.
    pub order: u32,
}

/// One task of a request, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestTask {
    /// Its number.
    pub id: RequestTaskId,
    /// Its request.
    pub request: RequestId,
    /// The system.
    pub system: String,
    /// What it does there.
    pub action: RequestAction,
    /// Its order within the request.
    pub order: u32,
    /// Where it stands. `Retained` with `not_before` set is a legal hold that ends then.
    pub state: TaskState,
    /// Calls made so far.
    pub attempts: u32,
    /// Not to be tried before this instant (backoff, re-check, or the end of a legal hold).
    pub not_before: Option<Timestamp>,
    /// Data kept until this instant under `legal_basis`.
    pub retained_until: Option<Timestamp>,
    /// The law that keeps the data.
    pub legal_basis: Option<String>,
    /// What happened, for the receipt; never personal data.
    pub detail: Option<String>,
    /// Set once the task anonymized its subject under a legal hold: the records that
    /// anonymization kept, as the connector named them (empty if it could not). The erase
    /// at the hold's end finds them by these, not by the request's identifiers, which are
    /// then no longer kept.
    pub kept: Option<Vec<RecordRef>>,
    /// What the connector needs to check a deletion it has under way, handed back on the next
    /// erase; kept until the task is final (see [`TaskUpdate::resume`]).
    pub resume: Option<ResumeToken>,
    /// Last change.
    pub updated_at: Timestamp,
    /// When it reached its final state (done, retained, failed), on gallra's clock at that
    /// moment; `None` while it is not final.
    pub finished_at: Option<Timestamp>,
}

/// A change to a request task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskUpdate {
    /// The task.
    pub task: RequestTaskId,
    /// Its new state.
    pub state: TaskState,
    /// Whether this update records a call (attempts + 1).
    pub attempted: bool,
    /// Not before this instant (None clears it).
    pub not_before: Option<Timestamp>,
    /// Kept until (None keeps the stored value).
    pub retained_until: Option<Timestamp>,
    /// The law (None keeps the stored value).
    pub legal_basis: Option<String>,
    /// What happened (None keeps the stored value).
    pub detail: Option<String>,
    /// The records kept under a legal hold (None keeps the stored value).
    pub kept: Option<Vec<RecordRef>>,
    /// A connector's new resume token (None keeps the stored one). Whatever this says, a
    /// task that becomes done, retained, failed or kept forgets its token: the deletion it
    /// followed is over or no longer gallra's to follow.
    pub resume: Option<ResumeToken>,
}
