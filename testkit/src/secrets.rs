//! Secret files as connectors insist on them: outside the configuration, readable by their
//! owner only (a connector refuses one that others can read).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

/// Writes `content` and a newline to `path`, with mode 0600.
pub fn write_private(path: &Path, content: &str) {
    std::fs::write(path, format!("{content}\n"))
        .unwrap_or_else(|e| panic!("write the secret file {}: {e}", path.display()));
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .unwrap_or_else(|e| panic!("chmod 600 {}: {e}", path.display()));
}

/// A private temporary directory of secret files, removed when dropped: keep it alive as
/// long as the connector may read them.
pub struct Secrets {
    dir: TempDir,
}

impl Secrets {
    /// An empty directory.
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    /// A file `name` holding `value`, written with [`write_private`]; returns its path.
    pub fn file(&self, name: &str, value: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        write_private(&path, value);
        path
    }

    /// The directory the files are in.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Default for Secrets {
    fn default() -> Self {
        Self::new()
    }
}

/// One secret file in a directory of its own, which lives as long as this value.
pub struct SecretFile {
    _secrets: Secrets,
    /// Where the file is, for a connector's `*_file` setting.
    pub path: PathBuf,
}

impl SecretFile {
    /// A file `name` holding `value`.
    pub fn new(name: &str, value: &str) -> Self {
        let secrets = Secrets::new();
        let path = secrets.file(name, value);
        Self {
            _secrets: secrets,
            path,
        }
    }
}
