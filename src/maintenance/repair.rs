//! `repair index`: rebuild the index from pack headers alone.

use crate::backend::FileType;
use crate::format::index::{IndexFile, PackRecord};
use crate::ids::{IndexId, PackId};
use crate::repository::lock::LockKind;
use crate::repository::Repository;
use anyhow::Result;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::HashMap;

#[derive(Debug, Default, Serialize)]
pub struct RepairReport {
    pub packs: usize,
    pub packs_read: usize,
    pub packs_reused: usize,
    /// Packs whose header could not be read, with the reason (left in place, not indexed).
    pub unreadable: Vec<(String, String)>,
    pub blobs: usize,
    pub index_files_written: usize,
    pub index_files_removed: usize,
}

const INDEX_BLOBS_PER_FILE: usize = 100_000;

/// Rebuilds the index. With `read_all`, every pack header is read; otherwise packs already listed by a
/// readable index file with the right size keep their entries.
pub fn repair_index(repo: &mut Repository, read_all: bool) -> Result<RepairReport> {
    let guard = repo.lock(LockKind::Exclusive)?;
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
        for (name, _) in repo.backend().list(FileType::Index)? {
            let Ok(bytes) = repo.read_verified(FileType::Index, &name) else {
                continue;
            };
            let Ok(plain) = crate::format::envelope::open(
                crate::format::envelope::Kind::Index,
                &repo.keys().enc,
                &bytes,
            ) else {
                continue;
            };
            if let Ok(f) = IndexFile::decode(&plain) {
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
    let mut file = IndexFile {
        supersedes: supersedes.clone(),
        packs: vec![],
    };
    let mut in_file = 0;
    for r in results {
        match r {
            Ok((p, reused)) => {
                if reused {
                    report.packs_reused += 1;
                } else {
                    report.packs_read += 1;
                }
                report.blobs += p.blobs.len();
                in_file += p.blobs.len();
                file.packs.push(p);
                if in_file >= INDEX_BLOBS_PER_FILE {
                    repo.write_index(&file)?;
                    report.index_files_written += 1;
                    file.packs.clear();
                    in_file = 0;
                }
            }
            Err(e) => report.unreadable.push(e),
        }
    }
    if !file.packs.is_empty() || report.index_files_written == 0 {
        repo.write_index(&file)?;
        report.index_files_written += 1;
    }
    for n in &old_names {
        repo.backend().delete(FileType::Index, n)?;
        report.index_files_removed += 1;
    }
    repo.load_index(&guard)?;
    Ok(report)
}
