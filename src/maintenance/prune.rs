//! Prune: delete packs that hold no used blob and repack partly used packs, under an exclusive lock.
//!
//! Order, so that an interrupted prune never loses data: (1) copy used blobs of the packs to repack
//! into new packs, (2) write new index files that supersede every old one, (3) delete the old index
//! files, (4) delete unused and repacked packs, and packs no index lists (left by interrupted runs).

use crate::backend::FileType;
use crate::format::blob_entry::BlobEntry;
use crate::format::index::{IndexFile, PackRecord};
use crate::ids::{BlobId, IndexId, PackId};
use crate::repository::lock::{LockGuard, LockKind};
use crate::repository::saver::BlobSaver;
use crate::repository::Repository;
use anyhow::{Context, Result};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// Most blobs one new index file lists.
const INDEX_BLOBS_PER_FILE: usize = 100_000;

/// A partial file this much older than now cannot belong to a writer that still runs (a writer holds a
/// lock refreshed every few minutes and writes one file in seconds).
pub const LEFTOVER_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

#[derive(Debug, Clone)]
pub struct PruneOptions {
    /// Unused space allowed to remain, as a percentage of the repository's used bytes.
    pub max_unused_percent: f64,
    /// Most bytes of packs to repack (None: no limit).
    pub max_repack: Option<u64>,
    pub dry_run: bool,
}

impl Default for PruneOptions {
    fn default() -> Self {
        PruneOptions {
            max_unused_percent: 5.0,
            max_repack: None,
            dry_run: false,
        }
    }
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct PruneReport {
    pub snapshots: usize,
    pub packs_before: usize,
    pub packs_deleted: usize,
    pub packs_repacked: usize,
    pub packs_kept: usize,
    pub packs_unindexed_deleted: usize,
    /// Partial files left by killed writers (older than [`LEFTOVER_AGE`]) that were removed.
    pub leftovers_deleted: usize,
    pub packs_written: u64,
    pub blobs_used: usize,
    pub blobs_unused: usize,
    pub bytes_before: u64,
    pub bytes_deleted: u64,
    pub bytes_repacked: u64,
    pub unused_bytes_before: u64,
    pub unused_bytes_after: u64,
    pub index_files_replaced: usize,
    pub dry_run: bool,
}

struct PackUse {
    record: PackRecord,
    used: Vec<BlobEntry>,
    unused_bytes: u64,
}

/// Runs prune under an exclusive lock it takes.
pub fn prune(repo: &mut Repository, opts: &PruneOptions) -> Result<PruneReport> {
    let guard = repo.lock(LockKind::Exclusive)?;
    prune_locked(repo, &guard, opts)
}

/// Runs prune under the exclusive lock `guard` the caller holds (`forget --prune` keeps one lock
/// for both). The index and the snapshots are read here, under it.
pub fn prune_locked(
    repo: &mut Repository,
    guard: &LockGuard,
    opts: &PruneOptions,
) -> Result<PruneReport> {
    guard.require_exclusive()?;
    // From the repository, never the cache, and refusing damaged files: prune deletes what this
    // index does not list.
    repo.load_index_strict(guard).context("loading the index")?;
    let mut report = PruneReport {
        dry_run: opts.dry_run,
        ..Default::default()
    };
    let list = repo.snapshot_list()?;
    if let Some(d) = list.damaged.first() {
        anyhow::bail!(
            "snapshot file snapshots/{} cannot be read ({}); prune would count the data it references as unused, so it deletes nothing. Run `backstock repair snapshots` first",
            d.name,
            d.error
        );
    }
    let snapshots = list.snapshots;
    report.snapshots = snapshots.len();
    let roots: Vec<BlobId> = snapshots.iter().map(|(_, s)| s.tree).collect();
    let used = repo
        .referenced_blobs(&roots)
        .context("walking the snapshots' trees")?;

    let index_files = repo.read_index_files()?;
    let superseded: HashSet<IndexId> = index_files
        .iter()
        .flat_map(|(_, f)| f.supersedes.iter().copied())
        .collect();
    // Each used blob counts once, in the first pack that holds it; further copies are unused.
    let mut claimed: HashSet<BlobId> = HashSet::new();
    let mut packs: Vec<PackUse> = Vec::new();
    let mut indexed: HashSet<PackId> = HashSet::new();
    for (id, f) in &index_files {
        if superseded.contains(id) {
            continue;
        }
        for p in &f.packs {
            if !indexed.insert(p.id) {
                continue;
            }
            let mut used_entries = Vec::new();
            let mut unused_bytes = 0u64;
            for b in &p.blobs {
                if used.contains(&b.id) && claimed.insert(b.id) {
                    used_entries.push(*b);
                } else {
                    unused_bytes += b.stored_len as u64;
                    report.blobs_unused += 1;
                }
            }
            report.blobs_used += used_entries.len();
            packs.push(PackUse {
                record: p.clone(),
                used: used_entries,
                unused_bytes,
            });
        }
    }
    let missing: Vec<&BlobId> = used.iter().filter(|b| !claimed.contains(*b)).collect();
    if !missing.is_empty() {
        anyhow::bail!(
            "{} blobs used by snapshots are in no pack (first: {}); nothing was deleted. Run `backstock check` and `backstock repair index`",
            missing.len(),
            missing[0]
        );
    }

    let stored: HashMap<String, u64> = repo.backend().list(FileType::Pack)?.into_iter().collect();
    let unindexed: Vec<&String> = stored
        .keys()
        .filter(|name| {
            PackId::from_hex(name)
                .map(|id| !indexed.contains(&id))
                .unwrap_or(true)
        })
        .collect();
    report.packs_before = packs.len();
    report.bytes_before = packs.iter().map(|p| p.record.size as u64).sum();
    report.unused_bytes_before = packs.iter().map(|p| p.unused_bytes).sum();

    // Decide: delete packs with nothing used; repack the emptiest partly used packs until the unused
    // bytes left are within the limit.
    let used_bytes: u64 = report.bytes_before - report.unused_bytes_before;
    let allowed = (used_bytes as f64 * opts.max_unused_percent / 100.0) as u64;
    let mut remaining_unused: u64 = packs
        .iter()
        .filter(|p| !p.used.is_empty())
        .map(|p| p.unused_bytes)
        .sum();
    let mut partly: Vec<usize> = (0..packs.len())
        .filter(|&i| !packs[i].used.is_empty() && packs[i].unused_bytes > 0)
        .collect();
    partly.sort_by(|&a, &b| {
        let ra = packs[a].unused_bytes as f64 / packs[a].record.size as f64;
        let rb = packs[b].unused_bytes as f64 / packs[b].record.size as f64;
        rb.total_cmp(&ra)
    });
    let mut repack: Vec<usize> = Vec::new();
    let mut repack_bytes = 0u64;
    for i in partly {
        if remaining_unused <= allowed {
            break;
        }
        let size = packs[i].record.size as u64;
        if opts.max_repack.is_some_and(|m| repack_bytes + size > m) {
            break;
        }
        repack_bytes += size;
        remaining_unused -= packs[i].unused_bytes;
        repack.push(i);
    }
    let delete: Vec<usize> = (0..packs.len())
        .filter(|&i| packs[i].used.is_empty())
        .collect();
    report.packs_deleted = delete.len();
    report.packs_repacked = repack.len();
    report.packs_kept = packs.len() - delete.len() - repack.len();
    report.packs_unindexed_deleted = unindexed.len();
    report.bytes_deleted = delete
        .iter()
        .map(|&i| packs[i].record.size as u64)
        .sum::<u64>()
        + unindexed
            .iter()
            .map(|n| stored.get(*n).copied().unwrap_or(0))
            .sum::<u64>();
    report.bytes_repacked = repack_bytes;
    report.unused_bytes_after = remaining_unused;
    if !opts.dry_run {
        let (files, bytes) = repo
            .backend()
            .remove_leftovers(LEFTOVER_AGE)
            .context("removing partial files left by interrupted writers")?;
        report.leftovers_deleted = files;
        report.bytes_deleted += bytes;
    }
    if opts.dry_run || (delete.is_empty() && repack.is_empty() && unindexed.is_empty()) {
        return Ok(report);
    }

    // (1) Repack.
    let saver = BlobSaver::new(repo)?;
    for &i in &repack {
        let p = &packs[i];
        let bytes = repo
            .backend()
            .read(FileType::Pack, &p.record.id.to_hex())
            .with_context(|| format!("reading pack {} to repack", p.record.id))?;
        for e in &p.used {
            let sealed = bytes
                .get(e.offset as usize..e.end() as usize)
                .with_context(|| format!("pack {} is shorter than its index says", p.record.id))?;
            // Verify before copying, so corruption is found rather than carried along.
            repo.open_blob(e, sealed)
                .with_context(|| format!("repacking pack {}", p.record.id))?;
            saver.add_sealed(e.blob_type, e.id, e.compression, e.raw_len, sealed.to_vec())?;
        }
    }
    let new_packs = saver.flush()?;
    report.packs_written = new_packs.len() as u64;

    // (2) New index files listing every pack that stays, superseding all old index files.
    let repack_set: HashSet<usize> = repack.iter().copied().collect();
    let mut keep: Vec<PackRecord> = packs
        .iter()
        .enumerate()
        .filter(|(i, p)| !p.used.is_empty() && !repack_set.contains(i))
        .map(|(_, p)| p.record.clone())
        .collect();
    keep.extend(new_packs);
    let old_ids: Vec<IndexId> = index_files.iter().map(|(id, _)| *id).collect();
    let mut file = IndexFile {
        supersedes: old_ids.clone(),
        packs: Vec::new(),
    };
    let mut blobs_in_file = 0;
    for p in keep {
        blobs_in_file += p.blobs.len();
        file.packs.push(p);
        if blobs_in_file >= INDEX_BLOBS_PER_FILE {
            repo.write_index(&file)?;
            file.packs.clear();
            blobs_in_file = 0;
        }
    }
    if !file.packs.is_empty() || !old_ids.is_empty() {
        repo.write_index(&file)?;
    }
    // (3) Old index files, (4) packs.
    for id in &old_ids {
        repo.backend().delete(FileType::Index, &id.to_hex())?;
    }
    report.index_files_replaced = old_ids.len();
    for &i in delete.iter().chain(repack.iter()) {
        repo.backend()
            .delete(FileType::Pack, &packs[i].record.id.to_hex())?;
    }
    for name in unindexed {
        repo.backend().delete(FileType::Pack, name)?;
    }
    repo.load_index(guard)?;
    Ok(report)
}
