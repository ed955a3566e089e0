//! `repair index`: rebuild the index from pack headers alone, and commit it atomically.

use super::index_commit;
use crate::backend::FileType;
use crate::error::{Context, Result};
use crate::format::index::PackRecord;
use crate::ids::{IndexId, PackId};
use crate::repository::lock::LockKind;
use crate::repository::Repository;
use crate::repository::INDEX_BLOBS_PER_FILE;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::HashMap;

/// What `repair index` found and wrote.
#[derive(Debug, Default, Serialize)]
pub struct RepairReport {
    /// Pack files in the store.
    pub packs: usize,
    /// Packs whose header was read to list their blobs.
    pub packs_read: usize,
    /// Packs whose entries were taken from a readable index file instead.
    pub packs_reused: usize,
    /// Packs whose header could not be read, with the reason (left in place, not indexed).
    pub unreadable: Vec<(String, String)>,
    /// Blobs the new index lists.
    pub blobs: usize,
    /// Index files written, any commit file included (none is written when there were no old index files).
    pub index_files_written: usize,
    /// Old index files removed after the new ones were committed.
    pub index_files_removed: usize,
    /// Files in `index/` whose names are no index ID: not written by backstock, left alone.
    pub foreign_files: Vec<String>,
}

/// How `repair index` rebuilds the index.
#[derive(Debug, Clone)]
pub struct RepairIndexOptions {
    /// Read every pack header, even for packs a readable index file lists with the right size.
    pub read_all_packs: bool,
    /// Most blobs one new index file lists (a pack with more gets a file of its own).
    pub index_blobs_per_file: usize,
}

impl Default for RepairIndexOptions {
    fn default() -> Self {
        RepairIndexOptions {
            read_all_packs: false,
            index_blobs_per_file: INDEX_BLOBS_PER_FILE,
        }
    }
}

/// Rebuilds the index. With `read_all_packs`, every pack header is read; otherwise packs already
/// listed by a readable index file with the right size keep their entries. The new index supersedes
/// every index file there was, damaged ones included, and those are then deleted.
pub fn repair_index(repo: &mut Repository, opts: &RepairIndexOptions) -> Result<RepairReport> {
    let read_all = opts.read_all_packs;
    let guard = repo.lock(LockKind::Exclusive)?;
    repo.require_deletes("repair index")?;
    let mut report = RepairReport::default();
    let old_names: Vec<String> = repo
        .backend()
        .list(FileType::Index)?
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let mut known: HashMap<PackId, PackRecord> = HashMap::new();
    if !read_all {
        // Readable index files only; a broken one is simply not trusted.
        for name in &old_names {
            let Ok(id) = IndexId::from_hex(name) else {
                continue;
            };
            if let Ok(f) = repo.read_index_file(id, None) {
                for p in f.packs {
                    known.entry(p.id).or_insert(p);
                }
            }
        }
    }
    let packs = repo.backend().list(FileType::Pack)?;
    report.packs = packs.len();
    let results: Vec<std::result::Result<(PackRecord, bool), (String, String)>> = packs
        .par_iter()
        .map(|(name, size)| {
            let id = PackId::from_hex(name).map_err(|e| (name.clone(), e.to_string()))?;
            if let Some(p) = known.get(&id).filter(|p| p.size as u64 == *size) {
                return Ok((p.clone(), true));
            }
            let blobs = repo
                .read_pack_header(&id, *size)
                .map_err(|e| (name.clone(), format!("{e:#}")))?;
            let size = u32::try_from(*size)
                .map_err(|_| (name.clone(), "pack larger than 4 GiB".to_string()))?;
            Ok((PackRecord { id, size, blobs }, false))
        })
        .collect();
    let supersedes: Vec<IndexId> = old_names
        .iter()
        .filter_map(|n| IndexId::from_hex(n).ok())
        .collect();
    let mut packs = Vec::with_capacity(results.len());
    for r in results {
        match r {
            Ok((p, reused)) => {
                if reused {
                    report.packs_reused += 1;
                } else {
                    report.packs_read += 1;
                }
                report.blobs += p.blobs.len();
                packs.push(p);
            }
            Err(e) => report.unreadable.push(e),
        }
    }
    let written = index_commit::commit(repo, packs, &supersedes, opts.index_blobs_per_file)?;
    report.index_files_written = written.len();
    for n in &old_names {
        // Files named like no index file are not backstock's: readers skip them, and so do we.
        if IndexId::from_hex(n).is_err() {
            report.foreign_files.push(n.clone());
            continue;
        }
        repo.delete(FileType::Index, n).with_context(|| {
            format!("deleting old index file index/{n} (the new index is in force)")
        })?;
        report.index_files_removed += 1;
    }
    repo.load_index(&guard)?;
    Ok(report)
}
