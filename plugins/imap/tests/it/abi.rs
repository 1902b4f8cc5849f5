//! The built `libgallra_plugin_imap.so`, loaded the way the daemon loads it, looks up and
//! erases a subject's mail in a real Dovecot across the C ABI.

use std::path::PathBuf;

use gallra_plugin_api::host::PluginLibrary;
use gallra_plugin_api::EraseOutcome;
use serde_json::json;

use crate::support::{by_email, context, Account, SUBJECT};

/// The built plugin, as the daemon would load it.
fn plugin_library() -> PathBuf {
    gallra_plugin_api::built::built_plugin("gallra-plugin-imap", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_built_plugin_looks_up_and_erases_through_the_c_abi() {
    let Some(account) = Account::new() else {
        return;
    };
    account.seed();
    let library = PluginLibrary::load(&plugin_library()).expect("load the plugin");
    let settings = serde_json::to_vec(&account.settings(&["INBOX", "Sent"], json!({}))).unwrap();
    library.validate(&settings).expect("valid settings");
    let plugin = library.open(&settings, &context()).expect("open");

    assert_eq!(plugin.describe().unwrap().name, "imap");
    let subject = by_email(SUBJECT);
    assert_eq!(plugin.lookup(&subject).unwrap().records.len(), 3);
    assert_eq!(
        plugin.erase(&subject).unwrap(),
        EraseOutcome::Erased { records: 3 }
    );
    assert_eq!(
        plugin.erase(&subject).unwrap(),
        EraseOutcome::Erased { records: 0 }
    );
    assert_eq!(account.dovecot.count("INBOX"), 2);
    plugin.health().expect("healthy");

    let broken = account.settings(
        &["INBOX"],
        json!({"tls": "none", "host": "mail.example.se"}),
    );
    let err = library
        .validate(&serde_json::to_vec(&broken).unwrap())
        .unwrap_err();
    assert!(
        err.to_string().contains("only allowed for localhost"),
        "{err}"
    );
}
