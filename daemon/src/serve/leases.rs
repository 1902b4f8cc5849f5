//! Keeping this node's leases alive while the service runs, and the scheduler's leadership
//! with them. A pass over many requests or a run's batch against slow systems can outlast
//! one lease, and a lease that lapsed mid-task would let another daemon sharing the store
//! take the task over while this one still works on it (harmless, since erasure is
//! idempotent and read back, but twice the calls). The leadership is taken, kept or lost on
//! the same beat; whoever holds it starts policy runs.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::metrics::Metrics;
use crate::store::Backend;

/// Renews the leases and the leadership every `every` (a third of a lease's length) until
/// dropped, and says on a watch whether this node leads.
pub struct Renewer(JoinHandle<()>);

impl Renewer {
    /// Starts renewing `store`'s leases every `every`, first at once. The receiver says
    /// whether this node leads the scheduler, from the first beat on.
    pub fn start(
        store: Arc<dyn Backend>,
        every: Duration,
        metrics: Option<Metrics>,
    ) -> (Self, watch::Receiver<bool>) {
        let (leading, watch) = watch::channel(false);
        let task = tokio::spawn(async move {
            loop {
                let store = Arc::clone(&store);
                let beat = tokio::task::spawn_blocking(move || beat(store.as_ref())).await;
                if let Ok(beat) = beat {
                    leading.send_if_modified(|now| {
                        std::mem::replace(now, beat.leading) != beat.leading
                    });
                    if let (Some(metrics), Some((held, expired))) = (&metrics, beat.leases) {
                        metrics.set_leases(held, expired);
                    }
                    if let Some(metrics) = &metrics {
                        metrics.set_leader(beat.leading);
                    }
                }
                tokio::time::sleep(every).await;
            }
        });
        (Self(task), watch)
    }
}

/// What one beat found.
struct Beat {
    leading: bool,
    leases: Option<(u64, u64)>,
}

/// Renews this node's leases and its leadership. A store that cannot be reached costs the
/// leadership (another node may take it meanwhile): better no scheduler for a beat than two.
fn beat(store: &dyn Backend) -> Beat {
    let held = store.renew_leases().map_err(|error| {
        tracing::warn!(%error, "cannot renew this node's task leases; another daemon sharing the state store may take its running tasks over");
    });
    let expired = store.expired_leases().map_err(|error| {
        tracing::warn!(%error, "cannot count the expired leases");
    });
    let leading = store.lead().unwrap_or_else(|error| {
        tracing::warn!(%error, "cannot renew the scheduler's leadership; this daemon starts no policy run until it can");
        false
    });
    let leases = match (held, expired) {
        (Ok(held), Ok(expired)) => Some((held, expired)),
        _ => None,
    };
    Beat { leading, leases }
}

impl Drop for Renewer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Action, Decision, LeaderStore, Lease, SqliteStore, Store};

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
        assert_eq!(a.claim_tasks(run, 1, now).unwrap().len(), 1);

        let (renewer, leading) = Renewer::start(a.clone(), Duration::from_millis(500), None);
        tokio::time::sleep(lasts + Duration::from_secs(1)).await;
        assert!(
            b.pending_tasks(run, 10).unwrap().is_empty(),
            "renewed: still node a's"
        );
        assert!(*leading.borrow(), "the only node leads");
        assert!(!b.lead().unwrap(), "a renews its leadership too");
        drop(renewer);
        tokio::time::sleep(lasts + Duration::from_secs(1)).await;
        assert_eq!(
            b.pending_tasks(run, 10).unwrap().len(),
            1,
            "lapsed: node b may take it over"
        );
        assert!(b.lead().unwrap(), "and the leadership");
    }
}
