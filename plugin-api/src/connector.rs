//! The [`Connector`] trait: the safe Rust a plugin author writes.

use serde::de::DeserializeOwned;

use crate::error::ConnectorError;
use crate::messages::{
    BatchOp, Call, CallResult, Capability, Description, EraseOutcome, ExpireRequest, ExpireResult,
    ExportResult, LookupResult, OpenContext, Reply, RestoreOutcome, ScanPage, ScanRequest, Subject,
    SubjectFacts,
};

/// A connection to one system that holds personal data.
///
/// Implement it, then export it with [`crate::export_connector!`]. gallra calls the methods
/// from a pool of blocking threads, possibly several at once (up to the system's configured
/// concurrency), with a timeout per call — so use blocking clients, never spawn a tokio
/// runtime's tasks, and keep every method idempotent: erasing what is already gone is
/// success.
///
/// Every method but [`describe`](Connector::describe) has a default that answers
/// [`ConnectorError::Unsupported`]; implement the ones your system can do and list them in
/// [`Description::capabilities`].
pub trait Connector: Send + Sync + Sized + 'static {
    /// The connector's settings, as written in the system's `settings` table of
    /// `gallra.toml`. Use `#[serde(deny_unknown_fields)]` so typos are caught by `gallra check`.
    type Settings: DeserializeOwned;

    /// Checks settings beyond what serde can (ranges, cross-references), without touching the
    /// system. `gallra check` calls this and shows every problem at once, each at its key, so
    /// report them all rather than stopping at the first: collect them in a
    /// [`SettingsProblems`](crate::SettingsProblems), whose `check` also takes in what a
    /// nested check such as `http::HttpSettings::validate` finds, and answer its
    /// `into_result()`. Skip a check that needs an earlier one to have passed (a URL's host
    /// when the URL does not parse) rather than reporting nonsense.
    fn validate(_settings: &Self::Settings) -> Result<(), ConnectorError> {
        Ok(())
    }

    /// Opens the connector: read secrets, build clients. May connect, but a system that is
    /// down must give [`ConnectorError::Transient`].
    fn open(settings: Self::Settings, context: OpenContext) -> Result<Self, ConnectorError>;

    /// Who this connector is and what this instance can do.
    fn describe(&self) -> Description;

    /// Lists subjects page by page, in a stable key order (account source only).
    fn scan(&self, _request: ScanRequest) -> Result<ScanPage, ConnectorError> {
        Err(unsupported("scan"))
    }

    /// Finds the subject's records.
    fn lookup(&self, _subject: &Subject) -> Result<LookupResult, ConnectorError> {
        Err(unsupported("lookup"))
    }

    /// Returns every field of personal data held about the subject.
    fn export(&self, _subject: &Subject) -> Result<ExportResult, ConnectorError> {
        Err(unsupported("export"))
    }

    /// Removes the subject's personal data, or reports why it must stay.
    fn erase(&self, _subject: &Subject) -> Result<EraseOutcome, ConnectorError> {
        Err(unsupported("erase"))
    }

    /// Replaces the subject's personal data with values that identify no one.
    fn anonymize(&self, _subject: &Subject) -> Result<EraseOutcome, ConnectorError> {
        Err(unsupported("anonymize"))
    }

    /// Restricts (or, with `false`, lifts the restriction on) processing of the subject's data.
    fn restrict(&self, _subject: &Subject, _restricted: bool) -> Result<(), ConnectorError> {
        Err(unsupported("restrict"))
    }

    /// Reports what this system knows of the subject's activity, services and balance.
    fn status(&self, _subject: &Subject) -> Result<SubjectFacts, ConnectorError> {
        Err(unsupported("status"))
    }

    /// Counts, or removes, records of a kind past their retention cutoff.
    fn expire(&self, _request: &ExpireRequest) -> Result<ExpireResult, ConnectorError> {
        Err(unsupported("expire"))
    }

    /// Puts back the records of `data`, an export this connector made of a subject (every
    /// field of each record it holds, as [`export`](Connector::export) gave them), in one
    /// transaction where the system has them. A record that is already there is left exactly
    /// as it is and counted in [`RestoreOutcome::already_present`], so restoring twice puts
    /// nothing back twice. Declare [`crate::Capability::Restore`] only if the export holds
    /// everything needed to re-create the records.
    fn restore(&self, _data: &ExportResult) -> Result<RestoreOutcome, ConnectorError> {
        Err(unsupported("restore"))
    }

    /// Checks that the system is reachable and the credentials work: make the cheapest
    /// authenticated request there is (`SELECT 1`, `GET /me`, an EPP `hello`) and answer its
    /// error, [`ConnectorError::Transient`] when the system cannot be reached. `gallra check`
    /// asks it of every system and prints `answers` only for an `Ok`.
    ///
    /// Implement it in every connector. The default answers
    /// [`ConnectorError::Unsupported`], never `Ok`: an `Ok` that asked nothing would tell a
    /// sysadmin that a system whose data gallra deletes is reachable with working
    /// credentials when nobody looked, and a daemon that deletes data must not be told
    /// "fine" by code that did not check. The conformance suite holds every connector to it
    /// (rule `unreachable-is-transient`): pointed at a system that is down, `health` must
    /// fail with [`ConnectorError::Transient`], so a connector that opens without
    /// connecting fails the suite until it implements `health`.
    fn health(&self) -> Result<(), ConnectorError> {
        Err(unsupported("health"))
    }

    /// [`lookup`](Connector::lookup) for several subjects: one result per subject, in order.
    ///
    /// Every `*_many` method has a default that calls the single method once per subject,
    /// so a connector works without them. Override one where the system can do the work for
    /// many subjects at once for less (one query per table instead of one per subject, one
    /// transaction): a purge hands each system batches of up to [`crate::MAX_BATCH`]
    /// subjects. An override must answer each subject exactly as the single call would (the
    /// conformance suite checks it) and must not let one subject's failure fail the others:
    /// give that subject its error and the others their results.
    fn lookup_many(&self, subjects: &[Subject]) -> Vec<Result<LookupResult, ConnectorError>> {
        subjects.iter().map(|s| self.lookup(s)).collect()
    }

    /// [`export`](Connector::export) for several subjects (see
    /// [`lookup_many`](Connector::lookup_many)).
    fn export_many(&self, subjects: &[Subject]) -> Vec<Result<ExportResult, ConnectorError>> {
        subjects.iter().map(|s| self.export(s)).collect()
    }

    /// [`erase`](Connector::erase) for several subjects (see
    /// [`lookup_many`](Connector::lookup_many)). An override may run them in one
    /// transaction, but a subject's answer must still be true once the call returns: do not
    /// answer `Erased` for a subject whose deletion a later failure rolled back.
    fn erase_many(&self, subjects: &[Subject]) -> Vec<Result<EraseOutcome, ConnectorError>> {
        subjects.iter().map(|s| self.erase(s)).collect()
    }

    /// [`anonymize`](Connector::anonymize) for several subjects (see
    /// [`erase_many`](Connector::erase_many)).
    fn anonymize_many(&self, subjects: &[Subject]) -> Vec<Result<EraseOutcome, ConnectorError>> {
        subjects.iter().map(|s| self.anonymize(s)).collect()
    }

    /// [`status`](Connector::status) for several subjects (see
    /// [`lookup_many`](Connector::lookup_many)).
    fn status_many(&self, subjects: &[Subject]) -> Vec<Result<SubjectFacts, ConnectorError>> {
        subjects.iter().map(|s| self.status(s)).collect()
    }
}

fn unsupported(operation: &str) -> ConnectorError {
    ConnectorError::Unsupported {
        operation: operation.to_owned(),
    }
}

/// Routes one [`Call`] to the matching method. The export macro and in-process tests use it,
/// so a connector behaves the same whether it is called through the ABI or directly.
pub fn dispatch<C: Connector>(connector: &C, call: Call) -> Result<Reply, ConnectorError> {
    Ok(match call {
        Call::Describe => {
            let mut description = connector.describe();
            // Every connector built with this crate takes batches (see Capability::Batch).
            if !description.capabilities.contains(&Capability::Batch) {
                description.capabilities.push(Capability::Batch);
            }
            Reply::Description(description)
        }
        Call::Scan(request) => Reply::ScanPage(connector.scan(request)?),
        Call::Lookup(subject) => Reply::Lookup(connector.lookup(&subject)?),
        Call::Export(subject) => Reply::Export(connector.export(&subject)?),
        Call::Erase(subject) => Reply::Erase(connector.erase(&subject)?),
        Call::Anonymize(subject) => Reply::Erase(connector.anonymize(&subject)?),
        Call::Restrict {
            subject,
            restricted,
        } => {
            connector.restrict(&subject, restricted)?;
            Reply::Done
        }
        Call::Status(subject) => Reply::Status(connector.status(&subject)?),
        Call::Expire(request) => Reply::Expire(connector.expire(&request)?),
        Call::Health => {
            connector.health()?;
            Reply::Done
        }
        Call::Restore(data) => Reply::Restore(connector.restore(&data)?),
        Call::Many { of, subjects } => Reply::Many(many(connector, of, &subjects)?),
    })
}

/// Runs a [`Call::Many`]: the connector's `*_many` method, each answer wrapped as its single
/// call's reply. An answer of the wrong length would pair subjects with other subjects'
/// results, so it fails the whole call.
fn many<C: Connector>(
    connector: &C,
    of: BatchOp,
    subjects: &[Subject],
) -> Result<Vec<CallResult>, ConnectorError> {
    fn wrap<T>(results: Vec<Result<T, ConnectorError>>, reply: fn(T) -> Reply) -> Vec<CallResult> {
        results.into_iter().map(|r| r.map(reply)).collect()
    }
    let results = match of {
        BatchOp::Lookup => wrap(connector.lookup_many(subjects), Reply::Lookup),
        BatchOp::Export => wrap(connector.export_many(subjects), Reply::Export),
        BatchOp::Erase => wrap(connector.erase_many(subjects), Reply::Erase),
        BatchOp::Anonymize => wrap(connector.anonymize_many(subjects), Reply::Erase),
        BatchOp::Status => wrap(connector.status_many(subjects), Reply::Status),
    };
    if results.len() != subjects.len() {
        return Err(ConnectorError::permanent(format!(
            "{}_many answered {} results for {} subjects (a connector bug)",
            of.operation(),
            results.len(),
            subjects.len()
        )));
    }
    Ok(results)
}

/// Parses settings from JSON with the path of the offending key in the error, so that gallra
/// can point at the line in `gallra.toml`.
pub fn parse_settings<S: DeserializeOwned>(json: &[u8]) -> Result<S, ConnectorError> {
    let mut de = serde_json::Deserializer::from_slice(json);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let key = e.path().to_string();
        let key = if key == "." { String::new() } else { key };
        // serde_json appends "at line 1 column N" of the JSON it was handed, which means
        // nothing to someone editing TOML; the key path says where instead.
        let message = e.into_inner().to_string();
        let message = match message.rsplit_once(" at line ") {
            Some((head, _)) => head.to_owned(),
            None => message,
        };
        ConnectorError::config(key, message)
    })
}
