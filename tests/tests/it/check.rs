//! `gallra check`: every mistake in a config gets one clear line with file, line, column and
//! key, and nothing is touched.

use gallra_e2e::Gallra;

const BROKEN: &str = r#"state_dir = "state"
account_source = "panel"

[systems.panel]
plugin = "sql"
activity = true
[systems.panel.settings]
backend = "sqlite"
path = "panel.db"
page_size = 0
[systems.panel.settings.subjects]
table = "customers"
key = "id"
identifiers = { email = "email" }

[systems.crm]
plugin = "no-such-plugin"

[systems.old]
plugin = "test-wrong-abi"

[policies.inactive]
kind = "inactivity"
idel_for = "6 months"

[policies.signups]
kind = "retention"
after = "three months"
systems = ["crm"]
"#;

#[test]
fn check_names_each_mistake_with_file_line_column_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gallra.toml");
    std::fs::write(&config, BROKEN).unwrap();
    let out = Gallra::new(&config).run(&["check"]).expect_code(2);
    let file = config.display().to_string();
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with(&file))
        .collect();
    // Where (line:column), the key, and what is wrong.
    let expect = [
        // Both of the plugin's own findings, each at its key.
        (":9:1:", "systems.panel.settings.path", "absolute path"),
        (":10:1:", "systems.panel.settings.page_size", "at least 1"),
        (
            ":17:1:",
            "systems.crm.plugin",
            "unknown plugin \"no-such-plugin\"",
        ),
        (":20:1:", "systems.old.plugin", "ABI version 999"),
        (
            ":24:1:",
            "policies.inactive.idel_for",
            "unknown key `idel_for`",
        ),
        (
            ":24:1:",
            "policies.inactive.idel_for",
            "did you mean `idle_for`?",
        ),
        (":28:1:", "policies.signups.after", "not a duration"),
    ];
    for (at, key, what) in expect {
        assert!(
            lines
                .iter()
                .any(|l| l.contains(at) && l.contains(key) && l.contains(what)),
            "no line with {at} {key} {what} in:\n{}",
            out.stderr
        );
    }
    assert!(
        !dir.path().join("state").exists(),
        "check created the state directory"
    );
}

#[test]
fn a_plugin_built_for_another_abi_is_refused_naming_both_versions() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gallra.toml");
    let text = "state_dir = \"state\"\naccount_source = \"old\"\n[systems.old]\nplugin = \"test-wrong-abi\"\n";
    std::fs::write(&config, text).unwrap();
    let out = Gallra::new(&config).run(&["check"]).expect_code(2);
    assert!(
        out.stderr.contains("built for plugin ABI version 999")
            && out.stderr.contains("speaks version 1"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_valid_config_passes_check() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = gallra_e2e::Scenario::build(gallra_e2e::Backend::Sqlite, dir.path(), 1, 20);
    let out = Gallra::new(&scenario.config).run(&["check"]).expect_code(0);
    assert!(
        out.stdout.contains("OK (3 systems, 1 policy)"),
        "{}",
        out.stdout
    );
}

/// `gallra check --connect` opens every system and asks whether it answers: one line per
/// system that does, the missing match indexes as statements to run, and exit 1 naming a
/// system that does not.
#[test]
fn check_connect_asks_every_system_and_names_the_indexes_its_lookups_need() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = gallra_e2e::Scenario::build(gallra_e2e::Backend::Sqlite, dir.path(), 1, 20);
    let gallra = Gallra::new(&scenario.config);
    let out = gallra.run(&["check", "--connect"]).expect_code(0);
    for system in ["panel", "billing", "crm"] {
        assert!(
            out.stdout
                .contains(&format!("system \"{system}\": answers")),
            "{}",
            out.stdout
        );
    }
    assert!(
        out.stderr.contains("ON customers (lower(trim(email)));"),
        "the scenario's panel has no index on its match expression: {}",
        out.stderr
    );

    std::fs::remove_file(dir.path().join("crm.db")).unwrap();
    let out = gallra.run(&["check", "--connect"]).expect_code(1);
    assert!(out.stderr.contains("system \"crm\""), "{}", out.stderr);
    assert!(
        !out.stdout.contains("system \"crm\": answers"),
        "{}",
        out.stdout
    );
}
