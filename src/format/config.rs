//! Repository config payload (design.md §8).

use super::{FormatError, FormatResult};
use crate::ids::RepoId;
use fastcdc::v2020::{
    AVERAGE_MAX, AVERAGE_MIN, MAXIMUM_MAX, MAXIMUM_MIN, MINIMUM_MAX, MINIMUM_MIN,
};
use serde::{Deserialize, Serialize};

pub const VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkSizes {
    pub min: u32,
    pub avg: u32,
    pub max: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkerConfig {
    pub seed: u64,
    pub text: ChunkSizes,
    pub media: ChunkSizes,
    /// Tree streams: smaller chunks, so one changed entry rewrites little tree data.
    #[serde(default = "default_tree_sizes")]
    pub tree: ChunkSizes,
}

/// Tree sizes of a config written before the `tree` field existed.
fn default_tree_sizes() -> ChunkSizes {
    ChunkSizes {
        min: 4 << 10,
        avg: 16 << 10,
        max: 64 << 10,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    pub version: u32,
    pub id: RepoId,
    pub chunker: ChunkerConfig,
    pub pack_size: u32,
    pub compression_level: i32,
}

pub const DEFAULT_PACK_SIZE: u32 = 16 << 20;

impl Config {
    pub fn new(id: RepoId, seed: u64) -> Self {
        Config {
            version: VERSION,
            id,
            chunker: ChunkerConfig {
                seed,
                // Small text chunks: an edited line of a large JSONL export rewrites about 8 KiB.
                text: ChunkSizes {
                    min: 2 << 10,
                    avg: 8 << 10,
                    max: 32 << 10,
                },
                media: ChunkSizes {
                    min: 256 << 10,
                    avg: 1 << 20,
                    max: 4 << 20,
                },
                tree: ChunkSizes {
                    min: 512,
                    avg: 2 << 10,
                    max: 8 << 10,
                },
            },
            pack_size: DEFAULT_PACK_SIZE,
            compression_level: 3,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> FormatResult<Self> {
        let c: Config = serde_json::from_slice(bytes)
            .map_err(|e| FormatError::Invalid(format!("config JSON: {e}")))?;
        if c.version != VERSION {
            return Err(FormatError::UnsupportedVersion {
                what: "config",
                found: c.version.min(255) as u8,
            });
        }
        c.check()?;
        Ok(c)
    }

    pub fn check(&self) -> FormatResult<()> {
        for (name, s) in [
            ("text", self.chunker.text),
            ("media", self.chunker.media),
            ("tree", self.chunker.tree),
        ] {
            let ok = (MINIMUM_MIN..=MINIMUM_MAX).contains(&s.min)
                && (AVERAGE_MIN..=AVERAGE_MAX).contains(&s.avg)
                && (MAXIMUM_MIN..=MAXIMUM_MAX).contains(&s.max)
                && s.min <= s.avg
                && s.avg <= s.max;
            if !ok {
                return Err(FormatError::Invalid(format!(
                    "config: {name} chunk sizes {s:?}"
                )));
            }
        }
        if !((1 << 20)..=(1 << 30)).contains(&self.pack_size) {
            return Err(FormatError::Invalid(format!(
                "config: pack size {}",
                self.pack_size
            )));
        }
        if !(1..=19).contains(&self.compression_level) {
            return Err(FormatError::Invalid(format!(
                "config: compression level {}",
                self.compression_level
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trip(id in any::<[u8; 32]>(), seed in any::<u64>(), level in 1i32..20) {
            let mut c = Config::new(RepoId(id), seed);
            c.compression_level = level;
            prop_assert_eq!(Config::decode(&c.encode()).unwrap(), c);
        }

        #[test]
        fn hostile_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Config::decode(&bytes);
        }
    }

    #[test]
    fn out_of_range_sizes_are_refused() {
        let mut c = Config::new(RepoId([0; 32]), 1);
        c.chunker.text.max = 1;
        assert!(Config::decode(&c.encode()).is_err());
    }
}
