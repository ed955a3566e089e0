//! The chunker's part of the repository config: where the gear table comes from (a secret or, in
//! version 1 repositories, a seed) and the chunk sizes per content class. The config embeds it.

use super::ChunkSizes;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The 256-bit key the chunker's gear table is derived from (config version 2). Stored only in the
/// sealed config; zeroized on drop, never printed by `Debug`.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct ChunkerSecret([u8; 32]);

impl ChunkerSecret {
    /// A secret from the operating system's random source.
    pub fn random() -> Self {
        let mut k = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        ChunkerSecret(k)
    }
    /// A secret with the given bytes.
    pub fn from_bytes(b: [u8; 32]) -> Self {
        ChunkerSecret(b)
    }
    /// The secret bytes (the BLAKE3 key of the gear table).
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for ChunkerSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChunkerSecret(<redacted>)")
    }
}

impl PartialEq for ChunkerSecret {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl Eq for ChunkerSecret {}

impl Serialize for ChunkerSecret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for ChunkerSecret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let mut k = [0u8; 32];
        hex::decode_to_slice(s.as_bytes(), &mut k)
            .map_err(|_| serde::de::Error::custom("chunker secret is not 64 hex digits"))?;
        Ok(ChunkerSecret(k))
    }
}

/// Where the gear table comes from; exactly one of `seed` (version 1) and `secret` (version 2) is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkerConfig {
    /// Version 1: the 64-bit seed XORed into the public gear table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Version 2: the secret the gear table is derived from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<ChunkerSecret>,
    /// Chunk sizes for compressible (text-like) files.
    pub text: ChunkSizes,
    /// Chunk sizes for already-compressed (media) files.
    pub media: ChunkSizes,
    /// Tree streams: smaller chunks, so one changed entry rewrites little tree data.
    #[serde(default = "default_tree_sizes")]
    pub tree: ChunkSizes,
}

/// Tree sizes of a config written before the `tree` field existed.
pub(crate) fn default_tree_sizes() -> ChunkSizes {
    ChunkSizes {
        min: 4 << 10,
        avg: 16 << 10,
        max: 64 << 10,
    }
}
