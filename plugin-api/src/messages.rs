//! The values that cross between gallra and a connector: what is asked, what comes back.
//!
//! They travel as JSON inside byte buffers (see [`crate::abi`]); a connector author only sees
//! them as the arguments and results of [`crate::Connector`] methods.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::ConnectorError;
use crate::identifiers::{Identifier, IdentifierKind};
use crate::resume::ResumeToken;
use crate::still_selected::StillSelected;

/// What a connector can do, as it tells gallra in [`Description::capabilities`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// Lists every subject with its facts ([`crate::Connector::scan`]): can be the account source.
    Scan,
    /// Finds a subject's records by identifier.
    Lookup,
    /// Returns all personal data held about a subject.
    Export,
    /// Removes a subject's personal data.
    Erase,
    /// Replaces personal data with values that identify no one, keeping the records.
    Anonymize,
    /// Marks a subject's data as not to be processed (storage only).
    Restrict,
    /// Reports a subject's activity, services and balance.
    Status,
    /// Removes records of a kind whose own retention clock started before a cutoff.
    Expire,
    /// Puts back what an [`ExportResult`] of this system holds, leaving records that are
    /// already there as they are ([`crate::Connector::restore`]). gallra asks for it only of
    /// systems that declare it: a purge under a `restore_window` keeps each subject's export,
    /// encrypted, so that `gallra restore RUN` can undo a wrong purge.
    Restore,
    /// Takes [`Call::Many`]: one call for up to [`MAX_BATCH`] subjects. Never list it
    /// yourself: `plugin-api` adds it to every connector built with it (the
    /// [`crate::Connector`] trait's `*_many` methods have defaults that loop over the single
    /// calls), so gallra knows a plugin built before batches existed by its absence and sends
    /// that one single calls only.
    Batch,
}

/// The most subjects gallra puts in one [`Call::Many`].
pub const MAX_BATCH: usize = 500;

/// The operations a [`Call::Many`] can carry, each the batched form of the single call of
/// the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchOp {
    /// [`crate::Connector::lookup_many`].
    Lookup,
    /// [`crate::Connector::export_many`].
    Export,
    /// [`crate::Connector::erase_many`].
    Erase,
    /// [`crate::Connector::anonymize_many`].
    Anonymize,
    /// [`crate::Connector::status_many`].
    Status,
}

impl BatchOp {
    /// The single call's name, for logs and metrics.
    pub fn operation(self) -> &'static str {
        match self {
            BatchOp::Lookup => "lookup",
            BatchOp::Export => "export",
            BatchOp::Erase => "erase",
            BatchOp::Anonymize => "anonymize",
            BatchOp::Status => "status",
        }
    }

    /// The single call for one subject.
    pub fn single(self, subject: Subject) -> Call {
        match self {
            BatchOp::Lookup => Call::Lookup(subject),
            BatchOp::Export => Call::Export(subject),
            BatchOp::Erase => Call::Erase(subject),
            BatchOp::Anonymize => Call::Anonymize(subject),
            BatchOp::Status => Call::Status(subject),
        }
    }
}

/// A connector's answer to `describe`: who it is and what it can do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Description {
    /// The plugin's name, e.g. `sql`.
    pub name: String,
    /// The plugin's own version, e.g. `0.1.0`.
    pub version: String,
    /// The operations this configured instance supports.
    pub capabilities: Vec<Capability>,
    /// The identifier kinds this instance can resolve a subject by.
    pub identifier_kinds: Vec<IdentifierKind>,
    /// The record kinds that `expire` accepts (record-level retention), e.g. `unconverted_signups`.
    pub record_kinds: Vec<String>,
    /// Whether [`status`](crate::Connector::status) reports, for every subject this system
    /// holds dated records of, the latest of those dates as
    /// [`last_activity`](SubjectFacts::last_activity) (the last invoice, the last login), so
    /// that a `status` without one means "no dated records here". Claim
    /// [`Capability::Status`] with it (the conformance suite's `describe` rule checks it).
    ///
    /// gallra reads it in one place only: a system's `legal_hold` in `gallra.toml` is
    /// counted from the subject's `last_activity` there. When `status` gives none, a system
    /// that says `true` is taken to hold nothing the hold keeps, and the subject is erased
    /// there at once; any other system is looked up, and if it finds records a person
    /// decides.
    ///
    /// It does **not** decide whether activity here counts against inactivity: that is the
    /// sysadmin's `activity = true` on the system in `gallra.toml` (default `false`), for
    /// any system with a connector. With it, the `last_activity` this system's `status`
    /// reports counts in an inactivity policy; without it, only the `active_services` and
    /// `unpaid_invoices` it reports do (those count from every system that claims `status`).
    /// The account source's scan facts always count; there `activity` decides only whether
    /// its erase checks the activity again in its own transaction
    /// ([`Subject::still_selected`]).
    pub activity_bearing: bool,
}

/// The subject an operation is about: every identifier gallra knows for it that this system
/// may resolve. A connector uses the ones it understands and ignores the rest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Subject {
    /// The identifiers, normalized.
    pub identifiers: Vec<Identifier>,
    /// Set only on a policy run's erase in the account source: the facts that selected the
    /// subject, for a connector that can check them again in the erase's own transaction
    /// (see [`StillSelected`]). A connector that cannot may ignore it: gallra has checked
    /// them just before the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub still_selected: Option<StillSelected>,
    /// Set only when `erase` (or `anonymize`) is asked again after this connector answered
    /// [`EraseOutcome::InProgress`] with a [`ResumeToken`] for the subject: that token, as it
    /// was given, also after gallra restarted. Check the deletion it names before anything
    /// else; the identifiers may no longer find what is being deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<ResumeToken>,
}

impl Subject {
    /// A subject known by these identifiers.
    pub fn new(identifiers: Vec<Identifier>) -> Self {
        Self {
            identifiers,
            still_selected: None,
            resume: None,
        }
    }

    /// The identifiers of one kind.
    pub fn of_kind(&self, kind: IdentifierKind) -> impl Iterator<Item = &Identifier> {
        self.identifiers.iter().filter(move |i| i.kind() == kind)
    }
}

/// The facts about a subject that policies decide on.
///
/// `None` always means "not known", never "none": a policy never treats an unknown activity
/// time as inactivity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SubjectFacts {
    /// The latest activity this system knows of (login, payment, ticket reply, …).
    pub last_activity: Option<Timestamp>,
    /// When the customer relationship ended (account closed, last service terminated).
    pub relationship_ended: Option<Timestamp>,
    /// How many services are still active.
    pub active_services: Option<u64>,
    /// How many invoices are unpaid.
    pub unpaid_invoices: Option<u64>,
}

/// One subject as the account source lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectRecord {
    /// The source's stable key for the subject (its customer id). Used as the scan order and
    /// handed back as a `customer_id` identifier.
    pub key: String,
    /// Every identifier the source holds for the subject.
    pub identifiers: Vec<Identifier>,
    /// What the source knows about the subject.
    pub facts: SubjectFacts,
    /// The kinds of identifier the source holds for this subject whose stored value could
    /// not be read as one (an email with a space or a quote in it). gallra then does not
    /// trust an erase that could only reach the subject through that kind: another system
    /// may hold the same unreadable value. Empty (and left out on the wire) when every
    /// value was read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<IdentifierKind>,
}

/// Asks the account source for the next page of subjects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanRequest {
    /// Where to continue: `None` for the first page, else the previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// The most subjects to return in this page.
    pub limit: u32,
}

/// One page of subjects.
///
/// A page is empty only when it is the last. gallra treats an empty page with a cursor, or a
/// scan whose pages add up to less than `total`, as a broken read and deletes nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanPage {
    /// The subjects in this page, in key order.
    pub subjects: Vec<SubjectRecord>,
    /// The cursor for the next page; `None` when this is the last page.
    pub next_cursor: Option<String>,
    /// How many subjects the whole scan holds, when the system can say (first page at least).
    pub total: Option<u64>,
}

/// One record a lookup found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordRef {
    /// Where it is (a table, a mailbox, an audience).
    pub collection: String,
    /// Its key there.
    pub key: String,
}

/// What `lookup` found about a subject.
///
/// An account source lists at most one record per subject in each collection (its subject
/// row, one entry per child table): gallra takes two records of one collection as two
/// subjects that share the identifier asked by, and then never erases by it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct LookupResult {
    /// The subject's records. Empty means this system holds nothing about the subject.
    pub records: Vec<RecordRef>,
}

/// One field of personal data, as an export lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportField {
    /// Where it is (a table, a mailbox).
    pub collection: String,
    /// The record's key there.
    pub record: String,
    /// The field's name.
    pub field: String,
    /// The value as text; `None` for an empty field.
    pub value: Option<String>,
}

/// Everything a system holds about a subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ExportResult {
    /// The fields, grouped by record.
    pub fields: Vec<ExportField>,
}

/// What a restore did with the records of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct RestoreOutcome {
    /// Records put back by this call.
    pub restored: u64,
    /// Records that were already there and were left as they are (restoring twice puts
    /// nothing back twice).
    pub already_present: u64,
}

/// Why some data stays after an erase, and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    /// Why, in words for a privacy officer, e.g. `invoices are bookkeeping records`.
    pub reason: String,
    /// The law or agreement that requires it, e.g. `Bokföringslagen 7 kap. 2 §`.
    pub legal_basis: Option<String>,
    /// When the data may be erased, if known.
    pub until: Option<Timestamp>,
}

/// What an erase or anonymize did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum EraseOutcome {
    /// The subject's data is gone. `records` may be 0: erasing what is already gone succeeds.
    Erased {
        /// Records removed by this call.
        records: u64,
    },
    /// Personal fields were replaced; the records stay.
    Anonymized {
        /// Records changed by this call.
        records: u64,
        /// Why the records themselves stay, if a rule requires it.
        retained: Option<Retention>,
        /// The records this call kept (the subject's own rows whose personal fields were
        /// replaced), each named by a reference this connector finds again without the
        /// identifiers it just replaced: gallra keeps these, not the identifiers, while a
        /// legal hold runs, and when the hold ends calls `erase` with a [`Subject`] holding
        /// one `customer_id` identifier per reference's `key`. List a record only if `erase`
        /// (and `lookup`, which reads the erasure back) find it by that. Empty (the default,
        /// and left out on the wire) if they cannot: gallra then hands the end of the hold
        /// to a person, since nothing else could find those records again.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        kept: Vec<RecordRef>,
    },
    /// Nothing could be removed now because a rule requires the data to stay.
    Retained(Retention),
    /// The system deletes asynchronously and has not finished (e.g. a processor's compliance
    /// deletion job). gallra calls `erase` again after `check_after_secs` — so `erase` must
    /// be idempotent and answer `Erased` once the deletion is complete — and never counts
    /// this as done or as a failure.
    InProgress {
        /// What is under way, in words (no personal data).
        reason: String,
        /// When to ask again, in seconds.
        check_after_secs: u64,
        /// What the connector needs to check this deletion on the next call (the ids it
        /// waits on), handed back in [`Subject::resume`]. gallra keeps it with the task, so
        /// the deletion is followed to its end across restarts; keep nothing of the kind in
        /// memory alone. Left out on the wire when `None`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume: Option<ResumeToken>,
    },
}

/// Asks a connector to count, or remove, the records of a kind whose clock started before
/// `cutoff` (record-level retention).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpireRequest {
    /// The record kind, one of [`Description::record_kinds`].
    pub kind: String,
    /// Records whose clock started strictly before this instant are past their deadline.
    pub cutoff: Timestamp,
    /// Count only; remove nothing.
    pub dry_run: bool,
}

/// What an expire found or removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ExpireResult {
    /// Records past the cutoff.
    pub matched: u64,
    /// Records removed (0 in a dry run).
    pub removed: u64,
}

/// The host's facts about where a connector instance runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenContext {
    /// The configured system's name, e.g. `crm`. Safe to log.
    pub system: String,
    /// The configured IANA time zone, used to read dates stored without one.
    pub time_zone: String,
}

/// One call from the host to a connector instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Call {
    /// See [`crate::Connector::describe`].
    Describe,
    /// See [`crate::Connector::scan`].
    Scan(ScanRequest),
    /// See [`crate::Connector::lookup`].
    Lookup(Subject),
    /// See [`crate::Connector::export`].
    Export(Subject),
    /// See [`crate::Connector::erase`].
    Erase(Subject),
    /// See [`crate::Connector::anonymize`].
    Anonymize(Subject),
    /// See [`crate::Connector::restrict`].
    Restrict {
        /// Who.
        subject: Subject,
        /// `true` to restrict, `false` to lift the restriction.
        restricted: bool,
    },
    /// See [`crate::Connector::status`].
    Status(Subject),
    /// See [`crate::Connector::expire`].
    Expire(ExpireRequest),
    /// See [`crate::Connector::health`].
    Health,
    /// See [`crate::Connector::restore`]. Added after ABI version 1 was released without a
    /// bump: the host sends it only to a connector that declares [`Capability::Restore`],
    /// which a plugin built before it cannot do.
    Restore(ExportResult),
    /// One operation for several subjects (see [`Capability::Batch`]): answered with
    /// [`Reply::Many`], one result per subject in the same order.
    Many {
        /// The operation.
        of: BatchOp,
        /// The subjects, at most [`MAX_BATCH`].
        subjects: Vec<Subject>,
    },
}

impl Call {
    /// The operation's name, for logs and metrics.
    pub fn operation(&self) -> &'static str {
        match self {
            Call::Describe => "describe",
            Call::Scan(_) => "scan",
            Call::Lookup(_) => "lookup",
            Call::Export(_) => "export",
            Call::Erase(_) => "erase",
            Call::Anonymize(_) => "anonymize",
            Call::Restrict { .. } => "restrict",
            Call::Status(_) => "status",
            Call::Expire(_) => "expire",
            Call::Health => "health",
            Call::Restore(_) => "restore",
            Call::Many { of, .. } => of.operation(),
        }
    }
}

/// A successful answer to a [`Call`]; the variant matches the call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reply", content = "body", rename_all = "snake_case")]
pub enum Reply {
    /// Answer to `describe`.
    Description(Description),
    /// Answer to `scan`.
    ScanPage(ScanPage),
    /// Answer to `lookup`.
    Lookup(LookupResult),
    /// Answer to `export`.
    Export(ExportResult),
    /// Answer to `erase` and `anonymize`.
    Erase(EraseOutcome),
    /// Answer to `restrict` and `health`.
    Done,
    /// Answer to `status`.
    Status(SubjectFacts),
    /// Answer to `expire`.
    Expire(ExpireResult),
    /// Answer to `restore`.
    Restore(RestoreOutcome),
    /// Answer to [`Call::Many`]: each subject's own result, in the order asked, so that one
    /// subject's failure does not fail its neighbours.
    Many(Vec<CallResult>),
}

/// What travels back for every call: the reply or the connector's error.
pub type CallResult = Result<Reply, ConnectorError>;
