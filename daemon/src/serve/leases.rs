//! Keeping this node's task leases alive while the service runs: a pass over many requests or
//! a run's batch against slow systems can outlast one lease, and a lease that lapsed mid-task
//! would let another daemon sharing the store take the task over while this one still works
//! on it (harmless, since erasure is idempotent and read back, but twice the calls).

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::store::LeaseStore;

/// Renews the leases every `every` (a third of a lease's length, say) until dropped.
pub struct Renewer(JoinHandle<()>);

impl Renewer {
    /// Starts renewing `store`'s leases every `every`.
    pub fn start(store: Arc<dyn LeaseStore>, every: Duration) -> Self {
        Self(tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let store = Arc::clone(&store);
                if let Ok(Err(error)) =
                    tokio::task::spawn_blocking(move || store.renew_leases()).await
                {
                    tracing::warn!(%error, "cannot renew this node's task leases; another daemon sharing the state store may take its running tasks over");
                }
            }
        }))
    }
}

impl Drop for Renewer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Action, Decision, Lease, SqliteStore, Store};

    /// A node whose leases last two seconds keeps its running task from another node for as
    /// long as the renewer runs, and loses it once the renewer stops (real time: leases are
    /// counted on the wall clock by design).
    #[tokio::test]
    async fn a_running_task_stays_this_nodes_while_the_renewer_runs() {
        let dir = tempfile::tempdir().unwrap();
        let lasts = Duration::from_secs(2);
        let a = Arc::new(
            SqliteStore::open(dir.path())
                .unwrap()
                .leasing(Lease::new("node-a").lasting(lasts)),
        );
        let b = SqliteStore::open(dir.path())
            .unwrap()
            .leasing(Lease::new("node-b"));
        let now = crate::clock::now();
        let run = a.begin_run("inactive", "enforce", now, now).unwrap();
        let decision = Decision {
            subject_key: "7".into(),
            selected: true,
            reason: "inactive".into(),
            identifiers: Vec::new(),
        };
        a.record_decisions(run, &[decision]).unwrap();
        a.create_tasks_for_selected(run, &[("crm".to_owned(), Action::Erase, 0)])
            .unwrap();
        let task = a.pending_tasks(run, 1).unwrap()[0].id;
        a.start_tasks(&[task], now).unwrap();

        let renewer = Renewer::start(a.clone(), Duration::from_millis(500));
        tokio::time::sleep(lasts + Duration::from_secs(1)).await;
        assert!(
            b.pending_tasks(run, 10).unwrap().is_empty(),
            "renewed: still node a's"
        );
        drop(renewer);
        tokio::time::sleep(lasts + Duration::from_secs(1)).await;
        assert_eq!(
            b.pending_tasks(run, 10).unwrap().len(),
            1,
            "lapsed: node b may take it over"
        );
    }
}
