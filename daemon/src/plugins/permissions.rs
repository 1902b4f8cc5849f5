//! Owners and file modes that make loading a plugin unsafe. Loading a library runs its code
//! with the daemon's rights, and the daemon can erase data in every system: a plugin file, or
//! the directory it sits in, that another user owns or can write is a way in. Such a plugin
//! is refused.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The mode bits that let group or others write.
const WRITABLE_BY_OTHERS: u32 = 0o022;

/// root's user id.
const ROOT: u32 = 0;

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
    /// The file, or the directory holding it, is owned by a user other than root or the one
    /// gallra runs as: that user could replace it, or change its mode back.
    #[error(
        "refusing to load plugin {plugin}: {path} is owned by uid {owner}, not by root or the \
         user gallra runs as ({runs_as}); fix: chown root:root {path}"
    )]
    Owner {
        /// The plugin library.
        plugin: PathBuf,
        /// The file or directory with the wrong owner.
        path: PathBuf,
        /// Its owner's user id.
        owner: u32,
        /// The user gallra runs as, in words (`uid 998`, or why it is not known).
        runs_as: String,
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

/// Checks that the plugin at `path` (following a symlink to the real file), the directory it
/// was found in, and the directory the real file is in are each owned by root or by the user
/// gallra runs as, and that nobody but that owner can write them.
pub fn check_plugin(path: &Path) -> Result<(), UnsafePlugin> {
    check_plugin_for(path, effective_uid())
}

/// [`check_plugin`] for a daemon running as `runs_as` (`None`: not known, so only root is
/// trusted).
fn check_plugin_for(path: &Path, runs_as: Option<u32>) -> Result<(), UnsafePlugin> {
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
        let metadata = std::fs::metadata(&at).map_err(|e| unreadable(&at, e))?;
        let owner = metadata.uid();
        if owner != ROOT && Some(owner) != runs_as {
            return Err(UnsafePlugin::Owner {
                plugin: path.to_path_buf(),
                path: at,
                owner,
                runs_as: runs_as.map_or_else(
                    || "unknown: /proc/self/status is unreadable".to_owned(),
                    |uid| format!("uid {uid}"),
                ),
            });
        }
        let mode = metadata.permissions().mode();
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

/// The effective user id gallra runs as, read once from `/proc/self/status` (the daemon
/// forbids `unsafe`, so it does not call `geteuid` itself); `None` if that cannot be read.
fn effective_uid() -> Option<u32> {
    static EUID: OnceLock<Option<u32>> = OnceLock::new();
    *EUID.get_or_init(|| {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        effective_uid_in(&status)
    })
}

/// The effective uid in the text of `/proc/<pid>/status`: the second field of its `Uid:` line
/// (real, effective, saved, filesystem).
fn effective_uid_in(status: &str) -> Option<u32> {
    let line = status.lines().find_map(|l| l.strip_prefix("Uid:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
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

    /// The uid of no login user, that a test chowns files to.
    const NOBODY: u32 = 65534;

    /// Whether this test process can chown files to another user; says why not when it cannot.
    fn can_chown(test: &str) -> bool {
        if effective_uid() == Some(ROOT) {
            return true;
        }
        eprintln!("SKIPPED {test}: not running as root, so cannot chown a file to another uid");
        false
    }

    fn chown(path: &Path, uid: u32) {
        std::os::unix::fs::chown(path, Some(uid), None).unwrap();
    }

    #[test]
    fn the_effective_uid_is_read_from_proc() {
        let status = "Name:\tgallra\nUid:\t1000\t998\t998\t998\nGid:\t1\t2\t3\t4\n";
        assert_eq!(effective_uid_in(status), Some(998));
        assert_eq!(effective_uid_in("Name:\tgallra\n"), None);
        // A file this process creates is owned by the user it runs as.
        let (_dir, file) = plugin_dir();
        assert_eq!(effective_uid(), Some(fs::metadata(&file).unwrap().uid()));
    }

    #[test]
    fn a_plugin_file_owned_by_another_user_is_refused() {
        if !can_chown("a_plugin_file_owned_by_another_user_is_refused") {
            return;
        }
        let (_dir, file) = plugin_dir();
        chown(&file, NOBODY);
        let path = file.canonicalize().unwrap();
        let error = check_plugin(&file).unwrap_err();
        assert!(
            matches!(error, UnsafePlugin::Owner { owner: NOBODY, .. }),
            "{error}"
        );
        let error = error.to_string();
        assert!(
            error.contains(&format!("{} is owned by uid {NOBODY}", path.display())),
            "{error}"
        );
        assert!(error.contains("uid 0"), "says who gallra runs as: {error}");
        assert!(
            error.contains(&format!("chown root:root {}", path.display())),
            "{error}"
        );
    }

    #[test]
    fn a_plugin_directory_owned_by_another_user_is_refused() {
        if !can_chown("a_plugin_directory_owned_by_another_user_is_refused") {
            return;
        }
        let (dir, file) = plugin_dir();
        chown(dir.path(), NOBODY);
        match check_plugin(&file).unwrap_err() {
            UnsafePlugin::Owner { path, owner, .. } => {
                assert_eq!(path, dir.path());
                assert_eq!(owner, NOBODY);
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn a_plugin_owned_by_the_user_gallra_runs_as_passes() {
        if !can_chown("a_plugin_owned_by_the_user_gallra_runs_as_passes") {
            return;
        }
        let (dir, file) = plugin_dir();
        chown(dir.path(), NOBODY);
        chown(&file, NOBODY);
        check_plugin_for(&file, Some(NOBODY)).unwrap();
        // Not knowing who gallra runs as trusts root only.
        let error = check_plugin_for(&file, None).unwrap_err().to_string();
        assert!(error.contains("unknown"), "{error}");
        // Owner right, mode wrong: still refused with the chmod fix.
        chmod(&file, 0o666);
        let error = check_plugin_for(&file, Some(NOBODY))
            .unwrap_err()
            .to_string();
        assert!(error.contains("chmod go-w"), "{error}");
    }

    /// Through the finder: a plugin someone else owns is refused before it is opened.
    #[test]
    fn the_finder_checks_the_owner_before_it_loads() {
        use crate::plugins::{PluginError, PluginFinder};
        if !can_chown("the_finder_checks_the_owner_before_it_loads") {
            return;
        }
        let (dir, file) = plugin_dir();
        let finder = PluginFinder::with_dirs(vec![dir.path().to_path_buf()]);
        chown(&file, NOBODY);
        let refused = finder.load("x").map(drop).unwrap_err();
        assert!(matches!(refused, PluginError::Unsafe(_)), "{refused}");
        assert!(refused.to_string().contains("chown root:root"), "{refused}");
    }

    #[test]
    fn a_missing_plugin_is_an_error_not_a_pass() {
        let (dir, _) = plugin_dir();
        let error = check_plugin(&dir.path().join("absent.so")).unwrap_err();
        assert!(matches!(error, UnsafePlugin::Unreadable { .. }), "{error}");
    }
}
