//! `gallra run` as a service: requests submitted over the admin API's Unix socket are carried
//! through by the running daemon, and SIGTERM stops it cleanly.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gallra_demo::Category;
use gallra_e2e::http::http;
use gallra_e2e::wait::wait_until;
use gallra_e2e::{Daemon, Scenario};
use tempfile::TempDir;

/// A SQLite scenario of `customers` with no policy (what is erased, a request erased) and the
/// admin API on `api.sock` in its directory, with `edit` made to its config; and the daemon
/// running it, once the socket is there.
fn serving(
    customers: usize,
    edit: impl FnOnce(&mut toml::Table),
) -> (TempDir, Scenario, PathBuf, Daemon) {
    let (dir, scenario) = Scenario::sqlite(9, customers);
    let socket = dir.path().join("api.sock");
    scenario.edit_config(|config| {
        config.remove("policies");
        config.insert(
            "api".into(),
            toml::Value::Table(toml::toml! { socket = "api.sock" }),
        );
        edit(config);
    });
    let daemon = Daemon::start(&scenario.config);
    wait_until("the socket", Duration::from_secs(60), || socket.exists());
    (dir, scenario, socket, daemon)
}

/// Submits an erase request for `email` over the socket; its id.
fn submit_erase(socket: &Path, email: &str) -> i64 {
    let body = serde_json::json!({ "kind": "erase", "identifiers": { "email": email } });
    let (status, created) = http(socket, "POST", "/v1/requests", Some(&body));
    assert_eq!(status, 201, "{created}");
    created["id"].as_i64().unwrap()
}

#[test]
fn the_running_service_takes_requests_over_its_socket_and_stops_cleanly_on_sigterm() {
    let (_dir, scenario, socket, mut daemon) = serving(40, |_| {});
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&socket).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o660);

    let customer = scenario
        .data
        .in_category(Category::InactiveClean)
        .next()
        .unwrap();
    let id = submit_erase(&socket, customer.email());

    // The daemon carries it through by itself.
    wait_until("the request to finish", Duration::from_secs(60), || {
        let (_, view) = http(&socket, "GET", &format!("/v1/requests/{id}"), None);
        view["state"] == "done"
    });
    assert_eq!(
        scenario
            .db("panel")
            .count("customers", Some(&format!("id = {}", customer.panel_id()))),
        0
    );

    // Bad input is a 4xx with a machine-readable error, never a 500.
    let (status, error) = http(
        &socket,
        "POST",
        "/v1/requests",
        Some(&serde_json::json!({ "kind": "erase" })),
    );
    assert!((400..500).contains(&status), "{status} {error}");
    assert!(error["error"]["code"].is_string(), "{error}");

    // SIGTERM: exit 0, socket removed.
    daemon.signal("TERM");
    let status = daemon.wait(Duration::from_secs(10));
    assert!(status.success(), "exit status {status:?}");
    assert!(!socket.exists(), "the socket was left behind");
}

/// The tasks of every request, by request id, as `(system, state, detail)`.
fn tasks_of(socket: &Path, ids: &[i64]) -> Vec<(i64, String, String, String)> {
    let mut all = Vec::new();
    for id in ids {
        let (status, view) = http(socket, "GET", &format!("/v1/requests/{id}"), None);
        assert_eq!(status, 200, "{view}");
        for task in view["task_list"].as_array().unwrap() {
            let text = |key: &str| task[key].as_str().unwrap_or_default().to_owned();
            all.push((*id, text("system"), text("state"), text("detail")));
        }
    }
    all
}

/// A reload while requests are in hand: the admin API keeps answering (the old daemon closed
/// it until every due task was done, minutes with a long queue), the work in hand finishes on
/// the old configuration, and a system the new configuration removed gets no call after it:
/// its tasks wait for a person, and its rows stay.
#[test]
fn a_reload_keeps_the_api_answering_and_sends_nothing_to_a_system_it_removed() {
    let (_dir, scenario, socket, mut daemon) = serving(400, |config| {
        // The CRM answers each erase after 2 seconds, 4 calls at a time (its default).
        let schedule = toml::toml! {
            seed = 1
            rate = 1.0
            faults = ["hang"]
            hang_ms = 2000
            operations = ["erase"]
        };
        gallra_e2e::behind_faults(config, "crm", ("schedule", schedule.into()));
    });

    // Customers nothing keeps (no active service, no debt), each with a CRM person.
    let in_crm: Vec<_> = scenario
        .data
        .in_category(Category::InactiveClean)
        .filter(|c| c.crm_id().is_some())
        // More than the engine takes up at once (16), so that some are not in hand.
        .take(40)
        .collect();
    assert_eq!(in_crm.len(), 40, "the data has too few such customers");
    let ids: Vec<i64> = in_crm
        .iter()
        .map(|customer| submit_erase(&socket, customer.email()))
        .collect();
    wait_until("a CRM erase in hand", Duration::from_secs(60), || {
        tasks_of(&socket, &ids)
            .iter()
            .any(|(_, system, state, _)| system == "crm" && state == "running")
    });

    // The new configuration has no CRM.
    let text = std::fs::read_to_string(&scenario.config).unwrap();
    let mut config: toml::Table = toml::from_str(&text).unwrap();
    config["systems"].as_table_mut().unwrap().remove("crm");
    std::fs::write(&scenario.config, toml::to_string(&config).unwrap()).unwrap();
    daemon.signal("HUP");
    // The API answers while the CRM erases in hand are still under way.
    std::thread::sleep(Duration::from_millis(300));
    let during = tasks_of(&socket, &ids);
    assert!(
        during
            .iter()
            .any(|(_, system, state, _)| system == "crm" && state == "running"),
        "the API answered only after the work in hand: {during:#?}"
    );

    // Everything settles: what was in hand is done on the old configuration; the rest of
    // the CRM's tasks wait for a person and the CRM heard nothing more.
    let settled = |tasks: &[(i64, String, String, String)]| {
        tasks.iter().all(|(_, system, state, _)| {
            system != "crm" || !["running", "pending"].contains(&state.as_str())
        })
    };
    let started = Instant::now();
    while !settled(&tasks_of(&socket, &ids)) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the CRM tasks did not settle: {:#?}",
            tasks_of(&socket, &ids)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let after = tasks_of(&socket, &ids);
    let crm_db = scenario.db("crm");
    let (mut done, mut waiting) = (0, 0);
    for (customer, (_, _, state, detail)) in
        in_crm.iter().zip(after.iter().filter(|t| t.1 == "crm"))
    {
        let rows = crm_db.count(
            "people",
            Some(&format!("id = {}", customer.crm_id().unwrap())),
        );
        match state.as_str() {
            "done" => {
                done += 1;
                assert_eq!(rows, 0, "a done CRM task left its row");
            }
            "needs_person" => {
                waiting += 1;
                assert!(detail.contains("no longer configured"), "{detail}");
                assert_eq!(rows, 1, "the removed CRM was called after the reload");
            }
            other => panic!("a CRM task ended {other}: {detail}"),
        }
    }
    assert!(
        done > 0 && waiting > 0,
        "{done} done, {waiting} waiting: {after:#?}"
    );
    assert!(daemon.running(), "the reload stopped the daemon");

    daemon.signal("TERM");
    let status = daemon.wait(Duration::from_secs(30));
    assert!(status.success(), "exit status {status:?}");
}
