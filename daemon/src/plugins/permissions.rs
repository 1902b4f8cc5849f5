//! File modes that make loading a plugin unsafe. Loading a library runs its code with the
//! daemon's rights, and the daemon can erase data in every system: a plugin file, or the
//! directory it sits in, that another user can write is a way in. Such a plugin is refused.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The mode bits that let group or others write.
const WRITABLE_BY_OTHERS: u32 = 0o022;

/// A plugin refused because of who can write it.
#[derive(Debug, thiserror::Error)]
pub enum UnsafePlugin {
    /// The file, or the directory holding it, is writable by group or others.
    #[error(
        "refusing to load plugin {plugin}: {path} is writable by group or others \
         (mode {mode:04o}); fix: chmod go-w {path}"
    )]
    Writable {
        /// The plugin library.
        plugin: PathBuf,
        /// The file or directory with the bad mode.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file or its directory could not be examined.
    #[error("refusing to load plugin {plugin}: cannot check who may write {path}: {source}")]
    Unreadable {
        /// The plugin library.
        plugin: PathBuf,
        /// What could not be examined.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Checks that nobody but the owner can write the plugin at `path` (following a symlink to
/// the real file), the directory it was found in, or the directory the real file is in.
pub fn check_plugin(path: &Path) -> Result<(), UnsafePlugin> {
    let unreadable = |at: &Path, source| UnsafePlugin::Unreadable {
        plugin: path.to_path_buf(),
        path: at.to_path_buf(),
        source,
    };
    let real = path.canonicalize().map_err(|e| unreadable(path, e))?;
    let mut checked = vec![real.clone()];
    checked.extend(path.parent().map(directory));
    checked.extend(real.parent().map(Path::to_path_buf));
    checked.dedup();
    for at in checked {
        let mode = std::fs::metadata(&at)
            .map_err(|e| unreadable(&at, e))?
            .permissions()
            .mode();
        if mode & WRITABLE_BY_OTHERS != 0 {
            return Err(UnsafePlugin::Writable {
                plugin: path.to_path_buf(),
                path: at,
                mode: mode & 0o7777,
            });
        }
    }
    Ok(())
}

/// A file's directory; `.` for a bare file name.
fn directory(parent: &Path) -> PathBuf {
    if parent.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        parent.to_path_buf()
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    fn chmod(path: &Path, mode: u32) {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    /// A directory (0755) holding a plugin file (0644).
    fn plugin_dir() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        chmod(dir.path(), 0o755);
        let file = dir.path().join("libgallra_plugin_x.so");
        fs::write(&file, b"not really a library").unwrap();
        chmod(&file, 0o644);
        (dir, file)
    }

    #[test]
    fn owner_only_writable_plugin_and_directory_pass() {
        let (_dir, file) = plugin_dir();
        check_plugin(&file).unwrap();
        chmod(&file, 0o755);
        check_plugin(&file).unwrap();
    }

    #[test]
    fn a_plugin_file_writable_by_others_or_group_is_refused() {
        for mode in [0o646, 0o664, 0o666, 0o777] {
            let (_dir, file) = plugin_dir();
            chmod(&file, mode);
            let error = check_plugin(&file).unwrap_err().to_string();
            let path = file.canonicalize().unwrap();
            assert!(
                error.contains(&format!("{} is writable", path.display())),
                "{error}"
            );
            assert!(error.contains(&format!("mode {mode:04o}")), "{error}");
            assert!(
                error.contains(&format!("chmod go-w {}", path.display())),
                "{error}"
            );
        }
    }

    #[test]
    fn a_plugin_directory_writable_by_others_is_refused_even_when_sticky() {
        for mode in [0o757, 0o775, 0o1777] {
            let (dir, file) = plugin_dir();
            chmod(dir.path(), mode);
            let error = check_plugin(&file).unwrap_err();
            match error {
                UnsafePlugin::Writable {
                    path, mode: got, ..
                } => {
                    assert_eq!(path, dir.path());
                    assert_eq!(got, mode);
                }
                other => panic!("{other}"),
            }
        }
    }

    #[test]
    fn a_symlink_is_judged_by_where_it_points() {
        let (_dir, file) = plugin_dir();
        let (elsewhere, _) = plugin_dir();
        let link = elsewhere.path().join("libgallra_plugin_link.so");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        check_plugin(&link).unwrap();
        chmod(file.parent().unwrap(), 0o777);
        let error = check_plugin(&link).unwrap_err().to_string();
        assert!(error.contains("mode 0777"), "{error}");
    }

    /// Through the finder: a writable plugin is refused before it is opened (the file is no
    /// library, so getting as far as the loader shows the check passed).
    #[test]
    fn the_finder_checks_before_it_loads() {
        use crate::plugins::{PluginError, PluginFinder};
        let (dir, file) = plugin_dir();
        let finder = PluginFinder::with_dirs(vec![dir.path().to_path_buf()]);
        let loaded = finder.load("x").map(drop).unwrap_err();
        assert!(matches!(loaded, PluginError::Load(_)), "{loaded}");
        chmod(&file, 0o666);
        let refused = finder.load("x").map(drop).unwrap_err();
        assert!(matches!(refused, PluginError::Unsafe(_)), "{refused}");
        assert!(refused.to_string().contains("chmod go-w"), "{refused}");
    }

    #[test]
    fn a_missing_plugin_is_an_error_not_a_pass() {
        let (dir, _) = plugin_dir();
        let error = check_plugin(&dir.path().join("absent.so")).unwrap_err();
        assert!(matches!(error, UnsafePlugin::Unreadable { .. }), "{error}");
    }
}
