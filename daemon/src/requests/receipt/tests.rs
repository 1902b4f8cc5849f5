use gallra_plugin_api::{Identifier, IdentifierKind};

use super::*;
use crate::requests::model::{RequestId, RequestState, RequestTaskId};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn stockholm() -> TimeZone {
    TimeZone::get("Europe/Stockholm").unwrap()
}

fn request(kind: RequestKind, completed_at: Option<&str>) -> RequestRecord {
    RequestRecord {
        id: RequestId(42),
        kind,
        state: RequestState::Done,
        received_at: ts("2026-03-02T09:00:00Z"),
        due_at: ts("2026-04-01T09:00:00Z"),
        completed_at: completed_at.map(ts),
        identifiers: vec![
            Identifier::parse(IdentifierKind::Email, "asa.oberg@example.se").unwrap(),
            Identifier::parse(IdentifierKind::Personnummer, "19121212-1212").unwrap(),
        ],
        detail: None,
        extension: None,
        origin: None,
    }
}

fn task(order: u32, system: &str, action: RequestAction, state: TaskState) -> RequestTask {
    RequestTask {
        id: RequestTaskId(i64::from(order) + 100),
        request: RequestId(42),
        system: system.into(),
        action,
        order,
        state,
        attempts: 1,
        not_before: None,
        retained_until: None,
        legal_basis: None,
        detail: None,
        kept: None,
        resume: None,
        updated_at: ts("2026-01-01T00:00:00Z"),
        finished_at: None,
    }
}

fn with_detail(mut t: RequestTask, detail: &str) -> RequestTask {
    t.detail = Some(detail.into());
    t
}

fn retention(
    table: &'static [(&'static str, &'static str)],
) -> impl Fn(&str) -> Option<CalendarDuration> {
    move |system| {
        table
            .iter()
            .find(|(s, _)| *s == system)
            .map(|(_, d)| d.parse().unwrap())
    }
}

#[test]
fn each_task_state_and_action_gives_the_documented_outcome() {
    use ReceiptOutcome as O;
    use RequestAction as A;
    use TaskState as S;
    let cases: Vec<(RequestTask, ReceiptOutcome)> = vec![
        (task(1, "panel", A::Erase, S::Done), O::Erased),
        (
            with_detail(task(1, "panel", A::Erase, S::Done), "erased 3 records"),
            O::Erased,
        ),
        (
            with_detail(
                task(1, "billing", A::Erase, S::Done),
                "anonymized 4 records",
            ),
            O::Anonymized,
        ),
        (
            with_detail(
                task(1, "billing", A::Erase, S::Done),
                "Anonymized 4 records; kept: x",
            ),
            O::Anonymized,
        ),
        (task(1, "billing", A::Anonymize, S::Done), O::Anonymized),
        (task(1, "billing", A::Erase, S::Retained), O::Retained),
        (task(1, "billing", A::Anonymize, S::Retained), O::Retained),
        (task(1, "binders", A::Manual, S::Done), O::DoneByPerson),
        (task(1, "binders", A::Manual, S::NeedsPerson), O::NotDone),
        (task(1, "partner", A::Notify, S::Done), O::Notified),
        (task(1, "crm", A::Export, S::Done), O::Done),
        (task(1, "crm", A::Restrict, S::Done), O::Done),
        (task(1, "crm", A::Unrestrict, S::Done), O::Done),
        (task(1, "crm", A::Erase, S::Failed), O::NotDone),
        (task(1, "crm", A::Erase, S::Pending), O::NotDone),
        (task(1, "crm", A::Erase, S::Running), O::NotDone),
        (task(1, "crm", A::Erase, S::Blocked), O::NotDone),
    ];
    for (t, expected) in cases {
        let label = format!("{:?}/{:?}/{:?}", t.action, t.state, t.detail);
        let r = build_receipt_at(
            &request(RequestKind::Erase, Some("2026-03-05T10:00:00Z")),
            &[t],
            &|_| None,
            &stockholm(),
            ts("2026-03-06T00:00:00Z"),
        );
        assert_eq!(r.systems[0].outcome, expected, "{label}");
    }
}

#[test]
fn a_retained_line_carries_its_law_and_date_and_others_do_not() {
    let mut billing = task(2, "billing", RequestAction::Erase, TaskState::Retained);
    billing.retained_until = Some(ts("2033-01-01T00:00:00Z"));
    billing.legal_basis = Some("Bokföringslagen 7 kap. 2 §".into());
    let mut panel = task(1, "panel", RequestAction::Erase, TaskState::Done);
    // A stale value from an earlier state must not show on an erased line.
    panel.legal_basis = Some("stale".into());
    let r = build_receipt(
        &request(RequestKind::Erase, Some("2026-03-05T10:00:00Z")),
        &[billing, panel],
        &|_| None,
        &stockholm(),
    );
    assert_eq!(r.systems[0].system, "panel", "in task order");
    assert_eq!(r.systems[0].legal_basis, None);
    assert_eq!(r.systems[1].outcome, ReceiptOutcome::Retained);
    assert_eq!(
        r.systems[1].retained_until,
        Some(ts("2033-01-01T00:00:00Z"))
    );
    assert_eq!(
        r.systems[1].legal_basis.as_deref(),
        Some("Bokföringslagen 7 kap. 2 §")
    );
}

#[test]
fn backups_expire_by_the_longest_retention_on_the_calendar() {
    use RequestAction as A;
    use TaskState as S;
    // (completed_at, tasks, retentions, expected backups_expire_by)
    type Case = (
        &'static str,
        Vec<RequestTask>,
        &'static [(&'static str, &'static str)],
        Option<&'static str>,
    );
    let cases: Vec<Case> = vec![
        // The longest of 30 days and 1 month, from 31 January: 1 month clamps to 28 Feb,
        // 30 days is 2 March; the later one wins.
        (
            "2026-01-31T11:00:00Z",
            vec![
                task(1, "panel", A::Erase, S::Done),
                task(2, "crm", A::Erase, S::Done),
            ],
            &[("panel", "1 month"), ("crm", "30 days")],
            Some("2026-03-02T11:00:00Z"),
        ),
        // Calendar days keep the wall clock across daylight saving (Sweden, 29 March).
        (
            "2026-03-20T11:00:00Z",
            vec![task(1, "panel", A::Erase, S::Done)],
            &[("panel", "14 days")],
            Some("2026-04-03T10:00:00Z"),
        ),
        // A system without a stated retention adds nothing; none at all gives None.
        (
            "2026-03-05T10:00:00Z",
            vec![task(1, "panel", A::Erase, S::Done)],
            &[],
            None,
        ),
        // A failed task removed nothing, so its backups do not count.
        (
            "2026-03-05T10:00:00Z",
            vec![
                task(1, "panel", A::Erase, S::Done),
                task(2, "crm", A::Erase, S::Failed),
            ],
            &[("panel", "7 days"), ("crm", "1 year")],
            Some("2026-03-12T10:00:00Z"),
        ),
        // Retained data was anonymized now; manual and notified systems count too.
        (
            "2026-03-05T10:00:00Z",
            vec![
                task(1, "billing", A::Erase, S::Retained),
                task(2, "binders", A::Manual, S::Done),
                task(3, "partner", A::Notify, S::Done),
            ],
            &[
                ("billing", "7 days"),
                ("binders", "14 days"),
                ("partner", "21 days"),
            ],
            Some("2026-03-26T10:00:00Z"),
        ),
        // An export removes nothing: no backup date.
        (
            "2026-03-05T10:00:00Z",
            vec![task(1, "panel", A::Export, S::Done)],
            &[("panel", "30 days")],
            None,
        ),
    ];
    for (i, (completed, tasks, table, expected)) in cases.into_iter().enumerate() {
        let r = build_receipt_at(
            &request(RequestKind::Erase, Some(completed)),
            &tasks,
            &retention(table),
            &stockholm(),
            ts("2030-01-01T00:00:00Z"),
        );
        assert_eq!(r.backups_expire_by, expected.map(ts), "case {i}");
    }
}

#[test]
fn an_erasure_finished_after_a_legal_hold_counts_from_when_it_finished() {
    let mut billing = task(1, "billing", RequestAction::Erase, TaskState::Done);
    billing.updated_at = ts("2033-01-01T08:00:00Z");
    let r = build_receipt(
        &request(RequestKind::Erase, Some("2026-03-05T10:00:00Z")),
        &[billing],
        &retention(&[("billing", "30 days")]),
        &stockholm(),
    );
    assert_eq!(r.systems[0].outcome, ReceiptOutcome::Erased);
    assert_eq!(r.backups_expire_by, Some(ts("2033-01-31T08:00:00Z")));
}

#[test]
fn an_unfinished_request_counts_backups_from_now() {
    let now = ts("2026-06-10T12:00:00Z");
    let r = build_receipt_at(
        &request(RequestKind::Erase, None),
        &[task(1, "panel", RequestAction::Erase, TaskState::Done)],
        &retention(&[("panel", "10 days")]),
        &stockholm(),
        now,
    );
    assert_eq!(r.completed_at, None);
    assert_eq!(r.backups_expire_by, Some(ts("2026-06-20T12:00:00Z")));
}

fn full_receipt() -> Receipt {
    let mut billing = with_detail(
        task(3, "billing", RequestAction::Erase, TaskState::Retained),
        "anonymized 2 records; kept: invoices",
    );
    billing.retained_until = Some(ts("2033-01-01T00:00:00Z"));
    billing.legal_basis = Some("Bokföringslagen 7 kap. 2 §".into());
    let tasks = vec![
        with_detail(
            task(1, "panel", RequestAction::Erase, TaskState::Done),
            "erased 1 records",
        ),
        task(2, "crm", RequestAction::Erase, TaskState::Done),
        billing,
        with_detail(
            task(4, "binders", RequestAction::Manual, TaskState::Done),
            "shredded the page for asa.oberg@example.se",
        ),
        task(5, "partner", RequestAction::Notify, TaskState::Done),
        with_detail(
            task(6, "shop", RequestAction::Erase, TaskState::Failed),
            "connection refused (is the database at 127.0.0.1:5432 running?)",
        ),
    ];
    build_receipt(
        &request(RequestKind::Erase, Some("2026-03-05T10:00:00Z")),
        &tasks,
        &retention(&[("panel", "30 days"), ("billing", "3 months")]),
        &stockholm(),
    )
}

#[test]
fn the_text_receipt_says_per_system_what_happened_with_law_and_dates() {
    let text = render_receipt(&full_receipt(), &stockholm());
    let expected_lines = [
        "Receipt for request 42: erasure of your personal data",
        "Received 2026-03-02, completed 2026-03-05.",
        "- panel: your data was erased.",
        "- crm: your data was erased.",
        "- billing: what the law does not require was removed; the rest is kept as required by \
         Bokföringslagen 7 kap. 2 § until 2033-01-01, and will be erased then without you \
         having to ask again.",
        "- binders: handled by a member of our staff, who confirmed it was done.",
        "- partner: the company that handles this for us was told to do the same.",
        "- shop: not completed; our privacy staff are following this up.",
    ];
    for line in expected_lines {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in:\n{text}"
        );
    }
    assert!(
        text.contains("expires on 2026-06-05 at the latest."),
        "backup sentence:\n{text}"
    );
}

#[test]
fn the_text_receipt_never_holds_identifiers_or_task_details() {
    let text = render_receipt(&full_receipt(), &stockholm());
    for secret in [
        "asa.oberg",
        "example.se",
        "19121212",
        "121212",
        "connection refused",
        "shredded",
    ] {
        assert!(!text.contains(secret), "{secret:?} in:\n{text}");
    }
    let json = serde_json::to_string(&full_receipt()).unwrap();
    assert!(!json.contains("19121212"), "{json}");
}

#[test]
fn dates_are_shown_on_the_local_calendar() {
    let mut r = full_receipt();
    // 23:30 UTC on 31 December is already New Year's Day in Stockholm.
    r.completed_at = Some(ts("2026-12-31T23:30:00Z"));
    let text = render_receipt(&r, &stockholm());
    assert!(text.contains("completed 2027-01-01."), "{text}");
}

#[test]
fn receipts_of_other_kinds_read_naturally() {
    let cases = [
        (
            RequestKind::Export,
            RequestAction::Export,
            "a copy of your personal data",
        ),
        (
            RequestKind::Restrict,
            RequestAction::Restrict,
            "restriction of processing",
        ),
        (
            RequestKind::Object,
            RequestAction::Erase,
            "objection to marketing",
        ),
    ];
    for (kind, action, words) in cases {
        let r = build_receipt(
            &request(kind, None),
            &[task(1, "crm", action, TaskState::Done)],
            &|_| None,
            &stockholm(),
        );
        let text = render_receipt(&r, &stockholm());
        assert!(
            text.starts_with(&format!("Receipt for request 42: {words}\n")),
            "{text}"
        );
        assert!(text.contains("not yet completed"), "{text}");
        assert!(!text.contains("backup"), "{text}");
    }
}
