//! # gallra-plugin-epp
//!
//! The gallra connector for a registrar's contacts at a domain registry, over EPP (RFC 5730
//! commands, RFC 5733 contacts, RFC 5734 TLS transport with a client certificate), with
//! Internetstiftelsen's `.se`/`.nu` extension (see [`config::Settings`]).
//!
//! A subject's contact is found by its `customer_id` identifier through a template
//! (`contacts.contact_id = "GALLRA-{customer_id}"`).
//!
//! - `lookup` and `export` run `contact:info`; a contact that does not exist (2303) is not
//!   there.
//! - `erase` runs `contact:delete`. A contact still linked to a domain (2305, or 2304 at
//!   registries that answer so) cannot be deleted: the connector anonymizes what the registry
//!   lets it change (`contact:update`: name, organisation, address, phone, fax, email) and
//!   answers `Anonymized` with a retention that names the code. gallra calls `erase` again
//!   later; once the domain is gone the delete goes through and the answer is `Erased`.
//!   A contact already gone erases as `Erased { records: 0 }`.
//! - `anonymize` runs the same update without trying to delete.
//!
//! Errors carry the command and the result code with a fixed description, never the
//! registry's `<msg>` text, which may quote the contact.
//!
//! Watch out: a `.se` contact's `orgno` (a personnummer for a private person) cannot be
//! changed by a registrar; it stays at the registry until the contact is deleted.

#![forbid(unsafe_code)]

mod client;
mod codes;
mod commands;
pub mod config;
pub mod frame;
mod tls;
mod xml;

use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use gallra_plugin_api::{
    Capability, Connector, ConnectorError, Description, EraseOutcome, ExportField, ExportResult,
    IdentifierKind, LookupResult, OpenContext, RecordRef, Retention, Subject,
};
use rustls::pki_types::ServerName;
use sha2::{Digest, Sha256};

use crate::client::{Endpoint, EppError, Session};
use crate::codes::Class;
use crate::commands::{Contact, ANONYMIZED_NAME};
use crate::config::{Extension, Settings};

/// The collection name records and export fields carry.
const COLLECTION: &str = "contact";

/// One configured registry.
pub struct EppConnector {
    system: String,
    settings: Settings,
    endpoint: Endpoint,
    /// The open session, kept between calls; registries limit how often one may log in.
    session: Mutex<Option<Session>>,
}

impl Connector for EppConnector {
    type Settings = Settings;

    fn validate(settings: &Settings) -> Result<(), ConnectorError> {
        settings.validate()
    }

    fn open(settings: Settings, context: OpenContext) -> Result<Self, ConnectorError> {
        settings.validate()?;
        let password = tls::read_password(&settings.password_file)?;
        let server_name = ServerName::try_from(settings.host.clone())
            .map_err(|_| ConnectorError::config("host", "not a valid host name for TLS"))?;
        let endpoint = Endpoint {
            host: settings.host.clone(),
            port: settings.port,
            server_name,
            tls: tls::client_config(&settings)?,
            timeout: Duration::from_secs(settings.timeout_secs),
            username: settings.username.clone(),
            password,
            iis: settings.extension == Some(Extension::Iis),
        };
        Ok(Self {
            system: context.system,
            settings,
            endpoint,
            session: Mutex::new(None),
        })
    }

    fn describe(&self) -> Description {
        Description {
            name: "epp".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            capabilities: vec![
                Capability::Lookup,
                Capability::Export,
                Capability::Erase,
                Capability::Anonymize,
            ],
            identifier_kinds: vec![IdentifierKind::CustomerId],
            record_kinds: Vec::new(),
            activity_bearing: false,
        }
    }

    fn lookup(&self, subject: &Subject) -> Result<LookupResult, ConnectorError> {
        let ids = self.contact_ids(subject);
        let found = self.with_session("lookup", |s| {
            ids.iter()
                .filter_map(|id| info(s, id).transpose().map(|c| c.map(|_| id)))
                .map(|found| {
                    found.map(|id| RecordRef {
                        collection: COLLECTION.to_owned(),
                        key: id.clone(),
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        })?;
        Ok(LookupResult { records: found })
    }

    fn export(&self, subject: &Subject) -> Result<ExportResult, ConnectorError> {
        let ids = self.contact_ids(subject);
        let fields = self.with_session("export", |s| {
            let mut fields = Vec::new();
            for id in &ids {
                let Some(contact) = info(s, id)? else {
                    continue;
                };
                fields.extend(
                    contact
                        .fields()
                        .into_iter()
                        .map(|(field, value)| ExportField {
                            collection: COLLECTION.to_owned(),
                            record: id.clone(),
                            field,
                            value,
                        }),
                );
            }
            Ok(fields)
        })?;
        Ok(ExportResult { fields })
    }

    fn erase(&self, subject: &Subject) -> Result<EraseOutcome, ConnectorError> {
        let ids = self.contact_ids(subject);
        let outcomes = self.with_session("erase", |s| {
            ids.iter().map(|id| self.erase_one(s, id)).collect()
        })?;
        Ok(combine(outcomes))
    }

    fn anonymize(&self, subject: &Subject) -> Result<EraseOutcome, ConnectorError> {
        let ids = self.contact_ids(subject);
        let outcomes = self.with_session("anonymize", |s| {
            ids.iter()
                .map(|id| self.anonymize_one(s, id, None))
                .collect()
        })?;
        Ok(combine(outcomes))
    }

    fn health(&self) -> Result<(), ConnectorError> {
        self.with_session("health", Session::hello)
    }
}

impl EppConnector {
    /// The contact ids the subject's customer ids map to, without repeats.
    fn contact_ids(&self, subject: &Subject) -> Vec<String> {
        subject
            .of_kind(IdentifierKind::CustomerId)
            .map(|c| self.settings.contact_id(&c.value()))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    /// Deletes the contact, or anonymizes it when the registry keeps it for a domain.
    fn erase_one(&self, s: &mut Session, id: &str) -> Result<EraseOutcome, EppError> {
        let reply = s.send(
            "contact:delete",
            &[Class::NotFound, Class::Linked],
            |trid| commands::contact_delete(trid, id),
        )?;
        match codes::classify(reply.code) {
            Class::NotFound => Ok(EraseOutcome::Erased { records: 0 }),
            Class::Linked => self.anonymize_one(s, id, Some(reply.code)),
            _ => Ok(EraseOutcome::Erased { records: 1 }),
        }
    }

    /// Overwrites the contact's personal fields. `linked` is the code a delete got, which
    /// becomes the retention's reason.
    fn anonymize_one(
        &self,
        s: &mut Session,
        id: &str,
        linked: Option<u16>,
    ) -> Result<EraseOutcome, EppError> {
        let retained = linked.map(linked_retention);
        let Some(current) = info(s, id)? else {
            // Gone between the delete and the info (or never there).
            return Ok(EraseOutcome::Erased { records: 0 });
        };
        let email = self.anonymized_email(id);
        if is_anonymized(&current, &email) {
            return Ok(EraseOutcome::Anonymized {
                records: 0,
                retained,
                kept: Vec::new(),
            });
        }
        let reply = s.send(
            "contact:update",
            &[Class::NotFound, Class::Linked],
            |trid| commands::contact_anonymize(trid, id, &current, &email),
        )?;
        Ok(match codes::classify(reply.code) {
            Class::NotFound => EraseOutcome::Erased { records: 0 },
            Class::Linked => EraseOutcome::Retained(Retention {
                reason: format!(
                    "the registry does not allow changing the contact (EPP {})",
                    reply.code
                ),
                legal_basis: Some("registry rules".to_owned()),
                until: None,
            }),
            _ => EraseOutcome::Anonymized {
                records: 1,
                retained,
                kept: Vec::new(),
            },
        })
    }

    /// `anonymized-<hash>@<domain>`: distinct per contact, so registries that want unique
    /// addresses accept it, and pointing at no one.
    fn anonymized_email(&self, id: &str) -> String {
        let digest = Sha256::new()
            .chain_update(self.system.as_bytes())
            .chain_update([0])
            .chain_update(id.as_bytes())
            .finalize();
        let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        format!(
            "anonymized-{hash}@{}",
            self.settings.anonymized_email_domain
        )
    }

    /// Runs `f` on the open session, opening one if needed. A kept session that turns out
    /// to be dead (the registry drops idle ones) is replaced once, and `f` runs again: every
    /// operation here is idempotent.
    fn with_session<T>(
        &self,
        operation: &str,
        f: impl Fn(&mut Session) -> Result<T, EppError>,
    ) -> Result<T, ConnectorError> {
        let mut slot = self.slot();
        let reused = slot.is_some();
        let result = self.attempt(&mut slot, &f);
        let result = match result {
            Err(e) if reused && e.is_stale_session() => {
                tracing::debug!(system = %self.system, operation, "EPP session was dropped; logging in again");
                self.attempt(&mut slot, &f)
            }
            other => other,
        };
        result.map_err(|e| self.error(operation, e))
    }

    fn attempt<T>(
        &self,
        slot: &mut Option<Session>,
        f: &impl Fn(&mut Session) -> Result<T, EppError>,
    ) -> Result<T, EppError> {
        let session = match slot {
            Some(session) => session,
            None => slot.insert(Session::open(&self.endpoint)?),
        };
        let result = f(session);
        if result.as_ref().is_err_and(EppError::breaks_session) {
            *slot = None;
        }
        result
    }

    fn slot(&self) -> MutexGuard<'_, Option<Session>> {
        // A panic while holding the lock leaves at worst a session in an unknown state: drop it.
        self.session.lock().unwrap_or_else(|poisoned| {
            let mut guard = poisoned.into_inner();
            *guard = None;
            guard
        })
    }

    fn error(&self, operation: &str, error: EppError) -> ConnectorError {
        let message = format!(
            "{operation} failed at the EPP server {}:{}: {error}",
            self.settings.host, self.settings.port
        );
        if error.is_transient() {
            ConnectorError::transient(message)
        } else {
            ConnectorError::permanent(message)
        }
    }
}

/// `contact:info`; `None` when the contact does not exist.
fn info(s: &mut Session, id: &str) -> Result<Option<Contact>, EppError> {
    let reply = s.send("contact:info", &[Class::NotFound], |trid| {
        commands::contact_info(trid, id)
    })?;
    if codes::classify(reply.code) == Class::NotFound {
        return Ok(None);
    }
    Contact::from_response(&reply.response)
        .map(Some)
        .ok_or(EppError::Protocol("contact:info", "no <contact:infData>"))
}

fn linked_retention(code: u16) -> Retention {
    Retention {
        reason: format!("contact is linked to a domain at the registry (EPP {code})"),
        legal_basis: Some("registry rules".to_owned()),
        until: None,
    }
}

/// Whether a contact already holds exactly what anonymizing writes.
fn is_anonymized(contact: &Contact, email: &str) -> bool {
    contact.voice.is_none()
        && contact.fax.is_none()
        && contact.email.as_deref() == Some(email)
        && contact.postal.iter().all(|p| {
            p.name.as_deref() == Some(ANONYMIZED_NAME)
                && p.org.is_none()
                && p.street.iter().all(|s| s == ANONYMIZED_NAME)
                && p.city.as_deref() == Some(ANONYMIZED_NAME)
                && p.sp.is_none()
                && p.pc.is_none()
        })
}

/// One outcome for several contacts: anything kept makes the whole answer say so.
fn combine(outcomes: Vec<EraseOutcome>) -> EraseOutcome {
    let mut erased = 0;
    let mut anonymized = None;
    let mut retained = None;
    for outcome in outcomes {
        match outcome {
            EraseOutcome::Erased { records } => erased += records,
            EraseOutcome::Anonymized {
                records,
                retained: why,
                ..
            } => {
                let (count, reason) = anonymized.get_or_insert((0, None));
                *count += records;
                if reason.is_none() {
                    *reason = why;
                }
            }
            EraseOutcome::Retained(why) => {
                retained.get_or_insert(why);
            }
            EraseOutcome::InProgress { .. } => {}
        }
    }
    match (anonymized, retained) {
        (Some((records, why)), other) => EraseOutcome::Anonymized {
            records,
            retained: why.or(other),
            kept: Vec::new(),
        },
        (None, Some(why)) => EraseOutcome::Retained(why),
        (None, None) => EraseOutcome::Erased { records: erased },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(code: u16) -> EraseOutcome {
        EraseOutcome::Anonymized {
            records: 1,
            retained: Some(linked_retention(code)),
            kept: Vec::new(),
        }
    }

    #[test]
    fn one_kept_contact_makes_the_whole_erase_kept() {
        let refused = Retention {
            reason: "r".into(),
            legal_basis: None,
            until: None,
        };
        let cases = [
            (vec![], EraseOutcome::Erased { records: 0 }),
            (
                vec![
                    EraseOutcome::Erased { records: 1 },
                    EraseOutcome::Erased { records: 0 },
                ],
                EraseOutcome::Erased { records: 1 },
            ),
            (
                vec![EraseOutcome::Erased { records: 1 }, kept(2305)],
                kept(2305),
            ),
            (
                vec![EraseOutcome::Retained(refused.clone())],
                EraseOutcome::Retained(refused.clone()),
            ),
            (
                vec![EraseOutcome::Retained(refused.clone()), kept(2304)],
                kept(2304),
            ),
        ];
        for (outcomes, want) in cases {
            assert_eq!(combine(outcomes.clone()), want, "{outcomes:?}");
        }
    }

    #[test]
    fn the_retention_names_the_code() {
        let r = linked_retention(2305);
        assert_eq!(
            r.reason,
            "contact is linked to a domain at the registry (EPP 2305)"
        );
        assert_eq!(r.legal_basis.as_deref(), Some("registry rules"));
    }
}

gallra_plugin_api::export_connector!(EppConnector);
