//! Settings mistakes are caught before anything touches a database, and name their key;
//! connection problems name the backend and host, never the credentials.

use gallra_plugin_api::ConnectorError;
use serde_json::{json, Value};

use crate::support::{open_settings, standard_settings, write_secret};

/// Standard settings for a SQLite file that need not exist (validation never opens it).
fn sqlite(change: impl FnOnce(&mut Value)) -> Value {
    let mut settings = standard_settings();
    settings["backend"] = json!("sqlite");
    settings["path"] = json!("/nonexistent/panel.db");
    change(&mut settings);
    settings
}

/// An edit to the standard settings.
type Change = Box<dyn FnOnce(&mut Value)>;

/// The key of the settings error `settings` gives.
fn error_key(settings: Value) -> String {
    match open_settings(&settings) {
        Err(ConnectorError::Config { key, .. }) => key,
        Err(other) => panic!("expected a settings error, got {other:?}"),
        Ok(_) => panic!("settings were accepted"),
    }
}

/// The key of every problem `validate` finds in `settings`, in order.
fn problem_keys(settings: &Value) -> Vec<String> {
    gallra_plugin_api::testing::settings_problems::<gallra_plugin_sql::SqlConnector>(settings)
}

#[test]
fn settings_errors_carry_the_key_path() {
    let cases: Vec<(&str, Change)> = vec![
        (
            "subjects.identifiers.email",
            Box::new(|s| s["subjects"]["identifiers"]["email"] = json!("email; DROP TABLE x")),
        ),
        (
            "children[1].table",
            Box::new(|s| s["children"][1]["table"] = json!("bad-name")),
        ),
        (
            "children[0].active_when",
            Box::new(|s| s["children"][0]["active_when"] = json!("1 = 1; DELETE FROM customers")),
        ),
        (
            "records[0].where",
            Box::new(|s| s["records"][0]["where"] = json!("email = ?")),
        ),
        (
            "subjects.activity[1]",
            Box::new(|s| s["subjects"]["activity"][1] = json!("1st")),
        ),
        (
            "subjects.anonymize",
            Box::new(|s| s["subjects"]["on_erase"] = json!("anonymize")),
        ),
        (
            "subjects.anonymize.id",
            Box::new(|s| s["subjects"]["anonymize"] = json!({"id": "null"})),
        ),
        (
            "subjects.anonymize.name",
            Box::new(|s| s["subjects"]["anonymize"] = json!({"name": "blank"})),
        ),
        (
            "subjects.identifiers",
            Box::new(|s| s["subjects"]["identifiers"] = json!({"fax": "fax"})),
        ),
        (
            "subjects",
            Box::new(|s| s["subjects"]["tabel"] = json!("customers")),
        ),
        (
            "children[0].on_erase",
            Box::new(|s| s["children"][0]["on_erase"] = json!("shred")),
        ),
        (
            "url_file",
            Box::new(|s| s["url_file"] = json!("/etc/x.url")),
        ),
        ("path", Box::new(|s| s["path"] = json!("relative/panel.db"))),
        ("page_size", Box::new(|s| s["page_size"] = json!(0))),
        (
            "records[0].kind",
            Box::new(|s| s["records"][0]["kind"] = json!("has space")),
        ),
    ];
    for (want, change) in cases {
        let got = error_key(sqlite(change));
        assert!(
            got == want || got.starts_with(&format!("{want}.")),
            "want {want}, got {got}"
        );
    }
    let mut postgres = sqlite(|_| {});
    postgres["backend"] = json!("postgres");
    assert_eq!(
        problem_keys(&postgres),
        ["path", "url_file"],
        "postgres takes url_file, not path"
    );
    postgres.as_object_mut().unwrap().remove("path");
    assert_eq!(error_key(postgres), "url_file");
}

#[test]
fn a_missing_sqlite_file_is_a_settings_error_not_a_new_database() {
    assert_eq!(error_key(sqlite(|_| {})), "path");
    assert!(!std::path::Path::new("/nonexistent/panel.db").exists());
}

#[test]
fn a_url_file_that_others_can_read_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let file = write_secret(&dir, "postgres://postgres:s3cret@127.0.0.1:1/test");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let settings = sqlite(|s| {
        s["backend"] = json!("postgres");
        s.as_object_mut().unwrap().remove("path");
        s["url_file"] = json!(file);
    });
    let err = open_settings(&settings).err().expect("refused");
    assert!(
        matches!(&err, ConnectorError::Config { key, .. } if key == "url_file"),
        "{err:?}"
    );
    assert!(!format!("{err:?}").contains("s3cret"));
}

#[test]
fn an_unreachable_server_is_transient_and_named_without_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let servers = [
        (
            "postgres",
            "postgres://gallra:s3cret@127.0.0.1:1/panel",
            "PostgreSQL",
        ),
        ("mysql", "mysql://gallra:s3cret@127.0.0.1:1/panel", "MySQL"),
    ];
    for (backend, url, name) in servers {
        let file = write_secret(&dir, url);
        let settings = sqlite(|s| {
            s["backend"] = json!(backend);
            s.as_object_mut().unwrap().remove("path");
            s["url_file"] = json!(file);
        });
        let err = open_settings(&settings).err().expect("cannot connect");
        let shown = format!("{err} {err:?}");
        assert!(err.is_transient(), "{shown}");
        assert!(
            shown.contains(name) && shown.contains("127.0.0.1:1"),
            "{shown}"
        );
        assert!(shown.contains("panel"), "names the system: {shown}");
        assert!(!shown.contains("s3cret"), "{shown}");
    }
}

/// `gallra check` shows every mistake at once, not one per edit.
#[test]
fn every_settings_problem_is_reported_at_once() {
    let settings = sqlite(|s| {
        s["page_size"] = json!(0);
        s["subjects"]["table"] = json!("bad-name");
    });
    let keys = problem_keys(&settings);
    assert_eq!(keys, ["page_size", "subjects.table"]);
}

/// The parts a nested check covers (the connection, a list of columns) report every
/// mistake in them too.
#[test]
fn every_problem_inside_one_part_is_reported() {
    let settings = sqlite(|s| {
        s.as_object_mut().unwrap().remove("path");
        s["url_file"] = json!("/run/db-url");
        s["subjects"]["activity"] = json!(["1st", "last_login", "2nd"]);
    });
    let keys = problem_keys(&settings);
    assert_eq!(
        keys,
        [
            "url_file",
            "path",
            "subjects.activity[0]",
            "subjects.activity[2]"
        ]
    );
}
