//! What gallra shows Prometheus: every metric, registered once in [`Metrics`], served by
//! [`serve_metrics`] on its own listener at `/metrics` in the OpenMetrics text format.
//!
//! **No personal data in any label.** Labels carry only system and policy names
//! ([`SafeName`]: `[a-z0-9_-]+`, the config's rule for names), plugin versions, and fixed
//! vocabularies (outcomes, request kinds and states, actions, operations). No method takes a
//! `&str` that could become a label, so an identifier, a subject key or anything derived
//! from one cannot be written into a metric by mistake:
//!
//! ```
//! use gallra::metrics::{Metrics, SafeName};
//! use gallra::requests::RequestKind;
//!
//! let metrics = Metrics::new();
//! metrics.request_received(RequestKind::Erase);
//! assert!(SafeName::new("alice@example.com").is_err());
//! ```
//!
//! ```compile_fail
//! let metrics = gallra::metrics::Metrics::new();
//! metrics.request_received("alice@example.com"); // a kind is a RequestKind, not text
//! ```
//!
//! ```compile_fail
//! let metrics = gallra::metrics::Metrics::new();
//! metrics.safety_valve_tripped(&"alice@example.com".into()); // no From<&str> for SafeName
//! ```
//!
//! Timestamps are taken as arguments (the caller's clock), so tests control them. A gauge
//! holding a timestamp is 0 when there is none (no open request, a policy that never ran);
//! alert rules compare it with `> 0` first.

mod families;
mod labels;
mod server;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;

use crate::audit::{AuditLog, AuditStatus};
use crate::store::{RequestKind, RequestState};
use families::{
    ensure, CallLabels, Current, Inner, KindLabels, KindStateLabels, OperationLabels,
    OutcomeLabels, PluginLabels, PolicyLabels, RunLabels, SystemLabels, TaskLabels,
};

pub use labels::{
    CallOutcome, Operation, PluginVersion, RunOutcome, SafeName, TaskAction, TaskOutcome,
    UnsafeLabel, INVALID_NAME,
};
pub use server::{
    bind_metrics, metrics_router, serve_metrics, serve_metrics_on, MetricsError, CONTENT_TYPE,
};

/// Every gallra metric, registered once. Cloning is cheap (one `Arc`); hand a clone to the
/// scheduler, the runner, the request engine and the `/metrics` listener.
///
/// Labels never hold personal data: see the [module docs](self).
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

/// A configured policy, with what the state store knows of its history, so the
/// last-run gauges survive a restart (seed them from `Store::recent_runs` at start and on
/// reload).
#[derive(Debug, Clone)]
pub struct PolicySeed {
    /// The policy's name.
    pub name: SafeName,
    /// When its last run ended, if it ever ran.
    pub last_run: Option<Timestamp>,
    /// When its last successful run (done or reported) ended, if any.
    pub last_success: Option<Timestamp>,
}

/// A snapshot of the request engine's open work, set as a whole by
/// [`Metrics::set_request_gauges`].
#[derive(Debug, Clone, Default)]
pub struct RequestGauges {
    /// How many requests are in each (kind, state) that is not final. A combination left
    /// out is 0.
    pub open: Vec<(RequestKind, RequestState, u64)>,
    /// Open requests past their due time.
    pub overdue: u64,
    /// Open requests due soon (the engine's threshold) and not yet done.
    pub at_risk: u64,
    /// The due time of the open request due soonest.
    pub oldest_open_due: Option<Timestamp>,
    /// When the oldest open request was received.
    pub oldest_open_received: Option<Timestamp>,
    /// Tasks waiting for a person (manual tasks, failures handed over).
    pub tasks_needing_person: u64,
}

/// A loaded plugin, for `gallra_plugin_loaded`.
#[derive(Debug, Clone)]
pub struct LoadedPlugin {
    /// The system it serves.
    pub system: SafeName,
    /// The plugin's name (`plugin = "…"` in the config).
    pub plugin: SafeName,
    /// The version it reported.
    pub version: PluginVersion,
}

fn seconds(t: Timestamp) -> f64 {
    t.as_millisecond() as f64 / 1000.0
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric; `gallra_up` and `gallra_build_info` are 1 from here on.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner::new()),
        }
    }

    /// Every metric in the OpenMetrics text format, ending in `# EOF`.
    pub fn encode(&self) -> Result<String, MetricsError> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.inner.registry)
            .map_err(|_| MetricsError::Encode)?;
        Ok(out)
    }

    /// Declares the configured policies (at start and after each reload): each gets its
    /// last-run gauges, seeded from the store, so a policy that never ran shows 0 and one
    /// removed from the config disappears.
    pub fn set_policies(&self, policies: &[PolicySeed]) {
        let i = &self.inner;
        let mut current = self.current();
        let new: Vec<PolicyLabels> = policies
            .iter()
            .map(|p| PolicyLabels {
                policy: p.name.clone(),
            })
            .collect();
        for gone in current.policies.iter().filter(|l| !new.contains(l)) {
            i.policy_last_run.remove(gone);
            i.policy_last_success.remove(gone);
            i.policy_last_duration.remove(gone);
            i.policy_selected.remove(gone);
        }
        for (labels, seed) in new.iter().zip(policies) {
            let at = |t: Option<Timestamp>| t.map_or(0.0, seconds);
            i.policy_last_run
                .get_or_create(labels)
                .set(at(seed.last_run));
            i.policy_last_success
                .get_or_create(labels)
                .set(at(seed.last_success));
            ensure(&i.policy_last_duration, labels);
            ensure(&i.policy_selected, labels);
            ensure(&i.safety_valve_trips, labels);
        }
        current.policies = new;
    }

    /// A policy run ended at `now` after `duration`, having selected `selected` subjects.
    pub fn run_finished(
        &self,
        policy: &SafeName,
        outcome: RunOutcome,
        selected: u64,
        duration: Duration,
        now: Timestamp,
    ) {
        let i = &self.inner;
        let labels = PolicyLabels {
            policy: policy.clone(),
        };
        i.policy_runs
            .get_or_create(&RunLabels {
                policy: policy.clone(),
                outcome: outcome.as_str(),
            })
            .inc();
        i.policy_last_run.get_or_create(&labels).set(seconds(now));
        if outcome.is_success() {
            i.policy_last_success
                .get_or_create(&labels)
                .set(seconds(now));
        }
        i.policy_last_duration
            .get_or_create(&labels)
            .set(duration.as_secs_f64());
        i.policy_selected
            .get_or_create(&labels)
            .set(count(selected));
    }

    /// A safety valve stopped a run of `policy` before it deleted anything.
    pub fn safety_valve_tripped(&self, policy: &SafeName) {
        self.inner
            .safety_valve_trips
            .get_or_create(&PolicyLabels {
                policy: policy.clone(),
            })
            .inc();
    }

    /// A task (of a policy run or a request) ended in `system`.
    pub fn task_finished(&self, system: &SafeName, action: impl TaskAction, outcome: TaskOutcome) {
        self.inner
            .tasks
            .get_or_create(&TaskLabels {
                system: system.clone(),
                action: action.label(),
                outcome: outcome.as_str(),
            })
            .inc();
    }

    /// One call to `system`'s connector ended after `duration`.
    pub fn connector_call(
        &self,
        system: &SafeName,
        operation: Operation,
        outcome: CallOutcome,
        duration: Duration,
    ) {
        let i = &self.inner;
        i.connector_calls
            .get_or_create(&CallLabels {
                system: system.clone(),
                operation: operation.as_str(),
                outcome: outcome.as_str(),
            })
            .inc();
        i.connector_call_duration
            .get_or_create(&OperationLabels {
                system: system.clone(),
                operation: operation.as_str(),
            })
            .observe(duration.as_secs_f64());
    }

    /// A data subject request was received.
    pub fn request_received(&self, kind: RequestKind) {
        self.inner
            .requests_received
            .get_or_create(&KindLabels {
                kind: kind.as_str(),
            })
            .inc();
    }

    /// A notice to `system`'s processor went unanswered and was escalated to a person.
    pub fn notice_escalated(&self, system: &SafeName) {
        self.inner
            .notices_escalated
            .get_or_create(&SystemLabels {
                system: system.clone(),
            })
            .inc();
    }

    /// Replaces the request gauges with the engine's latest snapshot.
    pub fn set_request_gauges(&self, g: &RequestGauges) {
        let i = &self.inner;
        let mut current = self.current();
        let new: Vec<(KindStateLabels, u64)> = g
            .open
            .iter()
            .map(|&(kind, state, n)| {
                let labels = KindStateLabels {
                    kind: kind.as_str(),
                    state: state.as_str(),
                };
                (labels, n)
            })
            .collect();
        for gone in &current.open {
            if !new.iter().any(|(l, _)| l == gone) {
                i.requests_open.get_or_create(gone).set(0);
            }
        }
        for (labels, n) in &new {
            i.requests_open.get_or_create(labels).set(count(*n));
            if !current.open.contains(labels) {
                current.open.push(labels.clone());
            }
        }
        i.requests_overdue.set(count(g.overdue));
        i.requests_at_risk.set(count(g.at_risk));
        i.oldest_open_due
            .set(g.oldest_open_due.map_or(0.0, seconds));
        i.oldest_open_received
            .set(g.oldest_open_received.map_or(0.0, seconds));
        i.tasks_needing_person.set(count(g.tasks_needing_person));
    }

    /// Declares the loaded plugins (at start and after each reload), replacing the last list.
    pub fn set_plugins(&self, plugins: &[LoadedPlugin]) {
        let i = &self.inner;
        let mut current = self.current();
        for gone in current.plugins.drain(..) {
            i.plugins.remove(&gone);
        }
        for p in plugins {
            let labels = PluginLabels {
                system: p.system.clone(),
                plugin: p.plugin.clone(),
                version: p.version.clone(),
            };
            i.plugins.get_or_create(&labels).set(1);
            current.plugins.push(labels);
        }
    }

    /// A configuration reload was accepted (`ok`) or rejected (the old config keeps running).
    pub fn config_reloaded(&self, ok: bool) {
        let outcome = if ok { "ok" } else { "rejected" };
        self.inner
            .config_reloads
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// The scheduler loop went round at `now`.
    pub fn scheduler_tick(&self, now: Timestamp) {
        self.inner.scheduler_last_tick.set(seconds(now));
    }

    /// Whether this daemon leads the scheduler now.
    pub fn set_leader(&self, leading: bool) {
        self.inner.leader.set(i64::from(leading));
    }

    /// The leases this daemon holds, and those in the store that ran out unworked.
    pub fn set_leases(&self, held: u64, expired: u64) {
        self.inner.leases_held.set(count(held));
        self.inner.leases_expired.set(count(expired));
    }

    /// The audit log's status: whether it matches its head, and the head's seq.
    pub fn set_audit(&self, status: AuditStatus) {
        self.inner.audit_intact.set(i64::from(status.intact));
        self.inner.audit_head_seq.set(count(status.head_seq));
    }

    /// Follows `log`'s status from now on (at start and after each reload).
    pub fn watch_audit(&self, log: &AuditLog) {
        let metrics = self.clone();
        log.watch(move |status| metrics.set_audit(status));
    }

    fn current(&self) -> std::sync::MutexGuard<'_, Current> {
        // The guarded lists are always consistent between statements; a panic elsewhere
        // while holding the lock leaves nothing half-written.
        self.inner
            .current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}
