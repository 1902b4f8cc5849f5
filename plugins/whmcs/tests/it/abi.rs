//! The built `libgallra_plugin_whmcs.so`, loaded the way the daemon loads it, answers a scan
//! and an erase across the C ABI.

use std::path::PathBuf;

use gallra_plugin_api::host::PluginLibrary;
use gallra_plugin_api::{ConnectorError, ScanRequest};

use crate::support::{anna, customer, settings, ClientData, Whmcs};

/// The built plugin, as the daemon would load it.
fn plugin_library() -> PathBuf {
    gallra_plugin_api::built::built_plugin("gallra-plugin-whmcs", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_built_plugin_scans_and_refuses_through_the_c_abi() {
    let server = Whmcs::start();
    let anna = server.add_client(anna());
    server.add_invoice(anna, "2024-05-02", "Paid");
    let other = server.add_client(ClientData::person("Kund", "Två", "kund2@example.se"));
    let library = PluginLibrary::load(&plugin_library()).expect("load the plugin");
    let settings = serde_json::to_vec(&settings(&server)).unwrap();
    library.validate(&settings).expect("valid settings");
    let context = gallra_testkit::connector::context(crate::support::SYSTEM);
    let plugin = library.open(&settings, &context).expect("open");
    assert_eq!(plugin.describe().unwrap().name, "whmcs");
    let page = plugin
        .scan(ScanRequest {
            cursor: None,
            limit: 10,
        })
        .unwrap();
    assert_eq!(page.subjects.len(), 2);
    assert_eq!(page.total, Some(2));
    assert!(matches!(
        plugin.erase(&customer(anna)),
        Err(ConnectorError::Refused { .. })
    ));
    assert!(plugin.erase(&customer(other)).is_ok());
    assert!(server.client(other).is_none());

    let broken = serde_json::to_vec(&serde_json::json!({"base_url": "x"})).unwrap();
    let err = library.validate(&broken).unwrap_err();
    assert!(err.to_string().contains("missing field"), "{err}");
}
