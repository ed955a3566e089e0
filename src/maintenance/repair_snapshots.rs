//! `repair snapshots`: remove snapshot files that cannot be decoded, and rewrite snapshots whose
//! trees reference lost tree or data blobs (docs/design.md §11, "Repair").
//!
//! A blob counts as lost when no index file lists it in a stored pack of the indexed size, or when
//! its tree blob does not decrypt or decode. Data blobs are not read (that is `check --read-data`).
//! In a rewritten snapshot a directory keeps the entries of its readable tree blobs (a directory
//! whose tree blobs are all lost becomes empty), and a file with any lost data blob is left out
//! rather than restored with a gap. The rewritten snapshot keeps the original's time, host and
//! paths and gets the tag `repaired`; the original is deleted only with `forget`.

use crate::backend::FileType;
use crate::error::{bail, err};
use crate::error::{Context, Error, ErrorKind, Result};
use crate::format::tree::{self, Node, NodeKind};
use crate::format::FormatError;
use crate::ids::{BlobId, IndexId, PackId, SnapshotId};
use crate::repository::lock::LockKind;
use crate::repository::saver::BlobSaver;
use crate::repository::snapshots::BadFile;
use crate::repository::walk::{walk, Dir, Visitor};
use crate::repository::{MasterIndex, Repository};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// The tag a rewritten snapshot carries.
pub const REPAIRED_TAG: &str = "repaired";

/// What `repair snapshots` may change.
#[derive(Debug, Clone, Default)]
pub struct RepairSnapshotsOptions {
    /// Delete the originals of rewritten snapshots, and snapshots with nothing left to restore.
    pub forget: bool,
    /// Report only; write and delete nothing.
    pub dry_run: bool,
}

/// A snapshot whose trees reference lost blobs.
#[derive(Debug, Clone, Serialize)]
pub struct Damaged {
    /// The damaged snapshot.
    pub id: SnapshotId,
    /// The rewritten snapshot (none in a dry run, or when nothing of it is left).
    pub new_id: Option<SnapshotId>,
    /// What was lost, one line per path.
    pub problems: Vec<String>,
    /// The root tree itself is lost, so the snapshot holds nothing that can be restored.
    pub nothing_left: bool,
    /// The original was deleted (`forget`, not in a dry run).
    pub original_removed: bool,
}

/// What `repair snapshots` found and did.
#[derive(Debug, Default, Serialize)]
pub struct RepairSnapshotsReport {
    /// Snapshot files that decoded.
    pub snapshots: usize,
    /// Snapshots whose every tree and data blob is indexed.
    pub intact: usize,
    /// Snapshots that reference lost blobs, and what was done with each.
    pub damaged: Vec<Damaged>,
    /// Files in `snapshots/` that cannot be decoded: removed (not in a dry run).
    pub removed_files: Vec<BadFile>,
    /// Files in `snapshots/` whose names are no snapshot ID: not written by backstock, left alone.
    pub foreign_files: Vec<BadFile>,
    /// Files that could not be read or are from a newer version: left alone.
    pub unreadable_files: Vec<BadFile>,
    /// Stored packs that no index lists; `repair index` may find lost blobs in them.
    pub unindexed_packs: usize,
    /// Indexed packs missing from the store (or of another size): their blobs count as lost, and
    /// `repair index` drops them from the index.
    pub missing_packs: usize,
    /// Whether this was a dry run (nothing changed).
    pub dry_run: bool,
}

/// Runs the repair under the exclusive lock (shared for a dry run, which changes nothing).
pub fn repair_snapshots(
    repo: &mut Repository,
    opts: &RepairSnapshotsOptions,
) -> Result<RepairSnapshotsReport> {
    let _lock = repo.lock(if opts.dry_run {
        LockKind::Read
    } else {
        LockKind::Exclusive
    })?;
    if !opts.dry_run {
        repo.require_deletes("repair snapshots")?;
    }
    let mut report = RepairSnapshotsReport {
        dry_run: opts.dry_run,
        ..Default::default()
    };
    (report.unindexed_packs, report.missing_packs) = index_stored_packs_only(repo)?;
    // Blobs in packs no index lists would count as lost, and a rewrite would leave out files whose
    // data is still there (and that the next prune would then delete).
    if report.unindexed_packs > 0 && !opts.dry_run {
        bail!(
            InvalidInput,
            "{} packs are stored but not in the index; they may hold data these snapshots need, so nothing was changed. Run `backstock repair index` first, then `backstock repair snapshots` again",
            report.unindexed_packs
        );
    }
    let scan = repo.snapshot_list()?;
    report.snapshots = scan.snapshots.len();
    report.unreadable_files = scan.unreadable;

    let saver = if opts.dry_run {
        None
    } else {
        Some(BlobSaver::new(repo)?)
    };
    let mut walker = Walker {
        repo,
        saver: saver.as_ref(),
        intact: HashSet::new(),
        problems: Vec::new(),
        lost: Vec::new(),
    };
    let mut rewrites = Vec::new();
    for (id, snap) in &scan.snapshots {
        let root_lost = match walker.tree_blob(&snap.tree) {
            Err(e) if e.find::<Fatal>().is_some() => return Err(e),
            Err(e) => Some(e),
            Ok(_) => None,
        };
        if let Some(e) = root_lost {
            report.damaged.push(Damaged {
                id: *id,
                new_id: None,
                problems: vec![format!("/: the root tree is lost ({e:#})")],
                nothing_left: true,
                original_removed: false,
            });
            continue;
        }
        walker.problems.clear();
        let Some(root) = walk(&mut walker, "/", &[snap.tree])? else {
            report.intact += 1;
            continue;
        };
        let problems = std::mem::take(&mut walker.problems);
        rewrites.push((report.damaged.len(), snap.clone(), root));
        report.damaged.push(Damaged {
            id: *id,
            new_id: None,
            problems,
            nothing_left: false,
            original_removed: false,
        });
    }
    drop(walker);
    // Files named like no snapshot are not backstock's to delete: they are reported and left.
    report.foreign_files = scan.foreign;
    let damaged = scan.damaged;
    if opts.dry_run {
        report.removed_files = damaged;
        return Ok(report);
    }

    // New trees, then their index, then the snapshots that reference them, then deletions.
    if let Some(saver) = saver {
        saver
            .finish()
            .context("writing the rewritten trees (no snapshot was changed)")?;
    }
    for (i, mut snap, root) in rewrites {
        snap.tree = *root
            .first()
            .ok_or_else(|| err!(Other, "a rewritten root tree has no blob"))?;
        if !snap.tags.iter().any(|t| t == REPAIRED_TAG) {
            snap.tags.push(REPAIRED_TAG.to_string());
        }
        snap.program_version = format!("backstock {}", env!("CARGO_PKG_VERSION"));
        report.damaged[i].new_id = Some(repo.save_snapshot(&snap)?);
    }
    if opts.forget {
        for d in &mut report.damaged {
            repo.delete(FileType::Snapshot, &d.id.to_hex())
                .with_context(|| format!("deleting damaged snapshot {}", d.id))?;
            d.original_removed = true;
        }
    }
    for f in damaged {
        if !repo.snapshot_file_is_damaged(&f.name) {
            continue;
        }
        repo.delete(FileType::Snapshot, &f.name)
            .with_context(|| format!("deleting damaged snapshot file snapshots/{}", f.name))?;
        report.removed_files.push(f);
    }
    Ok(report)
}

/// Loads the index without the packs that are missing from the store or have another size than
/// indexed, so that their blobs count as lost and new trees are never deduplicated against them.
/// Returns how many stored packs no index lists, and how many indexed packs were left out.
fn index_stored_packs_only(repo: &mut Repository) -> Result<(usize, usize)> {
    let stored: HashMap<String, u64> = repo.backend().list(FileType::Pack)?.into_iter().collect();
    let mut files = repo.read_index_files().context(
        "reading the index (run `backstock repair index` first if an index file is damaged)",
    )?;
    let superseded: HashSet<IndexId> = files
        .iter()
        .flat_map(|(_, f)| f.supersedes.iter().copied())
        .collect();
    files.retain(|(id, _)| !superseded.contains(id));
    let mut indexed: HashSet<PackId> = HashSet::new();
    let mut missing: HashSet<PackId> = HashSet::new();
    for (_, f) in &mut files {
        indexed.extend(f.packs.iter().map(|p| p.id));
        f.packs.retain(|p| {
            let ok = stored.get(&p.id.to_hex()) == Some(&(p.size as u64));
            if !ok {
                missing.insert(p.id);
            }
            ok
        });
    }
    repo.set_index(MasterIndex::from_files(files));
    let unindexed = stored
        .keys()
        .filter(|n| PackId::from_hex(n).map_or(true, |id| !indexed.contains(&id)))
        .count();
    Ok((unindexed, missing.len()))
}

struct Walker<'a> {
    repo: &'a Repository,
    /// Where rewritten trees go; none in a dry run.
    saver: Option<&'a BlobSaver<'a>>,
    /// Directories (by their tree blob IDs) found whole, down to every file's data.
    intact: HashSet<Vec<BlobId>>,
    /// What was lost in the snapshot being walked, each naming its path.
    problems: Vec<String>,
    /// Per directory read and not yet left: whether one of its tree blobs was lost.
    lost: Vec<bool>,
}

impl Walker<'_> {
    /// Reads one tree blob from its pack (not the cache: this decides what is lost). A blob that is
    /// not indexed, does not decrypt or does not decode is lost (an error); a failed read of a
    /// stored pack or a tree from a newer version is a [`Fatal`] error, which stops the repair.
    fn tree_blob(&self, id: &BlobId) -> Result<Vec<Node>> {
        let loc = self
            .repo
            .index()
            .get(id)
            .ok_or_else(|| err!(NotFound, "tree blob {id} is in no stored pack"))?;
        let e = loc.entry;
        let sealed = self
            .repo
            .backend()
            .read_range(
                FileType::Pack,
                &loc.pack.to_hex(),
                e.offset as u64,
                e.stored_len as u64,
            )
            .map_err(|err| {
                Fatal::error(
                    ErrorKind::Storage,
                    format!("reading tree blob {id} from pack {}: {err:#}", loc.pack),
                )
            })?;
        let plain = self.repo.open_blob(&e, &sealed)?;
        match tree::decode_blob(&plain) {
            Ok(nodes) => Ok(nodes),
            Err(err @ FormatError::UnsupportedVersion { .. }) => Err(Fatal::error(
                ErrorKind::Corrupt,
                format!("tree blob {id}: {err}"),
            )),
            Err(err) => bail!(Corrupt, "tree blob {id} does not decode: {err}"),
        }
    }
}

/// A directory comes to its new tree blob IDs when something in it was lost (in a dry run, the
/// old IDs), `None` when it is whole.
impl Visitor for Walker<'_> {
    type Summary = Option<Vec<BlobId>>;

    fn known(&mut self, dir: &Dir) -> Option<Self::Summary> {
        self.intact.contains(dir.ids).then_some(None)
    }

    /// Reads each tree blob on its own: one lost blob loses only its entries.
    fn read(&mut self, dir: &Dir) -> Result<Vec<Node>> {
        let mut lost = false;
        let mut nodes = Vec::new();
        for id in dir.ids {
            match self.tree_blob(id) {
                Ok(n) => nodes.extend(n),
                Err(e) if e.find::<Fatal>().is_some() => return Err(e),
                Err(e) => {
                    let slash = if dir.path.ends_with('/') { "" } else { "/" };
                    self.problems.push(format!(
                        "{}{slash}: entries in tree blob {} are lost ({e:#})",
                        dir.path,
                        id.short()
                    ));
                    lost = true;
                }
            }
        }
        self.lost.push(lost);
        Ok(nodes)
    }

    /// Only a fatal read error or nesting past the limit gets here; either stops the repair.
    fn unreadable(&mut self, dir: &Dir, e: Error) -> Result<Self::Summary> {
        let e = dir.name_in(e);
        if e.find::<Fatal>().is_some() {
            return Err(e);
        }
        Err(Fatal::error(
            ErrorKind::Corrupt,
            format!("{e:#}; this snapshot cannot be repaired (forget it)"),
        ))
    }

    fn leave(
        &mut self,
        dir: &Dir,
        nodes: Vec<Node>,
        below: Vec<Option<Self::Summary>>,
    ) -> Result<Self::Summary> {
        let mut changed = self.lost.pop().unwrap_or(false);
        let mut kept = Vec::with_capacity(nodes.len());
        for (mut n, below) in nodes.into_iter().zip(below) {
            match n.kind {
                NodeKind::Dir => {
                    if let Some(Some(new)) = below {
                        n.content = new;
                        changed = true;
                    }
                }
                NodeKind::File => {
                    let lost = n
                        .content
                        .iter()
                        .filter(|c| !self.repo.index().contains(c))
                        .count();
                    if lost > 0 {
                        self.problems.push(format!(
                            "{}: left out, {lost} of its {} data blobs are lost",
                            dir.child(&n),
                            n.content.len()
                        ));
                        changed = true;
                        continue;
                    }
                }
                _ => {}
            }
            kept.push(n);
        }
        if !changed {
            self.intact.insert(dir.ids.to_vec());
            return Ok(None);
        }
        let Some(saver) = self.saver else {
            return Ok(Some(dir.ids.to_vec()));
        };
        // Readable tree blobs of one directory hold disjoint, ordered runs of names.
        kept.sort_by(|a, b| a.name.cmp(&b.name));
        kept.dedup_by(|a, b| a.name == b.name);
        Ok(Some(saver.save_tree(&kept, dir.depth == 0)?))
    }
}

/// An error that stops the repair instead of marking a blob lost: the blob may well be fine.
#[derive(Debug)]
struct Fatal(String);

impl std::fmt::Display for Fatal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}; no snapshot or index file was changed, try again once the repository can be read",
            self.0
        )
    }
}

impl std::error::Error for Fatal {}

impl Fatal {
    fn error(kind: ErrorKind, message: String) -> Error {
        Error::wrap(kind, Fatal(message))
    }
}
