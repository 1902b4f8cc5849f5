//! # gallra-plugin-copper
//!
//! The gallra connector for the [Copper](https://copper.com) CRM: it finds a person by
//! email (and phone), exports the person's record, and deletes it. Settings:
//! [`config::Settings`].
//!
//! ```toml
//! [systems.crm]
//! plugin = "copper"
//! [systems.crm.settings]
//! user_email = "gallra-bot@example.se"          # X-PW-UserEmail: the key's owner
//! token_file = "/run/credentials/gallra/copper" # X-PW-AccessToken, chmod 600
//! activity = true                               # optional: status reports activity
//! ```
//!
//! - `lookup`: `POST /people/search` with `emails` (all of the subject's at once) and, unless
//!   `lookup_by_phone = false`, with `phone_number` per phone, page by page until a short
//!   page. Only people who hold exactly one of the subject's emails or numbers count: the
//!   search's own matching is not taken on trust. A record is `people`/`<id>`.
//! - `export`: `GET /people/{id}` per person found: name, title, company, details, emails,
//!   phone numbers, address, social profiles, websites and `date_created` (RFC 3339).
//! - `erase`: `DELETE /people/{id}`; a 404 means already gone, so erasing twice succeeds.
//! - `status` (with `activity = true`): the latest `date_last_contacted` or `date_modified`.
//!
//! Requests go out at most 3 a second by default (`http.rate_per_sec`), under Copper's 180 a
//! minute; a 429 is waited out and retried by the kit.
//!
//! Watch out: Copper's search returns only the first 100,000 matches. A search that reaches
//! that cap is an error, never a complete answer — gallra must not conclude that a person
//! is absent from a list it could not read to the end.

#![forbid(unsafe_code)]

mod client;
pub mod config;
mod export;

use std::collections::BTreeMap;

use gallra_plugin_api::{
    Capability, Connector, ConnectorError, Description, EraseOutcome, ExportResult, IdentifierKind,
    LookupResult, OpenContext, RecordRef, Subject, SubjectFacts,
};

use crate::client::{CopperClient, Filter, Person};
use crate::config::Settings;
use crate::export::{has_email, has_phone, person_fields, unix_time, COLLECTION};

/// One configured Copper account.
pub struct CopperConnector {
    settings: Settings,
    client: CopperClient,
}

impl CopperConnector {
    /// The people who hold one of the subject's emails or phone numbers, by id.
    fn find(&self, subject: &Subject) -> Result<BTreeMap<u64, Person>, ConnectorError> {
        let mut found = BTreeMap::new();
        let emails: Vec<String> = subject
            .of_kind(IdentifierKind::Email)
            .map(|e| e.value())
            .collect();
        if !emails.is_empty() {
            for person in self.client.search(&Filter::Emails(emails.clone()))? {
                if has_email(&person, &emails) {
                    found.insert(person.id, person);
                }
            }
        }
        if self.settings.lookup_by_phone {
            for phone in subject.of_kind(IdentifierKind::Phone) {
                let phone = phone.value();
                for person in self.client.search(&Filter::Phone(phone.clone()))? {
                    if has_phone(&person, &phone) {
                        found.insert(person.id, person);
                    }
                }
            }
        }
        Ok(found)
    }
}

impl Connector for CopperConnector {
    type Settings = Settings;

    fn validate(settings: &Settings) -> Result<(), ConnectorError> {
        settings.validate()
    }

    fn open(settings: Settings, context: OpenContext) -> Result<Self, ConnectorError> {
        settings.validate()?;
        let client = CopperClient::new(&context.system, &settings)?;
        Ok(Self { settings, client })
    }

    fn describe(&self) -> Description {
        let mut capabilities = vec![Capability::Lookup, Capability::Export, Capability::Erase];
        if self.settings.activity {
            capabilities.push(Capability::Status);
        }
        let mut identifier_kinds = vec![IdentifierKind::Email];
        if self.settings.lookup_by_phone {
            identifier_kinds.push(IdentifierKind::Phone);
        }
        Description {
            name: "copper".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            capabilities,
            identifier_kinds,
            record_kinds: Vec::new(),
            activity_bearing: self.settings.activity,
        }
    }

    fn lookup(&self, subject: &Subject) -> Result<LookupResult, ConnectorError> {
        let records = self
            .find(subject)?
            .into_keys()
            .map(|id| RecordRef {
                collection: COLLECTION.to_owned(),
                key: id.to_string(),
            })
            .collect();
        Ok(LookupResult { records })
    }

    fn export(&self, subject: &Subject) -> Result<ExportResult, ConnectorError> {
        let mut fields = Vec::new();
        for id in self.find(subject)?.into_keys() {
            // Deleted between the search and the fetch: nothing left to export.
            if let Some(person) = self.client.person(id)? {
                fields.extend(person_fields(id, &person));
            }
        }
        Ok(ExportResult { fields })
    }

    fn erase(&self, subject: &Subject) -> Result<EraseOutcome, ConnectorError> {
        let mut records = 0;
        for id in self.find(subject)?.into_keys() {
            if self.client.delete(id)? {
                records += 1;
            }
        }
        Ok(EraseOutcome::Erased { records })
    }

    fn status(&self, subject: &Subject) -> Result<SubjectFacts, ConnectorError> {
        if !self.settings.activity {
            return Err(ConnectorError::Unsupported {
                operation: "status (set activity = true)".to_owned(),
            });
        }
        let last_activity = self
            .find(subject)?
            .values()
            .flat_map(|p| [p.date_last_contacted, p.date_modified])
            .flatten()
            .max()
            .and_then(unix_time);
        Ok(SubjectFacts {
            last_activity,
            ..SubjectFacts::default()
        })
    }

    fn health(&self) -> Result<(), ConnectorError> {
        self.client.health()
    }
}

gallra_plugin_api::export_connector!(CopperConnector);
