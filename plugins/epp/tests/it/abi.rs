//! The built `libgallra_plugin_epp.so`, loaded the way the daemon loads it, answers a scan
//! and an erase across the C ABI.

use std::path::PathBuf;

use gallra_plugin_api::host::PluginLibrary;
use gallra_plugin_api::EraseOutcome;

use crate::support::{customer, seeded, settings};

/// The built plugin, as the daemon would load it.
fn plugin_library() -> PathBuf {
    gallra_plugin_api::built::built_plugin("gallra-plugin-epp", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_built_plugin_erases_a_linked_contact_through_the_c_abi() {
    let server = seeded();
    let library = PluginLibrary::load(&plugin_library()).expect("load the plugin");
    let settings = serde_json::to_vec(&settings(&server)).unwrap();
    library.validate(&settings).expect("valid settings");
    let context = gallra_testkit::connector::context(crate::support::SYSTEM);
    let plugin = library.open(&settings, &context).expect("open");
    assert_eq!(plugin.describe().unwrap().name, "epp");
    assert_eq!(plugin.lookup(&customer("1002")).unwrap().records.len(), 1);
    let outcome = plugin.erase(&customer("1002")).unwrap();
    assert!(
        matches!(
            outcome,
            EraseOutcome::Anonymized {
                records: 1,
                retained: Some(_),
                ..
            }
        ),
        "{outcome:?}"
    );
    server.remove_domain("bertil.se");
    assert_eq!(
        plugin.erase(&customer("1002")).unwrap(),
        EraseOutcome::Erased { records: 1 }
    );

    let broken = serde_json::to_vec(&serde_json::json!({"host": "x"})).unwrap();
    let err = library.validate(&broken).unwrap_err();
    assert!(err.to_string().contains("missing field"), "{err}");
}
