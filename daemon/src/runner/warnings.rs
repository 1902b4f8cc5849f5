//! Warning subjects by email before an inactivity policy deletes them (`warn_before`).
//!
//! The scan decides who is due a warning ([`crate::policy::inactivity_with_warning`]) and,
//! in enforce mode, keeps their email address on the run's decision. After the safety
//! valves, and before any erasure, [`send_warnings`] sends each one through `[smtp]` and
//! records it; a run resumed after a crash or an approval sends those not yet sent. The
//! warning is recorded only once the relay accepted it: a crash in between sends it twice
//! rather than not at all. A warning that fails keeps the subject, and is tried again by the
//! next run.

use std::collections::BTreeMap;
use std::sync::Arc;

use gallra_plugin_api::{Identifier, IdentifierKind};
use jiff::Timestamp;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::{Context, RunError};
use crate::config::{InactivityWarning, Policy, Rule};
use crate::notify::{render, send_email, smtp_settings, SmtpSettings};
use crate::policy::{self, Reason};
use crate::store::{Decision, DecisionFilter, RunId, Store, WarningStore};

pub use gallra_core::template::WARNING_PLACEHOLDERS;

/// Decisions fetched from the store per batch.
const BATCH: usize = 200;
/// Emails in flight at once.
const IN_FLIGHT: usize = 4;

/// What the scan needs to decide subjects under a policy that warns.
#[derive(Clone, Copy)]
pub(super) struct WarnScan<'a> {
    /// The policy's name: warnings are kept per policy.
    pub policy: &'a str,
    /// `warn_before` and the notice.
    pub warning: &'a InactivityWarning,
    /// Where the standing warnings are; `None` if none were ever recorded (a plan before
    /// the first run).
    pub store: Option<&'a dyn WarningStore>,
}

impl<'a> WarnScan<'a> {
    /// What the scan needs for `policy`, if it warns; standing warnings are read from
    /// `store`.
    pub fn of(policy: &'a Policy, store: Option<&'a dyn WarningStore>) -> Option<Self> {
        match (&policy.warning, &policy.rule) {
            (Some(warning), Rule::Inactivity { .. }) => Some(WarnScan {
                policy: &policy.name,
                warning,
                store,
            }),
            _ => None,
        }
    }

    /// When each of `keys` with a standing warning was warned.
    pub fn standing(&self, keys: &[&str]) -> Result<BTreeMap<String, Timestamp>, RunError> {
        match self.store {
            Some(store) => Ok(store.standing_warnings(self.policy, keys)?),
            None => Ok(BTreeMap::new()),
        }
    }
}

/// The identifiers a warning needs: the subject's email address, and nothing else.
pub(super) fn warning_address(identifiers: &[Identifier]) -> Vec<Identifier> {
    identifiers
        .iter()
        .filter(|i| i.kind() == IdentifierKind::Email)
        .take(1)
        .cloned()
        .collect()
}

/// Sends every warning of `run` still due, recording each as it goes. Returns how many
/// could not be sent (for want of an address is not a failure: that is the data).
pub(super) async fn send_warnings(
    context: &Context,
    store: &Arc<dyn Store>,
    policy: &Policy,
    run: RunId,
) -> Result<u64, RunError> {
    let (Some(warning), Rule::Inactivity { idle_for, .. }) = (&policy.warning, &policy.rule) else {
        return Ok(0);
    };
    let relay = smtp_settings(&context.config).map_err(|why| {
        tracing::error!(policy = %policy.name, run = run.0, "warnings cannot be sent: {why}; the subjects are kept");
        why
    });
    let notice = Arc::new(Notice {
        policy: policy.name.clone(),
        idle_for: idle_for.as_str().to_owned(),
        warning: warning.clone(),
        time_zone: context.config.time_zone.clone(),
        relay: relay.ok(),
    });
    let in_flight = Arc::new(Semaphore::new(IN_FLIGHT));
    let (mut sent, mut failed) = (0u64, 0u64);
    let mut last_error: Option<String> = None;
    let mut after: Option<String> = None;
    loop {
        let due = store.decisions(run, DecisionFilter::WarningDue, after.as_deref(), BATCH)?;
        let Some(last) = due.last() else { break };
        after = Some(last.subject_key.clone());
        let mut sending = JoinSet::new();
        for decision in due {
            let notice = Arc::clone(&notice);
            let permit = Arc::clone(&in_flight)
                .acquire_owned()
                .await
                .expect("never closed");
            sending.spawn(async move {
                let outcome = notice.send(&decision.identifiers).await;
                drop(permit);
                (decision, outcome)
            });
        }
        while let Some(joined) = sending.join_next().await {
            let (decision, outcome) =
                joined.map_err(|e| RunError::Internal(format!("sending a warning: {e}")))?;
            let key = decision.subject_key.as_str();
            match outcome {
                Sent::Yes { at, delete_on } => {
                    store.record_warning(&policy.name, run, key, at, delete_on)?;
                    sent += 1;
                }
                Sent::No { reason, why } => {
                    if let Some(why) = why {
                        tracing::debug!(policy = %policy.name, run = run.0, subject = %key, "warning not sent: {why}");
                        last_error = Some(why);
                    }
                    // The decision stays, with its address, under the reason it was not sent.
                    let not_sent = Decision {
                        reason: reason.code().to_owned(),
                        ..decision
                    };
                    store.record_decisions(run, &[not_sent])?;
                    failed += u64::from(reason == Reason::WarningFailed);
                }
            }
        }
    }
    match last_error {
        Some(why) if failed > 0 => tracing::warn!(
            policy = %policy.name, run = run.0, sent, failed,
            "warnings not sent (last error: {why}); those subjects are kept and warned by a later run"
        ),
        _ if sent + failed > 0 => {
            tracing::info!(policy = %policy.name, run = run.0, sent, failed, "warnings sent")
        }
        _ => {}
    }
    Ok(failed)
}

/// One policy's warning, ready to send.
struct Notice {
    policy: String,
    idle_for: String,
    warning: InactivityWarning,
    time_zone: jiff::tz::TimeZone,
    /// `None` if the relay's settings could not be read (logged once).
    relay: Option<SmtpSettings>,
}

/// What became of one warning.
enum Sent {
    /// The relay accepted it at `at`; the subject may be deleted from `delete_on`.
    Yes { at: Timestamp, delete_on: Timestamp },
    /// It did not go out; the decision gets `reason`, and `why` is logged (no personal data).
    No { reason: Reason, why: Option<String> },
}

impl Notice {
    async fn send(&self, identifiers: &[Identifier]) -> Sent {
        let Some(to) = warning_address(identifiers).first().map(Identifier::value) else {
            return Sent::No {
                reason: Reason::NoWarningAddress,
                why: None,
            };
        };
        let Some(relay) = &self.relay else {
            return Sent::No {
                reason: Reason::WarningFailed,
                why: None,
            };
        };
        // Counted from when it is sent: the subject has the whole period from then.
        let at = crate::clock::now();
        let delete_on =
            policy::delete_on(&at.to_zoned(self.time_zone.clone()), &self.warning.before);
        let vars: BTreeMap<&str, String> = [
            ("delete_on", delete_on.date().to_string()),
            ("email", to.clone()),
            ("policy", self.policy.clone()),
            ("idle_for", self.idle_for.clone()),
        ]
        .into_iter()
        .collect();
        let rendered = render(&self.warning.subject, &vars)
            .and_then(|subject| Ok((subject, render(&self.warning.template, &vars)?)));
        let (subject, body) = match rendered {
            Ok(texts) => texts,
            Err(e) => {
                return Sent::No {
                    reason: Reason::WarningFailed,
                    why: Some(format!("the warning's template is wrong: {e}")),
                }
            }
        };
        match send_email(relay, &to, &subject, &body).await {
            Ok(()) => Sent::Yes {
                at,
                delete_on: delete_on.timestamp(),
            },
            Err(e) => Sent::No {
                reason: Reason::WarningFailed,
                why: Some(e.to_string()),
            },
        }
    }
}
