//! The built `libgallra_plugin_test_faults.so`, loaded the way the daemon loads it, is the
//! fault-injecting wrapper (not the SQL connector it links), and each fault reaches the host
//! as the fault it is: a panic as an error, a renamed column as the SQL connector reports it.

use gallra_plugin_api::host::{PluginInstance, PluginLibrary};
use gallra_plugin_api::{
    ConnectorError, EraseOutcome, Identifier, IdentifierKind, OpenContext, ScanRequest, Subject,
};
use serde_json::json;

/// A SQLite file with three customers, and the plugin opened on it with `schedule`.
fn open(dir: &std::path::Path, schedule: serde_json::Value) -> PluginInstance {
    let path = dir.join("panel.db");
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute_batch(
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, last_login TEXT);
         INSERT INTO customers VALUES (1, 'a@example.se', '2020-01-01'),
           (2, 'b@example.se', '2021-01-01'), (3, 'c@example.se', '2022-01-01');",
    )
    .unwrap();
    let library = PluginLibrary::load(&gallra_plugin_api::built::built_plugin(
        "gallra-plugin-test-faults",
        env!("CARGO_MANIFEST_DIR"),
    ))
    .expect("load the plugin");
    let settings = json!({
        "schedule": schedule,
        "sql": {
            "backend": "sqlite",
            "path": path,
            "subjects": {
                "table": "customers", "key": "id",
                "identifiers": { "email": "email" },
                "activity": ["last_login"], "on_erase": "delete",
            },
        },
    });
    let settings = serde_json::to_vec(&settings).unwrap();
    library.validate(&settings).expect("valid settings");
    let context = OpenContext {
        system: "panel".into(),
        time_zone: "Europe/Stockholm".into(),
    };
    library.open(&settings, &context).expect("open")
}

fn always(fault: &str) -> serde_json::Value {
    json!({ "seed": 1, "rate": 1.0, "faults": [fault] })
}

fn first_page() -> ScanRequest {
    ScanRequest {
        cursor: None,
        limit: 10,
    }
}

fn customer(email: &str) -> Subject {
    Subject::new(vec![
        Identifier::parse(IdentifierKind::Email, email).unwrap()
    ])
}

#[test]
fn calm_it_is_the_sql_connector_under_another_name() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = open(dir.path(), json!({}));
    assert_eq!(plugin.describe().unwrap().name, "test-faults");
    let page = plugin.scan(first_page()).unwrap();
    assert_eq!((page.subjects.len(), page.total), (3, Some(3)));
}

#[test]
fn a_panic_is_caught_by_the_abi_and_arrives_as_a_permanent_error() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = open(dir.path(), always("panic"));
    let err = plugin.scan(first_page()).unwrap_err();
    assert!(matches!(err, ConnectorError::Permanent { .. }), "{err:?}");
    assert!(err.to_string().contains("panicked during scan"), "{err}");
    // The instance still answers afterwards.
    assert_eq!(plugin.describe().unwrap().name, "test-faults");
}

#[test]
fn a_renamed_column_is_a_permanent_error_naming_the_table_not_an_empty_answer() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = open(dir.path(), always("schema_drift"));
    for err in [
        plugin.scan(first_page()).unwrap_err(),
        plugin.lookup(&customer("a@example.se")).unwrap_err(),
        plugin.status(&customer("a@example.se")).unwrap_err(),
    ] {
        assert!(matches!(err, ConnectorError::Permanent { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("customers"), "{text}");
        assert!(!text.contains("a@example.se"), "{text}");
    }
}

#[test]
fn broken_pages_and_lying_erasures_look_like_what_they_imitate() {
    let dir = tempfile::tempdir().unwrap();
    let empty = open(dir.path(), always("empty_page"))
        .scan(first_page())
        .unwrap();
    assert!(empty.subjects.is_empty() && empty.next_cursor.is_none() && empty.total.is_none());

    let dir = tempfile::tempdir().unwrap();
    let cut = open(dir.path(), always("truncated_page"))
        .scan(first_page())
        .unwrap();
    assert_eq!(
        (cut.subjects.len(), cut.next_cursor, cut.total),
        (1, None, Some(3))
    );

    let dir = tempfile::tempdir().unwrap();
    let liar = open(dir.path(), always("lying_erase"));
    let said = liar.erase(&customer("a@example.se")).unwrap();
    assert_eq!(said, EraseOutcome::Erased { records: 1 });
    let db = rusqlite::Connection::open(dir.path().join("panel.db")).unwrap();
    let left: i64 = db
        .query_row("SELECT COUNT(*) FROM customers", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 3, "the lying erase touched nothing");
}
