//! Several daemons on one store: one leads the scheduler at a time, and work is claimed by
//! one node whole (a run's subject with all its tasks, a request), never by two.

use std::collections::BTreeSet;
use std::time::Duration;

use super::leases::Open;
use super::requests::{request_with, time, NOW};
use super::runs::{at, run_with_tasks};
use crate::{Lease, TaskState};

/// A node whose leases have already run out when taken (a node that died long ago).
fn lapsed(node: &str) -> Lease {
    Lease::new(node).lasting(Duration::ZERO)
}

/// The leadership is one node's while its lease lives: others are refused; when the lease
/// runs out, or the leader resigns, another node takes it.
pub fn one_node_leads_at_a_time_until_its_lease_runs_out_or_it_resigns(open: Open<'_>) {
    let a = open(Lease::new("node-a"));
    let b = open(Lease::new("node-b"));
    assert_eq!(a.leader().unwrap(), None, "nobody led yet");
    assert!(a.lead().unwrap(), "free: a takes it");
    assert!(!b.lead().unwrap(), "a's lease lives");
    assert!(a.lead().unwrap(), "a keeps it");
    assert_eq!(a.leader().unwrap().unwrap().0, "node-a");
    b.resign().unwrap();
    assert!(!b.lead().unwrap(), "b cannot resign what it does not hold");

    // a stops renewing: its last lease has run out.
    assert!(open(lapsed("node-a")).lead().unwrap());
    assert!(b.lead().unwrap(), "lapsed: b takes it over");
    assert!(!a.lead().unwrap(), "and a is refused in turn");

    b.resign().unwrap();
    assert!(a.lead().unwrap(), "resigned: a takes it at once");
}

/// Two nodes claiming a run's tasks share them out: each task goes to one node, and a
/// subject's tasks all go to the same one; a claimed task is claimed again only by its node
/// (started again) or after its lease ran out, and then as interrupted.
pub fn a_run_is_claimed_a_whole_subject_at_a_time_by_one_node(open: Open<'_>) {
    let a = open(Lease::new("node-a"));
    let b = open(Lease::new("node-b"));
    let run = run_with_tasks(a.as_ref());
    let by_a = a.claim_tasks(run, 1, at(NOW)).unwrap();
    let by_b = b.claim_tasks(run, 5, at(NOW)).unwrap();
    let subjects = |tasks: &[crate::TaskRecord]| -> BTreeSet<String> {
        tasks.iter().map(|t| t.subject_key.clone()).collect()
    };
    assert_eq!(subjects(&by_a), BTreeSet::from(["a".to_owned()]));
    assert_eq!(subjects(&by_b), BTreeSet::from(["b".to_owned()]));
    assert_eq!((by_a.len(), by_b.len()), (2, 2), "each subject whole");
    assert!(by_a.iter().all(|t| t.state == TaskState::Pending));
    let systems: Vec<&str> = by_a.iter().map(|t| t.system.as_str()).collect();
    assert_eq!(systems, ["crm", "panel"], "in their order");
    let again = |node: &dyn crate::Backend| subjects(&node.claim_tasks(run, 5, at(NOW)).unwrap());
    assert_eq!(
        again(b.as_ref()),
        BTreeSet::from(["b".into()]),
        "b's own only"
    );
    assert_eq!(
        again(a.as_ref()),
        BTreeSet::from(["a".into()]),
        "a's own only"
    );

    // b dies; once its lease has run out a takes its subject over, as interrupted.
    assert_eq!(a.expired_leases().unwrap(), 0);
    assert_eq!(open(lapsed("node-b")).renew_leases().unwrap(), 2);
    assert_eq!(a.expired_leases().unwrap(), 2, "b's two, unworked");
    let taken = a.claim_tasks(run, 5, at(NOW)).unwrap();
    assert_eq!(subjects(&taken), BTreeSet::from(["a".into(), "b".into()]));
    assert!(taken.iter().all(|t| t.state == TaskState::Running));
    assert!(again(b.as_ref()).is_empty(), "a's now");
    assert_eq!(b.expired_leases().unwrap(), 0, "taken over");
}

/// A request one node claimed is neither due nor claimed elsewhere until that node releases
/// it or its lease runs out.
pub fn a_claimed_request_is_one_nodes_until_released_or_lapsed(open: Open<'_>) {
    let a = open(Lease::new("node-a"));
    let b = open(Lease::new("node-b"));
    let (request, _) = request_with(
        a.as_ref(),
        "2025-03-20T00:00:00Z",
        &[(TaskState::Pending, None)],
    );
    assert_eq!(a.claim_requests(time(NOW), 10).unwrap(), [request]);
    assert!(b.claim_requests(time(NOW), 10).unwrap().is_empty());
    assert!(b.due_requests(time(NOW), 10).unwrap().is_empty());
    assert_eq!(a.due_requests(time(NOW), 10).unwrap(), [request], "a's own");

    b.release_requests(&[request]).unwrap();
    assert!(
        b.claim_requests(time(NOW), 10).unwrap().is_empty(),
        "not b's to release"
    );
    a.release_requests(&[request]).unwrap();
    assert_eq!(b.claim_requests(time(NOW), 10).unwrap(), [request]);

    assert_eq!(open(lapsed("node-b")).renew_leases().unwrap(), 1);
    assert_eq!(
        a.claim_requests(time(NOW), 10).unwrap(),
        [request],
        "lapsed"
    );
}
