//! What the service tells [`Metrics`]: policy history at start, run outcomes, and the
//! request gauges after every pass of the engine.

use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::metrics::{Metrics, PolicySeed, RequestGauges, RunOutcome, SafeName, TaskOutcome};
use crate::requests::{LocalService, RequestService, RequestState};
use crate::runner::RunReport;
use crate::store::{Backend, RunState, StoreError, TaskState};

/// Seeds the per-policy gauges from the state store, so a restart does not make every
/// policy look as if it never ran.
pub fn seed_policies(
    metrics: &Metrics,
    config: &Config,
    store: &dyn Backend,
) -> Result<(), StoreError> {
    let mut seeds = Vec::new();
    for name in config.policies.keys() {
        let runs = store.recent_runs(Some(name), 50)?;
        let last_run = runs.first().and_then(|r| r.finished_at);
        let last_success = runs
            .iter()
            .find(|r| matches!(r.state, RunState::Done | RunState::Reported))
            .and_then(|r| r.finished_at);
        seeds.push(PolicySeed {
            name: SafeName::lossy(name),
            last_run,
            last_success,
        });
    }
    metrics.set_policies(&seeds);
    Ok(())
}

/// Records a finished run: its outcome, its selection, a safety-valve trip, its tasks.
pub fn record_run(metrics: &Metrics, report: &RunReport, took: Duration) {
    let policy = SafeName::lossy(&report.policy);
    let state: Option<RunState> = report.state.parse().ok();
    if let Some(outcome) = state.and_then(RunOutcome::from_state) {
        metrics.run_finished(&policy, outcome, report.selected, took, crate::clock::now());
    }
    if state == Some(RunState::AwaitingApproval) {
        metrics.safety_valve_tripped(&policy);
    }
    for (system, counts) in &report.tasks {
        let system = SafeName::lossy(system);
        let outcomes = [
            (TaskState::Done, counts.done),
            (TaskState::Retained, counts.retained),
            (TaskState::Blocked, counts.blocked),
            (TaskState::Failed, counts.failed),
        ];
        for (state, count) in outcomes {
            let Some(outcome) = TaskOutcome::from_state(state) else {
                continue;
            };
            for _ in 0..count {
                metrics.task_finished(&system, crate::store::Action::Erase, outcome);
            }
        }
    }
}

/// Computes the request gauges from the store.
pub struct RequestGaugeSource {
    service: LocalService,
    store: Arc<dyn Backend>,
    metrics: Metrics,
}

impl RequestGaugeSource {
    /// Gauges for this config's requests.
    pub fn new(config: Arc<Config>, store: Arc<dyn Backend>, metrics: Metrics) -> Self {
        Self {
            service: LocalService::new(config, store.clone()),
            store,
            metrics,
        }
    }

    /// The store, for the engine loop's wake-up time.
    pub fn store(&self) -> &dyn Backend {
        self.store.as_ref()
    }

    /// Sets every request gauge from the open requests.
    pub fn update(&self) -> Result<(), StoreError> {
        let Ok(open) = self.service.list(true, 100_000) else {
            return Ok(());
        };
        let mut gauges = RequestGauges::default();
        for summary in &open {
            match gauges
                .open
                .iter_mut()
                .find(|(k, s, _)| *k == summary.kind && *s == summary.state)
            {
                Some((_, _, n)) => *n += 1,
                None => gauges.open.push((summary.kind, summary.state, 1)),
            }
            gauges.overdue += u64::from(summary.overdue);
            gauges.at_risk += u64::from(summary.at_risk);
            gauges.oldest_open_due = gauges
                .oldest_open_due
                .min(Some(summary.due_at))
                .or(Some(summary.due_at));
            gauges.oldest_open_received = gauges
                .oldest_open_received
                .min(Some(summary.received_at))
                .or(Some(summary.received_at));
        }
        gauges
            .open
            .retain(|(_, state, _)| matches!(state, RequestState::Open | RequestState::Blocked));
        gauges.tasks_needing_person = self.store.needs_person_tasks()?.len() as u64;
        self.metrics.set_request_gauges(&gauges);
        Ok(())
    }
}
