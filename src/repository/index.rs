//! The in-memory master index: where every blob of the repository is stored.

use crate::format::blob_entry::{BlobEntry, BlobType, Compression};
use crate::format::index::{IndexFile, PackRecord};
use crate::ids::{BlobId, IndexId, PackId};
use std::collections::HashMap;

/// Where one blob lives. Kept small: the index holds an entry per blob of the repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Location {
    pack: u32,
    offset: u32,
    stored_len: u32,
    raw_len: u32,
    blob_type: BlobType,
    compression: Compression,
}

#[derive(Default)]
pub struct MasterIndex {
    blobs: HashMap<BlobId, Location>,
    packs: Vec<(PackId, u32)>,
    pack_pos: HashMap<PackId, u32>,
    files: Vec<IndexId>,
}

/// A blob's entry together with its pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobLocation {
    pub pack: PackId,
    pub entry: BlobEntry,
}

impl MasterIndex {
    /// Merges index files, dropping those that another file supersedes.
    pub fn from_files(files: Vec<(IndexId, IndexFile)>) -> Self {
        let superseded: std::collections::HashSet<IndexId> = files
            .iter()
            .flat_map(|(_, f)| f.supersedes.iter().copied())
            .collect();
        let mut idx = MasterIndex::default();
        for (id, f) in files {
            if superseded.contains(&id) {
                continue;
            }
            idx.files.push(id);
            for p in f.packs {
                idx.add_pack(&p);
            }
        }
        idx
    }

    pub fn add_pack(&mut self, p: &PackRecord) {
        let pos = *self.pack_pos.entry(p.id).or_insert_with(|| {
            self.packs.push((p.id, p.size));
            (self.packs.len() - 1) as u32
        });
        for b in &p.blobs {
            self.blobs.entry(b.id).or_insert(Location {
                pack: pos,
                offset: b.offset,
                stored_len: b.stored_len,
                raw_len: b.raw_len,
                blob_type: b.blob_type,
                compression: b.compression,
            });
        }
    }

    pub fn contains(&self, id: &BlobId) -> bool {
        self.blobs.contains_key(id)
    }

    pub fn get(&self, id: &BlobId) -> Option<BlobLocation> {
        let l = self.blobs.get(id)?;
        let (pack, _) = *self.packs.get(l.pack as usize)?;
        Some(BlobLocation {
            pack,
            entry: BlobEntry {
                blob_type: l.blob_type,
                compression: l.compression,
                offset: l.offset,
                stored_len: l.stored_len,
                raw_len: l.raw_len,
                id: *id,
            },
        })
    }

    pub fn blob_count(&self) -> usize {
        self.blobs.len()
    }

    pub fn packs(&self) -> &[(PackId, u32)] {
        &self.packs
    }

    pub fn has_pack(&self, id: &PackId) -> bool {
        self.pack_pos.contains_key(id)
    }

    pub fn index_files(&self) -> &[IndexId] {
        &self.files
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(pack: u8, blobs: &[u8]) -> PackRecord {
        PackRecord {
            id: PackId([pack; 32]),
            size: 10_000,
            blobs: blobs
                .iter()
                .enumerate()
                .map(|(i, b)| BlobEntry {
                    blob_type: BlobType::Data,
                    compression: Compression::None,
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
}
