//! Tree blobs are read a pack at a time. A walk over snapshot trees wants hundreds or thousands of
//! tree blobs, most of them stored together in a few tree packs; read one by one from a remote
//! store, each costs a request and a round trip (468 trees took 24.6 s to check through Garage,
//! 44 ms each). So when a tree blob is missing from the cache and its pack is no larger than the
//! store's read span, the whole pack is read in one request and every tree blob in it that opens
//! is kept: in the local cache, or, for a command that runs without one (`check`, `--no-cache`),
//! in memory for the rest of the command, up to [`MEMORY_BUDGET`].
//!
//! Nothing is trusted for being kept: a blob is kept only if it opens against its own entry (its
//! AEAD tag and its keyed ID check), and only if the index places it in this very pack at this
//! offset, since the cache and the memory store are read back against the index's entry.

use super::index::BlobLocation;
use super::Repository;
use crate::backend::FileType;
use crate::format::blob_entry::BlobType;
use crate::ids::BlobId;
use std::collections::HashMap;
use std::sync::Mutex;

/// The most sealed tree bytes a command without a cache keeps in memory; past it the store starts
/// over (a walk wants trees in roughly the order their packs were written).
pub const MEMORY_BUDGET: usize = 64 << 20;

/// Sealed tree blobs read with their pack, for commands without a cache.
#[derive(Default)]
pub(super) struct TreeMemory {
    blobs: Mutex<(HashMap<BlobId, Vec<u8>>, usize)>,
}

impl TreeMemory {
    pub fn get(&self, id: &BlobId) -> Option<Vec<u8>> {
        crate::sync::unpoisoned(&self.blobs).0.get(id).cloned()
    }

    fn put(&self, items: Vec<(BlobId, Vec<u8>)>) {
        let mut g = crate::sync::unpoisoned(&self.blobs);
        let adding: usize = items.iter().map(|(_, b)| b.len()).sum();
        if g.1 + adding > MEMORY_BUDGET {
            g.0.clear();
            g.1 = 0;
        }
        for (id, sealed) in items {
            g.1 += sealed.len();
            if let Some(old) = g.0.insert(id, sealed) {
                g.1 -= old.len();
            }
        }
    }
}

impl Repository {
    /// The plaintext of the tree blob at `loc`, read with every other tree blob of its pack in one
    /// request, all of which are kept. `None` when that is not worth it or did not work (the pack
    /// is larger than the store's read span, the read failed, the header or the wanted blob does
    /// not open): the caller then reads the blob alone, which reports any damage as usual.
    pub(super) fn read_tree_with_its_pack(&self, loc: &BlobLocation) -> Option<Vec<u8>> {
        let size = u64::from(self.index.pack_size(&loc.pack)?);
        if size > self.backend.read_span() {
            return None;
        }
        let name = loc.pack.to_hex();
        let bytes = match self.backend.read_range(FileType::Pack, &name, 0, size) {
            Ok(b) => b,
            Err(e) => {
                log::debug!("reading tree pack {name} whole: {e}");
                return None;
            }
        };
        let entries = match self.parse_pack(&bytes) {
            Ok(e) => e,
            Err(e) => {
                log::debug!("tree pack {name}: {e:#}");
                return None;
            }
        };
        let mut keep = Vec::new();
        for e in entries.iter().filter(|e| e.blob_type == BlobType::Tree) {
            // Only the copy the index points at is read back against the index's entry.
            let here = self
                .index
                .get(&e.id)
                .is_some_and(|l| l.pack == loc.pack && l.entry == *e);
            let start = e.offset as usize;
            let Some(sealed) = start
                .checked_add(e.stored_len as usize)
                .and_then(|end| bytes.get(start..end))
            else {
                continue;
            };
            if here && self.open_blob(e, sealed).is_ok() {
                keep.push((e.id, sealed.to_vec()));
            }
        }
        let wanted = keep
            .iter()
            .find(|(id, _)| *id == loc.entry.id)
            .and_then(|(_, sealed)| self.open_blob(&loc.entry, sealed).ok());
        if self.cache.is_some() {
            self.cache_trees(&keep);
        } else {
            self.tree_memory.put(keep);
        }
        wanted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_memory_store_starts_over_past_its_budget() {
        let m = TreeMemory::default();
        let id = |b: u8| BlobId([b; 32]);
        m.put(vec![(id(1), vec![0; MEMORY_BUDGET / 2])]);
        m.put(vec![(id(2), vec![0; MEMORY_BUDGET / 4])]);
        assert!(m.get(&id(1)).is_some() && m.get(&id(2)).is_some());
        m.put(vec![(id(3), vec![0; MEMORY_BUDGET / 2])]);
        assert!(m.get(&id(1)).is_none() && m.get(&id(2)).is_none());
        assert_eq!(m.get(&id(3)).map(|b| b.len()), Some(MEMORY_BUDGET / 2));
    }
}
