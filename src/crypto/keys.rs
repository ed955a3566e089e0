//! Master keys: zeroized on drop, never printed.

use crate::ids::BlobId;
use rand::RngCore;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// A 32-byte secret key.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretKey(pub(crate) [u8; 32]);

impl SecretKey {
    /// A key from the operating system's random source.
    pub fn random() -> Self {
        let mut k = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        SecretKey(k)
    }
    /// A key with the given bytes.
    pub fn from_bytes(b: [u8; 32]) -> Self {
        SecretKey(b)
    }
    /// An all-zero key, to be filled in place.
    pub(crate) fn zeroed() -> Self {
        SecretKey([0; 32])
    }
    /// The key bytes; keep copies short-lived (the key zeroizes itself on drop, copies do not).
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// The repository's master keys: `enc` seals every object, `id` names blobs (keyed BLAKE3).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct MasterKeys {
    /// The key every sealed object is encrypted with (XChaCha20-Poly1305).
    pub enc: SecretKey,
    /// The key of the keyed BLAKE3 hash that names blobs.
    pub id: SecretKey,
}

impl std::fmt::Debug for MasterKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKeys(<redacted>)")
    }
}

impl MasterKeys {
    /// Fresh random keys, for a new repository.
    pub fn generate() -> Self {
        MasterKeys {
            enc: SecretKey::random(),
            id: SecretKey::random(),
        }
    }

    /// enc || id, for sealing into a key file. The caller zeroizes the result.
    pub fn to_bytes(&self) -> zeroize::Zeroizing<[u8; 64]> {
        let mut out = zeroize::Zeroizing::new([0u8; 64]);
        out[..32].copy_from_slice(&self.enc.0);
        out[32..].copy_from_slice(&self.id.0);
        out
    }

    /// The inverse of `to_bytes`: `enc` from the first 32 bytes, `id` from the last 32.
    pub fn from_bytes(b: &[u8; 64]) -> Self {
        // Filled in place, so no copy of the keys is left in a temporary.
        let mut keys = MasterKeys {
            enc: SecretKey::zeroed(),
            id: SecretKey::zeroed(),
        };
        keys.enc.0.copy_from_slice(&b[..32]);
        keys.id.0.copy_from_slice(&b[32..]);
        keys
    }

    /// The blob ID of a plaintext: keyed BLAKE3 with the ID key.
    pub fn blob_id(&self, plaintext: &[u8]) -> BlobId {
        BlobId(*blake3::keyed_hash(&self.id.0, plaintext).as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_key_bytes() {
        let k = MasterKeys::from_bytes(&[0xAB; 64]);
        let s = format!("{k:?} {:?}", k.enc);
        assert!(
            !s.contains("171") && !s.to_lowercase().contains("ab"),
            "{s}"
        );
    }

    #[test]
    fn blob_id_is_keyed() {
        let k = MasterKeys::generate();
        let data = b"hello";
        assert_ne!(k.blob_id(data).0, *blake3::hash(data).as_bytes());
        assert_eq!(k.blob_id(data), k.blob_id(data));
    }
}
