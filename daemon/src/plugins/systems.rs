//! Every configured system, opened once per process.

use std::collections::BTreeMap;

use super::finder::PluginFinder;
use super::secrets::warn_exposed_secrets;
use super::system::{OpenError, SystemHandle};
use crate::config::Config;
use crate::metrics::{LoadedPlugin, Metrics, PluginVersion, SafeName};

/// The opened systems of a configuration. A system that failed to open is kept with its
/// error, so that policies that do not need it still run and those that do can say why not.
pub struct Systems {
    opened: BTreeMap<String, Result<SystemHandle, String>>,
}

impl Systems {
    /// Opens every configured system (blocking), after warning about any secret file their
    /// settings name that other users can read.
    pub fn open(config: &Config, finder: &PluginFinder) -> Self {
        warn_exposed_secrets(config.systems.values());
        let opened = config
            .systems
            .values()
            .filter(|system| system.connector().is_some())
            .map(|system| {
                let handle = SystemHandle::open(system, &config.time_zone_name, finder)
                    .map_err(|e: OpenError| e.to_string());
                if let Err(error) = &handle {
                    tracing::warn!(system = %system.name, %error, "system unavailable");
                }
                (system.name.clone(), handle)
            })
            .collect();
        Self { opened }
    }

    /// Counts every system's connector calls in `metrics`, and declares the plugins loaded
    /// (`gallra_plugin_loaded`, one series per system whose plugin opened).
    pub fn with_metrics(self, metrics: &Metrics) -> Self {
        let loaded: Vec<LoadedPlugin> = self
            .opened
            .iter()
            .filter_map(|(name, handle)| {
                let description = handle.as_ref().ok()?.description();
                Some(LoadedPlugin {
                    system: SafeName::lossy(name),
                    plugin: SafeName::lossy(&description.name),
                    version: PluginVersion::lossy(&description.version),
                })
            })
            .collect();
        metrics.set_plugins(&loaded);
        let opened = self
            .opened
            .into_iter()
            .map(|(name, handle)| (name, handle.map(|h| h.with_metrics(metrics))))
            .collect();
        Self { opened }
    }

    /// The system by name, or why it is not available.
    pub fn get(&self, name: &str) -> Result<&SystemHandle, String> {
        match self.opened.get(name) {
            Some(Ok(handle)) => Ok(handle),
            Some(Err(error)) => Err(error.clone()),
            None => Err(format!("system \"{name}\" is not configured with a plugin")),
        }
    }

    /// The opened systems whose activity counts against inactivity, except `skip`.
    pub fn activity_bearing_except<'a>(
        &'a self,
        config: &'a Config,
        skip: &'a str,
    ) -> impl Iterator<Item = (&'a str, Result<&'a SystemHandle, String>)> + 'a {
        config
            .systems
            .values()
            .filter(move |s| s.activity && s.name != skip)
            .map(move |s| (s.name.as_str(), self.get(&s.name)))
    }
}
