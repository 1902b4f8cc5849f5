//! The key that seals the chain: each entry's `mac`, and the head kept in the state store.
//!
//! It is derived from the [`SubjectKey`](super::SubjectKey) rather than read from a file of
//! its own: there is one secret to protect and back up, and whoever can read the log's
//! subject hashes by brute force (the subject key's holder) is already trusted with the log.
//! It is a separate key all the same (HMAC of a fixed label under the subject key), so a value
//! computed for one purpose is never valid for the other: the subject hashes are written into
//! the log for anyone with read access to see, and they must not help forge a seal.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The label the chain key is derived under. Changing it would orphan every sealed log.
pub(super) const DERIVATION_LABEL: &[u8] = b"gallra audit chain key v1";

/// HMAC-SHA256 key for entry seals and the head. `Debug` never shows it.
#[derive(Clone)]
pub struct ChainKey {
    key: [u8; 32],
}

impl ChainKey {
    /// The chain key under the subject key's bytes.
    pub(super) fn derive(subject_key: &[u8]) -> Self {
        Self {
            key: mac(subject_key, &[DERIVATION_LABEL]),
        }
    }

    /// Hex HMAC of an entry's canonical form without its seal.
    pub(super) fn entry_mac(&self, body: &[u8]) -> String {
        hex::encode(mac(&self.key, &[b"entry\0", body]))
    }

    /// Hex HMAC of a whole line as written: what the head in the state store holds for the
    /// entry it points at. Entries of the older, unkeyed format are pinned by it too.
    pub fn line_mac(&self, line: &[u8]) -> String {
        hex::encode(mac(&self.key, &[b"head\0", line]))
    }
}

fn mac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

impl fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChainKey(<redacted>)")
    }
}
