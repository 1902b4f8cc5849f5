//! `gallra.toml` loading: every file in `config_test/valid` loads, every file in
//! `config_test/invalid` fails with exactly the lines in its sibling `.expected` file
//! (paths shown relative to that folder).
//!
//! After changing a message on purpose, regenerate the expected files with
//! `GALLRA_BLESS=1 cargo test -p gallra --test it config::` and review the diff.

use std::path::{Path, PathBuf};

use gallra::config::{self, Mode, Rule};
use gallra::plugins::PluginFinder;

fn fixtures(kind: &str) -> (PathBuf, Vec<PathBuf>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/config_test")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("readable fixture folder").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    (dir, files)
}

#[test]
fn every_valid_fixture_loads() {
    let (_, files) = fixtures("valid");
    let failures: Vec<String> = files
        .iter()
        .filter_map(|file| config::load(file).err().map(|e| e.to_string()))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_invalid_fixture_fails_with_exactly_its_expected_lines() {
    let (dir, files) = fixtures("invalid");
    let bless = std::env::var_os("GALLRA_BLESS").is_some();
    let prefix = format!("{}/", dir.display());
    let mut mismatches = Vec::new();
    for file in files {
        let actual = match config::load(&file) {
            Ok(_) => "(loaded without error)".to_owned(),
            Err(errors) => errors.to_string().replace(&prefix, ""),
        };
        let expected_file = file.with_extension("expected");
        if bless {
            std::fs::write(&expected_file, format!("{actual}\n")).expect("writable fixtures");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_file)
            .unwrap_or_else(|e| panic!("{}: {e}", expected_file.display()));
        if actual != expected.trim_end() {
            mismatches.push(format!(
                "{}\n  expected:\n{}\n  actual:\n{actual}",
                file.display(),
                expected.trim_end()
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n\n"));
}

#[test]
fn several_errors_in_one_file_are_all_reported_in_file_order() {
    let text = r#"time_zone = "Mars/Olympus"
state_dir = "/var/lib/gallra"
account_source = "panel"

[systems.panel]
plugin = "sql"
concurrency = 0

[systems.crm]
plugn = "sql"

[policies.idle]
kind = "inactivity"
idle_for = "soon"
max_fraction = 2.0
records = "x"
"#;
    let errors = config::parse(text, Path::new("/etc/gallra/gallra.toml"))
        .expect_err("six problems")
        .errors;
    let found: Vec<(usize, usize, &str)> = errors
        .iter()
        .map(|e| (e.line, e.col, e.key.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (1, 1, "time_zone"),
            (7, 1, "systems.panel.concurrency"),
            (10, 1, "systems.crm.plugn"),
            (14, 1, "policies.idle.idle_for"),
            (15, 1, "policies.idle.max_fraction"),
            (16, 1, "policies.idle.records"),
        ]
    );
}

#[test]
fn error_lines_read_file_line_col_key_message() {
    let text = "state_dir = \"/s\"\naccount_source = \"panel\"\n\n[systems.panel]\nplugin = \"sql\"\n\n[policies.inactive]\nkind = \"inactivity\"\n  idle_for = \"6 moons\"\n";
    let errors = config::parse(text, Path::new("/etc/gallra/gallra.toml")).expect_err("bad");
    assert_eq!(
        errors.to_string(),
        "/etc/gallra/gallra.toml:9:3: policies.inactive.idle_for: not a duration (write e.g. \
         \"6 months\", \"7 years\", \"90 days\", \"2 weeks\")"
    );
}

#[test]
fn a_missing_file_is_one_error_naming_the_path_and_the_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("gallra.toml");
    let errors = config::load(&path).expect_err("no file");
    assert_eq!(errors.errors.len(), 1);
    let line = errors.to_string();
    assert!(line.starts_with(&format!("{}: ", path.display())), "{line}");
    assert!(line.contains("No such file or directory"), "{line}");
}

#[test]
fn relative_dirs_are_relative_to_the_config_file_and_defaults_apply() {
    let text = "state_dir = \"state\"\nplugin_dir = \"plugins\"\naccount_source = \"panel\"\n[systems.panel]\nplugin = \"sql\"\n";
    let config = config::parse(text, Path::new("/etc/gallra/gallra.toml")).expect("valid");
    assert_eq!(config.state_dir, Path::new("/etc/gallra/state"));
    assert_eq!(
        config.plugin_dir.as_deref(),
        Some(Path::new("/etc/gallra/plugins"))
    );
    assert_eq!(config.time_zone_name, "Europe/Stockholm");
    let panel = &config.systems["panel"];
    assert_eq!(panel.concurrency, config::DEFAULT_CONCURRENCY);
    assert_eq!(panel.call_timeout, config::DEFAULT_CALL_TIMEOUT);
    assert_eq!(
        panel.connector().map(|(_, s)| s.clone()),
        Some(serde_json::json!({}))
    );
    assert!(!panel.activity);
}

#[test]
fn the_full_example_keeps_every_value() {
    let (dir, _) = fixtures("valid");
    let config = config::load(&dir.join("full.toml")).expect("valid");
    let panel = &config.systems["panel"];
    assert_eq!(panel.call_timeout, std::time::Duration::from_secs(30));
    assert_eq!(
        panel.backup_retention.as_ref().map(|d| d.as_str()),
        Some("30 days")
    );
    let (_, settings) = panel.connector().expect("the panel has a plugin");
    assert_eq!(settings["subjects"]["anonymize"]["note"]["value"], "");
    assert_eq!(settings["children"][1]["on_erase"], "keep");
    assert_eq!(config.systems["crm"].call_timeout.as_secs(), 120);

    let inactive = &config.policies["inactive-customers"];
    assert_eq!(inactive.mode, Mode::Report);
    assert_eq!(inactive.safety.max_per_run, Some(500));
    assert_eq!(inactive.safety.max_fraction, Some(0.1));
    match &inactive.rule {
        // The account source is erased from last, whatever order the file lists.
        Rule::Inactivity { idle_for, systems } => {
            assert_eq!(idle_for.as_str(), "6 months");
            assert_eq!(systems, &["crm", "signups", "panel"]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(config.policies["closed-accounts"].mode, Mode::Enforce);
    match &config.policies["old-signups"].rule {
        Rule::RecordRetention {
            system,
            records,
            after,
        } => {
            assert_eq!(
                (system.as_str(), records.as_str()),
                ("signups", "unconverted_signups")
            );
            assert_eq!(after.duration.as_str(), "90 days");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn inactivity_without_systems_means_every_system_in_file_order_account_source_last() {
    let text = "state_dir = \"/s\"\naccount_source = \"panel\"\n[systems.zeta]\nplugin = \"a\"\n[systems.panel]\nplugin = \"a\"\n[systems.alpha]\nplugin = \"a\"\n[policies.idle]\nkind = \"inactivity\"\nidle_for = \"1 year\"\n";
    let config = config::parse(text, Path::new("gallra.toml")).expect("valid");
    match &config.policies["idle"].rule {
        Rule::Inactivity { systems, .. } => assert_eq!(systems, &["zeta", "alpha", "panel"]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn check_reports_an_unknown_plugin_at_its_plugin_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("gallra.toml");
    let text = "state_dir = \"state\"\naccount_source = \"panel\"\n\n[systems.panel]\nplugin = \"nosuch\"\n";
    std::fs::write(&path, text).expect("writable tempdir");

    // Loading does not consult plugins; checking does.
    config::load(&path).expect("valid without plugins");
    let finder = PluginFinder::with_dirs(vec![dir.path().to_path_buf()]);
    let errors = gallra::plugins::check(&path, &finder)
        .expect_err("no such plugin")
        .errors;
    assert_eq!(errors.len(), 1, "{errors:?}");
    let error = &errors[0];
    assert_eq!((error.line, error.col), (5, 1));
    assert_eq!(error.key, "systems.panel.plugin");
    assert!(
        error.message.starts_with("unknown plugin \"nosuch\""),
        "{}",
        error.message
    );
}
