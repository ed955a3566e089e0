//! The in-memory master index: where every blob of the repository is stored.
//!
//! Compact by design (the index of a large repository holds tens of millions of blobs): one sorted
//! vector of 36-byte entries keyed by the first 16 bytes of the blob ID, searched by binary search.
//! A 128-bit prefix of a keyed BLAKE3 is collision-free in practice (with 10^8 blobs the chance of
//! any collision is about 10^-23, and the key is secret, so it cannot be provoked).

use crate::format::blob_entry::{BlobEntry, BlobType, Compression};
use crate::format::index::{IndexFile, PackRecord};
use crate::ids::{BlobId, IndexId, PackId};
use std::collections::{HashMap, HashSet};

const PREFIX: usize = 16;

/// Where one blob lives: 36 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    id: [u8; PREFIX],
    pack: u32,
    offset: u32,
    stored_len: u32,
    raw_len: u32,
    /// Bit 0: tree blob; bit 1: zstd.
    flags: u8,
}

/// The first `bits` (1..=24) bits of an ID prefix, as a number.
fn top_bits(p: &[u8; PREFIX], bits: u32) -> u32 {
    u32::from_be_bytes([p[0], p[1], p[2], p[3]])
        .checked_shr(32 - bits.clamp(1, 24))
        .unwrap_or(0)
}

fn prefix(id: &BlobId) -> [u8; PREFIX] {
    let mut p = [0u8; PREFIX];
    p.copy_from_slice(&id.0[..PREFIX]);
    p
}

/// Every blob of the live index files: where it is stored and how, in about 37 bytes per blob.
#[derive(Default)]
pub struct MasterIndex {
    entries: Vec<Entry>,
    /// Radix table over the first `bits` bits of the IDs: entries with prefix p lie in
    /// `entries[buckets[p]..buckets[p + 1]]`, so a lookup searches a handful of entries.
    buckets: Vec<u32>,
    bits: u32,
    packs: Vec<(PackId, u32)>,
    pack_pos: HashMap<PackId, u32>,
    files: Vec<IndexId>,
}

/// Builds a master index one index file at a time: each file's entries go straight into the compact
/// table, so at 10M blobs loading costs about the index's own 37 bytes per blob rather than every
/// decoded file at once. Entries of superseded files are dropped in place at the end.
#[derive(Default)]
pub struct IndexLoader {
    idx: MasterIndex,
    /// Each file added: its ID, the files it supersedes, and its entries' range.
    files: Vec<(IndexId, Vec<IndexId>, std::ops::Range<usize>)>,
}

impl IndexLoader {
    /// Adds the index file `id`; its entries count unless a later-added file supersedes it.
    pub fn add(&mut self, id: IndexId, f: &IndexFile) {
        let start = self.idx.entries.len();
        for p in &f.packs {
            self.idx.push_pack(p);
        }
        let end = self.idx.entries.len();
        self.files.push((id, f.supersedes.clone(), start..end));
    }

    /// The index of every file added that no other file added supersedes.
    pub fn finish(self) -> MasterIndex {
        self.finish_filtered(|_| true)
    }

    /// [`Self::finish`], keeping only entries whose pack passes `keep`.
    pub fn finish_filtered(self, keep: impl Fn(&PackId) -> bool) -> MasterIndex {
        let IndexLoader { mut idx, files } = self;
        let superseded: HashSet<IndexId> = files
            .iter()
            .flat_map(|(_, s, _)| s.iter().copied())
            .collect();
        let kept_packs: Vec<bool> = idx.packs.iter().map(|(p, _)| keep(p)).collect();
        // Ranges are in increasing order, so live entries move only towards the front.
        let mut kept = 0;
        for (id, _, r) in files {
            if superseded.contains(&id) {
                continue;
            }
            for i in r {
                let e = idx.entries[i];
                if kept_packs.get(e.pack as usize).copied().unwrap_or(false) {
                    idx.entries[kept] = e;
                    kept += 1;
                }
            }
            idx.files.push(id);
        }
        idx.entries.truncate(kept);
        idx.sort();
        idx
    }
}

/// A blob's entry together with its pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobLocation {
    /// The pack that holds it.
    pub pack: PackId,
    /// Its type, compression, offset and lengths in that pack.
    pub entry: BlobEntry,
}

impl MasterIndex {
    /// Merges index files, dropping those that another file supersedes.
    pub fn from_files(files: Vec<(IndexId, IndexFile)>) -> Self {
        let mut loader = IndexLoader::default();
        for (id, f) in files {
            loader.add(id, &f);
        }
        loader.finish()
    }

    /// Adds packs (e.g. written by this process) and re-sorts once.
    pub fn add_packs(&mut self, packs: &[PackRecord]) {
        self.entries
            .reserve(packs.iter().map(|p| p.blobs.len()).sum());
        for p in packs {
            self.push_pack(p);
        }
        self.sort();
    }

    fn push_pack(&mut self, p: &PackRecord) {
        let pos = *self.pack_pos.entry(p.id).or_insert_with(|| {
            self.packs.push((p.id, p.size));
            (self.packs.len() - 1) as u32
        });
        self.entries.extend(p.blobs.iter().map(|b| Entry {
            id: prefix(&b.id),
            pack: pos,
            offset: b.offset,
            stored_len: b.stored_len,
            raw_len: b.raw_len,
            flags: (b.blob_type == BlobType::Tree) as u8
                | (((b.compression == Compression::Zstd) as u8) << 1),
        }));
    }

    fn sort(&mut self) {
        // Any copy of a blob listed twice may be used.
        self.entries.sort_unstable_by_key(|e| e.id);
        self.entries.dedup_by(|a, b| a.id == b.id);
        self.entries.shrink_to_fit();
        // About 8 entries per bucket; the table costs 4 bytes per 8 blobs (0.5 byte per blob).
        let n = self.entries.len().max(1);
        self.bits = (usize::BITS - n.leading_zeros())
            .saturating_sub(3)
            .clamp(1, 24);
        let count = 1usize << self.bits;
        let mut buckets = Vec::with_capacity(count + 1);
        let mut i = 0usize;
        for b in 0..count {
            while i < self.entries.len() && (top_bits(&self.entries[i].id, self.bits) as usize) < b
            {
                i += 1;
            }
            buckets.push(i as u32);
        }
        buckets.push(self.entries.len() as u32);
        self.buckets = buckets;
    }

    fn find(&self, id: &BlobId) -> Option<&Entry> {
        if self.entries.is_empty() {
            return None;
        }
        let p = prefix(id);
        let b = top_bits(&p, self.bits) as usize;
        let (lo, hi) = match (self.buckets.get(b), self.buckets.get(b + 1)) {
            (Some(&lo), Some(&hi)) => (lo as usize, hi as usize),
            _ => (0, self.entries.len()),
        };
        let run = self.entries.get(lo..hi)?;
        run.binary_search_by(|e| e.id.cmp(&p)).ok().map(|i| &run[i])
    }

    /// Whether the index lists the blob.
    pub fn contains(&self, id: &BlobId) -> bool {
        self.find(id).is_some()
    }

    /// Where the blob is stored, if the index lists it.
    pub fn get(&self, id: &BlobId) -> Option<BlobLocation> {
        let e = self.find(id)?;
        let (pack, _) = *self.packs.get(e.pack as usize)?;
        Some(BlobLocation {
            pack,
            entry: BlobEntry {
                blob_type: if e.flags & 1 != 0 {
                    BlobType::Tree
                } else {
                    BlobType::Data
                },
                compression: if e.flags & 2 != 0 {
                    Compression::Zstd
                } else {
                    Compression::None
                },
                offset: e.offset,
                stored_len: e.stored_len,
                raw_len: e.raw_len,
                id: *id,
            },
        })
    }

    /// Blob entries listed.
    pub fn blob_count(&self) -> usize {
        self.entries.len()
    }

    /// Heap bytes held per blob entry (the packs table is per pack and small).
    pub fn entry_size() -> usize {
        std::mem::size_of::<Entry>()
    }

    /// Approximate heap bytes held by the index.
    pub fn memory_bytes(&self) -> usize {
        self.entries.capacity() * Self::entry_size()
            + self.buckets.capacity() * std::mem::size_of::<u32>()
            + self.packs.capacity() * std::mem::size_of::<(PackId, u32)>()
            + self.pack_pos.capacity() * (std::mem::size_of::<(PackId, u32)>() + 8)
    }

    /// Every pack the index lists, with its size in bytes.
    pub fn packs(&self) -> &[(PackId, u32)] {
        &self.packs
    }

    /// The size in bytes of a pack the index lists.
    pub fn pack_size(&self, id: &PackId) -> Option<u32> {
        let pos = *self.pack_pos.get(id)?;
        self.packs.get(pos as usize).map(|(_, size)| *size)
    }

    /// Whether the index lists the pack.
    pub fn has_pack(&self, id: &PackId) -> bool {
        self.pack_pos.contains_key(id)
    }

    /// The index files it was built from.
    pub fn index_files(&self) -> &[IndexId] {
        &self.files
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rec(pack: u8, blobs: &[u8]) -> PackRecord {
        PackRecord {
            id: PackId([pack; 32]),
            size: 10_000,
            blobs: blobs
                .iter()
                .enumerate()
                .map(|(i, b)| BlobEntry {
                    blob_type: if b % 2 == 0 {
                        BlobType::Data
                    } else {
                        BlobType::Tree
                    },
                    compression: if b % 3 == 0 {
                        Compression::Zstd
                    } else {
                        Compression::None
                    },
                    offset: i as u32 * 100,
                    stored_len: 100,
                    raw_len: 60,
                    id: BlobId([*b; 32]),
                })
                .collect(),
        }
    }

    #[test]
    fn superseded_files_are_ignored() {
        let a = IndexFile {
            supersedes: vec![],
            packs: vec![rec(1, &[1, 2])],
        };
        let b = IndexFile {
            supersedes: vec![IndexId([1; 32])],
            packs: vec![rec(2, &[2, 3])],
        };
        let idx = MasterIndex::from_files(vec![(IndexId([1; 32]), a), (IndexId([2; 32]), b)]);
        assert!(!idx.contains(&BlobId([1; 32])));
        assert_eq!(idx.get(&BlobId([3; 32])).unwrap().entry.offset, 100);
        assert_eq!(idx.get(&BlobId([2; 32])).unwrap().pack, PackId([2; 32]));
        assert_eq!(idx.index_files(), &[IndexId([2; 32])]);
    }

    #[test]
    fn empty_index_finds_nothing() {
        let idx = MasterIndex::default();
        assert!(!idx.contains(&BlobId([9; 32])));
        let idx = MasterIndex::from_files(vec![]);
        assert!(idx.get(&BlobId([0; 32])).is_none());
    }

    #[test]
    fn entries_stay_within_40_bytes() {
        assert!(
            MasterIndex::entry_size() <= 40,
            "{}",
            MasterIndex::entry_size()
        );
    }

    proptest! {
        /// Every blob added is found with exactly its entry; absent IDs are not.
        #[test]
        fn lookups_match_the_records(ids in proptest::collection::hash_set(any::<[u8; 32]>(), 1..300), probe in any::<[u8; 32]>()) {
            let ids: Vec<[u8; 32]> = ids.into_iter().collect();
            let packs: Vec<PackRecord> = ids.chunks(7).enumerate().map(|(p, chunk)| PackRecord {
                id: PackId([p as u8; 32]),
                size: 1 << 20,
                blobs: chunk.iter().enumerate().map(|(i, id)| BlobEntry {
                    blob_type: if id[0] % 2 == 0 { BlobType::Data } else { BlobType::Tree },
                    compression: if id[1] % 2 == 0 { Compression::Zstd } else { Compression::None },
                    offset: i as u32 * 1000,
                    stored_len: 500,
                    raw_len: if id[1] % 2 == 0 { 900 } else { 460 },
                    id: BlobId(*id),
                }).collect(),
            }).collect();
            let mut idx = MasterIndex::default();
            idx.add_packs(&packs);
            for p in &packs {
                for b in &p.blobs {
                    prop_assert_eq!(idx.get(&b.id), Some(BlobLocation { pack: p.id, entry: *b }));
                }
            }
            prop_assert_eq!(idx.contains(&BlobId(probe)), ids.contains(&probe));
        }
    }
}
