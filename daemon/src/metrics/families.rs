//! The metric families behind [`super::Metrics`], their label sets, and their registration
//! (names, help texts, units). Label sets hold only [`SafeName`]s, [`PluginVersion`]s and
//! `&'static str` values taken from fixed vocabularies.

use std::sync::atomic::AtomicU64;
use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

use super::labels::{PluginVersion, SafeName};
use crate::store::RequestKind;

/// A gauge holding seconds (a timestamp or a duration) as a float.
pub(super) type SecondsGauge = Gauge<f64, AtomicU64>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct PolicyLabels {
    pub(super) policy: SafeName,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct RunLabels {
    pub(super) policy: SafeName,
    pub(super) outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct TaskLabels {
    pub(super) system: SafeName,
    pub(super) action: &'static str,
    pub(super) outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct CallLabels {
    pub(super) system: SafeName,
    pub(super) operation: &'static str,
    pub(super) outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct OperationLabels {
    pub(super) system: SafeName,
    pub(super) operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct KindLabels {
    pub(super) kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct KindStateLabels {
    pub(super) kind: &'static str,
    pub(super) state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct SystemLabels {
    pub(super) system: SafeName,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct OutcomeLabels {
    pub(super) outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct PluginLabels {
    pub(super) system: SafeName,
    pub(super) plugin: SafeName,
    pub(super) version: PluginVersion,
}

pub(super) struct Inner {
    pub(super) registry: Registry,
    pub(super) policy_runs: Family<RunLabels, Counter>,
    pub(super) policy_last_run: Family<PolicyLabels, SecondsGauge>,
    pub(super) policy_last_success: Family<PolicyLabels, SecondsGauge>,
    pub(super) policy_last_duration: Family<PolicyLabels, SecondsGauge>,
    pub(super) policy_selected: Family<PolicyLabels, Gauge>,
    pub(super) safety_valve_trips: Family<PolicyLabels, Counter>,
    pub(super) tasks: Family<TaskLabels, Counter>,
    pub(super) connector_calls: Family<CallLabels, Counter>,
    pub(super) connector_call_duration: Family<OperationLabels, Histogram>,
    pub(super) requests_received: Family<KindLabels, Counter>,
    pub(super) requests_open: Family<KindStateLabels, Gauge>,
    pub(super) requests_overdue: Gauge,
    pub(super) requests_at_risk: Gauge,
    pub(super) oldest_open_due: SecondsGauge,
    pub(super) oldest_open_received: SecondsGauge,
    pub(super) tasks_needing_person: Gauge,
    pub(super) notices_escalated: Family<SystemLabels, Counter>,
    pub(super) plugins: Family<PluginLabels, Gauge>,
    pub(super) config_reloads: Family<OutcomeLabels, Counter>,
    pub(super) scheduler_last_tick: SecondsGauge,
    pub(super) leader: Gauge,
    pub(super) leases_held: Gauge,
    pub(super) leases_expired: Gauge,
    pub(super) audit_intact: Gauge,
    pub(super) audit_head_seq: Gauge,
    /// Which policies and which request series are currently exported, so that a reload or
    /// a new snapshot can retire the ones that no longer exist.
    pub(super) current: Mutex<Current>,
}

#[derive(Default)]
pub(super) struct Current {
    pub(super) policies: Vec<PolicyLabels>,
    pub(super) open: Vec<KindStateLabels>,
    pub(super) plugins: Vec<PluginLabels>,
}

/// Connector call latency buckets: 5 ms to about 82 s (the default `call_timeout` is 60 s).
fn call_duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 15))
}

/// Creates the series (at 0) if it does not exist yet.
pub(super) fn ensure<S, M>(family: &Family<S, M>, labels: &S)
where
    S: Clone + std::hash::Hash + Eq,
{
    drop(family.get_or_create(labels));
}

impl Inner {
    /// Registers every metric; `gallra_up` and `gallra_build_info` are 1 from here on.
    pub(super) fn new() -> Self {
        let mut r = Registry::with_prefix("gallra");
        let inner = Inner {
            policy_runs: Family::default(),
            policy_last_run: Family::default(),
            policy_last_success: Family::default(),
            policy_last_duration: Family::default(),
            policy_selected: Family::default(),
            safety_valve_trips: Family::default(),
            tasks: Family::default(),
            connector_calls: Family::default(),
            connector_call_duration: Family::new_with_constructor(call_duration_histogram),
            requests_received: Family::default(),
            requests_open: Family::default(),
            requests_overdue: Gauge::default(),
            requests_at_risk: Gauge::default(),
            oldest_open_due: SecondsGauge::default(),
            oldest_open_received: SecondsGauge::default(),
            tasks_needing_person: Gauge::default(),
            notices_escalated: Family::default(),
            plugins: Family::default(),
            config_reloads: Family::default(),
            scheduler_last_tick: SecondsGauge::default(),
            leader: Gauge::default(),
            leases_held: Gauge::default(),
            leases_expired: Gauge::default(),
            audit_intact: Gauge::default(),
            audit_head_seq: Gauge::default(),
            current: Mutex::default(),
            registry: Registry::default(),
        };
        let i = &inner;
        r.register(
            "policy_runs",
            "Policy runs finished, by outcome",
            i.policy_runs.clone(),
        );
        r.register_with_unit(
            "policy_last_run_timestamp",
            "When the policy's last run ended (0: never)",
            Unit::Seconds,
            i.policy_last_run.clone(),
        );
        r.register_with_unit(
            "policy_last_success_timestamp",
            "When the policy's last successful (done or reported) run ended (0: never)",
            Unit::Seconds,
            i.policy_last_success.clone(),
        );
        r.register_with_unit(
            "policy_last_run_duration",
            "How long the policy's last run took",
            Unit::Seconds,
            i.policy_last_duration.clone(),
        );
        r.register(
            "policy_subjects_selected",
            "Subjects the policy's last run selected",
            i.policy_selected.clone(),
        );
        r.register(
            "safety_valve_trips",
            "Runs stopped by a safety valve before deleting anything",
            i.safety_valve_trips.clone(),
        );
        r.register(
            "tasks",
            "Tasks ended, by system, action and outcome",
            i.tasks.clone(),
        );
        r.register(
            "connector_calls",
            "Connector calls, by system, operation and outcome",
            i.connector_calls.clone(),
        );
        r.register_with_unit(
            "connector_call_duration",
            "Connector call latency",
            Unit::Seconds,
            i.connector_call_duration.clone(),
        );
        r.register(
            "requests_received",
            "Data subject requests received, by kind",
            i.requests_received.clone(),
        );
        r.register(
            "requests_open",
            "Requests not yet final, by kind and state",
            i.requests_open.clone(),
        );
        r.register(
            "requests_overdue",
            "Open requests past their due time",
            i.requests_overdue.clone(),
        );
        r.register(
            "requests_at_risk",
            "Open requests close to their due time",
            i.requests_at_risk.clone(),
        );
        r.register_with_unit(
            "request_oldest_open_due_timestamp",
            "Due time of the open request due soonest (0: none open)",
            Unit::Seconds,
            i.oldest_open_due.clone(),
        );
        r.register_with_unit(
            "request_oldest_open_received_timestamp",
            "When the oldest open request was received (0: none open)",
            Unit::Seconds,
            i.oldest_open_received.clone(),
        );
        r.register(
            "tasks_needing_person",
            "Tasks waiting for a person",
            i.tasks_needing_person.clone(),
        );
        r.register(
            "notices_escalated",
            "Notices to a processor escalated to a person, by system",
            i.notices_escalated.clone(),
        );
        r.register(
            "plugin_loaded",
            "Loaded connector plugins, by system, plugin and version (always 1)",
            i.plugins.clone(),
        );
        r.register(
            "config_reloads",
            "Configuration reloads, by outcome",
            i.config_reloads.clone(),
        );
        r.register_with_unit(
            "scheduler_last_tick_timestamp",
            "When the scheduler loop last went round",
            Unit::Seconds,
            i.scheduler_last_tick.clone(),
        );
        r.register(
            "leader",
            "1 while this daemon leads the scheduler (starts policy runs); across daemons sharing a state store exactly one should",
            i.leader.clone(),
        );
        r.register(
            "leases_held",
            "Running tasks and claimed requests this daemon holds a lease on",
            i.leases_held.clone(),
        );
        r.register(
            "leases_expired",
            "Running tasks and claimed requests in the state store whose lease ran out and that no daemon has taken over yet",
            i.leases_expired.clone(),
        );
        r.register(
            "audit_intact",
            "1 while the audit log matches its head in the state store; 0 stops all erasing until `gallra audit accept`",
            i.audit_intact.clone(),
        );
        r.register(
            "audit_head_seq",
            "Seq of the audit log's last entry, as its head in the state store records it (a copy off the host: it never goes down but after `gallra audit accept`)",
            i.audit_head_seq.clone(),
        );
        // A gauge rather than prometheus-client's `Info`: the OpenMetrics `info` type is
        // unknown to the classic text parser (promtool check metrics, older scrapers).
        let build = Family::<[(&'static str, String); 3], Gauge>::default();
        build
            .get_or_create(&[
                ("version", crate::version::VERSION.to_owned()),
                ("revision", crate::version::REVISION.to_owned()),
                ("abi", crate::version::ABI.clone()),
            ])
            .set(1);
        r.register(
            "build_info",
            "gallra's version, the source revision and the plugin ABI it speaks (always 1)",
            build,
        );
        let up = Gauge::<i64>::default();
        up.set(1);
        r.register("up", "1 while gallra runs", up);
        // Series that exist from the start, so that rate() and increase() see their first
        // event instead of starting from it.
        for outcome in ["ok", "rejected"] {
            ensure(&i.config_reloads, &OutcomeLabels { outcome });
        }
        for kind in RequestKind::ALL {
            let kind = kind.as_str();
            ensure(&i.requests_received, &KindLabels { kind });
        }
        Inner {
            registry: r,
            ..inner
        }
    }
}
