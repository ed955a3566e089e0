//! The master index built from hostile (decodable) index files: superseded files, packs listed
//! twice, blobs in several packs, empty files (design.md §5). Lookups must find every blob of every
//! file that is not superseded, at one of the places a live file lists, and nothing else.
//!
//! Input: a sequence of chunks, each a u16 length (little-endian) and that many bytes of an index
//! payload for `IndexFile::decode`; chunks that do not decode are skipped. Each file's ID is derived
//! from its position, and its `supersedes` list is rewritten to point at earlier files' IDs (by the
//! listed IDs' first byte), so that supersession between the files actually happens.
#![no_main]

use backstock::ids::{BlobId, IndexId, PackId};
use backstock::repository::index::{IndexLoader, MasterIndex};
use libfuzzer_sys::fuzz_target;

#[path = "common/index_files.rs"]
mod index_files;
use std::collections::{HashMap, HashSet};

fuzz_target!(|data: &[u8]| {
    let files = index_files::index_files(data, 16);
    let superseded: HashSet<IndexId> = files
        .iter()
        .flat_map(|(_, f)| f.supersedes.iter().copied())
        .collect();
    // Where each live blob may be found.
    let mut places: HashMap<[u8; 16], HashSet<(PackId, u32)>> = HashMap::new();
    for (id, f) in &files {
        if superseded.contains(id) {
            continue;
        }
        for p in &f.packs {
            for b in &p.blobs {
                let mut k = [0u8; 16];
                k.copy_from_slice(&b.id.0[..16]);
                places.entry(k).or_default().insert((p.id, b.offset));
            }
        }
    }
    let mut loader = IndexLoader::default();
    for (id, f) in &files {
        loader.add(*id, f);
    }
    let idx: MasterIndex = loader.finish();
    assert_eq!(idx.blob_count(), places.len());
    for (id, f) in &files {
        for p in &f.packs {
            for b in &p.blobs {
                let mut k = [0u8; 16];
                k.copy_from_slice(&b.id.0[..16]);
                match (places.get(&k), idx.get(&b.id)) {
                    (Some(live), Some(loc)) => {
                        assert!(live.contains(&(loc.pack, loc.entry.offset)), "wrong place");
                    }
                    (None, None) => assert!(superseded.contains(id)),
                    (live, found) => panic!("live {:?} but found {:?}", live.is_some(), found.is_some()),
                }
            }
        }
    }
    assert!(idx.get(&BlobId([0xEE; 32])).is_none() || places.contains_key(&[0xEE; 16]));
    // The same files in the other order give the same answers.
    let rev = MasterIndex::from_files(files.iter().rev().cloned().collect());
    assert_eq!(rev.blob_count(), idx.blob_count());
});
