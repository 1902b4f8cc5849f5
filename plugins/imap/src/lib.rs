//! # gallra-plugin-imap
//!
//! The gallra connector for mail kept on an IMAP server (Dovecot, Cyrus, Exchange, …): it
//! finds the messages from or to a person in the configured mailboxes, exports their
//! headers, and removes exactly those messages. Settings: [`config::Settings`].
//!
//! - `lookup` and `export` search each mailbox (`UID SEARCH FROM/TO/CC/BCC`), then fetch
//!   the candidates' envelopes and keep only messages where one address *equals* the
//!   subject's email: IMAP searches substrings, and `anna@example.se` must not find
//!   `joanna@example.se`. A record is one message: collection = mailbox, key = UID.
//! - `erase` marks exactly those UIDs `\Deleted` and removes them with `UID EXPUNGE`
//!   (UIDPLUS, RFC 4315), then checks they are gone. It never sends a plain `EXPUNGE`,
//!   which would also remove every message someone else had marked deleted; a server
//!   without UIDPLUS gets a permanent error instead. Erasing what is gone is
//!   `Erased { records: 0 }`.
//! - `expire` counts or removes the messages of a record kind whose internal date (or
//!   `Date:` header) is before the cutoff.
//!
//! Identifiers only reach the server quoted (or as literals), so an address holding `"`
//! or `\` cannot change a command; CR and LF are refused. Errors name the system, the
//! server and the mailbox, never an address or anything from a message.
//!
//! Watch out: a mailbox missing on the server is a permanent error, not "nothing found",
//! so a misspelt `mailboxes` entry cannot make gallra report a person as erased.

#![forbid(unsafe_code)]

mod client;
pub mod config;
mod error;
mod header;
mod mailbox;
mod mutf7;
mod query;

use gallra_plugin_api::{
    Capability, Connector, ConnectorError, Description, EraseOutcome, ExpireRequest, ExpireResult,
    ExportField, ExportResult, IdentifierKind, LookupResult, OpenContext, RecordRef, Subject,
};

use crate::client::{Endpoint, Pool};
use crate::config::Settings;
use crate::error::ImapError;
use crate::header::{Address, Message};

/// One configured IMAP account.
pub struct ImapConnector {
    system: String,
    settings: Settings,
    pool: Pool,
}

impl Connector for ImapConnector {
    type Settings = Settings;

    fn validate(settings: &Settings) -> Result<(), ConnectorError> {
        settings.validate()
    }

    fn open(settings: Settings, context: OpenContext) -> Result<Self, ConnectorError> {
        let pool = Pool::new(Endpoint::new(&settings)?);
        Ok(Self {
            system: context.system,
            settings,
            pool,
        })
    }

    fn describe(&self) -> Description {
        let mut capabilities = vec![Capability::Lookup, Capability::Export, Capability::Erase];
        if !self.settings.record_kinds.is_empty() {
            capabilities.push(Capability::Expire);
        }
        Description {
            name: "imap".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            capabilities,
            identifier_kinds: vec![IdentifierKind::Email],
            record_kinds: self.settings.record_kinds.keys().cloned().collect(),
            activity_bearing: false,
        }
    }

    fn lookup(&self, subject: &Subject) -> Result<LookupResult, ConnectorError> {
        let records = self.each_mailbox("lookup", subject, false, |_, mailbox, messages| {
            Ok(messages
                .into_iter()
                .map(|m| RecordRef {
                    collection: mailbox.to_owned(),
                    key: m.uid.to_string(),
                })
                .collect())
        })?;
        Ok(LookupResult { records })
    }

    fn export(&self, subject: &Subject) -> Result<ExportResult, ConnectorError> {
        let fields = self.each_mailbox("export", subject, false, |_, mailbox, messages| {
            Ok(messages
                .iter()
                .flat_map(|m| export_fields(mailbox, m))
                .collect())
        })?;
        Ok(ExportResult { fields })
    }

    fn erase(&self, subject: &Subject) -> Result<EraseOutcome, ConnectorError> {
        let removed = self.each_mailbox("erase", subject, true, |conn, mailbox, messages| {
            let uids: Vec<u32> = messages.iter().map(|m| m.uid).collect();
            let removed = mailbox::remove(conn, mailbox, &uids)?;
            if removed > 0 {
                tracing::info!(system = %self.system, mailbox, removed, "messages removed");
            }
            Ok(vec![removed])
        })?;
        Ok(EraseOutcome::Erased {
            records: removed.into_iter().sum(),
        })
    }

    fn expire(&self, request: &ExpireRequest) -> Result<ExpireResult, ConnectorError> {
        let Some(kind) = self.settings.record_kinds.get(&request.kind) else {
            return Err(ConnectorError::permanent(format!(
                "no record kind {:?} in its settings (record_kinds)",
                request.kind
            )));
        };
        let mailboxes = self.settings.kind_mailboxes(kind);
        let write = !request.dry_run;
        let mut unreadable = 0;
        let result = self.pool.with(|conn| {
            if write && !conn.uidplus {
                return Err(ImapError::NoUidPlus);
            }
            let mut result = ExpireResult::default();
            unreadable = 0;
            for mailbox in mailboxes {
                mailbox::open(conn, mailbox, write)?;
                let (uids, skipped) = mailbox::older_than(conn, kind.clock, request.cutoff)?;
                unreadable += skipped;
                result.matched += uids.len() as u64;
                if write {
                    result.removed += mailbox::remove(conn, mailbox, &uids)?;
                }
            }
            Ok(result)
        });
        if unreadable > 0 {
            tracing::warn!(
                system = %self.system,
                kind = %request.kind,
                count = unreadable,
                "messages whose date could not be read were kept"
            );
        }
        result.map_err(|e| self.failed("expire", e))
    }

    fn health(&self) -> Result<(), ConnectorError> {
        self.pool
            .with(|conn| {
                conn.session
                    .noop()
                    .map_err(|e| ImapError::from_imap("NOOP", true, e))
            })
            .map_err(|e| self.failed("health check", e))
    }
}

impl ImapConnector {
    /// Opens each configured mailbox (for changes when `write`), finds the subject's
    /// messages there and hands them to `work`; collects what `work` returns.
    fn each_mailbox<T>(
        &self,
        operation: &str,
        subject: &Subject,
        write: bool,
        mut work: impl FnMut(&mut client::Conn, &str, Vec<Message>) -> Result<Vec<T>, ImapError>,
    ) -> Result<Vec<T>, ConnectorError> {
        let mut emails: Vec<String> = subject
            .of_kind(IdentifierKind::Email)
            .map(|e| e.value().to_lowercase())
            .collect();
        emails.sort();
        emails.dedup();
        if emails.is_empty() {
            return Ok(Vec::new());
        }
        self.pool
            .with(|conn| {
                if write && !conn.uidplus {
                    return Err(ImapError::NoUidPlus);
                }
                let mut out = Vec::new();
                for mailbox in &self.settings.mailboxes {
                    mailbox::open(conn, mailbox, write)?;
                    let messages = mailbox::involving(conn, &emails)?;
                    out.extend(work(conn, mailbox, messages)?);
                }
                Ok(out)
            })
            .map_err(|e| self.failed(operation, e))
    }

    fn failed(&self, operation: &str, error: ImapError) -> ConnectorError {
        let operation = format!("{operation} on {}", self.pool.address());
        error.into_connector_error(&operation)
    }
}

/// One message's personal data as export fields.
fn export_fields(mailbox: &str, message: &Message) -> Vec<ExportField> {
    let list = |addresses: &[Address]| {
        (!addresses.is_empty()).then(|| {
            addresses
                .iter()
                .map(Address::display)
                .collect::<Vec<_>>()
                .join(", ")
        })
    };
    let mut values = vec![
        ("from", list(&message.from)),
        ("to", list(&message.to)),
        ("cc", list(&message.cc)),
    ];
    if !message.bcc.is_empty() {
        values.push(("bcc", list(&message.bcc)));
    }
    values.extend([
        ("subject", message.subject.clone()),
        ("date", message.date.clone()),
        (
            "internal_date",
            message.internal_date.map(|t| t.to_string()),
        ),
        ("size", message.size.map(|s| s.to_string())),
    ]);
    values
        .into_iter()
        .map(|(field, value)| ExportField {
            collection: mailbox.to_owned(),
            record: message.uid.to_string(),
            field: field.to_owned(),
            value,
        })
        .collect()
}

gallra_plugin_api::export_connector!(ImapConnector);
