//! The built `libgallra_plugin_sql.so`, loaded the way the daemon loads it, answers a scan
//! and an erase across the C ABI.

use std::path::PathBuf;

use gallra_plugin_api::host::PluginLibrary;
use gallra_plugin_api::{EraseOutcome, ScanRequest};

use crate::support::{by_email, context, standard_settings, Backend, Fixture};

/// The built plugin, as the daemon would load it.
fn plugin_library() -> PathBuf {
    gallra_plugin_api::built::built_plugin("gallra-plugin-sql", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_built_plugin_scans_and_erases_through_the_c_abi() {
    let mut fx = Fixture::new(Backend::Sqlite).expect("SQLite needs no server");
    let library = PluginLibrary::load(&plugin_library()).expect("load the plugin");
    let settings = serde_json::to_vec(&fx.settings(standard_settings())).unwrap();
    library.validate(&settings).expect("valid settings");
    let plugin = library.open(&settings, &context()).expect("open");

    assert_eq!(plugin.describe().unwrap().name, "sql");
    let page = plugin
        .scan(ScanRequest {
            cursor: None,
            limit: 100,
        })
        .expect("scan");
    assert_eq!(page.total, Some(7));
    assert_eq!(page.subjects.len(), 3, "page_size caps the page");
    assert_eq!(page.next_cursor.as_deref(), Some("3"));
    assert!(page.subjects[0].facts.last_activity.is_some());

    let anna = by_email("anna@example.se");
    assert_eq!(
        plugin.erase(&anna).unwrap(),
        EraseOutcome::Erased { records: 5 }
    );
    assert_eq!(
        plugin.erase(&anna).unwrap(),
        EraseOutcome::Erased { records: 0 }
    );
    assert_eq!(fx.count("customers", ""), 6);
    assert_eq!(fx.count("services", "customer_id = 1"), 0);

    let broken = serde_json::to_vec(&fx.settings(serde_json::json!({"subjects": {"table": "x"}})));
    let err = library.validate(&broken.unwrap()).unwrap_err();
    assert!(err.to_string().contains("missing field"), "{err}");
}
