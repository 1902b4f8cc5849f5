//! Finding a plugin's built library from its own tests, so that an ABI test loads exactly
//! what the daemon would (feature `host`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

/// The file name of package `package`'s library: `gallra-plugin-sql` → `libgallra_plugin_sql.so`.
pub fn library_file_name(package: &str) -> String {
    format!(
        "{}{}{}",
        std::env::consts::DLL_PREFIX,
        package.replace('-', "_"),
        std::env::consts::DLL_SUFFIX
    )
}

/// The library of `package` (whose sources are under `manifest_dir`, the test's
/// `env!("CARGO_MANIFEST_DIR")`) in the calling test binary's build profile, built first with
/// `cargo build` if it is missing or older than the sources. For a plugin's ABI tests: call
/// it from a test binary, which lives in `target/<profile>/deps/`.
pub fn built_plugin(package: &str, manifest_dir: &str) -> PathBuf {
    let library = library_file_name(package);
    let exe = std::env::current_exe().expect("test binary path");
    let deps = exe.parent().expect("deps dir");
    let profile_dir = deps.parent().expect("profile dir");
    let manifest = Path::new(manifest_dir);
    let sources = newest(&manifest.join("src")).max(newest(&manifest.join("Cargo.toml")));
    // `cargo test` builds the cdylib into deps/ beside the rlib; `cargo build` copies it up
    // into the profile directory. Either is good if it is newer than the sources.
    let fresh = [deps.join(&library), profile_dir.join(&library)]
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
        .args(["build", "-p", package, "--lib", "--profile", profile])
        .arg("--target-dir")
        .arg(target_dir)
        .status()
        .expect("run cargo build");
    assert!(status.success(), "cargo build of {package} failed");
    profile_dir.join(library)
}

/// The newest modification time under `path`.
fn newest(path: &Path) -> SystemTime {
    let mut newest = modified(path).unwrap_or(SystemTime::UNIX_EPOCH);
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

#[cfg(test)]
mod tests {
    #[test]
    fn the_library_is_named_for_the_package() {
        assert_eq!(
            super::library_file_name("gallra-plugin-sql"),
            "libgallra_plugin_sql.so"
        );
    }
}
