//! # gallra-plugin-fortnox
//!
//! The gallra connector for [Fortnox](https://www.fortnox.se), the Swedish bookkeeping and
//! invoicing system, with the bookkeeping rule built in: a customer who has invoices is not
//! deleted but anonymized, and reported *retained* until Bokföringslagen lets the invoices
//! go.
//!
//! ```toml
//! [systems.bokforing]
//! plugin = "fortnox"
//!
//! [systems.bokforing.settings]
//! client_id = "8VurtMGDTeAI"
//! client_secret_file = "/run/credentials/gallra/fortnox-client-secret"
//! tenant_id = "1234567"               # the company's DatabaseNumber
//! financial_year_end = "06-30"        # a financial year July–June; default "12-31"
//! # base_url = "https://api.fortnox.se/3"                  (default)
//! # token_url = "https://apps.fortnox.se/oauth-v1/token"   (default)
//!
//! [systems.bokforing.settings.http]
//! rate_per_sec = 4                    # the default: under 25 requests per 5 s
//! ```
//!
//! **Access.** OAuth2 client credentials for a service account: the client id and secret in
//! a Basic header and the company's `TenantId` header, `grant_type=client_credentials`, to
//! the token endpoint. The access token is cached until a minute before it expires and asked
//! for again when the API answers 401. The company must have activated the integration with
//! `account_type=service` and the scopes `customer` and `invoice`.
//!
//! **Rate.** Fortnox allows 25 requests per 5 seconds (a sliding window) and answers 429
//! above it; the connector sends at most 4 a second unless `http.rate_per_sec` says
//! otherwise, and waits out a 429 like any other.
//!
//! What each operation does:
//!
//! - `lookup` finds customers by `customer_id` (the `CustomerNumber`, `GET
//!   /customers/{CustomerNumber}`), by email (`GET /customers?email=`, then the `Email` field
//!   compared exactly) and by personnummer (kept in `OrganisationNumber`). Fortnox has no
//!   exact search on `OrganisationNumber`, so a personnummer lookup pages through every
//!   customer (`GET /customers`, 100 a page by default) and compares each normalized number:
//!   one request per page, accurate whatever the number's spelling.
//! - `export` returns every field of each customer card.
//! - `status` reports the latest bookkeeping date (the latest invoice date, or its final
//!   payment's if later) as `last_activity`, and the number of unpaid invoices.
//! - `erase`: a customer with no invoice is deleted (`DELETE /customers/{CustomerNumber}`).
//!   A customer with invoices is anonymized (`PUT`: name, addresses, emails, phones,
//!   organisation number, references, comments; currency and terms stay) and answered
//!   `Anonymized` with a retention under `Bokföringslagen 7 kap. 2 §` **until the start of
//!   1 January of the eighth year after the calendar year in which the financial year of
//!   the latest invoice ended** (that is, through 31 December of the seventh year), in
//!   gallra's time zone. After that date, erase tries the delete again. A customer with
//!   unpaid invoices is refused: its details are needed until they are settled. Fortnox
//!   itself refuses (400) to delete a customer that invoices, orders, offers or contracts
//!   refer to; when it does although no invoice was seen, the card is anonymized and the
//!   answer says why it stays.
//! - `anonymize` does the same anonymization without trying to delete.
//!
//! Watch out: once a card is anonymized it can no longer be found by email or personnummer,
//! only by its customer number. Fortnox keeps the invoices themselves (with the buyer's
//! name and address as invoiced) for as long as the financial year exists; the API cannot
//! delete them.

#![forbid(unsafe_code)]

mod anonymize;
mod auth;
mod client;
mod clock;
pub mod config;
mod outcome;
pub mod retention;
mod wire;

use std::collections::BTreeSet;

use gallra_plugin_api::http::Secret;
use gallra_plugin_api::{
    Capability, Connector, ConnectorError, Description, EraseOutcome, ExportField, ExportResult,
    Identifier, IdentifierKind, LookupResult, OpenContext, RecordRef, Retention, Subject,
    SubjectFacts,
};
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::client::{Api, Deleted};
use crate::clock::Clock;
use crate::config::Settings;
use crate::outcome::{anonymized_and_kept, combine};
use crate::wire::InvoiceRow;

/// The collection records and exported fields carry.
const COLLECTION: &str = "customer";

/// The law that keeps invoices.
const BOOKKEEPING_LAW: &str = "Bokföringslagen 7 kap. 2 §";

/// One configured Fortnox company.
pub struct FortnoxConnector {
    settings: Settings,
    api: Api,
    time_zone: TimeZone,
    clock: Clock,
}

impl Connector for FortnoxConnector {
    type Settings = Settings;

    fn validate(settings: &Settings) -> Result<(), ConnectorError> {
        settings.validate()
    }

    fn open(settings: Settings, context: OpenContext) -> Result<Self, ConnectorError> {
        settings.validate()?;
        let time_zone = context.tz()?;
        let secret = Secret::from_file(&settings.client_secret_file)?;
        Ok(Self {
            api: Api::new(&context.system, &settings, secret)?,
            settings,
            time_zone,
            clock: Clock::from_env(),
        })
    }

    fn describe(&self) -> Description {
        Description {
            name: "fortnox".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            capabilities: vec![
                Capability::Lookup,
                Capability::Export,
                Capability::Erase,
                Capability::Anonymize,
                Capability::Status,
            ],
            identifier_kinds: vec![
                IdentifierKind::Email,
                IdentifierKind::CustomerId,
                IdentifierKind::Personnummer,
            ],
            record_kinds: Vec::new(),
            activity_bearing: true,
        }
    }

    fn lookup(&self, subject: &Subject) -> Result<LookupResult, ConnectorError> {
        let records = self
            .find(subject)?
            .into_iter()
            .map(|number| RecordRef {
                collection: COLLECTION.to_owned(),
                key: number,
            })
            .collect();
        Ok(LookupResult { records })
    }

    fn export(&self, subject: &Subject) -> Result<ExportResult, ConnectorError> {
        let mut fields = Vec::new();
        for number in self.find(subject)? {
            let Some(card) = self.api.customer(&number)? else {
                continue;
            };
            fields.extend(
                anonymize::exported(&card)
                    .into_iter()
                    .map(|(field, value)| ExportField {
                        collection: COLLECTION.to_owned(),
                        record: number.clone(),
                        field,
                        value,
                    }),
            );
        }
        Ok(ExportResult { fields })
    }

    fn status(&self, subject: &Subject) -> Result<SubjectFacts, ConnectorError> {
        let mut latest: Option<Date> = None;
        let mut unpaid = 0;
        let mut found = false;
        for number in self.find(subject)? {
            found = true;
            let invoices = self.api.invoices(&number)?;
            latest = latest.max(latest_date(&invoices));
            unpaid += invoices.iter().filter(|i| i.is_unpaid()).count() as u64;
        }
        Ok(SubjectFacts {
            last_activity: latest.and_then(|d| self.start_of(d)),
            relationship_ended: None,
            active_services: None,
            unpaid_invoices: found.then_some(unpaid),
        })
    }

    fn erase(&self, subject: &Subject) -> Result<EraseOutcome, ConnectorError> {
        let mut customers = Vec::new();
        // Every customer is checked before any is changed: a refusal changes nothing.
        for number in self.find(subject)? {
            let invoices = self.api.invoices(&number)?;
            if invoices.iter().any(InvoiceRow::is_unpaid) {
                return Err(ConnectorError::Refused {
                    reason: "the customer has unpaid invoices; their details are needed until \
                             the invoices are settled"
                        .to_owned(),
                    legal_basis: None,
                });
            }
            customers.push((number, invoices));
        }
        let mut outcomes = Vec::with_capacity(customers.len());
        for (number, invoices) in customers {
            outcomes.push(self.erase_one(&number, &invoices)?);
        }
        Ok(combine(outcomes))
    }

    fn anonymize(&self, subject: &Subject) -> Result<EraseOutcome, ConnectorError> {
        let mut outcomes = Vec::new();
        for number in self.find(subject)? {
            let invoices = self.api.invoices(&number)?;
            let records = self.anonymize_card(&number)?;
            outcomes.push(if invoices.is_empty() {
                EraseOutcome::Anonymized {
                    records,
                    retained: None,
                    kept: Vec::new(),
                }
            } else {
                self.kept(records, &invoices)
            });
        }
        Ok(combine(outcomes))
    }

    fn health(&self) -> Result<(), ConnectorError> {
        self.api.health()
    }
}

impl FortnoxConnector {
    /// The subject's customer numbers: by customer number, email and personnummer.
    fn find(&self, subject: &Subject) -> Result<BTreeSet<String>, ConnectorError> {
        let mut found = BTreeSet::new();
        for number in subject.of_kind(IdentifierKind::CustomerId) {
            let number = number.value();
            if !found.contains(&number) && self.api.customer(&number)?.is_some() {
                found.insert(number);
            }
        }
        for email in subject.of_kind(IdentifierKind::Email) {
            let email = email.value();
            for row in self.api.customers_by_email(&email)? {
                // Fortnox' filter may match loosely; only the same address counts.
                if row
                    .email
                    .as_deref()
                    .is_some_and(|e| e.trim().eq_ignore_ascii_case(&email))
                {
                    found.insert(row.number);
                }
            }
        }
        let wanted: Vec<&Identifier> = subject.of_kind(IdentifierKind::Personnummer).collect();
        if !wanted.is_empty() {
            for row in self.api.all_customers()? {
                let held = row
                    .organisation_number
                    .as_deref()
                    .and_then(|n| Identifier::parse(IdentifierKind::Personnummer, n).ok());
                if held.is_some_and(|held| wanted.contains(&&held)) {
                    found.insert(row.number);
                }
            }
        }
        Ok(found)
    }

    /// Deletes a customer without unpaid invoices, or anonymizes it while its invoices must
    /// stay.
    fn erase_one(
        &self,
        number: &str,
        invoices: &[InvoiceRow],
    ) -> Result<EraseOutcome, ConnectorError> {
        if !invoices.is_empty() {
            let until = self.until(invoices);
            // No readable date means the end cannot be counted: keep.
            if until.is_none_or(|until| until > self.clock.now()) {
                let records = self.anonymize_card(number)?;
                return Ok(self.kept(records, invoices));
            }
        }
        match self.api.delete_customer(number)? {
            Deleted::Yes => Ok(EraseOutcome::Erased { records: 1 }),
            Deleted::NotFound => Ok(EraseOutcome::Erased { records: 0 }),
            Deleted::Refused => {
                // Fortnox knows of business events this call did not see: an invoice made
                // since, or orders, offers and contracts; or, after the bookkeeping period,
                // the invoices it never lets go.
                let records = self.anonymize_card(number)?;
                let invoices = self.api.invoices(number)?;
                if invoices.is_empty() {
                    return Ok(anonymized_and_kept(
                        records,
                        "Fortnox refuses to delete the customer while orders, offers or \
                         contracts refer to it; the customer card was anonymized",
                    ));
                }
                if self.until(&invoices).is_none_or(|u| u > self.clock.now()) {
                    return Ok(self.kept(records, &invoices));
                }
                Ok(anonymized_and_kept(
                    records,
                    "the bookkeeping period has ended, but Fortnox keeps the invoices and \
                     refuses to delete the customer they refer to; the customer card was \
                     anonymized, and the invoices go when their financial years are deleted \
                     in Fortnox",
                ))
            }
        }
    }

    /// Overwrites the card's personal fields; the number of cards changed.
    fn anonymize_card(&self, number: &str) -> Result<u64, ConnectorError> {
        let Some(card) = self.api.customer(number)? else {
            return Ok(0);
        };
        if anonymize::is_anonymized(&card) {
            return Ok(0);
        }
        let changed = self.api.update_customer(number, &anonymize::fields())?;
        Ok(u64::from(changed))
    }

    /// The answer for an anonymized customer whose invoices stay.
    fn kept(&self, records: u64, invoices: &[InvoiceRow]) -> EraseOutcome {
        EraseOutcome::Anonymized {
            records,
            retained: Some(Retention {
                reason: "the customer has invoices, which are bookkeeping records; the \
                         customer card was anonymized and the invoices stay"
                    .to_owned(),
                legal_basis: Some(BOOKKEEPING_LAW.to_owned()),
                until: self.until(invoices),
            }),
            kept: Vec::new(),
        }
    }

    /// When the latest of these invoices may go.
    fn until(&self, invoices: &[InvoiceRow]) -> Option<Timestamp> {
        latest_date(invoices).map(|date| {
            retention::keep_until(date, self.settings.financial_year_end, &self.time_zone)
        })
    }

    fn start_of(&self, date: Date) -> Option<Timestamp> {
        self.time_zone
            .to_ambiguous_timestamp(date.to_datetime(Time::midnight()))
            .compatible()
            .ok()
    }
}

fn latest_date(invoices: &[InvoiceRow]) -> Option<Date> {
    invoices.iter().filter_map(InvoiceRow::latest_date).max()
}

gallra_plugin_api::export_connector!(FortnoxConnector);
