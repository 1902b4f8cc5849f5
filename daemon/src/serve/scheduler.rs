//! One policy on its schedule: sleep until its next slot, run it, repeat. One loop per
//! policy, so runs of a policy never overlap; the slot is recorded before the run starts,
//! so no slot runs twice.

use std::sync::Arc;
use std::time::Duration;

use jiff::{Timestamp, Zoned};
use tokio::sync::watch;

use super::leadership::Role;
use super::ServeError;
use crate::config::Policy;
use crate::metrics::Metrics;
use crate::runner::{self, Context, RunError};
use crate::schedule::{due_slot, Schedule};
use crate::store::{Backend, Store, StoreError};

/// The longest the loop sleeps at once, so that a clock change is noticed within it.
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// How long to wait before asking a state store that could not be reached again.
pub(super) const RETRY_UNREACHABLE: Duration = Duration::from_secs(3);

/// The scheduler of a configuration with no scheduled policy: nothing to start, but it still
/// ticks every [`MAX_SLEEP`], so that `gallra_scheduler_last_tick_timestamp_seconds` says the
/// service is alive and the stall alert does not fire on an idle daemon.
pub async fn idle(
    metrics: Metrics,
    time_zone: jiff::tz::TimeZone,
    mut stop: watch::Receiver<bool>,
) -> Result<(), ServeError> {
    loop {
        metrics.scheduler_tick(crate::clock::now_in(&time_zone).timestamp());
        tokio::select! {
            _ = tokio::time::sleep(MAX_SLEEP) => {}
            _ = stop.wait_for(|stopping| *stopping) => return Ok(()),
        }
    }
}

/// A scheduled policy's loop.
pub struct PolicyLoop {
    context: Context,
    store: Arc<dyn Backend>,
    policy: String,
    schedule: Schedule,
    started: Timestamp,
    metrics: Metrics,
    role: watch::Receiver<Role>,
    work: super::leadership::RunWork,
}

impl PolicyLoop {
    /// The loop for `policy` (whose schedule the config has validated).
    pub fn new(
        context: Context,
        store: Arc<dyn Backend>,
        policy: &Policy,
        schedule: &str,
        started: Timestamp,
        metrics: Metrics,
        (role, work): (watch::Receiver<Role>, super::leadership::RunWork),
    ) -> Result<Self, ServeError> {
        let schedule = Schedule::parse(schedule)
            .map_err(|e| RunError::Internal(format!("policy \"{}\": {e}", policy.name)))?;
        Ok(Self {
            context,
            store,
            policy: policy.name.clone(),
            schedule,
            started,
            metrics,
            role,
            work,
        })
    }

    /// Runs until a stop is asked for; the run in hand finishes first.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) -> Result<(), ServeError> {
        loop {
            let now = crate::clock::now_in(&self.context.config.time_zone);
            self.metrics.scheduler_tick(now.timestamp());
            if *self.role.borrow_and_update() != Role::Leading {
                // Another daemon leads and runs the policies; this one waits to take over.
                tokio::select! {
                    _ = tokio::time::sleep(MAX_SLEEP) => {}
                    _ = self.role.changed() => {}
                    _ = stop.wait_for(|stopping| *stopping) => return Ok(()),
                }
                continue;
            }
            let last = match self.last_slot() {
                Ok(last) => last,
                Err(ServeError::Store(error)) if error.is_transient() => {
                    tokio::time::sleep(RETRY_UNREACHABLE).await;
                    continue;
                }
                Err(error) => return Err(error),
            };
            if let Some(slot) = due_slot(&self.schedule, last, &now) {
                self.run_slot(&slot).await?;
                continue;
            }
            let sleep = self
                .schedule
                .next_after(&now)
                .and_then(|next| Duration::try_from(now.duration_until(&next)).ok())
                .unwrap_or(MAX_SLEEP)
                .min(MAX_SLEEP);
            tokio::select! {
                _ = tokio::time::sleep(sleep) => {}
                _ = stop.wait_for(|stopping| *stopping) => return Ok(()),
            }
        }
    }

    /// Takes the policy's run up again once the state store answers (every few seconds),
    /// until it is carried on or fails for another reason.
    async fn resume_when_reachable(&self, policy: &crate::config::Policy) {
        let store: Arc<dyn Store> = self.store.clone();
        loop {
            tokio::time::sleep(RETRY_UNREACHABLE).await;
            match runner::resume_policy_run(&self.context, &store, policy).await {
                Err(error) if error.is_transient() => continue,
                Err(error) => {
                    tracing::error!(policy = %self.policy, %error, "the run could not be taken up again; the next slot tries again");
                    return;
                }
                Ok(report) => {
                    if let Some(report) = report {
                        tracing::info!(policy = %report.policy, run = report.run, state = %report.state, "run taken up again and finished");
                    }
                    return;
                }
            }
        }
    }

    /// The latest slot recorded for the policy, or the daemon's start for one that never ran.
    fn last_slot(&self) -> Result<Timestamp, ServeError> {
        let recorded = self.store.recent_runs(Some(&self.policy), 1)?;
        Ok(recorded.first().map_or(self.started, |r| r.scheduled_for))
    }

    async fn run_slot(&self, slot: &Zoned) -> Result<(), ServeError> {
        let Some(policy) = self.context.config.policies.get(&self.policy) else {
            return Ok(());
        };
        let store: Arc<dyn Store> = self.store.clone();
        let _leader = self.work.read().await;
        let began = std::time::Instant::now();
        match runner::run_policy(&self.context, &store, policy, slot).await {
            Ok(report) => {
                super::gauges::record_run(&self.metrics, &report, began.elapsed());
                tracing::info!(policy = %report.policy, run = report.run, state = %report.state, selected = report.selected, "scheduled run finished");
                Ok(())
            }
            // Another daemon sharing the store took this slot.
            Err(RunError::Store(StoreError::RunExists { .. })) => Ok(()),
            Err(error) if error.is_transient() => {
                tracing::warn!(policy = %self.policy, %error, "the run stopped: the state store cannot be reached; it goes on once it can");
                self.resume_when_reachable(policy).await;
                Ok(())
            }
            Err(error) => {
                tracing::error!(policy = %self.policy, %error, "scheduled run failed; the next slot tries again");
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last_tick(metrics: &Metrics) -> Option<f64> {
        let text = metrics.encode().unwrap();
        text.lines()
            .find(|l| l.starts_with("gallra_scheduler_last_tick_timestamp_seconds "))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
    }

    #[tokio::test]
    async fn a_service_with_nothing_scheduled_still_ticks_and_stops_when_told() {
        let metrics = Metrics::new();
        assert_eq!(last_tick(&metrics), Some(0.0), "never ticked yet");
        let (stop, stopping) = watch::channel(false);
        let idle = tokio::spawn(idle(metrics.clone(), jiff::tz::TimeZone::UTC, stopping));
        tokio::time::sleep(Duration::from_millis(1)).await;
        let first = last_tick(&metrics).unwrap();
        assert!(first > 1.0e9, "ticked at once: {first}");
        stop.send(true).unwrap();
        idle.await.unwrap().unwrap();
    }
}
