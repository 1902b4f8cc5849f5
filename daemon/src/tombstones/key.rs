//! The key that seals tombstones: 32 random bytes, kept as hex in `<state_dir>/tombstone.key`,
//! created with mode 0600 on first use. Whoever holds it can read who was erased; without it
//! the tombstones say nothing.
//!
//! The same sealing (XChaCha20-Poly1305, a random nonce per seal, a context bound in as
//! associated data) and the same key files serve the restore window's per-run keys
//! ([`crate::restore`]): [`TombstoneKey::seal_bytes`] and [`TombstoneKey::open_bytes`].

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use gallra_plugin_api::Subject;
use gallra_store::Sealed;
use rand::rngs::OsRng;
use rand::TryRngCore;

/// Key length in bytes.
pub const KEY_BYTES: usize = 32;
/// Nonce length in bytes (XChaCha20: long enough to pick at random).
pub const NONCE_BYTES: usize = 24;

/// The file name of the key in the state directory.
pub fn key_path(state_dir: &Path) -> PathBuf {
    state_dir.join("tombstone.key")
}

/// Why the key could not be had, or a tombstone not opened. Never shows key or contents.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The file could not be read or created.
    #[error("key file {path}: cannot {action}: {source}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Others may read it.
    #[error("key file {path}: users other than its owner may read or write it (mode {mode:04o}); run `chmod 600 {path}`")]
    Readable {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Not 32 bytes written as hex.
    #[error("key file {path}: not {KEY_BYTES} bytes written as hex")]
    Malformed {
        /// The key file.
        path: PathBuf,
    },
    /// A tombstone did not open: another key sealed it, or it was altered.
    #[error("a tombstone does not open with this key (the key file was replaced, or the tombstone altered)")]
    WrongKey,
    /// The key file is not there (a restore key destroyed at the end of its window).
    #[error("key file {path} does not exist")]
    Missing {
        /// The key file.
        path: PathBuf,
    },
}

/// The tombstone key. `Debug` never shows it.
#[derive(Clone)]
pub struct TombstoneKey {
    cipher: XChaCha20Poly1305,
}

impl TombstoneKey {
    /// A key from its bytes.
    pub fn from_bytes(bytes: &[u8; KEY_BYTES]) -> Self {
        Self {
            cipher: XChaCha20Poly1305::new(bytes.into()),
        }
    }

    /// Loads the key at `path`, creating it (mode 0600) if there is none. Refuses a file
    /// that group or others may access.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyError> {
        create_if_missing(path).map_err(io_error(path, "create"))?;
        Self::load(path)
    }

    /// Loads the key at `path`, which must exist. Refuses a file that group or others may
    /// access.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let fail = |action: &'static str| io_error(path, action);
        let mut file = File::open(path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => KeyError::Missing {
                path: path.to_owned(),
            },
            _ => fail("open")(e),
        })?;
        let mode = file.metadata().map_err(fail("stat"))?.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(KeyError::Readable {
                path: path.to_owned(),
                mode,
            });
        }
        let mut text = String::new();
        file.read_to_string(&mut text).map_err(fail("read"))?;
        let bytes: [u8; KEY_BYTES] = hex::decode(text.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| KeyError::Malformed {
                path: path.to_owned(),
            })?;
        Ok(Self::from_bytes(&bytes))
    }

    /// Seals the subject as the connector `system` was asked, under a fresh random nonce.
    /// The system's name is bound in, so a tombstone cannot be replayed against another.
    pub fn seal(&self, system: &str, subject: &Subject) -> Sealed {
        let plain = serde_json::to_vec(subject).expect("a subject serializes");
        self.seal_bytes(system.as_bytes(), &plain)
    }

    /// Opens a tombstone of `system`.
    pub fn open(&self, system: &str, sealed: &Sealed) -> Result<Subject, KeyError> {
        let plain = self.open_bytes(system.as_bytes(), sealed)?;
        serde_json::from_slice(&plain).map_err(|_| KeyError::WrongKey)
    }

    /// Seals `plain` under a fresh random nonce, binding `context` in (it must be given
    /// again to open it, so a sealed value cannot be replayed in another context).
    pub fn seal_bytes(&self, context: &[u8], plain: &[u8]) -> Sealed {
        let nonce = random_bytes::<NONCE_BYTES>();
        let ciphertext = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: context,
                },
            )
            .expect("sealing in memory does not fail");
        Sealed {
            ciphertext,
            nonce: nonce.to_vec(),
        }
    }

    /// Opens what [`seal_bytes`](Self::seal_bytes) sealed with this key and `context`.
    pub fn open_bytes(&self, context: &[u8], sealed: &Sealed) -> Result<Vec<u8>, KeyError> {
        if sealed.nonce.len() != NONCE_BYTES {
            return Err(KeyError::WrongKey);
        }
        self.cipher
            .decrypt(
                XNonce::from_slice(&sealed.nonce),
                Payload {
                    msg: &sealed.ciphertext,
                    aad: context,
                },
            )
            .map_err(|_| KeyError::WrongKey)
    }
}

impl fmt::Debug for TombstoneKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TombstoneKey(<redacted>)")
    }
}

fn io_error(path: &Path, action: &'static str) -> impl FnOnce(io::Error) -> KeyError {
    let path = path.to_owned();
    move |source| KeyError::Io {
        path,
        action,
        source,
    }
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    OsRng
        .try_fill_bytes(&mut bytes)
        .expect("the operating system's random source works");
    bytes
}

/// Writes a new random key (hex, mode 0600, synced with its directory) unless one exists.
pub(crate) fn create_if_missing(path: &Path) -> io::Result<()> {
    let created = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
    let mut file = match created {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(e),
    };
    let text = format!("{}\n", hex::encode(random_bytes::<KEY_BYTES>()));
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        File::open(dir)?.sync_all()?;
    }
    tracing::info!(path = %path.display(), "created a new key");
    Ok(())
}

#[cfg(test)]
mod tests {
    use gallra_plugin_api::{Identifier, IdentifierKind};

    use super::*;

    fn subject() -> Subject {
        Subject::new(vec![Identifier::parse(
            IdentifierKind::Email,
            "anna@example.se",
        )
        .unwrap()])
    }

    #[test]
    fn a_sealed_subject_opens_with_its_key_and_system_only() {
        let key = TombstoneKey::from_bytes(&[7; KEY_BYTES]);
        let sealed = key.seal("crm", &subject());
        assert!(!String::from_utf8_lossy(&sealed.ciphertext).contains("anna"));
        assert_eq!(key.open("crm", &sealed).unwrap(), subject());
        assert!(matches!(
            key.open("billing", &sealed),
            Err(KeyError::WrongKey)
        ));
        let other = TombstoneKey::from_bytes(&[8; KEY_BYTES]);
        let err = other.open("crm", &sealed).unwrap_err();
        assert!(matches!(err, KeyError::WrongKey));
        assert!(err.to_string().contains("does not open with this key"));
    }

    #[test]
    fn each_seal_has_its_own_nonce() {
        let key = TombstoneKey::from_bytes(&[7; KEY_BYTES]);
        let (a, b) = (key.seal("crm", &subject()), key.seal("crm", &subject()));
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.ciphertext, b.ciphertext);
    }

    #[test]
    fn the_key_file_is_created_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = key_path(dir.path());
        let key = TombstoneKey::load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let sealed = key.seal("crm", &subject());
        let again = TombstoneKey::load_or_create(&path).unwrap();
        assert_eq!(again.open("crm", &sealed).unwrap(), subject());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            TombstoneKey::load_or_create(&path),
            Err(KeyError::Readable { .. })
        ));
    }
}
