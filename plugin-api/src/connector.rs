//! The [`Connector`] trait: the safe Rust a plugin author writes.

use serde::de::DeserializeOwned;

use crate::error::ConnectorError;
use crate::messages::{
    Call, Description, EraseOutcome, ExpireRequest, ExpireResult, ExportResult, LookupResult,
    OpenContext, Reply, RestoreOutcome, ScanPage, ScanRequest, Subject, SubjectFacts,
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
    /// system. `gallra check` calls this. Report problems with [`ConnectorError::config`].
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

    /// Checks that the system is reachable and the credentials work.
    fn health(&self) -> Result<(), ConnectorError> {
        Ok(())
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
        Call::Describe => Reply::Description(connector.describe()),
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
    })
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
