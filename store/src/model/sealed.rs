//! Sealed bytes: what the daemon encrypted, as the store keeps it.

/// Bytes as sealed by the daemon's key: ciphertext and the nonce it was sealed with. The
/// store keeps them as they are and never sees the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The encrypted bytes (with the authentication tag).
    pub ciphertext: Vec<u8>,
    /// The random nonce.
    pub nonce: Vec<u8>,
}
