//! The gear tables FastCDC hashes with (design.md §3, "Gear table").
//!
//! The 2020 cut loop consumes two bytes per step and takes two tables: `gear` and `gear_ls`, where
//! `gear_ls[b] == gear[b] << 1` (the crate's own tables have that relation, and the loop equals the
//! one-byte-per-step gear hash only when it holds).

use super::{ChunkerConfig, ChunkerSecret};
use fastcdc::v2020::get_gear_with_seed;
use zeroize::Zeroize;

/// BLAKE3 input that separates the gear table from every other use of the chunker secret.
pub const GEAR_CONTEXT: &[u8] = b"backstock 2025 FastCDC gear table v2";

/// A pair of gear tables; secret, so zeroized on drop.
pub struct GearTable {
    pub(super) gear: Box<[u64; 256]>,
    pub(super) gear_ls: Box<[u64; 256]>,
}

impl GearTable {
    /// Config version 1: the crate's public table with a 64-bit seed XORed into every entry.
    pub fn from_seed(seed: u64) -> Self {
        let (gear, gear_ls) = get_gear_with_seed(seed);
        GearTable { gear, gear_ls }
    }

    /// Config version 2: all 256 entries are output of keyed BLAKE3 (key = the secret, input =
    /// [`GEAR_CONTEXT`], extendable output read as 256 little-endian u64), so no part of the table,
    /// not even how entries relate to each other, is public.
    pub fn from_secret(secret: &ChunkerSecret) -> Self {
        let mut bytes = [0u8; 256 * 8];
        blake3::Hasher::new_keyed(secret.expose())
            .update(GEAR_CONTEXT)
            .finalize_xof()
            .fill(&mut bytes);
        let mut gear = Box::new([0u64; 256]);
        for (g, b) in gear.iter_mut().zip(bytes.chunks_exact(8)) {
            let mut word = [0u8; 8];
            word.copy_from_slice(b);
            *g = u64::from_le_bytes(word);
            word.zeroize();
        }
        bytes.zeroize();
        let mut gear_ls = Box::new([0u64; 256]);
        for (l, g) in gear_ls.iter_mut().zip(gear.iter()) {
            *l = g << 1;
        }
        GearTable { gear, gear_ls }
    }

    /// The table a checked config names: its secret (version 2) or its seed (version 1). A config
    /// with neither, which `Config::check` refuses, would get the crate's public table.
    pub fn for_config(c: &ChunkerConfig) -> Self {
        match (&c.secret, c.seed) {
            (Some(secret), _) => Self::from_secret(secret),
            (None, seed) => Self::from_seed(seed.unwrap_or(0)),
        }
    }
}

impl Drop for GearTable {
    fn drop(&mut self) {
        self.gear.zeroize();
        self.gear_ls.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The two-table loop relies on `gear_ls == gear << 1`; the crate's tables (seeded or not) hold
    /// it, and so must the derived one.
    #[test]
    fn shifted_table_is_the_table_shifted() {
        for t in [
            GearTable::from_seed(0),
            GearTable::from_seed(0x5eed_0123_4567_89ab),
            GearTable::from_secret(&ChunkerSecret::from_bytes([3; 32])),
        ] {
            for i in 0..256 {
                assert_eq!(t.gear_ls[i], t.gear[i] << 1, "entry {i}");
            }
        }
    }

    /// The derivation is pinned: a change would move every boundary of every version 2 repository.
    #[test]
    fn derived_table_is_pinned() {
        let t = GearTable::from_secret(&ChunkerSecret::from_bytes([0x11; 32]));
        assert_eq!(
            [t.gear[0], t.gear[1], t.gear[255]],
            GOLDEN_DERIVED,
            "derived gear table changed"
        );
    }

    const GOLDEN_DERIVED: [u64; 3] = [
        12175051592038495342,
        5772364550763157930,
        14570804511299532563,
    ];

    #[test]
    fn secrets_give_different_tables() {
        let a = GearTable::from_secret(&ChunkerSecret::from_bytes([1; 32]));
        let b = GearTable::from_secret(&ChunkerSecret::from_bytes([2; 32]));
        let same = (0..256).filter(|&i| a.gear[i] == b.gear[i]).count();
        assert_eq!(same, 0);
    }
}
