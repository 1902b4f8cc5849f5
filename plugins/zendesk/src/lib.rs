//! # gallra-plugin-zendesk
//!
//! The gallra connector for Zendesk Support: the end users of a help desk and the tickets
//! they asked. Subjects are found by `email`. Settings: see [`config::Settings`]; a complete
//! example:
//!
//! ```toml
//! [systems.helpdesk]
//! plugin = "zendesk"
//! [systems.helpdesk.settings]
//! subdomain = "acme"
//! email = "gallra@acme.se"
//! api_token_file = "/run/credentials/gallra/zendesk-token"
//! check_after_secs = 3600
//! activity = false
//! [systems.helpdesk.settings.http]
//! rate_per_sec = 6
//! ```
//!
//! - `lookup` searches active users (`GET /users/search?query=email:…`, every page, keeping
//!   only exact matches of Zendesk's partial search) and the deleted users that are not yet
//!   permanently deleted (`GET /deleted_users`, every page: they still hold the email, name
//!   and phone until Zendesk purges them after 30 days). A search that reaches Zendesk's cap
//!   of 10,000 results is an error, never a complete answer.
//! - `export` lists each user's name, email, phone, external id, creation and last login,
//!   and the subject and description of every ticket the user requested.
//! - `erase` is two steps for each thing, because Zendesk's delete is a soft delete: every
//!   requested ticket `DELETE /tickets/{id}` then `DELETE /deleted_tickets/{id}`; then the
//!   user `DELETE /users/{id}` then `DELETE /deleted_users/{id}`. The permanent deletion
//!   starts Zendesk's compliance deletion in each product (Support, Chat, Explore, …);
//!   while `GET /users/{id}/compliance_deletion_statuses` shows a product that has not
//!   reported `complete`, the answer is `InProgress`, and gallra asks again after
//!   `check_after_secs`. Every step treats 404 as "already done", so an erase that was cut
//!   short (a timeout, the permanent-deletion limit of 700 users per 10 minutes answering
//!   429) simply goes on where it stopped when gallra retries.
//! - `status` (only with `activity = true`) reports the latest `last_login_at`.
//!
//! Watch out:
//! - Only the tickets the user *requested* are deleted. Their comments on other people's
//!   tickets stay; Zendesk shows them as written by a permanently deleted user.
//! - An erase cut short between the two steps of a user (the permanent-deletion limit, a
//!   timeout, gallra restarting) needs no state of the connector's own: the soft-deleted
//!   user still holds the email in `GET /deleted_users`, so the next erase — by any
//!   instance — finds them there and finishes the permanent step.
//! - A permanently deleted user can no longer be found by email (Zendesk lists them as
//!   "Permanently Deleted User", email and phone null), so the ids whose compliance
//!   deletion is still running go back to gallra as the `InProgress` answer's resume token
//!   (`zendesk-users:ID,ID`), which gallra keeps with the task and hands back on the next
//!   erase, also after a restart: the deletion is checked until every product reports it
//!   complete.
//! - `GET /deleted_users` cannot be filtered and lists permanently deleted users too, so
//!   every lookup reads all of it: its cost grows with every user the account has ever
//!   deleted (100 per request).
//! - If an erase is interrupted between a ticket's two deletes, the ticket waits among the
//!   deleted tickets (which do not name the requester, so a later erase cannot find it)
//!   until Zendesk purges it after 30 days.

#![forbid(unsafe_code)]

mod client;
pub mod config;
mod pending;

use std::collections::BTreeSet;

use gallra_plugin_api::http::{HttpClient, Secret};
use gallra_plugin_api::jiff::Timestamp;
use gallra_plugin_api::{
    Capability, Connector, ConnectorError, Description, EraseOutcome, ExportField, ExportResult,
    IdentifierKind, LookupResult, OpenContext, RecordRef, Subject, SubjectFacts,
};

use crate::client::{compliance_pending, Auth, Deleted, Ticket, User, Zendesk};
use crate::config::{AuthSetting, Settings};

pub use crate::client::SEARCH_CAP;

/// One configured Zendesk account.
pub struct ZendeskConnector {
    api: Zendesk,
    settings: Settings,
}

/// A user found by email: still active, or deleted but not yet permanently.
struct Found {
    user: User,
    soft_deleted: bool,
}

impl Found {
    fn collection(&self) -> &'static str {
        if self.soft_deleted {
            "deleted_users"
        } else {
            "users"
        }
    }
}

impl Connector for ZendeskConnector {
    type Settings = Settings;

    fn validate(settings: &Settings) -> Result<(), ConnectorError> {
        settings.validate()
    }

    fn open(settings: Settings, context: OpenContext) -> Result<Self, ConnectorError> {
        settings.validate()?;
        let auth = match settings.auth()? {
            AuthSetting::ApiToken { email, token_file } => Auth::ApiToken {
                email,
                token: Secret::from_file(token_file)?,
            },
            AuthSetting::OAuth { token_file } => Auth::OAuth(Secret::from_file(token_file)?),
        };
        let http = HttpClient::new(&context.system, &settings.http)?;
        let api = Zendesk::new(http, settings.base()?, auth);
        Ok(Self { api, settings })
    }

    fn describe(&self) -> Description {
        let mut capabilities = vec![Capability::Lookup, Capability::Export, Capability::Erase];
        if self.settings.activity {
            capabilities.push(Capability::Status);
        }
        Description {
            name: "zendesk".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            capabilities,
            identifier_kinds: vec![IdentifierKind::Email],
            record_kinds: Vec::new(),
            activity_bearing: self.settings.activity,
        }
    }

    fn lookup(&self, subject: &Subject) -> Result<LookupResult, ConnectorError> {
        let mut records = Vec::new();
        for email in emails(subject) {
            for found in self.find(&email)? {
                records.push(RecordRef {
                    collection: found.collection().to_owned(),
                    key: found.user.id.to_string(),
                });
            }
        }
        Ok(LookupResult { records })
    }

    fn export(&self, subject: &Subject) -> Result<ExportResult, ConnectorError> {
        let mut fields = Vec::new();
        for email in emails(subject) {
            for found in self.find(&email)? {
                let user = &found.user;
                let record = user.id.to_string();
                let mut field = |name: &str, value: &Option<String>| {
                    fields.push(ExportField {
                        collection: found.collection().to_owned(),
                        record: record.clone(),
                        field: name.to_owned(),
                        value: value.clone().filter(|v| !v.is_empty()),
                    })
                };
                field("name", &user.name);
                field("email", &user.email);
                field("phone", &user.phone);
                field("external_id", &user.external_id);
                field("created_at", &user.created_at);
                field("last_login_at", &user.last_login_at);
                for ticket in self.api.requested_tickets(user.id)?.unwrap_or_default() {
                    fields.extend(ticket_fields(&ticket));
                }
            }
        }
        Ok(ExportResult { fields })
    }

    fn erase(&self, subject: &Subject) -> Result<EraseOutcome, ConnectorError> {
        let mut records = 0;
        // Checked again on every call until done, by the ids handed back: once permanently
        // deleted, a user cannot be found by email any more.
        let mut ids = pending::ids(subject.resume.as_ref())?;
        for email in emails(subject) {
            for found in self.find(&email)? {
                records += self.erase_user(&found)?;
                ids.insert(found.user.id);
            }
        }
        let mut still = BTreeSet::new();
        for id in ids {
            // 404: Zendesk has no record of the user at all, so nothing is under way.
            if let Some(log) = self.api.compliance_statuses(id)? {
                if compliance_pending(&log) {
                    still.insert(id);
                }
            }
        }
        if !still.is_empty() {
            return Ok(EraseOutcome::InProgress {
                reason: format!(
                    "Zendesk's compliance deletion of {} permanently deleted user(s) has not \
                     completed in every product yet",
                    still.len()
                ),
                check_after_secs: self.settings.check_after_secs,
                resume: pending::token(&still)?,
            });
        }
        Ok(EraseOutcome::Erased { records })
    }

    fn status(&self, subject: &Subject) -> Result<SubjectFacts, ConnectorError> {
        if !self.settings.activity {
            return Err(ConnectorError::Unsupported {
                operation: "status (set activity = true)".to_owned(),
            });
        }
        let mut last: Option<Timestamp> = None;
        for email in emails(subject) {
            for user in self.api.users_by_email(&email)? {
                let Some(text) = user.last_login_at.as_deref() else {
                    continue;
                };
                let at: Timestamp = text.parse().map_err(|_| {
                    ConnectorError::permanent(
                        "GET /users/search answered a last_login_at that is not an RFC 3339 \
                         time (has the API changed?)",
                    )
                })?;
                last = last.max(Some(at));
            }
        }
        Ok(SubjectFacts {
            last_activity: last,
            ..SubjectFacts::default()
        })
    }

    fn health(&self) -> Result<(), ConnectorError> {
        self.api.me()
    }
}

impl ZendeskConnector {
    /// Active users, then soft-deleted ones, with this email.
    fn find(&self, email: &str) -> Result<Vec<Found>, ConnectorError> {
        let mut found: Vec<Found> = self
            .api
            .users_by_email(email)?
            .into_iter()
            .map(|user| Found {
                user,
                soft_deleted: false,
            })
            .collect();
        for user in self.api.deleted_users_by_email(email)? {
            // Zendesk's search index lags: a user just deleted may show up in both.
            if found.iter().all(|f| f.user.id != user.id) {
                found.push(Found {
                    user,
                    soft_deleted: true,
                });
            }
        }
        Ok(found)
    }

    /// Deletes the user's requested tickets, then the user, each in both steps. Returns how
    /// many things were permanently deleted by this call.
    fn erase_user(&self, found: &Found) -> Result<u64, ConnectorError> {
        let id = found.user.id;
        let mut records = 0;
        // A deleted user's tickets can no longer be listed (None).
        for ticket in self.api.requested_tickets(id)?.unwrap_or_default() {
            self.api.delete_ticket(ticket.id)?;
            if self.api.purge_ticket(ticket.id)? == Deleted::Now {
                records += 1;
            }
        }
        if !found.soft_deleted {
            self.api.delete_user(id)?;
        }
        if self.api.purge_user(id)? == Deleted::Now {
            records += 1;
        }
        Ok(records)
    }
}

fn emails(subject: &Subject) -> Vec<String> {
    let mut emails: Vec<String> = subject
        .of_kind(IdentifierKind::Email)
        .map(|i| i.value())
        .collect();
    emails.sort();
    emails.dedup();
    emails
}

fn ticket_fields(ticket: &Ticket) -> Vec<ExportField> {
    let record = ticket.id.to_string();
    [
        ("subject", &ticket.subject),
        ("description", &ticket.description),
    ]
    .into_iter()
    .map(|(field, value)| ExportField {
        collection: "tickets".to_owned(),
        record: record.clone(),
        field: field.to_owned(),
        value: value.clone().filter(|v| !v.is_empty()),
    })
    .collect()
}

gallra_plugin_api::export_connector!(ZendeskConnector);
