//! Secret-file warnings, captured from `tracing`.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

use super::*;
use crate::config::Config;
use crate::plugins::{PluginFinder, Systems};

const CONTENTS: &str = "tok-Zq19811218-secret";

/// Every warning logged while `f` ran, as `key=value` fields joined by spaces.
fn warnings(f: impl FnOnce()) -> Vec<String> {
    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<String>>>);
    struct Fields(String);
    impl Visit for Fields {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            self.0.push_str(&format!("{}={:?} ", field.name(), value));
        }
    }
    impl<S: tracing::Subscriber> Layer<S> for Capture {
        fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
            if *event.metadata().level() == tracing::Level::WARN {
                let mut fields = Fields(String::new());
                event.record(&mut fields);
                self.0.lock().unwrap().push(fields.0);
            }
        }
    }
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    // Other tests hit the same callsites on other threads, with no subscriber: a second
    // dispatcher keeps tracing from caching "never" for them (see api/tests/guards.rs).
    let _second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
    tracing::subscriber::with_default(subscriber, f);
    let lines = capture.0.lock().unwrap().clone();
    lines
}

fn secret(dir: &Path, name: &str, mode: u32) -> String {
    let path = dir.join(name);
    fs::write(&path, CONTENTS).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    path.display().to_string()
}

/// Two systems: `crm` with `token_file` and a nested `tls.key_file`, `billing` with
/// `password_file` and `api_key_file`.
fn config(dir: &Path, token: &str, key: &str, password: &str, api_key: &str) -> Config {
    let text = format!(
        r#"
state_dir = "state"
account_source = "crm"

[systems.crm]
plugin = "http"
settings = {{ token_file = "{token}", tls = {{ key_file = "{key}" }}, base_url = "x_file" }}

[systems.billing]
plugin = "sql"
settings = {{ password_file = "{password}", api_key_file = "{api_key}" }}
"#
    );
    crate::config::parse(&text, &dir.join("gallra.toml")).unwrap()
}

#[test]
fn a_secret_readable_by_group_or_others_is_named_with_its_mode() {
    let dir = tempfile::tempdir().unwrap();
    let token = secret(dir.path(), "token", 0o644);
    let key = secret(dir.path(), "key", 0o640);
    let password = secret(dir.path(), "password", 0o600);
    let api_key = secret(dir.path(), "api_key", 0o604);
    let config = config(dir.path(), &token, &key, &password, &api_key);

    let crm = exposed_secret_files(&config.systems["crm"]);
    let keys: Vec<(&str, u32)> = crm.iter().map(|e| (e.key.as_str(), e.mode)).collect();
    assert_eq!(keys, [("tls.key_file", 0o640), ("token_file", 0o644)]);
    let billing = exposed_secret_files(&config.systems["billing"]);
    assert_eq!(billing.len(), 1, "{billing:?}");
    assert_eq!(billing[0].path, Path::new(&api_key));
    assert_eq!(billing[0].mode, 0o604);
}

#[test]
fn owner_only_and_missing_files_are_not_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let token = secret(dir.path(), "token", 0o600);
    let key = secret(dir.path(), "key", 0o400);
    let missing = dir.path().join("absent").display().to_string();
    let config = config(dir.path(), &token, &key, &missing, &missing);
    let logged = warnings(|| warn_exposed_secrets(config.systems.values()));
    assert!(logged.is_empty(), "{logged:?}");
}

#[test]
fn opening_the_systems_warns_once_per_file_and_never_shows_its_contents() {
    let dir = tempfile::tempdir().unwrap();
    let shared = secret(dir.path(), "shared", 0o644);
    let key = secret(dir.path(), "key", 0o600);
    let password = secret(dir.path(), "password", 0o600);
    let config = config(dir.path(), &shared, &key, &password, &shared);
    // No plugin is found; the systems stay unavailable, but their secrets are still checked.
    let finder = PluginFinder::with_dirs(vec![dir.path().to_path_buf()]);
    let logged = warnings(|| {
        Systems::open(&config, &finder);
    });
    let secret_lines: Vec<&String> = logged
        .iter()
        .filter(|l| l.contains("secret file is readable"))
        .collect();
    assert_eq!(secret_lines.len(), 1, "{logged:?}");
    let line = secret_lines[0];
    assert!(line.contains(&format!("path={shared}")), "{line}");
    assert!(line.contains("mode=0644"), "{line}");
    assert!(line.contains(&format!("chmod go-rwx {shared}")), "{line}");
    assert!(logged.iter().all(|l| !l.contains(CONTENTS)), "{logged:?}");
}
