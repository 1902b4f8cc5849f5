//! # gallra-plugin-mailchimp
//!
//! The gallra connector for a Mailchimp account's audiences (Marketing API 3.0). Subjects
//! are found by `email`. Settings: see [`config::Settings`]; a complete example:
//!
//! ```toml
//! [systems.newsletter]
//! plugin = "mailchimp"
//! [systems.newsletter.settings]
//! api_key_file = "/run/credentials/gallra/mailchimp-key"
//! max_connections = 10
//! [systems.newsletter.settings.http]
//! max_retries = 6
//! ```
//!
//! - `lookup` asks `GET /search-members` and, because that search can miss members (it
//!   leaves out archived ones, and its index lags), also reads the member directly in every
//!   audience (`GET /lists`, every page, then `GET /lists/{list_id}/members/{hash}`, the hash
//!   being MD5 of the lower-cased email). The direct read decides.
//! - `export` lists each membership: email, status, every merge field (name, address,
//!   phone, birthday, …), audience, sign-up and opt-in times and IP addresses, language,
//!   last change.
//! - `erase` deletes the member permanently in every audience where it exists
//!   (`POST …/members/{hash}/actions/delete-permanent`). Not `DELETE`, which only archives:
//!   an archived member keeps all its data and can be restored. A permanently deleted
//!   address cannot be added to that audience again by import or API; the person can only
//!   sign up again themselves.
//! - `restrict` with `true` unsubscribes the member in every audience
//!   (`PATCH status=unsubscribed`). This is how an objection to direct marketing (GDPR
//!   Art. 21(2)–(3)) or a restriction of processing (Art. 18) is carried out in a mailing
//!   list: the address stays stored, and nothing is sent to it any more.
//! - `restrict` with `false` is refused ([`ConnectorError::Refused`], so that gallra shows
//!   the task as blocked with the reason, for a person to handle): putting an unsubscribed
//!   person back on a marketing list needs that person's own consent (Art. 7, Art. 21(3)),
//!   which lifting a restriction does not give. A person in no audience has nothing to
//!   lift, which succeeds.
//!
//! Watch out: Mailchimp allows 10 simultaneous connections per account and answers 429
//! above that, without `Retry-After`. The connector keeps its own requests at or under
//! `max_connections` (shared by all of gallra's threads) and the connector kit retries a
//! 429 with backoff; lower `max_connections` if other integrations use the account at the
//! same time.

#![forbid(unsafe_code)]

mod client;
pub mod config;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use gallra_plugin_api::http::{HttpClient, Secret};
use gallra_plugin_api::{
    Capability, Connector, ConnectorError, Description, EraseOutcome, ExportField, ExportResult,
    IdentifierKind, LookupResult, OpenContext, RecordRef, Subject,
};
use serde_json::Value;

use crate::client::{Mailchimp, Member};
use crate::config::{base_url_for_key, Settings};

pub use crate::client::subscriber_hash;

/// The statuses in which a member may still receive marketing (or be asked to confirm).
const REACHABLE: [&str; 3] = ["subscribed", "pending", "transactional"];

/// One configured Mailchimp account.
pub struct MailchimpConnector {
    api: Mailchimp,
    workers: usize,
}

impl Connector for MailchimpConnector {
    type Settings = Settings;

    fn validate(settings: &Settings) -> Result<(), ConnectorError> {
        settings.validate()
    }

    fn open(settings: Settings, context: OpenContext) -> Result<Self, ConnectorError> {
        settings.validate()?;
        let key = Secret::from_file(&settings.api_key_file)?;
        let base = match &settings.base_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => base_url_for_key(key.expose())?,
        };
        let http = HttpClient::new(&context.system, &settings.http)?;
        Ok(Self {
            api: Mailchimp::new(
                http,
                base,
                key,
                settings.max_connections,
                settings.page_size,
            ),
            workers: settings.max_connections as usize,
        })
    }

    fn describe(&self) -> Description {
        Description {
            name: "mailchimp".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            capabilities: vec![
                Capability::Lookup,
                Capability::Export,
                Capability::Erase,
                Capability::Restrict,
            ],
            identifier_kinds: vec![IdentifierKind::Email],
            record_kinds: Vec::new(),
            activity_bearing: false,
        }
    }

    fn lookup(&self, subject: &Subject) -> Result<LookupResult, ConnectorError> {
        let records = self
            .memberships(subject)?
            .into_iter()
            .map(|m| RecordRef {
                collection: collection(&m),
                key: m.id,
            })
            .collect();
        Ok(LookupResult { records })
    }

    fn export(&self, subject: &Subject) -> Result<ExportResult, ConnectorError> {
        let fields = self
            .memberships(subject)?
            .iter()
            .flat_map(member_fields)
            .collect();
        Ok(ExportResult { fields })
    }

    fn erase(&self, subject: &Subject) -> Result<EraseOutcome, ConnectorError> {
        let mut records = 0;
        for member in self.memberships(subject)? {
            if self.api.delete_permanent(&member.list_id, &member.id)? {
                records += 1;
            }
        }
        Ok(EraseOutcome::Erased { records })
    }

    fn restrict(&self, subject: &Subject, restricted: bool) -> Result<(), ConnectorError> {
        let memberships = self.memberships(subject)?;
        if !restricted {
            if memberships.is_empty() {
                return Ok(());
            }
            return Err(ConnectorError::Refused {
                reason: "lifting the restriction would mean subscribing the person to \
                         marketing again, which needs their own new consent: ask them to sign \
                         up again through the audience's form"
                    .to_owned(),
                legal_basis: Some("GDPR Art. 7 and Art. 21(3)".to_owned()),
            });
        }
        for member in memberships {
            if REACHABLE.contains(&member.status.as_str()) {
                self.api.unsubscribe(&member.list_id, &member.id)?;
            }
        }
        Ok(())
    }

    fn health(&self) -> Result<(), ConnectorError> {
        self.api.ping()
    }
}

impl MailchimpConnector {
    /// The subject's memberships in every audience, read directly.
    fn memberships(&self, subject: &Subject) -> Result<Vec<Member>, ConnectorError> {
        let mut emails: Vec<String> = subject
            .of_kind(IdentifierKind::Email)
            .map(|i| i.value())
            .collect();
        emails.sort();
        emails.dedup();
        if emails.is_empty() {
            return Ok(Vec::new());
        }
        let mut audiences = self.api.audiences()?;
        let mut checks: Vec<(String, String)> = Vec::new();
        for email in &emails {
            // The search is a cross-check: an audience it names that the listing did not
            // (one created meanwhile) is read too.
            for member in self.api.search(email)? {
                if !audiences.contains(&member.list_id) {
                    audiences.push(member.list_id);
                }
            }
            let hash = subscriber_hash(email);
            checks.extend(audiences.iter().map(|list| (list.clone(), hash.clone())));
        }
        let found = parallel(&checks, self.workers, |(list, hash)| {
            self.api.member(list, hash)
        })?;
        Ok(found.into_iter().flatten().collect())
    }
}

/// Runs `f` on every item with up to `workers` threads (the gate bounds the requests);
/// results in item order, or the first error.
fn parallel<T, R, F>(items: &[T], workers: usize, f: F) -> Result<Vec<R>, ConnectorError>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> Result<R, ConnectorError> + Sync,
{
    let workers = workers.clamp(1, items.len().max(1));
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<(usize, Result<R, ConnectorError>)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                while !failed.load(Ordering::Relaxed) {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(index) else {
                        break;
                    };
                    let result = f(item);
                    if result.is_err() {
                        failed.store(true, Ordering::Relaxed);
                    }
                    results
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((index, result));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, result)| result).collect()
}

fn collection(member: &Member) -> String {
    format!("lists/{}/members", member.list_id)
}

fn member_fields(member: &Member) -> Vec<ExportField> {
    let mut values: Vec<(String, Option<String>)> = vec![
        (
            "email_address".to_owned(),
            Some(member.email_address.clone()),
        ),
        ("status".to_owned(), Some(member.status.clone())),
        ("list_id".to_owned(), Some(member.list_id.clone())),
        (
            "timestamp_signup".to_owned(),
            member.timestamp_signup.clone(),
        ),
        ("timestamp_opt".to_owned(), member.timestamp_opt.clone()),
        ("ip_signup".to_owned(), member.ip_signup.clone()),
        ("ip_opt".to_owned(), member.ip_opt.clone()),
        ("language".to_owned(), member.language.clone()),
        ("last_changed".to_owned(), member.last_changed.clone()),
    ];
    for (name, value) in &member.merge_fields {
        flatten(&format!("merge_fields.{name}"), value, &mut values);
    }
    values
        .into_iter()
        .map(|(field, value)| ExportField {
            collection: collection(member),
            record: member.id.clone(),
            field,
            value: value.filter(|v| !v.is_empty()),
        })
        .collect()
}

/// A merge field as text; an address (an object) becomes one field per part.
fn flatten(name: &str, value: &Value, out: &mut Vec<(String, Option<String>)>) {
    match value {
        Value::Null => out.push((name.to_owned(), None)),
        Value::String(s) => out.push((name.to_owned(), Some(s.clone()))),
        Value::Object(parts) => {
            for (part, value) in parts {
                flatten(&format!("{name}.{part}"), value, out);
            }
        }
        other => out.push((name.to_owned(), Some(other.to_string()))),
    }
}

gallra_plugin_api::export_connector!(MailchimpConnector);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_address_merge_field_is_exported_part_by_part() {
        let member: Member = serde_json::from_value(json!({
            "id": "h", "email_address": "a@b.se", "status": "subscribed", "list_id": "l1",
            "merge_fields": {"FNAME": "Anna", "ADDRESS": {"addr1": "Storgatan 1", "city": "Umeå"},
                             "AGE": 42, "LNAME": ""},
        }))
        .unwrap();
        let fields = member_fields(&member);
        let get = |name: &str| {
            fields
                .iter()
                .find(|f| f.field == name)
                .unwrap_or_else(|| panic!("{name}"))
                .value
                .clone()
        };
        assert_eq!(get("merge_fields.FNAME").as_deref(), Some("Anna"));
        assert_eq!(get("merge_fields.ADDRESS.city").as_deref(), Some("Umeå"));
        assert_eq!(get("merge_fields.AGE").as_deref(), Some("42"));
        assert_eq!(get("merge_fields.LNAME"), None);
        assert!(fields.iter().all(|f| f.collection == "lists/l1/members"));
    }

    #[test]
    fn parallel_keeps_order_and_stops_at_an_error() {
        let items: Vec<u32> = (0..50).collect();
        let doubled = parallel(&items, 7, |n| Ok(n * 2)).unwrap();
        assert_eq!(doubled, items.iter().map(|n| n * 2).collect::<Vec<_>>());
        let failed = parallel(&items, 3, |n| {
            if *n == 20 {
                Err(ConnectorError::transient("boom"))
            } else {
                Ok(*n)
            }
        });
        assert!(failed.is_err());
        assert!(parallel(&Vec::<u32>::new(), 4, |n| Ok(*n))
            .unwrap()
            .is_empty());
    }
}
