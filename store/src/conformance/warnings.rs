//! Warnings before deletion ([`WarningStore`](crate::WarningStore)): one stands per policy
//! and subject until cleared, and a run's decisions hold only the addresses to send them to.

use std::collections::BTreeMap;

use gallra_core::policy::Reason;
use gallra_plugin_api::{Identifier, IdentifierKind};

use super::runs::{at, finish};
use super::Backend;
use crate::{Action, ClearWhy, Decision, DecisionFilter, RunId, TaskState};

/// The policy that warns in these cases.
pub const POLICY: &str = "inactive";

/// The subject's email address, as a warning reaches it.
pub fn email(key: &str) -> Vec<Identifier> {
    vec![Identifier::parse(IdentifierKind::Email, &format!("{key}@example.se")).unwrap()]
}

/// A decision about `key` for `reason`, with the email address when it is selected or due a
/// warning (as the daemon records it) and no identifiers otherwise.
pub fn decision(key: &str, reason: Reason) -> Decision {
    let needs = reason.selects() || reason == Reason::WarningDue;
    Decision {
        subject_key: key.to_owned(),
        selected: reason.selects(),
        reason: reason.code().to_owned(),
        identifiers: if needs { email(key) } else { Vec::new() },
    }
}

/// A run at `slot` with subjects `a` (selected), `b` and `c` (due a warning), `d` (kept).
pub fn warning_run(store: &dyn Backend, slot: &str) -> RunId {
    let run = store
        .begin_run(POLICY, "enforce", at(slot), at(slot))
        .unwrap();
    let decisions = [
        decision("a", Reason::Inactive),
        decision("b", Reason::WarningDue),
        decision("c", Reason::WarningDue),
        decision("d", Reason::RecentlyActive),
    ];
    store.record_decisions(run, &decisions).unwrap();
    run
}

/// How many of the run's decisions have `reason`.
fn with_reason(store: &dyn Backend, run: RunId, reason: Reason) -> u64 {
    store
        .decision_counts(run)
        .unwrap()
        .into_iter()
        .filter(|(code, _, _)| code == reason.code())
        .map(|(_, _, n)| n)
        .sum()
}

/// A warning the relay accepted stands for its policy and subject (and marks the decision
/// warned) until it is cleared; clearing counts only the standing ones.
pub fn a_sent_warning_stands_until_cleared(store: &dyn Backend) {
    let run = warning_run(store, "2025-03-01T03:00:00Z");
    let sent = at("2025-03-01T03:00:10Z");
    store
        .record_warning(POLICY, run, "b", sent, at("2025-03-31T03:00:10Z"))
        .unwrap();
    assert_eq!(with_reason(store, run, Reason::Warned), 1);
    assert_eq!(with_reason(store, run, Reason::WarningDue), 1);
    let standing = store.standing_warnings(POLICY, &["a", "b", "c"]).unwrap();
    assert_eq!(standing, BTreeMap::from([("b".to_owned(), sent)]));
    assert!(store
        .standing_warnings("other-policy", &["b"])
        .unwrap()
        .is_empty());
    let later = at("2025-03-10T03:00:00Z");
    let cleared = store
        .clear_warnings(POLICY, &["b", "c"], ClearWhy::Active, later)
        .unwrap();
    assert_eq!(cleared, 1);
    assert!(store.standing_warnings(POLICY, &["b"]).unwrap().is_empty());
    let again = store.clear_warnings(POLICY, &["b"], ClearWhy::Active, later);
    assert_eq!(again.unwrap(), 0);
}

/// A newer warning replaces the standing one.
pub fn a_new_warning_supersedes_the_standing_one(store: &dyn Backend) {
    let first = warning_run(store, "2025-03-01T03:00:00Z");
    let second = warning_run(store, "2025-03-02T03:00:00Z");
    let (one, two) = (at("2025-03-01T03:00:10Z"), at("2025-03-02T03:00:10Z"));
    store.record_warning(POLICY, first, "b", one, one).unwrap();
    store.record_warning(POLICY, second, "b", two, two).unwrap();
    assert_eq!(store.standing_warnings(POLICY, &["b"]).unwrap()["b"], two);
    // One stands: clearing it clears one.
    let cleared = store.clear_warnings(POLICY, &["b"], ClearWhy::Active, two);
    assert_eq!(cleared.unwrap(), 1);
}

/// Decisions due a warning come in key order with the address recorded for them (none if
/// none was); a warning not sent takes its decision out of the due ones, and forgetting the
/// run's identifiers drops the addresses too.
pub fn held_addresses_reach_the_send_step_in_key_order_and_are_forgotten_with_the_run(
    store: &dyn Backend,
) {
    let run = warning_run(store, "2025-03-01T03:00:00Z");
    let without = Decision {
        identifiers: Vec::new(),
        ..decision("e", Reason::WarningDue)
    };
    store.record_decisions(run, &[without]).unwrap();
    let due = store
        .decisions(run, DecisionFilter::WarningDue, None, 1)
        .unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(
        (due[0].subject_key.as_str(), &due[0].identifiers),
        ("b", &email("b"))
    );
    let rest = store
        .decisions(run, DecisionFilter::WarningDue, Some("b"), 10)
        .unwrap();
    let rest: Vec<_> = rest
        .iter()
        .map(|d| (d.subject_key.as_str(), d.identifiers.len()))
        .collect();
    assert_eq!(rest, [("c", 1), ("e", 0)]);

    // A warning that did not go out: the decision is recorded again under why.
    let not_sent = Decision {
        reason: Reason::WarningFailed.code().to_owned(),
        ..decision("c", Reason::WarningDue)
    };
    store.record_decisions(run, &[not_sent]).unwrap();
    assert_eq!(with_reason(store, run, Reason::WarningFailed), 1);
    assert_eq!(
        store
            .decisions(run, DecisionFilter::WarningDue, None, 10)
            .unwrap()
            .len(),
        2
    );

    store.forget_identifiers(run).unwrap();
    let due = store
        .decisions(run, DecisionFilter::WarningDue, None, 10)
        .unwrap();
    assert!(due.iter().all(|d| d.identifiers.is_empty()));
}

/// Only a subject whose every task in the run is done has its warning cleared as erased.
pub fn only_subjects_erased_everywhere_have_their_warning_cleared(store: &dyn Backend) {
    let warned = warning_run(store, "2025-02-01T03:00:00Z");
    let sent = at("2025-02-01T03:00:10Z");
    for key in ["a", "e"] {
        store
            .record_warning(POLICY, warned, key, sent, sent)
            .unwrap();
    }
    let slot = at("2025-03-05T03:00:00Z");
    let deleting = store.begin_run(POLICY, "enforce", slot, slot).unwrap();
    let decisions = [
        decision("a", Reason::Inactive),
        decision("e", Reason::Inactive),
    ];
    store.record_decisions(deleting, &decisions).unwrap();
    let systems = [
        ("crm".to_owned(), Action::Erase, 0),
        ("panel".to_owned(), Action::Erase, 1),
    ];
    store.create_tasks_for_selected(deleting, &systems).unwrap();
    for t in store.pending_tasks(deleting, 10).unwrap() {
        // `e` could not be erased from the panel: it is still there, still warned.
        let failed = t.subject_key == "e" && t.system == "panel";
        let state = if failed {
            TaskState::Failed
        } else {
            TaskState::Done
        };
        finish(store, t.id, state, None);
    }
    let now = at("2025-03-05T03:01:00Z");
    assert_eq!(
        store.clear_erased_warnings(POLICY, deleting, now).unwrap(),
        1
    );
    let standing = store.standing_warnings(POLICY, &["a", "e"]).unwrap();
    assert_eq!(standing.keys().collect::<Vec<_>>(), ["e"]);
    assert_eq!(
        store.clear_erased_warnings(POLICY, deleting, now).unwrap(),
        0
    );
}
