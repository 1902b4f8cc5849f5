//! What only the leader does among daemons sharing a state store: take up the runs a
//! previous leader left (its plans abandoned, its approved and enforcing runs carried on),
//! then start policy runs on their schedules. Every node works requests; one node at a time
//! plans and runs policies, so a purge is decided by one process.

use std::sync::Arc;

use tokio::sync::{watch, RwLock};

use super::ServeError;
use crate::runner::{self, Context};
use crate::store::{Backend, Store};

/// Where this node stands in the scheduler's leadership.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Another node leads (or none can be reached): no policy run starts here.
    Follower,
    /// Leading, taking up the runs a previous leader left; no new run starts yet.
    Resuming,
    /// Leading: the policies' schedules start runs here.
    Leading,
}

/// Who in this process works a run's tasks now: the leader's work (resuming, policy runs)
/// shares it, a follower's help with the leader's runs takes it alone. A node takes its own
/// running tasks back at once (its lease says they are its), so two workers of one process
/// must never claim side by side.
pub type RunWork = Arc<RwLock<()>>;

/// Follows the leadership (`leading`, from the lease renewer) and says on `role` what this
/// node may do. On becoming the leader it resumes the open runs first. Runs until a stop.
pub async fn duties(
    context: Context,
    store: Arc<dyn Backend>,
    mut leading: watch::Receiver<bool>,
    (role, work): (watch::Sender<Role>, RunWork),
    mut stop: watch::Receiver<bool>,
) -> Result<(), ServeError> {
    loop {
        tokio::select! {
            changed = leading.wait_for(|leads| *leads) => if changed.is_err() { return Ok(()) },
            _ = stop.wait_for(|stopping| *stopping) => return Ok(()),
        }
        role.send_replace(Role::Resuming);
        tracing::info!("this daemon leads the scheduler: taking up open runs");
        let runs: Arc<dyn Store> = store.clone();
        let resumed = loop {
            let resumed = {
                let _leader = work.read().await;
                runner::resume_open_runs(&context, &runs).await
            };
            match resumed {
                // A store restarting: the runs are in it; take them up once it answers.
                Err(error) if error.is_transient() => {
                    tracing::warn!(%error, "open runs wait: the state store cannot be reached; trying again in a moment");
                    tokio::select! {
                        _ = tokio::time::sleep(super::scheduler::RETRY_UNREACHABLE) => {}
                        _ = stop.wait_for(|stopping| *stopping) => return Ok(()),
                    }
                }
                other => break other,
            }
        };
        if let Err(error) = resumed {
            // As before leadership existed: a run that cannot be resumed stops the service,
            // which a supervisor restarts (and another daemon may take the lead meanwhile).
            role.send_replace(Role::Follower);
            return Err(error.into());
        }
        role.send_replace(Role::Leading);
        tokio::select! {
            changed = leading.wait_for(|leads| !*leads) => if changed.is_err() { return Ok(()) },
            _ = stop.wait_for(|stopping| *stopping) => return Ok(()),
        }
        role.send_replace(Role::Follower);
        tracing::warn!("this daemon lost the scheduler's leadership (another daemon holds it, or the state store could not be reached); it starts no policy run until it leads again");
    }
}

/// How often a daemon that does not lead looks for enforcing runs to help with.
const FOLLOW_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// While this node does not lead: works the tasks of the leader's enforcing runs beside it
/// (claimed a whole subject at a time, so no subject is erased by two daemons). Runs until a
/// stop; the batch in hand finishes first.
pub async fn follow(
    context: Context,
    store: Arc<dyn Backend>,
    (role, work): (watch::Receiver<Role>, RunWork),
    mut stop: watch::Receiver<bool>,
) -> Result<(), ServeError> {
    loop {
        if *role.borrow() == Role::Follower && another_leads(&store).await {
            let _alone = work.write().await;
            let runs: Arc<dyn Store> = store.clone();
            // Looked at again under the lock: the leadership may have come here meanwhile.
            if *role.borrow() == Role::Follower {
                if let Err(error) = runner::work_shared_runs(&context, &runs).await {
                    tracing::error!(%error, "working the leader's run beside it failed; trying again in a moment");
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(FOLLOW_EVERY) => {}
            _ = stop.wait_for(|stopping| *stopping) => return Ok(()),
        }
    }
}

/// Whether another node holds a live leadership (so that this one may help with its runs).
async fn another_leads(store: &Arc<dyn Backend>) -> bool {
    let store = Arc::clone(store);
    let leader = tokio::task::spawn_blocking(move || (store.leader(), store.node().to_owned()));
    match leader.await {
        Ok((Ok(Some((node, until))), me)) => node != me && until > crate::store::now_secs(),
        _ => false,
    }
}
