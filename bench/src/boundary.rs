//! The plugin-boundary fixture: the SQL connector opened on a one-table SQLite file, both
//! as gallra opens it (the `.so` through the host loader) and as a plain Rust value, so that
//! the same call can be timed across the C ABI and as a direct trait call.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use gallra_plugin_api::host::{PluginInstance, PluginLibrary};
use gallra_plugin_api::OpenContext;

/// The SQL connector's settings for `db`.
pub fn settings(db: &Path) -> serde_json::Value {
    serde_json::json!({
        "backend": "sqlite",
        "path": db,
        "subjects": {
            "table": "customers",
            "key": "id",
            "identifiers": { "email": "email", "customer_id": "id" },
            "activity": ["last_login"],
            "on_erase": "delete"
        }
    })
}

/// Creates the database the connector opens.
pub fn create_db(dir: &Path) -> Result<PathBuf> {
    let db = dir.join("boundary.db");
    let conn = rusqlite::Connection::open(&db)?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS customers (id INTEGER PRIMARY KEY, email TEXT, last_login TEXT);",
    )?;
    Ok(db)
}

pub fn context() -> OpenContext {
    OpenContext {
        system: "panel".to_owned(),
        time_zone: "Europe/Stockholm".to_owned(),
    }
}

/// The connector loaded from `dir/libgallra_plugin_sql.so` as gallra loads it.
pub fn open_plugin(dir: &Path, db: &Path) -> Result<PluginInstance> {
    let path = dir.join("libgallra_plugin_sql.so");
    let library = PluginLibrary::load(&path).with_context(|| {
        format!(
            "loading {} (build it: cargo build --release -p gallra-plugin-sql)",
            path.display()
        )
    })?;
    let settings = serde_json::to_vec(&settings(db))?;
    Ok(library.open(&settings, &context())?)
}
