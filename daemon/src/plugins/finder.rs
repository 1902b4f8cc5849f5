//! Where plugin libraries are looked for, and loading them.

use std::path::{Path, PathBuf};

use gallra_plugin_api::host::{LoadError, PluginLibrary};

use super::permissions::{check_plugin, UnsafePlugin};

/// The system-wide plugin directory a package installs into.
pub const SYSTEM_PLUGIN_DIR: &str = "/usr/lib/gallra/plugins";

/// Why a plugin could not be found or loaded.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// No file for the plugin in any searched directory.
    #[error(
        "unknown plugin \"{plugin}\": no {file} in {searched} (is the plugin built and installed?)"
    )]
    NotFound {
        /// The plugin's name from the config.
        plugin: String,
        /// The file name looked for.
        file: String,
        /// The directories searched, comma-separated.
        searched: String,
    },
    /// The file exists but could not be loaded (wrong ABI, not a plugin, …).
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The file, or its directory, can be written by other users: it is not loaded.
    #[error(transparent)]
    Unsafe(#[from] UnsafePlugin),
}

/// Finds plugin libraries: beside the running binary first (so a build tree and the demo
/// work from any directory), then the configured `plugin_dir`, then [`SYSTEM_PLUGIN_DIR`].
#[derive(Debug, Clone)]
pub struct PluginFinder {
    dirs: Vec<PathBuf>,
}

impl PluginFinder {
    /// The search path for a config's `plugin_dir`.
    pub fn new(configured: Option<&Path>) -> Self {
        let mut dirs = Vec::new();
        if let Some(beside) = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(Path::to_path_buf))
        {
            dirs.push(beside);
        }
        dirs.extend(configured.map(Path::to_path_buf));
        dirs.push(PathBuf::from(SYSTEM_PLUGIN_DIR));
        Self { dirs }
    }

    /// A finder that searches exactly these directories (tests).
    pub fn with_dirs(dirs: Vec<PathBuf>) -> Self {
        Self { dirs }
    }

    /// The library file name for a plugin name: `sql` → `libgallra_plugin_sql.so`.
    pub fn file_name(plugin: &str) -> String {
        format!(
            "{}gallra_plugin_{}{}",
            std::env::consts::DLL_PREFIX,
            plugin.replace('-', "_"),
            std::env::consts::DLL_SUFFIX
        )
    }

    /// The path of a plugin's library, or why there is none.
    pub fn find(&self, plugin: &str) -> Result<PathBuf, PluginError> {
        let file = Self::file_name(plugin);
        self.dirs
            .iter()
            .map(|dir| dir.join(&file))
            .find(|path| path.is_file())
            .ok_or_else(|| PluginError::NotFound {
                plugin: plugin.to_owned(),
                file,
                searched: self
                    .dirs
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// Finds and loads a plugin, checking first that no one but its owner can write it or
    /// its directory, then its ABI version.
    pub fn load(&self, plugin: &str) -> Result<PluginLibrary, PluginError> {
        let path = self.find(plugin)?;
        check_plugin(&path)?;
        Ok(PluginLibrary::load(&path)?)
    }
}
