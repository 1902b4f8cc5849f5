//! plugins/GUIDE.md, followed as a new plugin author would: the template copied to a
//! directory outside the repository, renamed, pointed at plugin-api by path, built, its
//! conformance suite run, and the library loaded by the real `gallra`, which erases a
//! customer through it.
//!
//! The copy builds offline with gallra's Cargo.lock (so nothing is downloaded) into
//! `target/connector-guide`, which stays warm between runs: on two cores the test takes about
//! 30 s there (the copy's own crate, its test binary, three gallra commands), and about 20 s
//! more the first time, for plugin-api's few dependencies.

use std::path::{Path, PathBuf};

use gallra_e2e::binaries::{cargo, target_dir};
use gallra_e2e::requests::{show, submit, task};
use gallra_e2e::Gallra;

/// The repository's root.
fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the repository")
        .to_path_buf()
}

/// Copies the template's sources (not what a build left in it) to `to`.
fn copy_sources(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let (path, name) = (entry.path(), entry.file_name());
        if name == "target" || name == "Cargo.lock" {
            continue;
        }
        if path.is_dir() {
            copy_sources(&path, &to.join(&name));
        } else {
            std::fs::copy(&path, to.join(&name)).unwrap();
        }
    }
}

/// The guide's "rename": every mention of the template's plugin name becomes `name`, in
/// each spelling (`gallra-plugin-customers-csv`, `gallra_plugin_customers_csv`).
fn rename(dir: &Path, name: &str) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rename(&path, name);
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let renamed = text
            .replace("customers-csv", name)
            .replace("customers_csv", &name.replace('-', "_"));
        std::fs::write(&path, renamed).unwrap();
    }
}

/// Runs `cargo ARGS --offline` in `dir`, building into `target`; panics with its output
/// unless it succeeds.
fn cargo_in(dir: &Path, target: &Path, args: &[&str]) {
    let output = cargo()
        .args(args)
        .arg("--offline")
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo {args:?} in {}:\n{}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

const CUSTOMERS: &str = "customer_id,email,name,phone,last_login
1001,annika.lindqvist@example.se,Annika Lindqvist,+46 70 123 45 67,2024-05-01 13:45:00
1002,cecilia.bergstrom@example.se,Cecilia Bergström,,2025-01-10 09:00:00
";

#[test]
fn a_connector_started_from_the_template_builds_outside_the_repository_and_erases_through_gallra() {
    let dir = tempfile::tempdir().unwrap();
    let repository = repository();
    let quoted = |path: &Path| toml::Value::from(path.display().to_string()).to_string();

    // Copy the template, rename it, point it at plugin-api, pin versions with gallra's lock.
    let connector = dir.path().join("acme-shop");
    copy_sources(&repository.join("plugins/template"), &connector);
    rename(&connector, "acme-shop");
    let manifest = connector.join("Cargo.toml");
    let plugin_api = repository.join("plugin-api");
    let text = std::fs::read_to_string(&manifest).unwrap().replace(
        "path = \"../../plugin-api\"",
        &format!("path = {}", quoted(&plugin_api)),
    );
    std::fs::write(&manifest, text).unwrap();
    std::fs::copy(repository.join("Cargo.lock"), connector.join("Cargo.lock")).unwrap();

    // Build it, and run its tests: the conformance suite among them.
    let target = target_dir().parent().unwrap().join("connector-guide");
    cargo_in(&connector, &target, &["build"]);
    cargo_in(&connector, &target, &["test"]);

    // Name it in gallra.toml, by the plugin_dir it was built into, and check the config.
    let customers = dir.path().join("customers.csv");
    std::fs::write(&customers, CUSTOMERS).unwrap();
    let config = dir.path().join("gallra.toml");
    let text = format!(
        r#"state_dir = "state"
plugin_dir = {plugin_dir}
account_source = "shop"

[systems.shop]
plugin = "acme-shop"
activity = true

[systems.shop.settings]
path = {customers}
"#,
        plugin_dir = quoted(&target.join("debug")),
        customers = quoted(&customers),
    );
    std::fs::write(&config, text).unwrap();
    let gallra = Gallra::new(&config);
    gallra.run(&["check"]).expect_code(0);

    // Try it: Annika asks to be erased, and a run carries the request out.
    let id = submit(&gallra, "erase", "annika.lindqvist@example.se");
    gallra.run(&["run", "--once"]).expect_code(0);
    let view = show(&gallra, id);
    assert_eq!(task(&view, "shop")["state"], "done", "{view:#}");
    assert_eq!(view["state"], "done", "{view:#}");
    let left = std::fs::read_to_string(&customers).unwrap();
    assert!(!left.contains("1001") && !left.contains("Annika"), "{left}");
    assert!(left.contains("cecilia.bergstrom@example.se"), "{left}");
}
