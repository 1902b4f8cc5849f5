//! Leases ([`Lease`]): a task one node runs is left alone by the others until its lease runs
//! out, then any node may take it over; the node that holds it renews it, and the same node
//! started again takes its own tasks back at once.
//!
//! These cases need two nodes on one database: each takes `open`, which opens another handle
//! on the case's fresh database taking leases as the given [`Lease`] says.

use std::time::Duration;

use super::requests::{request_with, time, update, NOW};
use super::runs::{at, run_with_tasks};
use super::Backend;
use crate::{Lease, TaskState};

/// Opens another handle on the case's database, as the node the lease names.
pub type Open<'a> = &'a dyn Fn(Lease) -> Box<dyn Backend>;

/// A node whose leases have already run out when taken (a node that died long ago).
fn lapsed(node: &str) -> Lease {
    Lease::new(node).lasting(Duration::ZERO)
}

/// A run's task another node runs is neither listed nor started elsewhere while its lease
/// lives; once it has run out, another node lists it and takes it over, and then the first
/// node's handle leaves it alone in turn.
pub fn a_task_another_node_runs_is_left_alone_until_its_lease_runs_out(open: Open<'_>) {
    let a = open(Lease::new("node-a"));
    let b = open(Lease::new("node-b"));
    let run = run_with_tasks(a.as_ref());
    let task = a.pending_tasks(run, 1).unwrap()[0].id;
    assert_eq!(a.start_tasks(&[task], at(NOW)).unwrap(), 1);

    let listed = |node: &dyn Backend| node.pending_tasks(run, 100).unwrap();
    assert!(
        listed(b.as_ref()).iter().all(|t| t.id != task),
        "leased to a"
    );
    assert_eq!(b.start_tasks(&[task], at(NOW)).unwrap(), 0, "leased to a");
    assert_eq!(b.release_tasks(&[task], at(NOW)).unwrap(), 0, "not b's");

    // a's lease lapses (its renewals stopped long ago): b may take the task over.
    assert_eq!(open(lapsed("node-a")).renew_leases().unwrap(), 1);
    let taken = listed(b.as_ref());
    let again = taken
        .iter()
        .find(|t| t.id == task)
        .expect("free once lapsed");
    assert_eq!(again.state, TaskState::Running, "it was interrupted");
    assert_eq!(b.start_tasks(&[task], at(NOW)).unwrap(), 1);
    assert!(listed(a.as_ref()).iter().all(|t| t.id != task), "now b's");
}

/// The node that runs a task, started again (the same node id), lists and starts it at once:
/// its old process is gone, and waiting for the lease would only delay the erasure.
pub fn a_node_takes_its_own_running_tasks_back_at_once(open: Open<'_>) {
    let before = open(Lease::new("node-a"));
    let run = run_with_tasks(before.as_ref());
    let task = before.pending_tasks(run, 1).unwrap()[0].id;
    before.start_tasks(&[task], at(NOW)).unwrap();
    drop(before);

    let after = open(Lease::new("node-a"));
    let listed = after.pending_tasks(run, 100).unwrap();
    assert!(listed.iter().any(|t| t.id == task));
    assert_eq!(after.start_tasks(&[task], at(NOW)).unwrap(), 1);
    assert_eq!(
        open(Lease::new("node-b"))
            .start_tasks(&[task], at(NOW))
            .unwrap(),
        0,
        "and it holds the lease anew"
    );
}

/// A request whose task another node is running is not due elsewhere until that lease runs
/// out; renewing keeps it alive, and a task that ends gives its lease up.
pub fn a_request_another_node_works_is_not_due_elsewhere_until_its_lease_runs_out(open: Open<'_>) {
    let a = open(Lease::new("node-a"));
    let b = open(Lease::new("node-b"));
    let (request, tasks) = request_with(
        a.as_ref(),
        "2025-03-20T00:00:00Z",
        &[(TaskState::Pending, None)],
    );
    let due = |node: &dyn Backend| node.due_requests(time(NOW), 10).unwrap();
    assert_eq!(due(b.as_ref()), [request], "nobody works it yet");

    a.update_request_tasks(&[update(tasks[0], TaskState::Running, None)], time(NOW))
        .unwrap();
    assert_eq!(due(a.as_ref()), [request], "its own node goes on with it");
    assert!(due(b.as_ref()).is_empty(), "leased to a");

    let lapsed_a = open(lapsed("node-a"));
    assert_eq!(lapsed_a.renew_leases().unwrap(), 1);
    assert_eq!(due(b.as_ref()), [request], "lapsed: b takes it over");
    assert_eq!(a.renew_leases().unwrap(), 1, "a renews in time after all");
    assert!(due(b.as_ref()).is_empty(), "leased to a again");

    a.update_request_tasks(&[update(tasks[0], TaskState::Pending, None)], time(NOW))
        .unwrap();
    assert_eq!(due(b.as_ref()), [request], "no longer running: no lease");
    assert_eq!(a.renew_leases().unwrap(), 0, "nothing left to renew");
}
