//! The demo configuration: valid TOML, and a configuration gallra itself accepts.

use super::*;
use crate::{demo_config, DemoFiles};

#[test]
fn demo_config_is_valid_toml_naming_the_databases() {
    let files = DemoFiles {
        panel: "/tmp/demo \"x\"/panel.db".into(),
        billing: "/tmp/demo/billing.db".into(),
        crm: "C:\\demo\\crm.db".into(),
    };
    let text = demo_config(&files, std::path::Path::new("/tmp/demo/state"));
    let value: toml::Value = toml::from_str(&text).unwrap();
    let get = |path: &str| {
        path.split('.')
            .try_fold(&value, |v, k| v.get(k))
            .unwrap_or_else(|| panic!("{path} missing"))
            .clone()
    };
    assert_eq!(
        get("systems.panel.settings.path").as_str(),
        Some("/tmp/demo \"x\"/panel.db")
    );
    assert_eq!(
        get("systems.crm.settings.path").as_str(),
        Some("C:\\demo\\crm.db")
    );
    assert_eq!(get("state_dir").as_str(), Some("/tmp/demo/state"));
    assert_eq!(get("account_source").as_str(), Some("panel"));
    let policy = get("policies.inactive-6-months");
    assert_eq!(policy["kind"].as_str(), Some("inactivity"));
    assert_eq!(policy["mode"].as_str(), Some("enforce"));
    assert_eq!(policy["idle_for"].as_str(), Some("6 months"));
    assert_eq!(policy["max_fraction"].as_float(), Some(0.5));
    assert_eq!(policy["max_per_run"].as_integer(), Some(100_000));
    assert_eq!(
        get("systems.billing.settings.children")[0]["on_erase"].as_str(),
        Some("keep")
    );
    assert_eq!(
        get("systems.billing.settings.subjects.on_erase").as_str(),
        Some("anonymize")
    );
}

#[test]
fn demo_config_passes_gallras_own_validation() {
    let dir = tempfile::tempdir().unwrap();
    let files = dataset(30).write_sqlite(dir.path()).unwrap();
    let text = demo_config(&files, &dir.path().join("state"));
    let config = gallra_core::config::parse(&text, &dir.path().join("gallra.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.account_source, "panel");
    assert_eq!(config.systems.len(), 3);
    assert!(config.policies.contains_key("inactive-6-months"));
}
