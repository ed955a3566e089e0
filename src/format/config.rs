//! Repository config payload (design.md §8).

use super::{FormatError, FormatResult};
use crate::ids::RepoId;
use fastcdc::v2020::{
    AVERAGE_MAX, AVERAGE_MIN, MAXIMUM_MAX, MAXIMUM_MIN, MINIMUM_MAX, MINIMUM_MIN,
};
use serde::{Deserialize, Serialize};

/// The version `init` writes: the chunker's gear table is derived from a 256-bit `secret`.
pub const VERSION: u32 = 2;
/// Repositories made before version 2: the gear table is the public one XORed with a 64-bit `seed`.
pub const VERSION_SEEDED: u32 = 1;

/// The chunker's settings, embedded in the config (the chunker owns the types).
pub use crate::chunker::{ChunkSizes, ChunkerConfig, ChunkerSecret};

/// The repository config (design.md §8): fixed at `init`, stored sealed in the `config` file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// `VERSION` or `VERSION_SEEDED`; decides how the gear table and pack headers are made.
    pub version: u32,
    /// The repository's random ID.
    pub id: RepoId,
    /// The chunker's gear table source and chunk sizes.
    pub chunker: ChunkerConfig,
    /// Target size of a pack file in bytes, within 1 MiB..=1 GiB.
    pub pack_size: u32,
    /// zstd level for compressible blobs, within 1..=19.
    pub compression_level: i32,
    /// Whether every file but lock files is written under retention, and for how long (S3
    /// object lock; design.md §8). Absent when not (and then left out of the JSON, so configs
    /// without it read and write as before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_lock: Option<ObjectLock>,
}

/// How strictly a store keeps objects under retention ([`ObjectLock`]).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum RetentionMode {
    /// Nobody without a special permission (S3: `s3:BypassGovernanceRetention`) can delete the
    /// object or shorten its retention before it ends.
    #[default]
    Governance,
    /// Nobody at all, the account's owner included, can delete it or shorten its retention.
    Compliance,
}

impl RetentionMode {
    /// The name in messages and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            RetentionMode::Governance => "governance",
            RetentionMode::Compliance => "compliance",
        }
    }
}

/// Writes under retention (S3 object lock, design.md §8): every file but lock files is written
/// so that the store keeps it, undeletable and unchanged, for `days` days from its write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ObjectLock {
    /// How long each file is kept from its write (at least 1).
    pub days: u32,
    /// How strictly.
    pub mode: RetentionMode,
}

impl ObjectLock {
    /// How long each file is kept from its write.
    pub fn period(&self) -> std::time::Duration {
        std::time::Duration::from_secs(u64::from(self.days) * 24 * 3600)
    }
}

/// The longest retention `init --object-lock` takes: 100 years, S3's own limit.
pub const OBJECT_LOCK_MAX_DAYS: u32 = 36_500;

/// The pack size `init` writes: 16 MiB.
pub const DEFAULT_PACK_SIZE: u32 = 16 << 20;

impl Config {
    /// The pack header version this repository's packs get: version 1 repositories keep the
    /// unpadded layout every earlier backstock reads.
    pub fn pack_header_version(&self) -> u8 {
        if self.version == VERSION_SEEDED {
            crate::format::pack::HEADER_VERSION_UNPADDED
        } else {
            crate::format::pack::HEADER_VERSION
        }
    }

    /// A new repository's config: version 2, gear table from `secret`, today's default sizes.
    pub fn new(id: RepoId, secret: ChunkerSecret) -> Self {
        Self::with_gear(VERSION, id, None, Some(secret))
    }

    /// A version 1 config (64-bit seed XORed into the public gear table), as repositories made
    /// before version 2 hold; for tests and tools that must reproduce their chunking.
    pub fn new_seeded(id: RepoId, seed: u64) -> Self {
        Self::with_gear(VERSION_SEEDED, id, Some(seed), None)
    }

    fn with_gear(
        version: u32,
        id: RepoId,
        seed: Option<u64>,
        secret: Option<ChunkerSecret>,
    ) -> Self {
        Config {
            version,
            id,
            chunker: ChunkerConfig {
                seed,
                secret,
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
            object_lock: None,
        }
    }

    /// The config as JSON. Serializing plain data to a `Vec` does not fail, but should it, the
    /// error is returned rather than an empty config written.
    pub fn encode(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec_pretty(self)
    }

    /// Parses config JSON, rejecting unknown versions and values `check` rejects.
    pub fn decode(bytes: &[u8]) -> FormatResult<Self> {
        let c: Config = serde_json::from_slice(bytes)
            .map_err(|e| FormatError::Invalid(format!("config JSON: {e}")))?;
        if c.version != VERSION && c.version != VERSION_SEEDED {
            return Err(FormatError::UnsupportedVersion {
                what: "config",
                found: c.version.min(255) as u8,
            });
        }
        c.check()?;
        Ok(c)
    }

    /// Checks the invariants: gear source matches the version, chunk sizes, pack size and compression level within their limits.
    pub fn check(&self) -> FormatResult<()> {
        let gear_ok = match self.version {
            VERSION_SEEDED => self.chunker.seed.is_some() && self.chunker.secret.is_none(),
            VERSION => self.chunker.secret.is_some() && self.chunker.seed.is_none(),
            _ => false,
        };
        if !gear_ok {
            return Err(FormatError::Invalid(format!(
                "config: version {} needs exactly the chunker's {}",
                self.version,
                if self.version == VERSION_SEEDED {
                    "`seed`"
                } else {
                    "`secret`"
                }
            )));
        }
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
        if let Some(lock) = self.object_lock {
            if !(1..=OBJECT_LOCK_MAX_DAYS).contains(&lock.days) {
                return Err(FormatError::Invalid(format!(
                    "config: object lock of {} days (1 to {OBJECT_LOCK_MAX_DAYS})",
                    lock.days
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
        fn round_trip(id in any::<[u8; 32]>(), key in any::<[u8; 32]>(), seed in any::<u64>(), level in 1i32..20) {
            let mut c = Config::new(RepoId(id), ChunkerSecret::from_bytes(key));
            c.compression_level = level;
            prop_assert_eq!(Config::decode(&c.encode().unwrap()).unwrap(), c);
            let old = Config::new_seeded(RepoId(id), seed);
            prop_assert_eq!(Config::decode(&old.encode().unwrap()).unwrap(), old);
        }

        /// A damaged config decodes or is refused, never panics; what decodes is a config that
        /// passes every check and encodes to itself.
        #[test]
        fn damaged_configs(id in any::<[u8; 32]>(), key in any::<[u8; 32]>(), seed in any::<u64>(),
                           old in any::<bool>(), ops in crate::format::mutation::mutations()) {
            let c = if old {
                Config::new_seeded(RepoId(id), seed)
            } else {
                Config::new(RepoId(id), ChunkerSecret::from_bytes(key))
            };
            let damaged = crate::format::mutation::apply(&c.encode().unwrap(), &ops);
            if let Ok(decoded) = Config::decode(&damaged) {
                prop_assert_eq!(Config::decode(&decoded.encode().unwrap()).unwrap(), decoded);
            }
        }
    }

    #[test]
    fn object_lock_is_optional_and_checked() {
        let c = Config::new(RepoId([7; 32]), ChunkerSecret::from_bytes([9; 32]));
        let plain = c.encode().unwrap();
        assert!(!String::from_utf8_lossy(&plain).contains("object_lock"));
        assert_eq!(Config::decode(&plain).unwrap().object_lock, None);
        let mut locked = c.clone();
        locked.object_lock = Some(ObjectLock {
            days: 30,
            mode: RetentionMode::Compliance,
        });
        let bytes = locked.encode().unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            text.contains("\"object_lock\": {\n    \"days\": 30,\n    \"mode\": \"compliance\""),
            "{text}"
        );
        assert_eq!(Config::decode(&bytes).unwrap(), locked);
        for days in [0, OBJECT_LOCK_MAX_DAYS + 1] {
            locked.object_lock = Some(ObjectLock {
                days,
                mode: RetentionMode::Governance,
            });
            assert!(Config::decode(&locked.encode().unwrap()).is_err(), "{days}");
        }
        let odd = text.replace("compliance", "forever");
        assert!(Config::decode(odd.as_bytes()).is_err());
    }

    #[test]
    fn out_of_range_sizes_are_refused() {
        let mut c = Config::new(RepoId([0; 32]), ChunkerSecret::from_bytes([1; 32]));
        c.chunker.text.max = 1;
        assert!(Config::decode(&c.encode().unwrap()).is_err());
    }

    /// A config written before version 2 (no `tree`, a `seed`) still reads, as version 1.
    #[test]
    fn version_1_config_reads() {
        let json = br#"{"version": 1, "id": "0000000000000000000000000000000000000000000000000000000000000000",
            "chunker": {"seed": 42, "text": {"min": 16384, "avg": 65536, "max": 262144},
                        "media": {"min": 262144, "avg": 1048576, "max": 4194304}},
            "pack_size": 16777216, "compression_level": 3}"#;
        let c = Config::decode(json).unwrap();
        assert_eq!(
            (c.version, c.chunker.seed, c.chunker.secret),
            (1, Some(42), None)
        );
        assert_eq!(c.chunker.tree, crate::chunker::default_tree_sizes());
    }

    /// The version says which gear derivation applies; a config mixing or lacking them is refused.
    #[test]
    fn gear_key_must_match_the_version() {
        let secret = Some(ChunkerSecret::from_bytes([7; 32]));
        let mut c = Config::new(RepoId([0; 32]), ChunkerSecret::from_bytes([7; 32]));
        c.chunker.seed = Some(1);
        assert!(
            Config::decode(&c.encode().unwrap()).is_err(),
            "seed and secret"
        );
        c.chunker.seed = None;
        c.chunker.secret = None;
        assert!(Config::decode(&c.encode().unwrap()).is_err(), "neither");
        let mut old = Config::new_seeded(RepoId([0; 32]), 1);
        old.chunker.secret = secret;
        assert!(
            Config::decode(&old.encode().unwrap()).is_err(),
            "version 1 with a secret"
        );
        old.chunker.seed = None;
        assert!(
            Config::decode(&old.encode().unwrap()).is_err(),
            "version 1 with only a secret"
        );
        let mut newer = Config::new(RepoId([0; 32]), ChunkerSecret::from_bytes([7; 32]));
        newer.version = 3;
        assert!(matches!(
            Config::decode(&newer.encode().unwrap()),
            Err(FormatError::UnsupportedVersion {
                what: "config",
                found: 3
            })
        ));
    }

    #[test]
    fn secret_is_hex_and_not_debug_printed() {
        let c = Config::new(RepoId([0; 32]), ChunkerSecret::from_bytes([0xab; 32]));
        let json = String::from_utf8(c.encode().unwrap()).unwrap();
        assert!(json.contains(&"ab".repeat(32)), "{json}");
        assert!(!format!("{c:?}").contains("abab"));
        let bad = json.replace(&"ab".repeat(32), "xyz");
        assert!(Config::decode(bad.as_bytes()).is_err());
    }
}
