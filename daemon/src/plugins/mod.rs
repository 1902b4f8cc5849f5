//! Loading connector plugins and calling them safely: on a bounded blocking pool, with a
//! timeout and a concurrency limit per system.

mod batch;
mod finder;
mod permissions;
mod secrets;
mod settings_check;
mod system;
mod systems;

pub use finder::{PluginError, PluginFinder, SYSTEM_PLUGIN_DIR};
pub use permissions::{check_plugin, UnsafePlugin};
pub use secrets::{exposed_secret_files, warn_exposed_secrets, ExposedSecret};
pub use settings_check::{check, check_installed};
pub use system::{CallError, OpenError, SystemHandle};
pub use systems::Systems;
