//! What only the leader does among daemons sharing a state store: take up the runs a
//! previous leader left (its plans abandoned, its approved and enforcing runs carried on),
//! then start policy runs on their schedules. Every node works requests; one node at a time
//! plans and runs policies, so a purge is decided by one process.

use std::sync::Arc;

use tokio::sync::watch;

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

/// Follows the leadership (`leading`, from the lease renewer) and says on `role` what this
/// node may do. On becoming the leader it resumes the open runs first. Runs until a stop.
pub async fn duties(
    context: Context,
    store: Arc<dyn Backend>,
    mut leading: watch::Receiver<bool>,
    role: watch::Sender<Role>,
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
        if let Err(error) = runner::resume_open_runs(&context, &runs).await {
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
