//! Moving a daemon's SQLite state to PostgreSQL (`gallra state copy-to-postgresql`), end to
//! end: after the copy and the config switched, `gallra runs` and `gallra request list` show
//! what they showed before, and a new request is carried through in the new store.

use std::os::unix::fs::PermissionsExt;

use gallra_e2e::requests::{show, submit};
use gallra_e2e::{available, Backend, Scenario, TestDb};
use serde_json::Value;

#[test]
fn a_sqlite_state_copied_to_postgresql_shows_the_same_and_carries_on_there() {
    if !available(Backend::Postgres, "state_copy") {
        return;
    }
    let (_dir, scenario) = Scenario::sqlite(11, 60);
    let gallra = scenario.gallra();
    let mut emails = (scenario.data.customers().iter())
        .filter(|c| !scenario.expected_purged().contains(&c.panel_id()))
        .map(|c| c.email().to_owned());
    let mut requests: Vec<i64> = (0..2)
        .map(|_| submit(&gallra, "erase", &emails.next().unwrap()))
        .collect();
    gallra.run(&["run", "--once"]).expect_code(0);
    requests.push(submit(&gallra, "export", &emails.next().unwrap()));
    let runs = gallra.run(&["runs", "--json"]).expect_code(0).json();
    let listed = gallra
        .run(&["request", "list", "--json"])
        .expect_code(0)
        .json();
    let shown: Vec<Value> = requests.iter().map(|&id| show(&gallra, id)).collect();

    let store = TestDb::create(Backend::Postgres, &scenario.dir, "state");
    let url_file = scenario.dir.join("state-store.url");
    std::fs::write(&url_file, store.url.as_deref().unwrap()).unwrap();
    std::fs::set_permissions(&url_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let url = url_file.display().to_string();
    let copied = gallra
        .run(&["state", "copy-to-postgresql", "--url-file", &url, "--json"])
        .expect_code(0)
        .json();
    let rows = |table: &str| {
        let tables = copied["tables"].as_array().unwrap();
        let found = tables.iter().find(|t| t["table"] == table).unwrap();
        found["rows"].as_u64().unwrap()
    };
    assert_eq!(
        rows("runs"),
        runs.as_array().unwrap().len() as u64,
        "{copied:#}"
    );
    assert_eq!(rows("requests"), 3, "{copied:#}");
    assert!(copied["next_steps"][0]
        .as_str()
        .unwrap()
        .contains("backend = \"postgresql\""));

    scenario.edit_config(|config| {
        let store = toml::toml! {
            backend = "postgresql"
            url_file = url
        };
        config.insert("state_store".into(), store.into());
    });
    assert_eq!(gallra.run(&["runs", "--json"]).expect_code(0).json(), runs);
    let after = gallra
        .run(&["request", "list", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(after, listed);
    for (id, before) in requests.iter().zip(&shown) {
        assert_eq!(&show(&gallra, *id), before);
    }

    // The store carries on: a new request gets a new id and is worked by `run --once`.
    let new = submit(&gallra, "export", &emails.next().unwrap());
    assert!(
        requests.iter().all(|&old| new > old),
        "{new} after {requests:?}"
    );
    gallra.run(&["run", "--once"]).expect_code(0);
    let view = show(&gallra, new);
    let tasks = view["task_list"].as_array().unwrap();
    assert!(tasks.iter().any(|t| t["state"] == "done"), "{view:#}");
    let export = show(&gallra, requests[2]);
    assert_ne!(
        export["state"], shown[2]["state"],
        "the export went on: {export:#}"
    );
}
