use std::time::Duration;

use jiff::Timestamp;

use super::*;
use crate::store::RequestAction;
use crate::store::{Action, RunState, TaskState};

fn name(s: &str) -> SafeName {
    SafeName::new(s).expect("a valid name")
}

fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(secs).expect("a valid time")
}

/// The value of the sample `series` (name and labels exactly as encoded), if present.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(series)?.strip_prefix(' ')?;
        rest.split(' ').next()?.parse().ok()
    })
}

fn assert_value(text: &str, series: &str, expected: f64) {
    match value(text, series) {
        Some(v) => assert_eq!(v, expected, "{series}"),
        None => panic!("no sample {series} in:\n{text}"),
    }
}

#[test]
fn every_metric_appears_with_the_value_its_calls_gave_it() {
    let m = Metrics::new();
    let (crm, panel, inactive) = (name("crm"), name("panel"), name("inactive-customers"));
    m.set_policies(&[PolicySeed {
        name: inactive.clone(),
        last_run: None,
        last_success: None,
    }]);
    m.run_finished(
        &inactive,
        RunOutcome::Done,
        7,
        Duration::from_millis(2500),
        at(1_700_000_000),
    );
    m.run_finished(
        &inactive,
        RunOutcome::Failed,
        3,
        Duration::from_secs(1),
        at(1_700_000_100),
    );
    m.safety_valve_tripped(&inactive);
    m.task_finished(&crm, Action::Erase, TaskOutcome::Done);
    m.task_finished(&crm, Action::Erase, TaskOutcome::Done);
    m.task_finished(&panel, RequestAction::Export, TaskOutcome::Retained);
    m.connector_call(
        &crm,
        Operation::Erase,
        CallOutcome::Ok,
        Duration::from_millis(20),
    );
    m.connector_call(
        &crm,
        Operation::Erase,
        CallOutcome::Transient,
        Duration::from_secs(2),
    );
    m.request_received(RequestKind::Erase);
    m.request_received(RequestKind::Erase);
    m.request_received(RequestKind::Export);
    m.set_request_gauges(&RequestGauges {
        open: vec![(RequestKind::Erase, RequestState::Open, 4)],
        overdue: 1,
        at_risk: 2,
        oldest_open_due: Some(at(1_700_500_000)),
        oldest_open_received: Some(at(1_699_000_000)),
        tasks_needing_person: 3,
    });
    m.notice_escalated(&name("mailing-list"));
    m.set_plugins(&[LoadedPlugin {
        system: crm.clone(),
        plugin: name("sql"),
        version: PluginVersion::lossy("0.1.0"),
    }]);
    m.config_reloaded(true);
    m.config_reloaded(false);
    m.config_reloaded(false);
    m.scheduler_tick(at(1_700_000_200));

    let t = m.encode().unwrap();
    let p = r#"{policy="inactive-customers"}"#;
    assert_value(
        &t,
        r#"gallra_policy_runs_total{policy="inactive-customers",outcome="done"}"#,
        1.0,
    );
    assert_value(
        &t,
        r#"gallra_policy_runs_total{policy="inactive-customers",outcome="failed"}"#,
        1.0,
    );
    assert_value(
        &t,
        &format!("gallra_policy_last_run_timestamp_seconds{p}"),
        1_700_000_100.0,
    );
    assert_value(
        &t,
        &format!("gallra_policy_last_success_timestamp_seconds{p}"),
        1_700_000_000.0,
    );
    assert_value(
        &t,
        &format!("gallra_policy_last_run_duration_seconds{p}"),
        1.0,
    );
    assert_value(&t, &format!("gallra_policy_subjects_selected{p}"), 3.0);
    assert_value(&t, &format!("gallra_safety_valve_trips_total{p}"), 1.0);
    assert_value(
        &t,
        r#"gallra_tasks_total{system="crm",action="erase",outcome="done"}"#,
        2.0,
    );
    assert_value(
        &t,
        r#"gallra_tasks_total{system="panel",action="export",outcome="retained"}"#,
        1.0,
    );
    assert_value(
        &t,
        r#"gallra_connector_calls_total{system="crm",operation="erase",outcome="ok"}"#,
        1.0,
    );
    assert_value(
        &t,
        r#"gallra_connector_calls_total{system="crm",operation="erase",outcome="transient"}"#,
        1.0,
    );
    let h = r#"gallra_connector_call_duration_seconds"#;
    assert_value(
        &t,
        &format!(r#"{h}_count{{system="crm",operation="erase"}}"#),
        2.0,
    );
    assert_value(
        &t,
        &format!(r#"{h}_sum{{system="crm",operation="erase"}}"#),
        2.02,
    );
    assert_value(
        &t,
        &format!(r#"{h}_bucket{{le="0.04",system="crm",operation="erase"}}"#),
        1.0,
    );
    assert_value(
        &t,
        &format!(r#"{h}_bucket{{le="+Inf",system="crm",operation="erase"}}"#),
        2.0,
    );
    assert_value(&t, r#"gallra_requests_received_total{kind="erase"}"#, 2.0);
    assert_value(&t, r#"gallra_requests_received_total{kind="export"}"#, 1.0);
    assert_value(&t, r#"gallra_requests_received_total{kind="object"}"#, 0.0);
    assert_value(
        &t,
        r#"gallra_requests_open{kind="erase",state="open"}"#,
        4.0,
    );
    assert_value(&t, "gallra_requests_overdue", 1.0);
    assert_value(&t, "gallra_requests_at_risk", 2.0);
    assert_value(
        &t,
        "gallra_request_oldest_open_due_timestamp_seconds",
        1_700_500_000.0,
    );
    assert_value(
        &t,
        "gallra_request_oldest_open_received_timestamp_seconds",
        1_699_000_000.0,
    );
    assert_value(&t, "gallra_tasks_needing_person", 3.0);
    assert_value(
        &t,
        r#"gallra_notices_escalated_total{system="mailing-list"}"#,
        1.0,
    );
    assert_value(
        &t,
        r#"gallra_plugin_loaded{system="crm",plugin="sql",version="0.1.0"}"#,
        1.0,
    );
    assert_value(&t, r#"gallra_config_reloads_total{outcome="ok"}"#, 1.0);
    assert_value(
        &t,
        r#"gallra_config_reloads_total{outcome="rejected"}"#,
        2.0,
    );
    assert_value(
        &t,
        "gallra_scheduler_last_tick_timestamp_seconds",
        1_700_000_200.0,
    );
    let build = format!(
        r#"gallra_build_info{{version="{}",revision="{}",abi="{}"}}"#,
        env!("CARGO_PKG_VERSION"),
        crate::version::REVISION,
        gallra_plugin_api::abi::ABI_VERSION
    );
    assert_value(&t, &build, 1.0);
    assert_value(&t, "gallra_up", 1.0);
    assert!(t.ends_with("# EOF\n"), "OpenMetrics ends with # EOF");
    assert!(t.contains("# TYPE gallra_connector_call_duration_seconds histogram"));
    assert!(t.contains("# UNIT gallra_policy_last_run_timestamp_seconds seconds"));
}

#[test]
fn the_leadership_and_the_leases_are_gauges_a_node_sets() {
    let m = Metrics::new();
    let t = m.encode().unwrap();
    assert_value(&t, "gallra_leader", 0.0);
    m.set_leader(true);
    m.set_leases(7, 2);
    let t = m.encode().unwrap();
    assert_value(&t, "gallra_leader", 1.0);
    assert_value(&t, "gallra_leases_held", 7.0);
    assert_value(&t, "gallra_leases_expired", 2.0);
    m.set_leader(false);
    assert_value(&m.encode().unwrap(), "gallra_leader", 0.0);
}

#[test]
fn a_clone_updates_the_same_metrics() {
    let m = Metrics::new();
    m.clone().request_received(RequestKind::Object);
    let t = m.encode().unwrap();
    assert_value(&t, r#"gallra_requests_received_total{kind="object"}"#, 1.0);
}

#[test]
fn a_failed_run_does_not_move_the_last_success() {
    let m = Metrics::new();
    let p = name("signups");
    m.run_finished(&p, RunOutcome::Reported, 0, Duration::ZERO, at(1_000));
    m.run_finished(
        &p,
        RunOutcome::AwaitingApproval,
        900,
        Duration::ZERO,
        at(2_000),
    );
    m.run_finished(&p, RunOutcome::Failed, 0, Duration::ZERO, at(3_000));
    let t = m.encode().unwrap();
    assert_value(
        &t,
        r#"gallra_policy_last_success_timestamp_seconds{policy="signups"}"#,
        1_000.0,
    );
    assert_value(
        &t,
        r#"gallra_policy_last_run_timestamp_seconds{policy="signups"}"#,
        3_000.0,
    );
}

#[test]
fn configured_policies_are_seeded_from_history_and_removed_ones_disappear() {
    let m = Metrics::new();
    let seed = |n: &str, run: Option<i64>, ok: Option<i64>| PolicySeed {
        name: name(n),
        last_run: run.map(at),
        last_success: ok.map(at),
    };
    m.set_policies(&[seed("old", Some(500), Some(400)), seed("never", None, None)]);
    let t = m.encode().unwrap();
    assert_value(
        &t,
        r#"gallra_policy_last_run_timestamp_seconds{policy="old"}"#,
        500.0,
    );
    assert_value(
        &t,
        r#"gallra_policy_last_success_timestamp_seconds{policy="old"}"#,
        400.0,
    );
    assert_value(
        &t,
        r#"gallra_policy_last_run_timestamp_seconds{policy="never"}"#,
        0.0,
    );
    assert_value(
        &t,
        r#"gallra_safety_valve_trips_total{policy="never"}"#,
        0.0,
    );

    m.set_policies(&[seed("never", None, None)]);
    let t = m.encode().unwrap();
    assert_eq!(
        value(
            &t,
            r#"gallra_policy_last_run_timestamp_seconds{policy="old"}"#
        ),
        None
    );
    assert_value(
        &t,
        r#"gallra_policy_last_run_timestamp_seconds{policy="never"}"#,
        0.0,
    );
}

#[test]
fn a_request_snapshot_replaces_the_last_one() {
    let m = Metrics::new();
    m.set_request_gauges(&RequestGauges {
        open: vec![
            (RequestKind::Erase, RequestState::Open, 2),
            (RequestKind::Export, RequestState::Blocked, 1),
        ],
        oldest_open_due: Some(at(9_000)),
        ..RequestGauges::default()
    });
    m.set_request_gauges(&RequestGauges {
        open: vec![(RequestKind::Erase, RequestState::Open, 1)],
        ..RequestGauges::default()
    });
    let t = m.encode().unwrap();
    assert_value(
        &t,
        r#"gallra_requests_open{kind="erase",state="open"}"#,
        1.0,
    );
    assert_value(
        &t,
        r#"gallra_requests_open{kind="export",state="blocked"}"#,
        0.0,
    );
    assert_value(&t, "gallra_request_oldest_open_due_timestamp_seconds", 0.0);
}

#[test]
fn replaced_plugins_disappear() {
    let m = Metrics::new();
    let plugin = |v: &str| LoadedPlugin {
        system: name("crm"),
        plugin: name("sql"),
        version: PluginVersion::lossy(v),
    };
    m.set_plugins(&[plugin("7.7.7")]);
    m.set_plugins(&[plugin("8.8.8")]);
    let t = m.encode().unwrap();
    assert!(!t.contains("7.7.7"), "{t}");
    assert_value(
        &t,
        r#"gallra_plugin_loaded{system="crm",plugin="sql",version="8.8.8"}"#,
        1.0,
    );
}

#[test]
fn a_safe_name_refuses_anything_that_looks_like_personal_data() {
    for bad in [
        "alice@example.com",
        "Alice Andersson",
        "198112189876",
        "19811218-9876",
        "811218-9876",
        "+46701234567",
        "0701234567",
        "192.168.1.1",
        "example.com",
        "ALICE",
        "",
        "a\"b",
        "a\\b",
        "a\nb",
        "crm}",
    ] {
        assert!(SafeName::new(bad).is_err(), "{bad:?} must be refused");
        assert_eq!(SafeName::lossy(bad).as_str(), INVALID_NAME);
    }
    for good in [
        "crm",
        "inactive-customers",
        "unconverted_signups",
        "billing2",
        "a",
    ] {
        assert_eq!(SafeName::new(good).unwrap().as_str(), good);
    }
}

#[test]
fn a_refused_name_is_not_repeated_in_the_error() {
    let err = SafeName::new("alice@example.com").unwrap_err().to_string();
    assert!(!err.contains("alice"), "{err}");
}

#[test]
fn a_plugin_version_outside_the_version_alphabet_becomes_unknown() {
    assert_eq!(
        PluginVersion::lossy("1.2.3-rc.1+build5").as_str(),
        "1.2.3-rc.1+build5"
    );
    for bad in [
        "alice@example.com",
        "1.0 \"x\"",
        "a\nb",
        "",
        &"9".repeat(65),
    ] {
        assert_eq!(PluginVersion::lossy(bad).as_str(), "unknown", "{bad:?}");
    }
}

/// prometheus-client 0.24 writes label values verbatim; nothing we accept may need escaping.
#[test]
fn no_label_value_ever_needs_escaping() {
    let m = Metrics::new();
    let weird = SafeName::lossy("evil\"} 1\ngallra_up 0");
    m.task_finished(&weird, Action::Erase, TaskOutcome::Failed);
    m.set_plugins(&[LoadedPlugin {
        system: weird.clone(),
        plugin: weird,
        version: PluginVersion::lossy("1\"\\\n"),
    }]);
    for kind in RequestKind::ALL {
        m.request_received(*kind);
    }
    let t = m.encode().unwrap();
    assert!(!t.contains('\\'), "{t}");
    for line in t.lines().filter(|l| !l.starts_with('#')) {
        let labels = line.split_once('{').map_or("", |(_, rest)| rest);
        let labels = labels.rsplit_once('}').map_or("", |(l, _)| l);
        for pair in labels.split(',').filter(|p| !p.is_empty()) {
            let (_, v) = pair.split_once('=').expect("label=value");
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .expect("quoted");
            assert!(
                v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._+-".contains(&b)),
                "label value {v:?} in {line:?}"
            );
        }
    }
    assert_value(
        &t,
        r#"gallra_tasks_total{system="invalid_name",action="erase",outcome="failed"}"#,
        1.0,
    );
    assert_value(&t, "gallra_up", 1.0);
}

#[test]
fn every_connector_operation_has_its_own_label() {
    for op in Operation::ALL {
        assert_eq!(Operation::from_name(op.as_str()), *op);
    }
    assert_eq!(
        Operation::from(&gallra_plugin_api::Call::Health),
        Operation::Health
    );
    assert_eq!(Operation::from_name("no-such-op"), Operation::Other);
}

#[test]
fn store_states_map_to_outcomes() {
    assert_eq!(
        RunOutcome::from_state(RunState::AwaitingApproval),
        Some(RunOutcome::AwaitingApproval)
    );
    assert_eq!(RunOutcome::from_state(RunState::Enforcing), None);
    assert_eq!(
        TaskOutcome::from_state(TaskState::NeedsPerson),
        Some(TaskOutcome::NeedsPerson)
    );
    assert_eq!(TaskOutcome::from_state(TaskState::Running), None);
}

#[test]
fn the_audit_gauges_follow_the_log_and_drop_to_0_when_it_no_longer_matches_its_head() {
    use crate::audit::{Action as Audit, Actor, NewEntry, Outcome};
    let tmp = tempfile::tempdir().unwrap();
    let store = Arc::new(crate::store::SqliteStore::open(tmp.path()).unwrap());
    let log = crate::audit::open(tmp.path(), store).unwrap();
    let metrics = Metrics::new();
    metrics.watch_audit(&log);
    let entry = || NewEntry::new(Actor::Gallra, Audit::RunStarted, Outcome::Started);
    log.append(entry()).unwrap();
    log.append(entry()).unwrap();
    let text = metrics.encode().unwrap();
    assert_value(&text, "gallra_audit_intact", 1.0);
    assert_value(&text, "gallra_audit_head_seq", 2.0);
    let file = crate::audit::file_name(log.node(), 1);
    std::fs::write(tmp.path().join("audit").join(file), "").unwrap();
    assert!(log.append(entry()).is_err());
    let text = metrics.encode().unwrap();
    assert_value(&text, "gallra_audit_intact", 0.0);
    assert_value(&text, "gallra_audit_head_seq", 2.0);
}
