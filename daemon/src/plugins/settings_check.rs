//! `gallra check`: the configuration validated, then each system's settings put to its own
//! plugin (loaded, ABI checked, `validate` called), without connecting to any system. The
//! plugins' problems are reported with every other problem of the file.

use std::path::Path;

use gallra_core::config::{
    key_path, read, settings_key_path, validated_with, Config, ConfigErrors, Finding, SystemConfig,
};
use gallra_plugin_api::ConnectorError;

use super::PluginFinder;

/// Reads and validates the file at `path`, then has each system's plugin, found through
/// `finder`, validate the system's settings.
pub fn check(path: &Path, finder: &PluginFinder) -> Result<Config, ConfigErrors> {
    let text = read(path)?;
    validated_with(&text, path, |systems, _| check_plugins(systems, finder))
}

/// [`check`] with the plugins gallra would load when running this config: beside the
/// binary, in the config's `plugin_dir`, then in the system plugin directory.
pub fn check_installed(path: &Path) -> Result<Config, ConfigErrors> {
    let text = read(path)?;
    validated_with(&text, path, |systems, plugin_dir| {
        check_plugins(systems, &PluginFinder::new(plugin_dir))
    })
}

fn check_plugins(systems: &[SystemConfig], finder: &PluginFinder) -> Vec<Finding> {
    let mut found = Vec::new();
    for system in systems {
        let Some((plugin, settings)) = system.connector() else {
            continue;
        };
        let base = key_path("systems", &system.name);
        let library = match finder.load(plugin) {
            Ok(library) => library,
            Err(e) => {
                found.push(Finding {
                    key: key_path(&base, "plugin"),
                    message: e.to_string(),
                });
                continue;
            }
        };
        let settings_key = key_path(&base, "settings");
        let result = serde_json::to_vec(settings)
            .map_err(|e| ConnectorError::permanent(e.to_string()))
            .and_then(|settings| library.validate(&settings));
        let Err(e) = result else { continue };
        // Every problem the plugin found, each at its key.
        match e.settings_problems() {
            problems if problems.is_empty() => found.push(Finding {
                key: settings_key,
                message: e.to_string(),
            }),
            problems => found.extend(problems.into_iter().map(|p| Finding {
                key: settings_key_path(&settings_key, &p.key),
                message: p.message,
            })),
        }
    }
    found
}
