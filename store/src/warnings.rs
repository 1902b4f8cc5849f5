//! Warnings sent to subjects before an inactivity policy deletes them (`warn_before`).
//!
//! A warning is recorded only after the relay accepted the email, so a crash in between
//! sends it again rather than never: nobody is deleted on the strength of a warning that
//! did not go out. One warning *stands* per policy and subject until it is cleared: the
//! subject was active again, was erased, or was warned anew. Cleared warnings are kept, as
//! the record of who was told what and when; they hold the subject's key, never an address.
//!
//! While a run waits to send its warnings, the decisions of the subjects due one hold their
//! email address (and nothing else: the daemon records them so); [`crate::Store::forget_identifiers`]
//! drops it with the rest of the run's identifiers.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;

use super::{Result, RunId, UnknownName};

/// Why a warning stopped standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClearWhy {
    /// The subject was active after it, or is no longer near deletion (the policy changed).
    Active,
    /// Every task of the run that selected the subject erased it.
    Erased,
    /// A newer warning replaced it.
    Superseded,
}

impl ClearWhy {
    /// Every value, in declaration order.
    pub const ALL: [ClearWhy; 3] = [ClearWhy::Active, ClearWhy::Erased, ClearWhy::Superseded];

    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            ClearWhy::Active => "active",
            ClearWhy::Erased => "erased",
            ClearWhy::Superseded => "superseded",
        }
    }
}

impl FromStr for ClearWhy {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, UnknownName> {
        ClearWhy::ALL
            .into_iter()
            .find(|w| w.as_str() == s)
            .ok_or_else(|| UnknownName {
                of: "ClearWhy",
                name: s.to_owned(),
            })
    }
}

impl fmt::Display for ClearWhy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One warning as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarningRecord {
    /// The policy that sent it.
    pub policy: String,
    /// The subject's key in the account source.
    pub subject_key: String,
    /// The run that sent it.
    pub run: RunId,
    /// When the relay accepted the email.
    pub warned_at: Timestamp,
    /// The instant from which the subject may be deleted; the notice gave its date.
    pub delete_on: Timestamp,
    /// When it stopped standing, if it has.
    pub cleared_at: Option<Timestamp>,
    /// Why it stopped standing.
    pub cleared_why: Option<ClearWhy>,
}

/// The warnings half of the state store. Every method is one atomic step.
pub trait WarningStore: Send + Sync {
    /// When each of `keys` that has a standing warning from `policy` was warned.
    fn standing_warnings(&self, policy: &str, keys: &[&str])
        -> Result<BTreeMap<String, Timestamp>>;

    /// Clears the standing warnings of `policy` for `keys`, in one transaction. Returns how
    /// many there were.
    fn clear_warnings(
        &self,
        policy: &str,
        keys: &[&str],
        why: ClearWhy,
        now: Timestamp,
    ) -> Result<u64>;

    /// Records a warning the relay accepted, in one transaction: it stands from now
    /// (superseding any standing one), and the subject's decision in `run` becomes `warned`.
    fn record_warning(
        &self,
        policy: &str,
        run: RunId,
        subject_key: &str,
        warned_at: Timestamp,
        delete_on: Timestamp,
    ) -> Result<()>;

    /// Clears, as erased, the standing warnings of `policy` for subjects whose every task in
    /// `run` is done. Returns how many.
    fn clear_erased_warnings(&self, policy: &str, run: RunId, now: Timestamp) -> Result<u64>;
}
