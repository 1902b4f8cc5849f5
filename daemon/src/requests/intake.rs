//! Receiving a request: its due date, and the tasks it fans out to. Pure functions of the
//! config and the time.

use gallra_plugin_api::{Identifier, IdentifierKind};
use jiff::{Span, Timestamp};

use super::model::{NewRequestTask, RequestAction, RequestKind};
use super::view::ServiceError;
use crate::config::{Config, Handling, SystemConfig};
use crate::duration::CalendarDuration;

/// The due date of a request received at `received`: its kind's configured deadline, never
/// beyond the law's ceiling (one month, three with a recorded extension) on the calendar of
/// the configured time zone.
pub fn due_date(config: &Config, kind: RequestKind, received: Timestamp) -> Timestamp {
    let within = deadline(config, kind);
    let start = received.to_zoned(config.time_zone.clone());
    let months = if config.requests.extension_reason.is_some() {
        3
    } else {
        1
    };
    let ceiling = start
        .checked_add(Span::new().months(months))
        .unwrap_or(start.clone());
    within.after(&start).min(ceiling).timestamp()
}

fn deadline(config: &Config, kind: RequestKind) -> &CalendarDuration {
    let r = &config.requests;
    match kind {
        RequestKind::Erase => &r.erase_within,
        RequestKind::Export => &r.export_within,
        RequestKind::Restrict | RequestKind::Unrestrict => &r.restrict_within,
        RequestKind::Object => &r.object_within,
    }
}

/// Checks that a request names its subject by at least one identifier.
pub fn check_identifiers(identifiers: &[Identifier]) -> Result<(), ServiceError> {
    if identifiers.is_empty() {
        return Err(ServiceError::Invalid(
            "a request needs at least one identifier: email, personnummer, customer_id, phone or domain".into(),
        ));
    }
    if identifiers
        .iter()
        .all(|i| matches!(i.kind(), IdentifierKind::Phone | IdentifierKind::Ip))
    {
        return Err(ServiceError::Invalid(
            "a phone number or an IP address alone can belong to several people: add an email, personnummer or customer id".into(),
        ));
    }
    Ok(())
}

/// The tasks a request fans out to: one per system it concerns, in config order with the
/// account source last (so the subject stays findable until every other system is done).
pub fn fan_out(config: &Config, kind: RequestKind) -> Vec<NewRequestTask> {
    let mut systems: Vec<&SystemConfig> = config
        .systems
        .values()
        .filter(|s| s.name != config.account_source)
        .collect();
    systems.extend(config.systems.get(&config.account_source));
    systems
        .into_iter()
        .filter_map(|system| action(kind, system).map(|action| (system, action)))
        .enumerate()
        .map(|(order, (system, action))| NewRequestTask {
            system: system.name.clone(),
            action,
            order: order as u32,
        })
        .collect()
}

/// What a request of `kind` does in one system, if anything.
fn action(kind: RequestKind, system: &SystemConfig) -> Option<RequestAction> {
    let by_plugin = match kind {
        RequestKind::Erase => RequestAction::Erase,
        RequestKind::Export => RequestAction::Export,
        RequestKind::Restrict => RequestAction::Restrict,
        RequestKind::Unrestrict => RequestAction::Unrestrict,
        RequestKind::Object if system.marketing => RequestAction::Erase,
        RequestKind::Object => return None,
    };
    match (&system.handling, kind) {
        (Handling::Connector { .. }, _) => Some(by_plugin),
        (Handling::Manual { .. }, RequestKind::Object) if !system.marketing => None,
        (Handling::Manual { .. }, _) => Some(RequestAction::Manual),
        // Processors are told of erasures (and objections, for marketing processors).
        (Handling::Notify(_), RequestKind::Erase | RequestKind::Object) => {
            Some(RequestAction::Notify)
        }
        (Handling::Notify(_), _) => None,
    }
}
