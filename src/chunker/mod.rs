//! Content-defined chunking (FastCDC 2020 with secret gear tables) and the content class of a file.

pub(crate) mod classify;
mod config;
mod gear;
mod stream;

pub use classify::{classify, Class};
#[cfg(test)]
pub(crate) use config::default_tree_sizes;
pub use config::{ChunkerConfig, ChunkerSecret};
pub use gear::{GearTable, GEAR_CONTEXT};
pub use stream::StreamChunker;

use fastcdc::v2020::{cut_gear, logarithm2, Normalization, MASKS};
use std::ops::Range;
use std::sync::Arc;

/// The smallest, average and largest chunk a chunker cuts, in bytes (stored in the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChunkSizes {
    /// No chunk is shorter, except the last of a file.
    pub min: u32,
    /// The size the cut points aim at on average.
    pub avg: u32,
    /// No chunk is longer.
    pub max: u32,
}

/// A FastCDC chunker for one size class. Immutable; the size classes of a repository share a table.
pub struct Chunker {
    table: Arc<GearTable>,
    sizes: ChunkSizes,
    masks: [u64; 4],
}

impl Chunker {
    /// `sizes` must have been checked (`Config::check`) to lie within the crate's limits.
    pub fn new(table: Arc<GearTable>, sizes: ChunkSizes) -> Self {
        let bits = logarithm2(sizes.avg);
        let norm = Normalization::Level1.bits();
        let mask_s = MASKS[(bits + norm) as usize];
        let mask_l = MASKS[(bits - norm) as usize];
        Chunker {
            table,
            sizes,
            masks: [mask_s, mask_l, mask_s << 1, mask_l << 1],
        }
    }

    /// The sizes this chunker cuts to.
    pub fn sizes(&self) -> ChunkSizes {
        self.sizes
    }

    /// Length of the first chunk of `data` (all of it when shorter than the minimum).
    /// The result depends only on the first `max` bytes.
    pub fn cut(&self, data: &[u8]) -> usize {
        if data.is_empty() {
            return 0;
        }
        let (_, n) = cut_gear(
            data,
            self.sizes.min as usize,
            self.sizes.avg as usize,
            self.sizes.max as usize,
            self.masks[0],
            self.masks[1],
            self.masks[2],
            self.masks[3],
            &self.table.gear,
            &self.table.gear_ls,
        );
        n.max(1).min(data.len())
    }

    /// All chunks of a complete buffer.
    pub fn chunks(&self, data: &[u8]) -> Vec<Range<usize>> {
        let mut out = Vec::with_capacity(data.len() / self.sizes.avg as usize + 1);
        let mut pos = 0;
        while pos < data.len() {
            let n = self.cut(&data[pos..]);
            out.push(pos..pos + n);
            pos += n;
        }
        out
    }

    /// Chunks of a serialized tree stream, each cut point moved forward to the next node boundary
    /// (`ends` are the nodes' end offsets, increasing, the last one equal to `data.len()`).
    pub fn chunks_at_boundaries(&self, data: &[u8], ends: &[usize]) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        let mut pos = 0;
        while pos < data.len() {
            let c = pos + self.cut(&data[pos..]);
            let i = ends.partition_point(|&e| e < c);
            let end = ends.get(i).copied().unwrap_or(data.len());
            out.push(pos..end);
            pos = end;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::config::{ChunkerSecret, Config};
    use crate::ids::RepoId;

    fn pseudo_random(len: usize, seed: u8) -> Vec<u8> {
        let mut out = vec![0u8; len];
        blake3::Hasher::new()
            .update(&[seed])
            .finalize_xof()
            .fill(&mut out);
        out
    }

    fn chunker(cfg: &Config, sizes: ChunkSizes) -> Chunker {
        Chunker::new(Arc::new(GearTable::for_config(&cfg.chunker)), sizes)
    }

    fn ends(c: &Chunker, data: &[u8]) -> Vec<usize> {
        c.chunks(data).iter().map(|r| r.end).collect()
    }

    /// Boundaries for a fixed seed and input are pinned: a change that moves them breaks dedup
    /// against every existing version 1 repository and must fail here.
    #[test]
    fn golden_boundaries_seeded() {
        let cfg = Config::new_seeded(RepoId([0; 32]), 0x5eed_0123_4567_89ab);
        // Repositories made with the first defaults (16/64/256 KiB text) must keep their boundaries.
        let data = pseudo_random(1 << 20, 7);
        let first_defaults = ChunkSizes {
            min: 16 << 10,
            avg: 64 << 10,
            max: 256 << 10,
        };
        assert_eq!(
            ends(&chunker(&cfg, first_defaults), &data),
            GOLDEN_TEXT,
            "text-class boundaries changed"
        );
        let text = chunker(&cfg, cfg.chunker.text);
        assert_eq!(
            ends(&text, &data[..128 << 10]),
            GOLDEN_TEXT_8K,
            "text-class boundaries changed"
        );
        let big = pseudo_random(8 << 20, 9);
        let media = chunker(&cfg, cfg.chunker.media);
        assert_eq!(
            ends(&media, &big),
            GOLDEN_MEDIA,
            "media-class boundaries changed"
        );
    }

    const GOLDEN_TEXT: &[usize] = &[
        140188, 181047, 257423, 308806, 411326, 460503, 480898, 562531, 699607, 794896, 889801,
        1002149, 1048576,
    ];
    const GOLDEN_TEXT_8K: &[usize] = &[
        11033, 22199, 24406, 41560, 47839, 58441, 74706, 83227, 91674, 116042, 124351, 131072,
    ];
    const GOLDEN_MEDIA: &[usize] = &[
        2017738, 3260871, 3913620, 5087801, 6411718, 7888847, 8388608,
    ];

    /// The same for version 2 (gear table derived from the secret): pinned for every size class.
    #[test]
    fn golden_boundaries_secret() {
        let cfg = Config::new(RepoId([0; 32]), ChunkerSecret::from_bytes([0x5e; 32]));
        let data = pseudo_random(128 << 10, 7);
        assert_eq!(
            ends(&chunker(&cfg, cfg.chunker.text), &data),
            GOLDEN_SECRET_TEXT,
            "text-class boundaries changed"
        );
        assert_eq!(
            ends(&chunker(&cfg, cfg.chunker.tree), &data[..32 << 10]),
            GOLDEN_SECRET_TREE,
            "tree-class boundaries changed"
        );
        let big = pseudo_random(8 << 20, 9);
        assert_eq!(
            ends(&chunker(&cfg, cfg.chunker.media), &big),
            GOLDEN_SECRET_MEDIA,
            "media-class boundaries changed"
        );
    }

    const GOLDEN_SECRET_TEXT: &[usize] = &[
        10274, 28776, 37537, 40958, 52355, 65454, 74406, 87129, 94553, 99164, 108947, 120203,
        122529, 131072,
    ];
    const GOLDEN_SECRET_TREE: &[usize] = &[
        677, 3373, 6843, 10095, 12883, 15686, 17687, 21378, 24240, 26714, 28776, 30177, 32768,
    ];
    const GOLDEN_SECRET_MEDIA: &[usize] = &[
        1620955, 2967376, 4376759, 5488717, 6354105, 6832868, 8388608,
    ];

    /// FastCDC 2020 as design.md §3 states it, one byte per step: the crate's two-bytes-per-step
    /// loop must cut at the same place with either kind of table.
    fn reference_cut(data: &[u8], s: ChunkSizes, gear: &[u64; 256]) -> usize {
        let (min, avg, max) = (s.min as usize, s.avg as usize, s.max as usize);
        if data.len() <= min {
            return data.len();
        }
        let end = data.len().min(max);
        let normal = avg.min(end) / 2 * 2;
        let bits = f64::from(s.avg).log2().round() as usize;
        let (mask_s, mask_l) = (MASKS[bits + 1], MASKS[bits - 1]);
        let mut h = 0u64;
        for (i, &b) in data.iter().enumerate().take(end / 2 * 2).skip(min / 2 * 2) {
            h = (h << 1).wrapping_add(gear[b as usize]);
            let mask = if i < normal { mask_s } else { mask_l };
            if h & mask == 0 {
                return i;
            }
        }
        end
    }

    #[test]
    fn crate_loop_matches_the_documented_loop() {
        let tables = [
            GearTable::from_seed(0x5eed),
            GearTable::from_secret(&ChunkerSecret::from_bytes([9; 32])),
        ];
        let cfg = Config::new(RepoId([0; 32]), ChunkerSecret::from_bytes([9; 32]));
        let data = pseudo_random(600 << 10, 5);
        for table in tables {
            let gear = *table.gear;
            let table = Arc::new(table);
            for sizes in [cfg.chunker.text, cfg.chunker.tree] {
                let c = Chunker::new(table.clone(), sizes);
                let mut pos = 0;
                let mut cuts = 0;
                while pos < data.len() {
                    let rest = &data[pos..];
                    let n = c.cut(rest);
                    assert_eq!(n, reference_cut(rest, sizes, &gear), "at {pos}");
                    pos += n;
                    cuts += 1;
                }
                assert!(cuts > 10);
            }
        }
    }

    #[test]
    fn key_changes_boundaries() {
        let sizes = Config::new_seeded(RepoId([0; 32]), 1).chunker.text;
        let data = pseudo_random(1 << 20, 1);
        let with = |t: GearTable| Chunker::new(Arc::new(t), sizes).chunks(&data);
        assert_ne!(with(GearTable::from_seed(1)), with(GearTable::from_seed(2)));
        let a = ChunkerSecret::from_bytes([1; 32]);
        let b = ChunkerSecret::from_bytes([2; 32]);
        assert_ne!(
            with(GearTable::from_secret(&a)),
            with(GearTable::from_secret(&b))
        );
    }

    #[test]
    fn insertion_only_changes_nearby_chunks() {
        let cfg = Config::new(RepoId([0; 32]), ChunkerSecret::from_bytes([3; 32]));
        let c = chunker(&cfg, cfg.chunker.text);
        let data = pseudo_random(2 << 20, 3);
        let mut edited = data.clone();
        edited.splice(1_000_000..1_000_000, b"inserted bytes".iter().copied());
        let hashes = |d: &[u8]| -> std::collections::HashSet<[u8; 32]> {
            c.chunks(d)
                .into_iter()
                .map(|r| *blake3::hash(&d[r]).as_bytes())
                .collect()
        };
        let a = hashes(&data);
        let b = hashes(&edited);
        let new = b.difference(&a).count();
        assert!(new <= 3, "{new} chunks changed");
    }

    #[test]
    fn boundaries_snap_to_nodes() {
        let cfg = Config::new(RepoId([0; 32]), ChunkerSecret::from_bytes([3; 32]));
        let c = chunker(&cfg, cfg.chunker.text);
        let data = pseudo_random(500_000, 4);
        let ends: Vec<usize> = (1..=5000).map(|i| i * 100).collect();
        let chunks = c.chunks_at_boundaries(&data, &ends);
        assert_eq!(chunks.last().map(|r| r.end), Some(data.len()));
        for r in &chunks {
            assert_eq!(r.end % 100, 0);
        }
    }
}
