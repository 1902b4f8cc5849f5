//! The built `libgallra_plugin_fortnox.so`, loaded the way the daemon loads it, erases and
//! anonymizes across the C ABI.

use std::path::PathBuf;

use gallra_plugin_api::host::PluginLibrary;
use gallra_plugin_api::EraseOutcome;

use crate::support::{anna_card, customer, settings, today, InvoiceData};

/// The built plugin, as the daemon would load it.
fn plugin_library() -> PathBuf {
    gallra_plugin_api::built::built_plugin("gallra-plugin-fortnox", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_built_plugin_erases_and_retains_through_the_c_abi() {
    let server = crate::support::fortnox();
    server.add_customer("7", anna_card());
    server.add_customer("8", anna_card());
    server.add_invoice("8", InvoiceData::paid(&today()));
    let library = PluginLibrary::load(&plugin_library()).expect("load the plugin");
    let settings = serde_json::to_vec(&settings(&server)).unwrap();
    library.validate(&settings).expect("valid settings");
    let context = gallra_testkit::connector::context(crate::support::SYSTEM);
    let plugin = library.open(&settings, &context).expect("open");
    assert_eq!(plugin.describe().unwrap().name, "fortnox");
    assert_eq!(
        plugin.erase(&customer("7")).unwrap(),
        EraseOutcome::Erased { records: 1 }
    );
    let kept = plugin.erase(&customer("8")).unwrap();
    assert!(
        matches!(kept, EraseOutcome::Anonymized { records: 1, retained: Some(ref r), .. } if r.until.is_some()),
        "{kept:?}"
    );

    let broken = serde_json::to_vec(&serde_json::json!({"client_id": "x"})).unwrap();
    let err = library.validate(&broken).unwrap_err();
    assert!(err.to_string().contains("missing field"), "{err}");
}
