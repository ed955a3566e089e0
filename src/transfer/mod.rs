//! `copy`: copies snapshots from one repository into another without re-chunking
//! (docs/design.md §11, "Copy"; related repositories: §8).
//!
//! Between related repositories (one made with `init --from-repo ... --copy-chunker-params`, which
//! shares the other's blob-ID key) a blob has the same ID in both: blobs the destination's index
//! lists are skipped without being read, the others are read from the source's packs, opened with
//! its key and sealed with the destination's, and trees are copied as they are. Between unrelated
//! repositories every data blob of the snapshots is read and named anew with the destination's key
//! (its chunk boundaries kept), and the trees are rewritten bottom up with the new IDs.
//!
//! A snapshot the destination already has (one with the same origin, [`Snapshot::origin`]) is not
//! copied again. The source is read under a shared lock; the destination is written under the
//! lock a backup takes, in a backup's order: packs, then the index, then the snapshots.

mod blobs;
mod select;
mod trees;

use crate::error::{bail, err, Context, Result};
use crate::format::blob_entry::BlobType;
use crate::format::snapshot::Snapshot;
use crate::ids::{BlobId, SnapshotId};
use crate::repository::lock::LockKind;
use crate::repository::saver::BlobSaver;
use crate::repository::snapshots::SnapshotFilter;
use crate::repository::{BlobLocation, Repository};
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};

/// Which snapshots to copy, and whether to write anything.
#[derive(Debug, Clone, Default)]
pub struct CopyOptions {
    /// Source snapshots by `latest`, ID or unique prefix; every snapshot when empty.
    pub snapshots: Vec<String>,
    /// Host, tag and path filters: which snapshots are copied when none are named, and which one
    /// `latest` means.
    pub filter: SnapshotFilter,
    /// Work out what would be copied; write nothing (the destination gets a read lock only).
    pub dry_run: bool,
}

/// Live counters for a progress display.
#[derive(Debug, Default)]
pub struct CopyProgress {
    /// Blobs read from the source so far.
    pub blobs: AtomicU64,
    /// Their plaintext bytes.
    pub bytes: AtomicU64,
}

/// One snapshot copied.
#[derive(Debug, Clone, Serialize)]
pub struct CopiedSnapshot {
    /// The snapshot in the source repository.
    pub source: SnapshotId,
    /// Its copy in the destination (none in a dry run).
    pub copy: Option<SnapshotId>,
    /// The snapshot as it reads in the source.
    pub snapshot: Snapshot,
}

/// What `copy` did (or, in a dry run, would do).
#[derive(Debug, Clone, Serialize)]
pub struct CopyReport {
    /// The repositories share their blob-ID key, so blobs kept their IDs and those the destination
    /// had were skipped unread. When false every data blob was read and named anew, and the trees
    /// were rewritten: an unrelated copy cannot deduplicate by ID.
    pub related: bool,
    /// Snapshots copied, oldest first.
    pub copied: Vec<CopiedSnapshot>,
    /// Selected source snapshots the destination already has (a snapshot of the same origin).
    pub already_present: Vec<SnapshotId>,
    /// Blobs read from the source. In a dry run: that would be read.
    pub blobs_read: u64,
    /// Blobs (data and tree) stored in the destination. In a dry run of a related copy: that would
    /// be stored; of an unrelated one, unknown until the blobs are read (0).
    pub blobs_copied: u64,
    /// Blobs of the copied snapshots the destination already had: a related copy counts them
    /// without reading them, an unrelated one counts the data blobs it read and found there once
    /// named anew. Not counted in a dry run of an unrelated copy.
    pub blobs_present: u64,
    /// Plaintext bytes of the blobs stored (dry run of a related copy: that would be stored).
    pub bytes_copied: u64,
    /// Bytes they take in packs, compressed and sealed (dry run of a related copy: what they take
    /// in the source).
    pub bytes_stored: u64,
    /// Pack files written.
    pub packs_written: u64,
    /// Whether this was a dry run (nothing was written).
    pub dry_run: bool,
}

/// Copies the snapshots `opts` selects from `src` into `dst`. Takes a shared read lock on `src`
/// and the lock a backup takes on `dst` (a read lock in a dry run), loading both indexes under
/// them. Refuses to copy a repository into itself.
pub fn copy(
    src: &mut Repository,
    dst: &mut Repository,
    opts: &CopyOptions,
    progress: &CopyProgress,
) -> Result<CopyReport> {
    if src.config().id == dst.config().id {
        bail!(
            InvalidInput,
            "the source ({}) and the destination ({}) are the same repository (ID {}): there is nothing to copy",
            src.backend().location(),
            dst.backend().location(),
            dst.config().id.short()
        );
    }
    let related = src.shares_blob_ids_with(dst);
    let _src_lock = src
        .lock_for_reading()
        .context("locking the source repository")?;
    let dst_lock = dst.lock(if opts.dry_run {
        LockKind::Read
    } else {
        LockKind::Append
    })?;
    dst.load_index(&dst_lock)
        .context("loading the destination's index")?;
    let (src, dst): (&Repository, &Repository) = (src, dst);

    let source = src.snapshots()?;
    let mut dest_origins = select::origins(&dst.snapshots()?);
    let selection = select::select(&source, &opts.snapshots, &opts.filter, &dest_origins)?;
    let mut report = CopyReport {
        related,
        copied: Vec::new(),
        already_present: selection.present,
        blobs_read: 0,
        blobs_copied: 0,
        blobs_present: 0,
        bytes_copied: 0,
        bytes_stored: 0,
        packs_written: 0,
        dry_run: opts.dry_run,
    };
    if selection.copy.is_empty() {
        return Ok(report);
    }
    if !related {
        log::warn!(
            "{} and {} do not share their blob-ID key (the destination was not made with `init --from-repo ... --copy-chunker-params`): every blob is read and named anew, and nothing can be skipped by its ID",
            src.backend().location(),
            dst.backend().location()
        );
    }
    let roots: Vec<BlobId> = selection.copy.iter().map(|(_, s)| s.tree).collect();
    let reachable = src
        .referenced_blobs(&roots)
        .context("reading the source snapshots' trees")?;
    let mut wanted: Vec<BlobLocation> = Vec::new();
    let mut source_trees = 0u64;
    for id in &reachable {
        let loc = src.index().get(id).ok_or_else(|| {
            err!(
                Corrupt,
                "blob {id}, which the source snapshots reference, is not in the source's index; run `backstock check` on the source"
            )
        })?;
        if related && dst.index().contains(id) {
            report.blobs_present += 1;
        } else if related || loc.entry.blob_type == BlobType::Data {
            wanted.push(loc);
        } else {
            // Rewritten by the tree walk, which reads it.
            source_trees += 1;
        }
    }
    drop(reachable);

    if opts.dry_run {
        report.blobs_read = wanted.len() as u64 + source_trees;
        if related {
            report.blobs_copied = report.blobs_read;
            report.bytes_copied = wanted.iter().map(|l| l.entry.raw_len as u64).sum();
            report.bytes_stored = wanted.iter().map(|l| l.entry.stored_len as u64).sum();
        }
        report.copied = selection
            .copy
            .into_iter()
            .map(|(source, snapshot)| CopiedSnapshot {
                source,
                copy: None,
                snapshot,
            })
            .collect();
        return Ok(report);
    }

    let saver = BlobSaver::new(dst)?;
    let moved = blobs::transfer(src, &saver, wanted, related, progress)?;
    report.blobs_read = moved.read + source_trees;
    if !related {
        // Read, named anew and found in the destination (trees are cut anew, so only data counts).
        let data_added = saver.stats.blobs_added.load(Ordering::Relaxed);
        report.blobs_present = moved.read.saturating_sub(data_added);
    }
    let mut trees = Vec::with_capacity(selection.copy.len());
    if related {
        trees.extend(selection.copy.iter().map(|(_, s)| s.tree));
    } else {
        let mut rewriter = trees::Rewriter::new(src, &saver, &moved.ids);
        for (id, s) in &selection.copy {
            let root = rewriter
                .root(s.tree)
                .with_context(|| format!("rewriting the trees of snapshot {id}"))?;
            trees.push(root);
        }
    }
    // Packs, then the index, then the snapshots.
    let (_, stats) = saver
        .finish_with_stats()
        .context("writing the copied blobs (no snapshot was copied)")?;
    report.blobs_copied = stats.blobs_added.into_inner();
    report.bytes_copied = stats.raw_bytes_added.into_inner();
    report.bytes_stored = stats.stored_bytes_added.into_inner();
    report.packs_written = stats.packs_written.into_inner();
    let source_origin = select::origin_of(&source);
    for ((id, s), tree) in selection.copy.into_iter().zip(trees) {
        let snap = select::copied(id, &s, tree, &dest_origins, &source_origin);
        let new = dst
            .save_snapshot(&snap)
            .with_context(|| format!("writing the copy of snapshot {id}"))?;
        dest_origins.insert(s.origin(id), new);
        report.copied.push(CopiedSnapshot {
            source: id,
            copy: Some(new),
            snapshot: s,
        });
    }
    Ok(report)
}
