//! The built `libgallra_plugin_fortnox.so`, loaded the way the daemon loads it, erases and
//! anonymizes across the C ABI.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use gallra_plugin_api::host::PluginLibrary;
use gallra_plugin_api::{EraseOutcome, OpenContext};
use support::{anna_card, customer, settings, today, InvoiceData};

const LIBRARY: &str = "libgallra_plugin_fortnox.so";

/// The newest modification time under `path`.
fn newest(path: &Path) -> SystemTime {
    let mut newest = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .unwrap_or(SystemTime::UNIX_EPOCH);
    if let Ok(entries) = std::fs::read_dir(path) {
        for entry in entries.flatten() {
            newest = newest.max(self::newest(&entry.path()));
        }
    }
    newest
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The plugin library of this build profile, built first if it is missing or older than
/// the crate's sources.
fn plugin_library() -> PathBuf {
    // The test binary lives in target/<profile>/deps/.
    let exe = std::env::current_exe().expect("test binary path");
    let deps = exe.parent().expect("deps dir");
    let profile_dir = deps.parent().expect("profile dir");
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sources = newest(&manifest.join("src")).max(newest(&manifest.join("Cargo.toml")));
    // `cargo test` builds the cdylib into deps/ alongside the rlib; `cargo build` copies it
    // up into the profile directory. Either is good if it is newer than the sources.
    let fresh = [deps.join(LIBRARY), profile_dir.join(LIBRARY)]
        .into_iter()
        .filter_map(|p| modified(&p).filter(|m| *m >= sources).map(|m| (m, p)))
        .max();
    if let Some((_, path)) = fresh {
        return path;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("debug");
    let profile = if profile == "debug" { "dev" } else { profile };
    let target_dir = profile_dir.parent().expect("target dir");
    let status = Command::new(cargo)
        .args([
            "build",
            "-p",
            "gallra-plugin-fortnox",
            "--lib",
            "--profile",
            profile,
        ])
        .arg("--target-dir")
        .arg(target_dir)
        .status()
        .expect("run cargo build");
    assert!(status.success(), "cargo build of the plugin failed");
    profile_dir.join(LIBRARY)
}

#[test]
fn the_built_plugin_erases_and_retains_through_the_c_abi() {
    let server = support::fortnox();
    server.add_customer("7", anna_card());
    server.add_customer("8", anna_card());
    server.add_invoice("8", InvoiceData::paid(&today()));
    let library = PluginLibrary::load(&plugin_library()).expect("load the plugin");
    let settings = serde_json::to_vec(&settings(&server)).unwrap();
    library.validate(&settings).expect("valid settings");
    let context = OpenContext {
        system: support::SYSTEM.to_owned(),
        time_zone: "Europe/Stockholm".to_owned(),
    };
    let plugin = library.open(&settings, &context).expect("open");
    assert_eq!(plugin.describe().unwrap().name, "fortnox");
    assert_eq!(
        plugin.erase(&customer("7")).unwrap(),
        EraseOutcome::Erased { records: 1 }
    );
    let kept = plugin.erase(&customer("8")).unwrap();
    assert!(
        matches!(kept, EraseOutcome::Anonymized { records: 1, retained: Some(ref r) } if r.until.is_some()),
        "{kept:?}"
    );

    let broken = serde_json::to_vec(&serde_json::json!({"client_id": "x"})).unwrap();
    let err = library.validate(&broken).unwrap_err();
    assert!(err.to_string().contains("missing field"), "{err}");
}
