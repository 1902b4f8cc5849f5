//! Secret files that other users can read. A system's settings name its secrets by path
//! (`token_file`, `password_file`, `api_key_file`, …: every key ending in `_file`); if the
//! group or others can read such a file, the credential that reaches a customer database is
//! not secret. gallra still runs — the sysadmin may have a reason — but says so, once per
//! file, with the path and mode (never the contents, which it does not read).

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use crate::config::SystemConfig;

/// The mode bits that let group or others read.
const READABLE_BY_OTHERS: u32 = 0o044;

/// A `*_file` setting whose file the group or others can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExposedSecret {
    /// The system whose settings name it.
    pub system: String,
    /// The setting's dotted key under `settings`, e.g. `token_file` or `tls.key_file`.
    pub key: String,
    /// The path as written (relative paths are the connector's to resolve, from the
    /// daemon's working directory).
    pub path: PathBuf,
    /// Its permission bits.
    pub mode: u32,
}

/// Every `*_file` setting of `system` (at any depth) whose file exists and is readable by
/// group or others. A missing file is the connector's to report.
pub fn exposed_secret_files(system: &SystemConfig) -> Vec<ExposedSecret> {
    let Some((_, settings)) = system.connector() else {
        return Vec::new();
    };
    let mut found = Vec::new();
    file_settings(settings, "", &mut found);
    found
        .into_iter()
        .filter_map(|(key, path)| {
            let mode = std::fs::metadata(&path).ok()?.permissions().mode() & 0o7777;
            (mode & READABLE_BY_OTHERS != 0).then(|| ExposedSecret {
                system: system.name.clone(),
                key,
                path,
                mode,
            })
        })
        .collect()
}

/// Collects `(dotted key, path)` for every string under a key ending in `_file`.
fn file_settings(value: &serde_json::Value, prefix: &str, found: &mut Vec<(String, PathBuf)>) {
    let serde_json::Value::Object(table) = value else {
        return;
    };
    for (name, value) in table {
        let key = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        match value {
            serde_json::Value::String(path) if name.ends_with("_file") => {
                found.push((key, PathBuf::from(path)));
            }
            serde_json::Value::Object(_) => file_settings(value, &key, found),
            _ => {}
        }
    }
}

/// Logs a warning for each secret file of `systems` that group or others can read; a file
/// that several systems share is named once.
pub fn warn_exposed_secrets<'a>(systems: impl IntoIterator<Item = &'a SystemConfig>) {
    let mut warned = BTreeSet::new();
    for exposed in systems.into_iter().flat_map(exposed_secret_files) {
        if !warned.insert(exposed.path.clone()) {
            continue;
        }
        tracing::warn!(
            system = %exposed.system,
            setting = %exposed.key,
            path = %exposed.path.display(),
            mode = %format!("{:04o}", exposed.mode),
            "secret file is readable by group or others; fix: chmod go-rwx {}",
            exposed.path.display()
        );
    }
}

#[cfg(test)]
mod tests;
