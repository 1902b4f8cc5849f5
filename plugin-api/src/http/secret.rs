//! [`Secret`]: an API key or password read from its own file.

use std::fmt;
use std::path::Path;

use crate::error::ConnectorError;

/// A credential (API key, token, password) read from a file, never written inline in
/// `gallra.toml`.
///
/// `Debug` and `Display` print `***`, so a secret cannot reach a log line by accident. Use
/// [`expose`](Secret::expose) where the value is needed, e.g.
/// `request.bearer(token.expose())`.
///
/// ```
/// use gallra_plugin_api::http::Secret;
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("key");
/// # std::fs::write(&path, "s3cret\n").unwrap();
/// let key = Secret::from_file(&path).unwrap();
/// assert_eq!(key.expose(), "s3cret");
/// assert_eq!(format!("{key} {key:?}"), "*** ***");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Reads a secret from `path`, without its trailing newline.
    ///
    /// Errors (permanent: a missing or empty file will not fix itself) name the path, never
    /// the content. A file that other users can read is accepted with a warning in the log,
    /// since the remedy (`chmod 600`) is the sysadmin's.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ConnectorError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConnectorError::permanent(format!(
                "cannot read the secret file {}: {e} (check the path and that gallra may read it)",
                path.display()
            ))
        })?;
        warn_if_shared(path);
        let value = text.trim_end_matches(['\n', '\r']);
        if value.trim().is_empty() {
            return Err(ConnectorError::permanent(format!(
                "the secret file {} is empty",
                path.display()
            )));
        }
        Ok(Self(value.to_owned()))
    }

    /// A secret from a value already in memory (tests, or a token fetched at run time).
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(unix)]
fn warn_if_shared(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(
                path = %path.display(),
                "secret file is readable by other users; restrict it with chmod 600"
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_shared(_path: &Path) {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}
