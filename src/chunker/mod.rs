//! Content-defined chunking (FastCDC 2020, seeded gear tables) and the content class of a file.

pub mod classify;
pub mod stream;

pub use classify::{classify, Class};
pub use stream::StreamChunker;

use crate::format::config::ChunkSizes;
use fastcdc::v2020::{cut_gear, get_gear_with_seed, logarithm2, Normalization, MASKS};
use std::ops::Range;

/// A FastCDC chunker for one size class. Cheap to clone by reference; immutable.
pub struct Chunker {
    gear: Box<[u64; 256]>,
    gear_ls: Box<[u64; 256]>,
    sizes: ChunkSizes,
    masks: [u64; 4],
}

impl Chunker {
    /// `sizes` must have been checked (`Config::check`) to lie within the crate's limits.
    pub fn new(seed: u64, sizes: ChunkSizes) -> Self {
        let (gear, gear_ls) = get_gear_with_seed(seed);
        let bits = logarithm2(sizes.avg);
        let norm = Normalization::Level1.bits();
        let mask_s = MASKS[(bits + norm) as usize];
        let mask_l = MASKS[(bits - norm) as usize];
        Chunker {
            gear,
            gear_ls,
            sizes,
            masks: [mask_s, mask_l, mask_s << 1, mask_l << 1],
        }
    }

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
            &self.gear,
            &self.gear_ls,
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
    use crate::format::config::Config;
    use crate::ids::RepoId;

    fn pseudo_random(len: usize, seed: u8) -> Vec<u8> {
        let mut out = vec![0u8; len];
        blake3::Hasher::new()
            .update(&[seed])
            .finalize_xof()
            .fill(&mut out);
        out
    }

    /// Boundaries for a fixed seed and input are pinned: a change that moves them breaks dedup
    /// against every existing repository and must fail here.
    #[test]
    fn golden_boundaries() {
        let cfg = Config::new(RepoId([0; 32]), 0x5eed_0123_4567_89ab);
        // Repositories made with the first defaults (16/64/256 KiB text) must keep their boundaries.
        let data = pseudo_random(1 << 20, 7);
        let first_defaults = crate::format::config::ChunkSizes {
            min: 16 << 10,
            avg: 64 << 10,
            max: 256 << 10,
        };
        let text = Chunker::new(cfg.chunker.seed, first_defaults);
        let ends: Vec<usize> = text.chunks(&data).iter().map(|r| r.end).collect();
        assert_eq!(ends, GOLDEN_TEXT, "text-class boundaries changed");
        let text = Chunker::new(cfg.chunker.seed, cfg.chunker.text);
        let ends: Vec<usize> = text
            .chunks(&data[..128 << 10])
            .iter()
            .map(|r| r.end)
            .collect();
        assert_eq!(ends, GOLDEN_TEXT_8K, "text-class boundaries changed");
        let big = pseudo_random(8 << 20, 9);
        let media = Chunker::new(cfg.chunker.seed, cfg.chunker.media);
        let ends: Vec<usize> = media.chunks(&big).iter().map(|r| r.end).collect();
        assert_eq!(ends, GOLDEN_MEDIA, "media-class boundaries changed");
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

    #[test]
    fn seed_changes_boundaries() {
        let cfg = Config::new(RepoId([0; 32]), 1);
        let data = pseudo_random(1 << 20, 1);
        let a = Chunker::new(1, cfg.chunker.text).chunks(&data);
        let b = Chunker::new(2, cfg.chunker.text).chunks(&data);
        assert_ne!(a, b);
    }

    #[test]
    fn insertion_only_changes_nearby_chunks() {
        let cfg = Config::new(RepoId([0; 32]), 3);
        let c = Chunker::new(3, cfg.chunker.text);
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
        let cfg = Config::new(RepoId([0; 32]), 3);
        let c = Chunker::new(3, cfg.chunker.text);
        let data = pseudo_random(500_000, 4);
        let ends: Vec<usize> = (1..=5000).map(|i| i * 100).collect();
        let chunks = c.chunks_at_boundaries(&data, &ends);
        assert_eq!(chunks.last().map(|r| r.end), Some(data.len()));
        for r in &chunks {
            assert_eq!(r.end % 100, 0);
        }
    }
}
