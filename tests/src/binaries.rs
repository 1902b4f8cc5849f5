//! The real `gallra` binary and plugins, built once per test process.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The workspace's target directory for the current profile (where `gallra` and the plugin
/// libraries are built side by side).
pub fn target_dir() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    target.join(if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    })
}

/// The cargo that runs these tests (`$CARGO`), or the one on the `PATH`.
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Builds the binary and every plugin of the workspace (once per test process) and returns
/// the binary's path. Building through cargo keeps the tests honest: they run what a user
/// would install, not a library call.
pub fn gallra_bin() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let mut build = cargo();
            build.args(["build", "--workspace", "--lib", "--bins"]);
            if !cfg!(debug_assertions) {
                build.arg("--release");
            }
            let status = build.status().expect("cargo runs");
            assert!(status.success(), "building gallra and its plugins failed");
            let bin = target_dir().join("gallra");
            assert!(bin.is_file(), "no gallra binary at {}", bin.display());
            bin
        })
        .clone()
}
