//! Prune's accounting (`maintenance::prune_plan::Plan::new`) on hostile (decodable) index files,
//! a used-blob set and a store listing that disagree with them: packs missing, of another size,
//! listed twice, unindexed. Whatever it decides must keep every used blob: each has exactly one
//! chosen copy in a stored pack that is kept or repacked, and nothing used is deleted; or it refuses.
//!
//! Input: byte 0 picks which blobs are used (bit i of the blob ID's first byte against it), byte 1
//! which packs are missing or resized, byte 2 the unused-space limit; then chunks as in
//! `fuzz_index_loader`: a u16 length and an index payload for `IndexFile::decode`.
#![no_main]

use backstock::ids::{BlobId, IndexId, PackId};
use backstock::prune_plan::{Limits, Plan};
use libfuzzer_sys::fuzz_target;

#[path = "common/index_files.rs"]
mod index_files;
use std::collections::{HashMap, HashSet};

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let (used_sel, store_sel, limit) = (data[0], data[1], data[2]);
    let files = index_files::index_files(&data[3..], 8);
    let superseded: HashSet<IndexId> = files
        .iter()
        .flat_map(|(_, f)| f.supersedes.iter().copied())
        .collect();
    let live = || {
        files
            .iter()
            .filter(|(id, _)| !superseded.contains(id))
            .flat_map(|(_, f)| f.packs.iter())
    };
    let used: HashSet<BlobId> = files
        .iter()
        .flat_map(|(_, f)| f.packs.iter().flat_map(|p| p.blobs.iter()))
        .map(|b| b.id)
        .filter(|id| used_sel & (1 << (id.0[0] % 8)) != 0)
        .collect();
    // The store: live packs at their indexed size, except those the selector drops or resizes,
    // plus one pack no index lists.
    let mut stored: HashMap<String, u64> = HashMap::new();
    for p in live() {
        match (store_sel >> (p.id.0[0] % 4 * 2)) & 3 {
            0 => {}
            1 => {
                stored.insert(p.id.to_hex(), p.size as u64 + 1);
            }
            _ => {
                stored.insert(p.id.to_hex(), p.size as u64);
            }
        }
    }
    let stray = PackId([0xAB; 32]);
    stored.insert(stray.to_hex(), 1234);
    let limits = Limits {
        max_unused_percent: limit as f64 / 2.0,
        max_repack: (limit & 1 == 1).then_some(limit as u64 * 10_000),
    };
    let present = |p: &PackId, size: u32| stored.get(&p.to_hex()) == Some(&(size as u64));
    let Ok(plan) = Plan::new(&files, &used, &stored, &limits) else {
        // Refusing is right only when some used blob is in no live stored pack.
        let available: HashSet<BlobId> = live()
            .filter(|p| present(&p.id, p.size))
            .flat_map(|p| p.blobs.iter().map(|b| b.id))
            .collect();
        assert!(used.iter().any(|b| !available.contains(b)), "refused though nothing is lost");
        return;
    };
    let delete: HashSet<usize> = plan.delete.iter().copied().collect();
    let repack: HashSet<usize> = plan.repack.iter().copied().collect();
    assert!(delete.is_disjoint(&repack));
    let mut chosen: HashMap<BlobId, usize> = HashMap::new();
    for (i, p) in plan.packs.iter().enumerate() {
        if delete.contains(&i) {
            assert!(p.used.is_empty(), "a pack holding a used blob is deleted");
        }
        if repack.contains(&i) {
            assert!(!p.used.is_empty() && p.unused_bytes > 0);
        }
        for b in &p.used {
            assert!(p.present, "a used blob's chosen copy is in a pack that is not stored");
            assert!(used.contains(&b.id));
            assert!(chosen.insert(b.id, i).is_none(), "a used blob chosen twice");
        }
    }
    assert_eq!(chosen.len(), used.len(), "a used blob has no chosen copy");
    // Unindexed: exactly the stored packs no live index file lists.
    let listed: HashSet<String> = live().map(|p| p.id.to_hex()).collect();
    let unindexed: HashSet<&String> = plan.unindexed.iter().map(|(n, _)| n).collect();
    for name in stored.keys() {
        assert_eq!(unindexed.contains(name), !listed.contains(name), "{name}");
    }
});
