//! # gallra-plugin-http
//!
//! The gallra connector for a system that has a REST API but no plugin of its own: the
//! API's operations are described in the settings as request templates, the way privacy
//! platforms describe SaaS integrations. Settings and a complete example:
//! [`config::Settings`].
//!
//! - `lookup`: each `[[lookup]]` request is sent once per identifier of its kind (the one
//!   its placeholders name: `{email}`, `{phone}`, …), every page is read, and each record's
//!   key is taken from `key` (a JSON pointer). With `match`, only records whose value there
//!   equals the identifier count. Records are `<collection>`/`<key>`.
//! - `export`: every field of each record, nested objects flattened to dotted names
//!   (`address.city`), from the lookup's answer or, with `[export]`, from a request per
//!   record (`{record.id}`).
//! - `erase` / `anonymize`: a request per record found (`{record.id}`), or per identifier
//!   when the lookup found anything; a `not_found` status (default 404) means already gone,
//!   so erasing twice succeeds. One sent by POST or PATCH is never resent within a call
//!   after a 5xx or a timeout (the API may have acted); gallra retries the erase later,
//!   looking the subject up afresh.
//! - `status`: the latest time at `status.last_activity` in the records found.
//!
//! Identifiers enter requests only as data: percent-encoded in paths, as JSON values in
//! bodies. Errors and logs name the system and the path *template*, never a filled-in path.
//!
//! Watch out: an API that ignores a filter parameter it does not know answers a lookup
//! with everyone, and erase would then delete everyone. Set `match` on every lookup; as a
//! backstop, a lookup that finds more than `max_records` (default 100) records fails.

#![forbid(unsafe_code)]

mod client;
pub mod config;
mod flatten;
pub mod pagination;
mod pointer;
pub mod template;

use std::collections::BTreeMap;

use gallra_plugin_api::jiff::{civil::Date, tz::TimeZone, Timestamp};
use gallra_plugin_api::{
    Capability, Connector, ConnectorError, Description, EraseOutcome, ExportField, ExportResult,
    Identifier, LookupResult, OpenContext, RecordRef, Subject, SubjectFacts,
};
use serde_json::Value;

use crate::client::{Api, Effect, Target};
use crate::config::{parse_request, Action, Export, Lookup, Parsed, Scope, Settings};
use crate::pagination::PageRequest;
use crate::template::Bindings;

/// One configured REST API.
pub struct HttpConnector {
    settings: Settings,
    api: Api,
    lookups: Vec<(Lookup, Parsed)>,
    export: Option<(Export, Parsed)>,
    erase: (Action, Parsed),
    anonymize: Option<(Action, Parsed)>,
}

/// A record a lookup found.
struct Found {
    /// Its key as the API gave it, for `{record.id}`.
    id: Value,
    /// The record as the lookup returned it.
    record: Value,
}

fn endpoint(method: config::HttpMethod, path: &str) -> String {
    format!("{} {path}", method.as_str())
}

impl HttpConnector {
    /// The subject's records, by key.
    fn find(&self, subject: &Subject) -> Result<BTreeMap<String, Found>, ConnectorError> {
        let mut found = BTreeMap::new();
        for (lookup, parsed) in &self.lookups {
            let Scope::Identifier(kind) = parsed.scope else {
                continue;
            };
            let label = endpoint(lookup.method, &lookup.path);
            for identifier in subject.of_kind(kind) {
                let bindings = Bindings {
                    identifier: Some((kind, identifier.value())),
                    record_id: None,
                };
                let path = self.path(parsed, &bindings, &label)?;
                let body = parsed.body.as_ref().map(|b| b.render(&bindings));
                let records = lookup.pagination.read_all(
                    &self.api.label(&label),
                    &lookup.results,
                    self.settings.max_records,
                    |page| {
                        let (target, method, body) = match page {
                            PageRequest::Params(query) => (
                                Target::Path(path.clone(), query),
                                lookup.method,
                                body.as_ref(),
                            ),
                            // A link names the page completely: fetch it as a link is fetched.
                            PageRequest::Link(link) => {
                                (Target::Link(link), config::HttpMethod::Get, None)
                            }
                        };
                        self.api
                            .send(
                                method,
                                &label,
                                target,
                                body,
                                &lookup.not_found,
                                Effect::Read,
                            )?
                            .map(|response| response.json::<Value>())
                            .transpose()
                    },
                )?;
                for record in records {
                    if let Some(pointer) = &lookup.match_pointer {
                        if !matches(record.pointer(pointer), identifier) {
                            continue;
                        }
                    }
                    let id = record
                        .pointer(&lookup.key)
                        .filter(|id| id.is_string() || id.is_number())
                        .cloned();
                    let Some(key) = id.as_ref().and_then(pointer::scalar_text) else {
                        return Err(ConnectorError::permanent(format!(
                            "{}: a record has no string or number at key = \"{}\" (check the \
                             lookup's key pointer)",
                            self.api.label(&label),
                            lookup.key
                        )));
                    };
                    let id = id.unwrap_or(Value::Null);
                    found.entry(key).or_insert(Found { id, record });
                }
            }
        }
        if found.len() > self.settings.max_records {
            return Err(ConnectorError::permanent(format!(
                "the lookups found more than {} records for one subject \
                 (max_records); check their filters and set match",
                self.settings.max_records
            )));
        }
        Ok(found)
    }

    /// The request's path with the bindings filled in, percent-encoded.
    fn path(
        &self,
        parsed: &Parsed,
        bindings: &Bindings,
        label: &str,
    ) -> Result<String, ConnectorError> {
        parsed
            .path
            .render_path(bindings)
            .map_err(|e| ConnectorError::permanent(format!("{}: {e}", self.api.label(label))))
    }

    /// Sends an erase or anonymize request for the subject; returns the records affected.
    fn act(
        &self,
        key: &str,
        (action, parsed): &(Action, Parsed),
        subject: &Subject,
    ) -> Result<u64, ConnectorError> {
        let found = self.find(subject)?;
        if found.is_empty() {
            return Ok(0);
        }
        let label = endpoint(action.method, &action.path);
        let send = |bindings: &Bindings| {
            let target = Target::Path(self.path(parsed, bindings, &label)?, Vec::new());
            let body = parsed.body.as_ref().map(|b| b.render(bindings));
            self.api
                .send(
                    action.method,
                    &label,
                    target,
                    body.as_ref(),
                    &action.not_found,
                    Effect::Change,
                )
                .map(|answer| answer.is_some())
        };
        match parsed.scope {
            Scope::Record => {
                let mut affected = 0;
                let mut answered_gone = Vec::new();
                for (key, found) in &found {
                    let bindings = Bindings {
                        identifier: None,
                        record_id: Some(found.id.clone()),
                    };
                    if send(&bindings)? {
                        affected += 1;
                    } else {
                        answered_gone.push(key);
                    }
                }
                // "Already gone" for a record the lookup has just found is odd: make sure
                // it is not a wrong path answering 404 while the data stays.
                if !answered_gone.is_empty() {
                    let still = self.find(subject)?;
                    if answered_gone.iter().any(|key| still.contains_key(*key)) {
                        return Err(ConnectorError::permanent(format!(
                            "{}: answered \"not found\" for records the lookup still finds; \
                             check {key}.path and {key}.not_found",
                            self.api.label(&label)
                        )));
                    }
                }
                Ok(affected)
            }
            Scope::Identifier(kind) => {
                let mut sent = false;
                for identifier in subject.of_kind(kind) {
                    send(&Bindings {
                        identifier: Some((kind, identifier.value())),
                        record_id: None,
                    })?;
                    sent = true;
                }
                if !sent {
                    return Err(ConnectorError::permanent(format!(
                        "{}: {key} needs the subject's {kind}, which gallra does not know for \
                         this subject; use {{record.id}} in {key}.path instead",
                        self.api.label(&label)
                    )));
                }
                Ok(found.len() as u64)
            }
            Scope::Fixed => Err(ConnectorError::config(
                format!("{key}.path"),
                "say whose data: use {record.id} or an identifier placeholder",
            )),
        }
    }

    /// The record's full data for the export: fetched with `[export]`, or as looked up.
    fn export_record(&self, found: &Found) -> Result<Option<Value>, ConnectorError> {
        let Some((export, parsed)) = &self.export else {
            return Ok(Some(found.record.clone()));
        };
        let bindings = Bindings {
            identifier: None,
            record_id: Some(found.id.clone()),
        };
        let label = endpoint(export.method, &export.path);
        let target = Target::Path(self.path(parsed, &bindings, &label)?, Vec::new());
        let body = parsed.body.as_ref().map(|b| b.render(&bindings));
        let Some(response) = self.api.send(
            export.method,
            &label,
            target,
            body.as_ref(),
            &export.not_found,
            Effect::Read,
        )?
        else {
            // Gone between the lookup and the fetch.
            return Ok(None);
        };
        let document: Value = response.json()?;
        match document.pointer(&export.record) {
            Some(record) => Ok(Some(record.clone())),
            None => Err(ConnectorError::permanent(format!(
                "{}: the answer has nothing at record = \"{}\" (check export.record)",
                self.api.label(&label),
                export.record
            ))),
        }
    }
}

/// Whether the value at a lookup's `match` pointer is the identifier, compared normalized
/// (an email in any case, a phone in any notation). An array matches if an item does.
fn matches(value: Option<&Value>, identifier: &Identifier) -> bool {
    match value {
        Some(Value::Array(items)) => items.iter().any(|v| matches(Some(v), identifier)),
        Some(value) => pointer::scalar_text(value)
            .and_then(|text| Identifier::parse(identifier.kind(), text.trim()).ok())
            .is_some_and(|parsed| &parsed == identifier),
        None => false,
    }
}

/// A time as APIs write it: RFC 3339, a date, or Unix seconds.
fn parse_time(value: &Value) -> Option<Timestamp> {
    match value {
        Value::Number(n) => Timestamp::from_second(n.as_i64()?).ok(),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<Timestamp>().ok().or_else(|| {
                let date: Date = s.parse().ok()?;
                date.to_zoned(TimeZone::UTC).ok().map(|z| z.timestamp())
            })
        }
        _ => None,
    }
}

impl Connector for HttpConnector {
    type Settings = Settings;

    fn validate(settings: &Settings) -> Result<(), ConnectorError> {
        settings.validate()
    }

    fn open(settings: Settings, context: OpenContext) -> Result<Self, ConnectorError> {
        settings.validate()?;
        let lookups = settings
            .lookup
            .iter()
            .enumerate()
            .map(|(n, l)| {
                parse_request(&format!("lookup[{n}]"), &l.path, l.body.as_ref())
                    .map(|p| (l.clone(), p))
            })
            .collect::<Result<_, _>>()?;
        let export = settings
            .export
            .as_ref()
            .map(|e| parse_request("export", &e.path, e.body.as_ref()).map(|p| (e.clone(), p)))
            .transpose()?;
        let action = |key: &str, a: &Action| {
            parse_request(key, &a.path, a.body.as_ref()).map(|p| (a.clone(), p))
        };
        let erase = action("erase", &settings.erase)?;
        let anonymize = settings
            .anonymize
            .as_ref()
            .map(|a| action("anonymize", a))
            .transpose()?;
        Ok(Self {
            api: Api::new(&context.system, &settings)?,
            settings,
            lookups,
            export,
            erase,
            anonymize,
        })
    }

    fn describe(&self) -> Description {
        let mut capabilities = vec![Capability::Lookup, Capability::Export, Capability::Erase];
        if self.anonymize.is_some() {
            capabilities.push(Capability::Anonymize);
        }
        if self.settings.status.is_some() {
            capabilities.push(Capability::Status);
        }
        Description {
            name: "http".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            capabilities,
            identifier_kinds: self.settings.identifier_kinds(),
            record_kinds: Vec::new(),
            activity_bearing: self.settings.status.is_some(),
        }
    }

    fn lookup(&self, subject: &Subject) -> Result<LookupResult, ConnectorError> {
        let records = self
            .find(subject)?
            .into_keys()
            .map(|key| RecordRef {
                collection: self.settings.collection.clone(),
                key,
            })
            .collect();
        Ok(LookupResult { records })
    }

    fn export(&self, subject: &Subject) -> Result<ExportResult, ConnectorError> {
        let mut fields = Vec::new();
        for (key, found) in self.find(subject)? {
            let Some(record) = self.export_record(&found)? else {
                continue;
            };
            fields.extend(flatten::flatten(&record).into_iter().map(|(field, value)| {
                ExportField {
                    collection: self.settings.collection.clone(),
                    record: key.clone(),
                    field,
                    value,
                }
            }));
        }
        Ok(ExportResult { fields })
    }

    fn erase(&self, subject: &Subject) -> Result<EraseOutcome, ConnectorError> {
        let records = self.act("erase", &self.erase, subject)?;
        Ok(EraseOutcome::Erased { records })
    }

    fn anonymize(&self, subject: &Subject) -> Result<EraseOutcome, ConnectorError> {
        let Some(anonymize) = &self.anonymize else {
            return Err(ConnectorError::Unsupported {
                operation: "anonymize (configure [anonymize])".to_owned(),
            });
        };
        let records = self.act("anonymize", anonymize, subject)?;
        Ok(EraseOutcome::Anonymized {
            records,
            retained: None,
            kept: Vec::new(),
        })
    }

    fn status(&self, subject: &Subject) -> Result<SubjectFacts, ConnectorError> {
        let Some(status) = &self.settings.status else {
            return Err(ConnectorError::Unsupported {
                operation: "status (configure [status])".to_owned(),
            });
        };
        let mut last_activity: Option<Timestamp> = None;
        for found in self.find(subject)?.values() {
            let Some(value) = pointer::get(&found.record, &status.last_activity) else {
                continue;
            };
            let Some(at) = parse_time(value) else {
                return Err(ConnectorError::permanent(format!(
                    "a record's value at status.last_activity = \"{}\" is not a \
                     time (expected RFC 3339, a date or Unix seconds)",
                    status.last_activity
                )));
            };
            last_activity = last_activity.max(Some(at));
        }
        Ok(SubjectFacts {
            last_activity,
            ..SubjectFacts::default()
        })
    }

    fn health(&self) -> Result<(), ConnectorError> {
        match &self.settings.health {
            Some(health) => {
                let label = endpoint(health.method, &health.path);
                let path = parse_request("health", &health.path, None)?
                    .path
                    .render_path(&Bindings::default())?;
                let target = Target::Path(path, Vec::new());
                self.api
                    .send(health.method, &label, target, None, &[], Effect::Read)
                    .map(drop)
            }
            None => self
                .api
                .send(
                    config::HttpMethod::Get,
                    "GET /",
                    Target::Path(String::new(), Vec::new()),
                    None,
                    &[404],
                    Effect::Read,
                )
                .map(drop),
        }
    }
}

gallra_plugin_api::export_connector!(HttpConnector);
