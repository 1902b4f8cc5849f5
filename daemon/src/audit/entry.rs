//! One audit entry: what gallra writes (a [`NewEntry`]), what it reads back (an [`Entry`]),
//! and the one canonical way both become a line.

use std::collections::BTreeMap;
use std::fmt;

use gallra_plugin_api::Identifier;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::chain_key::ChainKey;

/// `prev` of the very first entry: 64 zeros.
pub const GENESIS_PREV: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Longest `detail` kept, in characters; longer text is cut and ends in `…`.
pub const MAX_DETAIL_CHARS: usize = 200;

/// Who caused an entry. Written as `policy:NAME`, `request:ID`, `operator` or `gallra`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A policy run (its configured name).
    Policy(String),
    /// A data subject's request (its number).
    Request(i64),
    /// A person at the command line or admin API (never named: that would be personal data).
    Operator,
    /// gallra itself (start, key creation, …).
    Gallra,
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Policy(name) => write!(f, "policy:{name}"),
            Self::Request(id) => write!(f, "request:{id}"),
            Self::Operator => f.write_str("operator"),
            Self::Gallra => f.write_str("gallra"),
        }
    }
}

macro_rules! words {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            /// The word written to the log.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)*
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

words! {
    /// What was done. Written as the snake_case word.
    Action {
        /// A subject's data deleted from a system.
        Erase => "erase",
        /// A subject's data anonymized in a system.
        Anonymize => "anonymize",
        /// Records past their retention removed (record-level retention).
        Expire => "expire",
        /// A subject's data exported.
        Export => "export",
        /// Processing restricted.
        Restrict => "restrict",
        /// A restriction lifted.
        Unrestrict => "unrestrict",
        /// An objection carried out.
        Object => "object",
        /// A notice sent (to the subject or a processor).
        Notify => "notify",
        /// A task done by a person and confirmed.
        Manual => "manual",
        /// A subject's data put back from a purge's restore window (`gallra restore`).
        Restore => "restore",
        /// A run stopped by a safety valve was approved.
        Approve => "approve",
        /// A policy run began.
        RunStarted => "run_started",
        /// A policy run ended.
        RunFinished => "run_finished",
        /// A subject's request arrived.
        RequestReceived => "request_received",
        /// A subject's request was completed.
        RequestFinished => "request_finished",
        /// A subject's request was cancelled.
        RequestCancelled => "request_cancelled",
        /// A person accepted an audit log that no longer matched its head
        /// (`gallra audit accept`): a new chain segment starts here.
        AuditAccepted => "audit_accepted",
    }
}

words! {
    /// How it went. Written as the snake_case word.
    Outcome {
        /// Carried out.
        Done => "done",
        /// Kept on purpose (a legal hold, an active service, an unpaid invoice).
        Retained => "retained",
        /// Waiting on something outside gallra.
        Blocked => "blocked",
        /// Tried and failed.
        Failed => "failed",
        /// Handed to a person.
        NeedsPerson => "needs_person",
        /// Cancelled before it was carried out.
        Cancelled => "cancelled",
        /// Begun (a run or request).
        Started => "started",
        /// Planned and recorded only (`mode = "report"`).
        Reported => "reported",
        /// Stopped by a safety valve; waits for approval.
        Stopped => "stopped",
        /// An unanswered notice sent again.
        Reminded => "reminded",
        /// An unanswered notice handed to a person to chase.
        Escalated => "escalated",
    }
}

/// An entry to append. `seq`, `prev` and `mac` are the log's business; `time` is now unless
/// set with [`NewEntry::at`].
///
/// **Never put personal data in `system`, `counts` keys or `detail`**: the log keeps them
/// for as long as it exists. The subject goes in only through [`NewEntry::subject`], which
/// the log turns into keyed hashes; names, emails and free text from a person stay out.
#[derive(Debug, Clone)]
pub struct NewEntry {
    /// Who caused it.
    pub actor: Actor,
    /// What was done.
    pub action: Action,
    /// How it went.
    pub outcome: Outcome,
    /// The configured system it was done in, if one.
    pub system: Option<String>,
    /// Small numbers (rows deleted, subjects selected, …), by name.
    pub counts: BTreeMap<String, u64>,
    /// The subject's identifiers; the log writes only their HMACs. `Debug` redacts them.
    pub identifiers: Vec<Identifier>,
    /// A short reason or error code. No personal data.
    pub detail: Option<String>,
    /// When it happened; `None` is the time it is appended.
    pub time: Option<Timestamp>,
}

impl NewEntry {
    /// An entry with no system, counts, subject or detail.
    pub fn new(actor: Actor, action: Action, outcome: Outcome) -> Self {
        Self {
            actor,
            action,
            outcome,
            system: None,
            counts: BTreeMap::new(),
            identifiers: Vec::new(),
            detail: None,
            time: None,
        }
    }

    /// In this configured system.
    pub fn system(mut self, system: impl Into<String>) -> Self {
        self.system = Some(system.into());
        self
    }

    /// Adds (or replaces) one count.
    pub fn count(mut self, name: impl Into<String>, value: u64) -> Self {
        self.counts.insert(name.into(), value);
        self
    }

    /// About the subject known by these identifiers (written as one HMAC per identifier, so
    /// that any one of them finds the entry later).
    pub fn subject(mut self, identifiers: &[Identifier]) -> Self {
        self.identifiers.extend_from_slice(identifiers);
        self
    }

    /// A short reason or error code. No personal data; cut at [`MAX_DETAIL_CHARS`].
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// At this time instead of now.
    pub fn at(mut self, time: Timestamp) -> Self {
        self.time = Some(time);
        self
    }
}

/// An entry as read back from the log. Field order here is the canonical order on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Position in its node's chain, from 1, across files.
    pub seq: u64,
    /// The node whose chain it is in (absent: the chain from before nodes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// When, written in UTC with milliseconds (`2025-03-01T03:00:02.113Z`).
    #[serde(with = "utc_millis")]
    pub time: Timestamp,
    /// Who caused it (`policy:NAME`, `request:ID`, `operator`, `gallra`).
    pub actor: String,
    /// The system it was done in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// What was done ([`Action`]'s words).
    pub action: String,
    /// How it went ([`Outcome`]'s words).
    pub outcome: String,
    /// Small numbers by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub counts: BTreeMap<String, u64>,
    /// The subject: hex HMAC-SHA256 of each identifier, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subject: Vec<String>,
    /// A short reason or error code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Hex SHA-256 of the previous line's bytes (without its newline); 64 zeros for the first.
    pub prev: String,
    /// Entries written before gallra sealed them with the audit key: hex SHA-256 of this
    /// entry's canonical form without `hash`. Anyone can recompute it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// Hex HMAC-SHA256 of this entry's canonical form without `mac`, under the chain key
    /// derived from the audit key: only a holder of the key can write a line that checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
}

/// The entry without its seal (`hash` or `mac`), borrowed: what the seal is computed over.
#[derive(Serialize)]
struct Body<'a> {
    seq: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    node: Option<&'a str>,
    #[serde(with = "utc_millis")]
    time: Timestamp,
    actor: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    system: Option<&'a str>,
    action: &'a str,
    outcome: &'a str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    counts: &'a BTreeMap<String, u64>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    subject: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
    prev: &'a str,
}

impl Entry {
    /// The canonical JSON of everything but the seal (compact, fields in declaration order).
    fn body_json(&self) -> String {
        let body = Body {
            seq: self.seq,
            node: self.node.as_deref(),
            time: self.time,
            actor: &self.actor,
            system: self.system.as_deref(),
            action: &self.action,
            outcome: &self.outcome,
            counts: &self.counts,
            subject: &self.subject,
            detail: self.detail.as_deref(),
            prev: &self.prev,
        };
        // Serializing strings, integers and a timestamp into a String cannot fail.
        serde_json::to_string(&body).unwrap_or_default()
    }

    /// The bare SHA-256 `hash` this entry's content calls for (the format before `mac`).
    pub fn content_hash(&self) -> String {
        sha256_hex(self.body_json().as_bytes())
    }

    /// The `mac` this entry's content calls for under `key`.
    pub fn content_mac(&self, key: &ChainKey) -> String {
        key.entry_mac(self.body_json().as_bytes())
    }

    /// Seals the entry with `key`: sets `mac`, clears `hash`.
    pub fn seal(&mut self, key: &ChainKey) {
        self.hash = None;
        self.mac = Some(self.content_mac(key));
    }

    /// The one line (without newline) gallra writes for this entry, with its stored seal.
    pub fn canonical_line(&self) -> String {
        let mut line = self.body_json();
        line.pop(); // the closing brace
        for (name, value) in [("hash", &self.hash), ("mac", &self.mac)] {
            if let Some(value) = value {
                line.push_str(",\"");
                line.push_str(name);
                line.push_str("\":\"");
                line.push_str(value);
                line.push('"');
            }
        }
        line.push('}');
        line
    }
}

/// Hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Cuts `detail` to [`MAX_DETAIL_CHARS`] characters.
pub(crate) fn clip_detail(detail: &str) -> String {
    match detail.char_indices().nth(MAX_DETAIL_CHARS) {
        None => detail.to_owned(),
        Some((end, _)) => format!("{}…", &detail[..end]),
    }
}

/// The one spelling of a time on disk, fixed here rather than left to jiff's `Display`, so
/// that the canonical form of lines already written never changes with a library upgrade.
mod utc_millis {
    use jiff::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(time: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&time.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}
