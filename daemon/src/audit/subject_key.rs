//! The key that turns a subject's identifiers into the keyed hashes the audit log keeps.
//!
//! Without the key, a hash in the log says nothing about who it was; with it, gallra can
//! answer "was this person erased, and when?" for someone who asks again, by hashing what
//! they give and looking for it. The key is a secret: whoever holds it can test guesses.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use gallra_plugin_api::Identifier;
use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::TryRngCore;
use sha2::Sha256;

use super::chain_key::ChainKey;

/// Fewest key bytes accepted.
pub const MIN_KEY_BYTES: usize = 32;

/// The HMAC key for subjects. `Debug` never shows it.
#[derive(Clone)]
pub struct SubjectKey {
    key: Vec<u8>,
}

/// Why a key file was refused. Names the file, never the key.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The file could not be read or created.
    #[error("audit key {path}: cannot {action}: {source}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// What was being done (`read`, `create`, …).
        action: &'static str,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Others may read it.
    #[error("audit key {path}: users other than its owner may read or write it (mode {mode:04o}); run `chmod 600 {path}`")]
    Readable {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Too short to be a key.
    #[error("audit key {path}: holds {len} bytes, a key needs at least {MIN_KEY_BYTES} (remove the file and let gallra create one, or write 32 random bytes as hex)")]
    TooShort {
        /// The key file.
        path: PathBuf,
        /// How many bytes it holds (after a trailing newline).
        len: usize,
    },
}

impl SubjectKey {
    /// Reads the key from a credential file: its bytes, less trailing newline characters.
    /// Refuses a file that group or others may access, or one shorter than 32 bytes.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let io_error = |action| {
            let path = path.to_owned();
            move |source| KeyError::Io {
                path,
                action,
                source,
            }
        };
        // The mode is read from the open file, so it is the mode of what is read.
        let mut file = File::open(path).map_err(io_error("open"))?;
        let mode = file
            .metadata()
            .map_err(io_error("stat"))?
            .permissions()
            .mode()
            & 0o7777;
        if mode & 0o077 != 0 {
            return Err(KeyError::Readable {
                path: path.to_owned(),
                mode,
            });
        }
        let mut key = Vec::new();
        file.read_to_end(&mut key).map_err(io_error("read"))?;
        while matches!(key.last(), Some(b'\n' | b'\r')) {
            key.pop();
        }
        if key.len() < MIN_KEY_BYTES {
            return Err(KeyError::TooShort {
                path: path.to_owned(),
                len: key.len(),
            });
        }
        Ok(Self { key })
    }

    /// Loads the key at `path`, first creating it (32 random bytes as hex, mode 0600) if
    /// there is no file there. Used on first start.
    pub fn generate(path: &Path) -> Result<Self, KeyError> {
        let io_error = |action| {
            let path = path.to_owned();
            move |source| KeyError::Io {
                path,
                action,
                source,
            }
        };
        let mut bytes = [0u8; 32];
        OsRng
            .try_fill_bytes(&mut bytes)
            .map_err(|e| io_error("make random bytes for")(io::Error::other(e)))?;
        let created = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path);
        match created {
            Ok(mut file) => {
                let text = format!("{}\n", hex::encode(bytes));
                file.write_all(text.as_bytes())
                    .and_then(|()| file.sync_all())
                    .map_err(io_error("write"))?;
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    File::open(dir)
                        .and_then(|d| d.sync_all())
                        .map_err(io_error("sync the directory of"))?;
                }
                tracing::info!(path = %path.display(), "created a new audit key");
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_error("create")(e)),
        }
        Self::load(path)
    }

    /// A key from bytes already in hand (tests, or a key held elsewhere).
    pub fn from_bytes(key: &[u8]) -> Result<Self, KeyError> {
        if key.len() < MIN_KEY_BYTES {
            return Err(KeyError::TooShort {
                path: PathBuf::from("<memory>"),
                len: key.len(),
            });
        }
        Ok(Self { key: key.to_vec() })
    }

    /// Hex HMAC-SHA256 of `"<kind>:<normalized value>"`, e.g. over `email:anna@example.se`.
    pub fn subject(&self, identifier: &Identifier) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(identifier.kind().as_str().as_bytes());
        mac.update(b":");
        mac.update(identifier.value().as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// The key that seals the chain, derived from this one (see [`ChainKey`]).
    pub fn chain_key(&self) -> ChainKey {
        ChainKey::derive(&self.key)
    }

    /// [`Self::subject`] of each identifier, sorted, without repeats.
    pub fn subjects(&self, identifiers: &[Identifier]) -> Vec<String> {
        let mut hashes: Vec<String> = identifiers.iter().map(|i| self.subject(i)).collect();
        hashes.sort();
        hashes.dedup();
        hashes
    }
}

impl fmt::Debug for SubjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SubjectKey(<redacted>)")
    }
}
