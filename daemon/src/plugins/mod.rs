//! Loading connector plugins and calling them safely: on a bounded blocking pool, with a
//! timeout and a concurrency limit per system.

mod finder;
mod system;
mod systems;

pub use finder::{PluginError, PluginFinder, SYSTEM_PLUGIN_DIR};
pub use system::{CallError, OpenError, SystemHandle};
pub use systems::Systems;
