//! # gallra-plugin-whmcs
//!
//! The gallra connector for [WHMCS](https://www.whmcs.com), the hosting control panel and
//! billing system. It is a natural **account source**: every client, with its last login,
//! its active products and domains and its unpaid invoices.
//!
//! ```toml
//! [systems.billing]
//! plugin = "whmcs"
//!
//! [systems.billing.settings]
//! base_url = "https://billing.example.se"
//! identifier = "D4j1dKYE3g40VROOPCGyJ9zRwP0ADJIv"
//! secret_file = "/run/credentials/gallra/whmcs-secret"
//! personnummer_field = 4          # the client custom field holding the personnummer
//! date_format = "dd/mm/yyyy"      # General Settings > Localisation > Date Format
//! invoices = "refuse"             # or "delete"; see below
//!
//! [systems.billing.settings.http]
//! rate_per_sec = 5
//! ```
//!
//! What each operation does (all are `POST <base_url>/includes/api.php`):
//!
//! - `scan` lists clients in id order (`GetClients`, paged with `limitstart`/`limitnum`; the
//!   cursor is the offset) and reads each one's `GetClientsDetails` with `stats=true`:
//!   identifiers (customer id = the client id, email, the personnummer custom field, phone)
//!   and facts — `last_activity` the later of `client.lastlogin` (`Date: 03/10/2016 10:26<br>IP
//!   Address:…`, read in `date_format` and gallra's time zone; "No Login Logged" or anything
//!   unreadable is *unknown*, never "inactive") and the latest issued invoice's date
//!   (`GetInvoices`, one more call per client): a legal hold counts from the last
//!   bookkeeping record, and a client who was invoiced recently is not idle;
//!   `active_services` = `productsnumactive` + `numactivedomains`, `unpaid_invoices` =
//!   `numunpaidinvoices`.
//! - `status` gives the same facts for one subject, over each of its clients.
//! - `lookup` and `export` use `GetClientsDetails` by `clientid` (a numeric customer id) or
//!   by `email`. A personnummer cannot be looked up: WHMCS searches no custom field.
//! - `erase` runs `DeleteClient`. WHMCS deletes the client's invoices with it and has no
//!   bookkeeping guard, so the connector applies one: a client with any issued (non-draft)
//!   invoice is, with `invoices = "refuse"` (the default), refused with
//!   `Bokföringslagen 7 kap. 2 §` and nothing is deleted. Set `invoices = "delete"` where no
//!   law keeps the invoices, or together with a `legal_hold` on this system in gallra.toml:
//!   gallra then calls `anonymize` until the hold ends and `erase` only after.
//! - `anonymize` runs `UpdateClient`, replacing names, address, email (with
//!   `anonymized-<id>@<anonymized_email_domain>`), phone, tax id, notes, the stored card and
//!   the personnummer field; invoices stay. A client that still has invoices is answered
//!   `Anonymized` with the bookkeeping retention.
//! - A client that does not exist ("Client Not Found") is not there: lookup finds nothing,
//!   erase succeeds with nothing removed.
//!
//! Watch out: WHMCS shows an invoice with the client's *current* details unless the site
//! stores a client data snapshot on each invoice. Check that setting before anonymizing
//! clients whose invoices must stay readable with the buyer's details. WHMCS 8's users
//! (logins, with their own email and name) are left to `DeleteClient`'s `deleteusers`.

#![forbid(unsafe_code)]

mod anonymize;
mod client;
pub mod config;
pub mod facts;
mod wire;

use std::collections::BTreeMap;

use gallra_plugin_api::{
    Capability, Connector, ConnectorError, Description, EraseOutcome, ExportField, ExportResult,
    IdentifierKind, LookupResult, OpenContext, RecordRef, Retention, ScanPage, ScanRequest,
    Subject, SubjectFacts, SubjectRecord,
};
use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::client::{Answer, Api};
use crate::config::{InvoicePolicy, Settings};
use crate::wire::Details;

/// The collection records and exported fields carry.
const COLLECTION: &str = "client";

/// The law behind keeping invoices.
const BOOKKEEPING_LAW: &str = "Bokföringslagen 7 kap. 2 §";
const BOOKKEEPING_REASON: &str = "the client has invoices, which are bookkeeping records";

/// One configured WHMCS installation.
pub struct WhmcsConnector {
    settings: Settings,
    api: Api,
    time_zone: TimeZone,
}

impl Connector for WhmcsConnector {
    type Settings = Settings;

    fn validate(settings: &Settings) -> Result<(), ConnectorError> {
        settings.validate()
    }

    fn open(settings: Settings, context: OpenContext) -> Result<Self, ConnectorError> {
        settings.validate()?;
        let time_zone = context.tz()?;
        Ok(Self {
            api: Api::new(&context.system, &settings)?,
            settings,
            time_zone,
        })
    }

    fn describe(&self) -> Description {
        Description {
            name: "whmcs".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            capabilities: vec![
                Capability::Scan,
                Capability::Lookup,
                Capability::Export,
                Capability::Erase,
                Capability::Anonymize,
                Capability::Status,
            ],
            identifier_kinds: vec![IdentifierKind::Email, IdentifierKind::CustomerId],
            record_kinds: Vec::new(),
            activity_bearing: true,
        }
    }

    fn scan(&self, request: ScanRequest) -> Result<ScanPage, ConnectorError> {
        let offset = match request.cursor.as_deref() {
            None => 0,
            Some(cursor) => cursor.parse::<u64>().map_err(|_| {
                ConnectorError::permanent("scan: the cursor is not one this connector made")
            })?,
        };
        let limit = request.limit.clamp(1, self.settings.page_size);
        let page = self.api.clients(offset, limit)?;
        let mut subjects = Vec::with_capacity(page.clients.len());
        for row in &page.clients {
            let Some(details) = self.api.details_by_id(row.id)? else {
                return Err(ConnectorError::transient(
                    "scan: a listed client was gone when its details were read; the listing \
                     changed while it was read",
                ));
            };
            subjects.push(self.record(&details)?);
        }
        let reached = offset + subjects.len() as u64;
        let next_cursor =
            (reached < page.totalresults && !subjects.is_empty()).then(|| reached.to_string());
        if next_cursor.is_none() && reached < page.totalresults {
            return Err(ConnectorError::transient(format!(
                "scan: GetClients returned an empty page before the {} clients \
                 it announced; the listing is not taken as complete",
                page.totalresults
            )));
        }
        Ok(ScanPage {
            subjects,
            next_cursor,
            total: Some(page.totalresults),
        })
    }

    fn status(&self, subject: &Subject) -> Result<SubjectFacts, ConnectorError> {
        let mut merged: Option<SubjectFacts> = None;
        for details in self.find(subject)?.values() {
            let facts = self.client_facts(details)?;
            merged = Some(match merged {
                None => facts,
                Some(before) => merge(before, facts),
            });
        }
        Ok(merged.unwrap_or_default())
    }

    fn lookup(&self, subject: &Subject) -> Result<LookupResult, ConnectorError> {
        let records = self
            .find(subject)?
            .keys()
            .map(|id| RecordRef {
                collection: COLLECTION.to_owned(),
                key: id.to_string(),
            })
            .collect();
        Ok(LookupResult { records })
    }

    fn export(&self, subject: &Subject) -> Result<ExportResult, ConnectorError> {
        let mut fields = Vec::new();
        for (id, details) in self.find(subject)? {
            fields.extend(
                details
                    .client
                    .personal_fields()
                    .into_iter()
                    .map(|(field, value)| ExportField {
                        collection: COLLECTION.to_owned(),
                        record: id.to_string(),
                        field,
                        value,
                    }),
            );
        }
        Ok(ExportResult { fields })
    }

    fn erase(&self, subject: &Subject) -> Result<EraseOutcome, ConnectorError> {
        let found = self.find(subject)?;
        // Every client is checked before any is deleted: a refusal deletes nothing.
        if self.settings.invoices == InvoicePolicy::Refuse {
            for id in found.keys() {
                if self.has_invoices(*id)? {
                    return Err(ConnectorError::Refused {
                        reason: BOOKKEEPING_REASON.to_owned(),
                        legal_basis: Some(BOOKKEEPING_LAW.to_owned()),
                    });
                }
            }
        }
        let mut records = 0;
        for id in found.keys() {
            let deleted = self.api.delete_client(
                *id,
                self.settings.delete_users,
                self.settings.delete_transactions,
            )?;
            if let Answer::Found(()) = deleted {
                records += 1;
            }
        }
        Ok(EraseOutcome::Erased { records })
    }

    fn anonymize(&self, subject: &Subject) -> Result<EraseOutcome, ConnectorError> {
        let mut records = 0;
        let mut keeps_invoices = false;
        for (id, details) in self.find(subject)? {
            keeps_invoices |= self.has_invoices(id)?;
            if anonymize::is_anonymized(&details.client, &self.settings) {
                continue;
            }
            let fields = anonymize::fields(id, &self.settings);
            if let Answer::Found(()) = self.api.update_client(id, &fields)? {
                records += 1;
            }
        }
        Ok(EraseOutcome::Anonymized {
            records,
            retained: keeps_invoices.then(|| Retention {
                reason: format!("{BOOKKEEPING_REASON}; they stay with the anonymized client"),
                legal_basis: Some(BOOKKEEPING_LAW.to_owned()),
                until: None,
            }),
            kept: Vec::new(),
        })
    }

    fn health(&self) -> Result<(), ConnectorError> {
        self.api.clients(0, 1).map(|_| ())
    }
}

impl WhmcsConnector {
    /// The subject's clients, by id: each numeric customer id and each email, without
    /// repeats. Other kinds are ignored.
    fn find(&self, subject: &Subject) -> Result<BTreeMap<u64, Details>, ConnectorError> {
        let mut found = BTreeMap::new();
        for id in subject.of_kind(IdentifierKind::CustomerId) {
            // WHMCS client ids are numbers; any other customer id is not one of ours.
            let Ok(id) = id.value().parse::<u64>() else {
                continue;
            };
            if found.contains_key(&id) {
                continue;
            }
            if let Some(details) = self.api.details_by_id(id)? {
                found.insert(details.client.id, details);
            }
        }
        for email in subject.of_kind(IdentifierKind::Email) {
            if let Some(details) = self.api.details_by_email(&email.value())? {
                // WHMCS matches the address as stored; make sure it is the subject's.
                let same = details
                    .client
                    .email
                    .as_deref()
                    .is_some_and(|e| e.trim().eq_ignore_ascii_case(&email.value()));
                if same {
                    found.entry(details.client.id).or_insert(details);
                }
            }
        }
        Ok(found)
    }

    fn record(&self, details: &Details) -> Result<SubjectRecord, ConnectorError> {
        Ok(SubjectRecord {
            key: details.client.id.to_string(),
            identifiers: facts::identifiers(&details.client, self.settings.personnummer_field),
            facts: self.client_facts(details)?,
            unreadable: Vec::new(),
        })
    }

    /// One client's facts, as both `scan` and `status` give them: `last_activity` is the
    /// later of its last login and its latest issued invoice.
    fn client_facts(&self, details: &Details) -> Result<SubjectFacts, ConnectorError> {
        let mut facts = facts::facts(details, self.settings.date_format, &self.time_zone);
        facts.last_activity = facts
            .last_activity
            .max(self.last_invoice(details.client.id)?);
        Ok(facts)
    }

    fn has_invoices(&self, client_id: u64) -> Result<bool, ConnectorError> {
        Ok(self
            .api
            .invoices(client_id)?
            .iter()
            .any(|invoice| invoice.is_issued()))
    }

    /// The start of the latest issued invoice's date, in gallra's time zone.
    fn last_invoice(&self, client_id: u64) -> Result<Option<Timestamp>, ConnectorError> {
        let latest = self
            .api
            .invoices(client_id)?
            .iter()
            .filter(|i| i.is_issued())
            .filter_map(|i| i.date())
            .max();
        Ok(latest.and_then(|date| facts::start_of(date, &self.time_zone)))
    }
}

/// One subject's facts over several clients: the latest activity, the sums of the counts
/// (unknown if any client's is unknown).
fn merge(a: SubjectFacts, b: SubjectFacts) -> SubjectFacts {
    let sum = |x: Option<u64>, y: Option<u64>| x.zip(y).map(|(x, y)| x + y);
    SubjectFacts {
        last_activity: a.last_activity.max(b.last_activity),
        relationship_ended: None,
        active_services: sum(a.active_services, b.active_services),
        unpaid_invoices: sum(a.unpaid_invoices, b.unpaid_invoices),
    }
}

gallra_plugin_api::export_connector!(WhmcsConnector);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_facts_keep_the_latest_activity_and_unknown_counts() {
        let t = |s: &str| Some(s.parse::<Timestamp>().unwrap());
        let a = SubjectFacts {
            last_activity: t("2024-01-01T00:00:00Z"),
            relationship_ended: None,
            active_services: Some(1),
            unpaid_invoices: Some(0),
        };
        let b = SubjectFacts {
            last_activity: None,
            relationship_ended: None,
            active_services: Some(2),
            unpaid_invoices: None,
        };
        let m = merge(a, b);
        assert_eq!(m.last_activity, t("2024-01-01T00:00:00Z"));
        assert_eq!(m.active_services, Some(3));
        assert_eq!(m.unpaid_invoices, None);
    }
}
