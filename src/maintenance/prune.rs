//! Prune: delete packs that hold no used blob and repack partly used packs, under an exclusive lock.
//!
//! Prune deletes every stored pack that no live index file lists and every pack whose blobs no
//! snapshot uses, so it works only from a complete view: it refuses, deleting nothing, when a
//! snapshot file or an index file cannot be read, or when a used blob is in no stored pack.
//!
//! Order (docs/design.md §11, "Prune"), so that an interrupted prune never loses data and a full
//! disk gets space back before anything large is written: (0) delete packs no index lists; (1)
//! commit an index without the wholly unused packs, delete the old index files, then those packs;
//! (2) copy the used blobs of the packs to repack into new packs, commit an index that lists the new
//! packs instead, delete the index files of (1), then the repacked packs.

use super::index_commit;
use super::prune_plan::{Limits, Plan};
use crate::backend::FileType;
use crate::error::bail;
use crate::error::{Context, Result};
use crate::format::index::{IndexFile, PackRecord};
use crate::format::snapshot::Snapshot;
use crate::ids::{BlobId, IndexId, SnapshotId};
use crate::repository::lock::{LockGuard, LockKind};
use crate::repository::saver::BlobSaver;
use crate::repository::Repository;
use crate::repository::INDEX_BLOBS_PER_FILE;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::time::SystemTime;

/// How far prune goes.
#[derive(Debug, Clone)]
pub struct PruneOptions {
    /// Unused space allowed to remain, as a percentage of the repository's used bytes.
    pub max_unused_percent: f64,
    /// Most bytes of packs to repack (None: no limit).
    pub max_repack: Option<u64>,
    /// Plan and report only; change nothing.
    pub dry_run: bool,
    /// Most blobs one new index file lists (a pack with more gets a file of its own).
    pub index_blobs_per_file: usize,
    /// Repack partly used packs in a cold storage class (S3 infrequent-access and archive
    /// classes) when they can be read; by default they are kept as they are, since reading them
    /// costs extra and deleting them early is charged. Packs in an archive class that are not
    /// restored are never read.
    pub repack_cold: bool,
    /// Delete (or, with `repack_cold`, repack) packs in a cold class before their minimum storage
    /// time is over (the store charges for the rest of it anyway).
    pub delete_cold_early: bool,
    /// The minimum age of a pack in a cold class before prune deletes or repacks it, for every
    /// class (`None`: each class's minimum storage time, as the store reports it: S3
    /// `STANDARD_IA` 30 days, `GLACIER_IR` and `GLACIER` 90, `DEEP_ARCHIVE` 180).
    pub cold_min_age: Option<std::time::Duration>,
    /// In a repository with object lock: extend the retention of every file the snapshots use
    /// (their snapshot files, the live index files, the packs they use, key files and config)
    /// to the lock's days from now once less than half of them is left (default on).
    pub extend_retention: bool,
}

impl Default for PruneOptions {
    fn default() -> Self {
        PruneOptions {
            max_unused_percent: 5.0,
            max_repack: None,
            dry_run: false,
            index_blobs_per_file: INDEX_BLOBS_PER_FILE,
            repack_cold: false,
            delete_cold_early: false,
            cold_min_age: None,
            extend_retention: true,
        }
    }
}

/// What prune did (or, in a dry run, would do). Byte counts are pack-file bytes unless named otherwise.
#[derive(Debug, Default, Clone, Serialize)]
pub struct PruneReport {
    /// Snapshots whose blobs were counted as used.
    pub snapshots: usize,
    /// Indexed packs before.
    pub packs_before: usize,
    /// Packs deleted because none of their blobs is used.
    pub packs_deleted: usize,
    /// Partly used packs whose used blobs were copied into new packs before they were deleted.
    pub packs_repacked: usize,
    /// Packs left as they were.
    pub packs_kept: usize,
    /// Stored packs that no index listed, deleted.
    pub packs_unindexed_deleted: usize,
    /// Indexed packs missing from the store (or of another size); they leave the index.
    pub packs_missing: usize,
    /// Partial files left by killed writers (older than [`crate::backend::LEFTOVER_AGE`]) that were removed.
    pub leftovers_deleted: usize,
    /// New packs that repacking writes (in a dry run: would write, by the same pack size rule).
    pub packs_written: u64,
    /// Blobs the snapshots use.
    pub blobs_used: usize,
    /// Indexed blobs no snapshot uses (duplicates included).
    pub blobs_unused: usize,
    /// Size of the indexed packs before.
    pub bytes_before: u64,
    /// Size of the packs deleted, unindexed ones included.
    pub bytes_deleted: u64,
    /// Size of the packs repacked.
    pub bytes_repacked: u64,
    /// Stored bytes of unused blobs before.
    pub unused_bytes_before: u64,
    /// Stored bytes of unused blobs left after.
    pub unused_bytes_after: u64,
    /// Index files the new index replaces (all of them whenever prune changes the index).
    pub index_files_replaced: usize,
    /// Index files written, commit files included (none in a dry run).
    pub index_files_written: usize,
    /// Whether this was a dry run (nothing changed).
    pub dry_run: bool,
    /// Partly used packs in a cold storage class kept as they are instead of being repacked
    /// (without `repack_cold`, or younger than their minimum storage time).
    pub packs_cold_kept: usize,
    /// Partly used packs kept because they are in an archive class and not restored (they cannot
    /// be read).
    pub packs_archived_kept: usize,
    /// Unused packs in a cold class kept until their minimum storage time is over.
    pub packs_cold_young_kept: usize,
    /// Packs (unused, partly used or unindexed) kept because they are under retention (object
    /// lock): the store would not free their space before it ends.
    pub packs_retained_kept: usize,
    /// Index files no longer needed (superseded) kept because they are under retention; readers
    /// ignore them, a later prune deletes them.
    pub index_files_retained_kept: usize,
    /// The latest end of retention of what was kept for it (RFC 3339).
    pub retained_until: Option<String>,
    /// Files whose retention was extended (object lock).
    pub retention_extended: usize,
}

/// Runs prune under an exclusive lock it takes.
pub fn prune(repo: &mut Repository, opts: &PruneOptions) -> Result<PruneReport> {
    let guard = repo.lock(LockKind::Exclusive)?;
    prune_locked(repo, &guard, opts)
}

/// Runs prune under the exclusive lock `guard` the caller holds (`forget --prune` keeps one lock
/// for both): [`plan`], then, unless `opts.dry_run`, [`execute`].
pub fn prune_locked(
    repo: &mut Repository,
    guard: &LockGuard,
    opts: &PruneOptions,
) -> Result<PruneReport> {
    if !opts.dry_run {
        // Before the plan, which reads every snapshot's trees: a refusal should come at once.
        repo.require_deletes("prune")?;
    }
    let planned = plan(repo, guard, opts)?;
    if opts.dry_run {
        return Ok(planned.report);
    }
    execute(repo, guard, planned, opts)
}

/// What prune decided, before anything is changed: the report a dry run prints, and what
/// [`execute`] carries out.
pub struct PrunePlan {
    plan: Plan,
    /// Every blob the snapshots reference.
    used: HashSet<BlobId>,
    report: PruneReport,
    /// Index files under retention, which are not deleted when superseded.
    held_index: HashSet<IndexId>,
    /// With object lock and no new index: superseded index files to delete, in this order.
    removable_index: Vec<IndexId>,
}

impl PrunePlan {
    /// What carrying out this plan would do (`dry_run` set).
    pub fn report(&self) -> &PruneReport {
        &self.report
    }
}

/// Decides what prune would do, changing nothing in the repository, under the exclusive lock
/// `guard` the caller holds (the plan is only valid while no one else writes). The snapshots and
/// the index are read here, the index from the repository and never from the cache; the
/// repository's index becomes the one built from exactly those files.
pub fn plan(repo: &mut Repository, guard: &LockGuard, opts: &PruneOptions) -> Result<PrunePlan> {
    guard.require_exclusive()?;
    let snapshots = all_snapshots(repo)?;
    let index_files = all_index_files(repo)?;
    // The trees are read through an index built from exactly these files.
    let mut loader = crate::repository::index::IndexLoader::default();
    for (id, f) in &index_files {
        loader.add(*id, f);
    }
    repo.set_index(loader.finish());
    let roots: Vec<BlobId> = snapshots.iter().map(|(_, s)| s.tree).collect();
    let used = repo.referenced_blobs(&roots).context(
        "walking the snapshots' trees; nothing was deleted. Run `backstock check`, then \
         `backstock repair index` (it indexes packs the index lacks) and only after it \
         `backstock repair snapshots` (it rewrites snapshots whose data is really lost)",
    )?;
    let stored: HashMap<String, u64> = repo.backend().list(FileType::Pack)?.into_iter().collect();
    let limits = Limits {
        max_unused_percent: opts.max_unused_percent,
        max_repack: opts.max_repack,
    };
    let mut plan = Plan::new(&index_files, &used, &stored, &limits)?;
    drop(index_files);
    let locked = repo.config().object_lock.is_some();
    let held = cold_holds(repo, &plan, opts, locked)?;
    plan.hold(&held.no_delete, &held.no_repack, &limits);
    let mut retained = Retained {
        packs: held.retained_kept,
        latest: held.retained_latest,
        ..Retained::default()
    };
    if locked {
        hold_retained_files(repo, &mut plan, &mut retained)?;
    }
    let mut report = plan_report(&plan, repo.config().pack_size as u64);
    report.packs_cold_kept = held.cold_kept;
    report.packs_archived_kept = held.archived_kept;
    report.packs_cold_young_kept = held.young_kept;
    report.packs_retained_kept = retained.packs;
    // Once prune commits a new index every old file is superseded; otherwise only those that
    // were already.
    report.index_files_retained_kept = if plan.commits() {
        retained.index.len()
    } else {
        plan.superseded
            .iter()
            .filter(|id| retained.index.contains(id))
            .count()
    };
    report.retained_until = retained
        .latest
        .and_then(|t| jiff::Timestamp::try_from(t).ok())
        .map(|t| {
            t.round(jiff::Unit::Second)
                .map_or_else(|_| t.to_string(), |r| r.to_string())
        });
    report.snapshots = snapshots.len();
    report.dry_run = true;
    Ok(PrunePlan {
        plan,
        used,
        report,
        held_index: retained.index,
        removable_index: retained.removable,
    })
}

/// What prune keeps because it is under retention (object lock).
#[derive(Default)]
struct Retained {
    packs: usize,
    /// Index files not to delete.
    index: HashSet<IndexId>,
    latest: Option<SystemTime>,
    /// Superseded index files to delete without a new index (in this order).
    removable: Vec<IndexId>,
}

impl Retained {
    fn saw(&mut self, until: SystemTime) {
        self.latest = Some(self.latest.map_or(until, |l| l.max(until)));
    }
}

/// Until when each of `names` is under retention, if it still is (`None`: free to delete).
fn retention_of(
    repo: &Repository,
    t: FileType,
    names: &[String],
) -> Result<Vec<Option<SystemTime>>> {
    use rayon::prelude::*;
    let now = SystemTime::now();
    names
        .par_iter()
        .map(|name| {
            match repo.backend().retained_until(t, name) {
                Ok(until) => Ok(until.filter(|u| *u > now)),
                // Gone in the meantime: nothing to keep.
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => Err(e),
            }
            .with_context(|| format!("reading the retention of {}/{name}", t.dir()))
        })
        .collect()
}

/// In a repository with object lock: keeps unindexed packs and index files that are under
/// retention (deleting them would only hide them, freeing nothing), and counts an index whose
/// only untidiness is superseded files kept so as tidy (rewriting it would add files under
/// retention at every run).
fn hold_retained_files(repo: &Repository, plan: &mut Plan, retained: &mut Retained) -> Result<()> {
    let names: Vec<String> = plan.unindexed.iter().map(|(n, _)| n.clone()).collect();
    let until = retention_of(repo, FileType::Pack, &names)?;
    let mut keep = Vec::new();
    for (entry, u) in plan.unindexed.drain(..).zip(until) {
        match u {
            Some(u) => {
                retained.packs += 1;
                retained.saw(u);
            }
            None => keep.push(entry),
        }
    }
    plan.unindexed = keep;
    let names: Vec<String> = plan.old_ids.iter().map(|id| id.to_hex()).collect();
    let until = retention_of(repo, FileType::Index, &names)?;
    let superseded: HashSet<IndexId> = plan.superseded.iter().copied().collect();
    for (id, u) in plan.old_ids.iter().zip(until) {
        if let Some(u) = u {
            retained.index.insert(*id);
            retained.saw(u);
        }
    }
    // Superseded files whose retention is over go without a new index, when that is safe;
    // rewriting the index for them would put the live files, under retention, in their place.
    let removable = plan.removable_superseded(&retained.index);
    let gone: HashSet<&IndexId> = removable.iter().collect();
    if !plan.duplicated
        && superseded
            .iter()
            .all(|id| retained.index.contains(id) || gone.contains(id))
    {
        plan.tidy = true;
        retained.removable = removable;
    }
    Ok(())
}

/// Packs prune must leave as they are because of their storage class.
#[derive(Default)]
struct ColdHolds {
    /// Wholly unused packs not to delete yet.
    no_delete: HashSet<usize>,
    /// Partly used packs not to repack.
    no_repack: HashSet<usize>,
    cold_kept: usize,
    archived_kept: usize,
    young_kept: usize,
    /// Packs held because they are under retention.
    retained_kept: usize,
    retained_latest: Option<SystemTime>,
}

/// Asks the store where each pack prune might delete or repack is kept (on S3 the listing prune
/// made already tells, except for restores of archived packs) and decides which must stay:
/// packs that cannot be read are never repacked, cold packs are not repacked without
/// `repack_cold`, and cold packs younger than their minimum storage time are neither deleted nor
/// repacked without `delete_cold_early`.
///
/// With object lock (`locked`), packs under retention are neither deleted nor repacked either:
/// S3 would keep a locked version whatever prune does.
fn cold_holds(
    repo: &Repository,
    plan: &Plan,
    opts: &PruneOptions,
    locked: bool,
) -> Result<ColdHolds> {
    use rayon::prelude::*;
    let candidates: Vec<usize> = (0..plan.packs.len())
        .filter(|&i| {
            let p = &plan.packs[i];
            p.present && (p.used.is_empty() || p.unused_bytes > 0)
        })
        .collect();
    let found: Vec<(usize, crate::backend::Availability)> = candidates
        .par_iter()
        .map(|&i| {
            let id = plan.packs[i].record.id;
            repo.backend()
                .availability(FileType::Pack, &id.to_hex())
                .map(|a| (i, a))
                .with_context(|| format!("looking up the storage class of pack {id}"))
        })
        .collect::<Result<_>>()?;
    let retained = if locked {
        let names: Vec<String> = found
            .iter()
            .map(|(i, _)| plan.packs[*i].record.id.to_hex())
            .collect();
        retention_of(repo, FileType::Pack, &names)?
    } else {
        vec![None; found.len()]
    };
    let now = std::time::SystemTime::now();
    let mut held = ColdHolds::default();
    for ((i, a), until) in found.into_iter().zip(retained) {
        if let Some(until) = until {
            if plan.packs[i].used.is_empty() {
                held.no_delete.insert(i);
            } else {
                held.no_repack.insert(i);
            }
            held.retained_kept += 1;
            held.retained_latest = Some(held.retained_latest.map_or(until, |l| l.max(until)));
            continue;
        }
        if !a.cold && a.readable() {
            continue;
        }
        let min = opts.cold_min_age.unwrap_or(a.min_storage);
        let age = a.stored.and_then(|t| now.duration_since(t).ok());
        // A pack whose age the store does not tell counts as old enough.
        let young = !opts.delete_cold_early && age.is_some_and(|age| age < min);
        if plan.packs[i].used.is_empty() {
            if young {
                held.no_delete.insert(i);
                held.young_kept += 1;
            }
        } else if !a.readable() {
            held.no_repack.insert(i);
            held.archived_kept += 1;
        } else if !opts.repack_cold || young {
            held.no_repack.insert(i);
            held.cold_kept += 1;
        }
    }
    Ok(held)
}

/// Carries out `planned` under the same exclusive lock `guard` it was made under, then reloads the
/// index. `opts.dry_run` is not consulted: a dry run does not call this.
pub fn execute(
    repo: &mut Repository,
    guard: &LockGuard,
    planned: PrunePlan,
    opts: &PruneOptions,
) -> Result<PruneReport> {
    guard.require_exclusive()?;
    repo.require_deletes("prune")?;
    let PrunePlan {
        plan,
        used,
        mut report,
        mut held_index,
        removable_index,
    } = planned;
    report.dry_run = false;
    let (files, bytes) = repo
        .backend()
        .remove_leftovers(crate::backend::LEFTOVER_AGE)
        .context("removing partial files left by interrupted writers")?;
    report.leftovers_deleted = files;
    report.bytes_deleted += bytes;
    let live = carry_out(
        repo,
        &plan,
        opts.index_blobs_per_file,
        &mut held_index,
        &removable_index,
        &mut report,
    )?;
    uncache_unused_trees(repo, &used);
    if let (Some(lock), true) = (repo.config().object_lock, opts.extend_retention) {
        report.retention_extended = extend_retention(repo, &plan, &live, lock)?;
    }
    repo.load_index(guard)?;
    Ok(report)
}

/// Moves the retention of every file the snapshots use to `lock.days` from now, where less than
/// half of that is left: the config, key files, snapshot files, the live index files `live`
/// and the packs with used blobs that prune kept. Returns how many were extended.
fn extend_retention(
    repo: &Repository,
    plan: &Plan,
    live: &[IndexId],
    lock: crate::backend::ObjectLock,
) -> Result<usize> {
    use rayon::prelude::*;
    let mut files: Vec<(FileType, String)> = vec![(FileType::Config, "config".to_string())];
    // Files named like no repository file were not written by backstock: left alone.
    let named_like_ours = |n: &str| n.len() == 64 && n.bytes().all(|b| b.is_ascii_hexdigit());
    for t in [FileType::Key, FileType::Snapshot] {
        files.extend(
            repo.backend()
                .list(t)?
                .into_iter()
                .filter(|(n, _)| named_like_ours(n))
                .map(|(n, _)| (t, n)),
        );
    }
    files.extend(live.iter().map(|id| (FileType::Index, id.to_hex())));
    let repacked: HashSet<usize> = plan.repack.iter().copied().collect();
    files.extend(
        (0..plan.packs.len())
            .filter(|i| {
                let p = &plan.packs[*i];
                p.present && !p.used.is_empty() && !repacked.contains(i)
            })
            .map(|i| (FileType::Pack, plan.packs[i].record.id.to_hex())),
    );
    let now = SystemTime::now();
    let until = now + lock.period();
    let soon = now + lock.period() / 2;
    let extended: Vec<bool> = files
        .par_iter()
        .map(|(t, name)| {
            let current = match repo.backend().retained_until(*t, name) {
                Ok(u) => u,
                // Deleted in the meantime (a snapshot file forgotten by a host without the
                // exclusive lock cannot be; a key removed can).
                Err(e) if e.is_not_found() => return Ok(false),
                Err(e) => return Err(e),
            };
            if current.is_some_and(|c| c >= soon) {
                return Ok(false);
            }
            repo.backend().extend_retention(*t, name, until)?;
            Ok(true)
        })
        .collect::<std::result::Result<_, crate::backend::BackendError>>()
        .context("extending the retention of the files the snapshots use (nothing was lost; prune again to finish)")?;
    Ok(extended.into_iter().filter(|e| *e).count())
}

/// Drops cached tree blobs no snapshot uses any more (`used` holds every blob the snapshots
/// reference; data blob IDs in it match no cached tree). The cache only speeds reads up, so a
/// failure is a warning.
fn uncache_unused_trees(repo: &Repository, used: &HashSet<BlobId>) {
    if let Some(cache) = repo.cache() {
        if let Err(e) = cache.retain_trees(used) {
            crate::repository::log_warning(&format!("{e:#}"));
        }
    }
}

/// Every snapshot; refuses when a snapshot file cannot be read, since the blobs only it uses would
/// count as unused.
fn all_snapshots(repo: &Repository) -> Result<Vec<(SnapshotId, Snapshot)>> {
    let scan = repo.snapshot_list()?;
    // Files named like no snapshot were never written by backstock and reference nothing.
    for f in &scan.foreign {
        crate::repository::snapshots::report_bad(f);
    }
    let bad: Vec<String> = scan
        .damaged
        .iter()
        .map(|b| format!("snapshots/{}: {}", b.name, b.reason))
        .chain(
            scan.unreadable
                .iter()
                .map(|b| format!("snapshots/{}: {}", b.name, b.reason)),
        )
        .collect();
    if !bad.is_empty() {
        let advice = if scan.damaged.is_empty() {
            "fix the cause (or use the backstock that wrote it) and prune again"
        } else {
            "`backstock repair snapshots` removes damaged snapshot files; then prune again"
        };
        bail!(
            Corrupt,
            "{} snapshot files cannot be read, so prune cannot tell which data they use; nothing \
             was deleted ({advice}):\n  {}",
            bad.len(),
            bad.join("\n  ")
        );
    }
    Ok(scan.snapshots)
}

/// Every index file, superseded ones included; refuses when one cannot be read, since the packs only
/// it lists would count as unindexed and be deleted.
fn all_index_files(repo: &Repository) -> Result<Vec<(IndexId, IndexFile)>> {
    const ADVICE: &str = "prune needs the whole index to know which packs are in use, so it \
                          deleted nothing; run `backstock repair index`, then prune again";
    let listed = repo.backend().list(FileType::Index)?;
    let files = repo.read_index_files().context(ADVICE)?;
    let read: HashSet<String> = files.iter().map(|(id, _)| id.to_hex()).collect();
    let mut unread = Vec::new();
    for (name, _) in listed {
        if !read.contains(&name) && repo.backend().stat(FileType::Index, &name)?.is_some() {
            unread.push(format!("index/{name}"));
        }
    }
    if !unread.is_empty() {
        bail!(
            Corrupt,
            "{} index files could not be read: {}; {ADVICE}",
            unread.len(),
            unread.join(", ")
        );
    }
    Ok(files)
}

fn plan_report(plan: &Plan, pack_size: u64) -> PruneReport {
    let size = |i: &usize| plan.packs[*i].record.size as u64;
    PruneReport {
        packs_before: plan.packs.len(),
        packs_deleted: plan.delete.len(),
        packs_repacked: plan.repack.len(),
        packs_kept: plan.packs.len() - plan.delete.len() - plan.repack.len(),
        packs_unindexed_deleted: plan.unindexed.len(),
        packs_missing: plan.missing,
        packs_written: plan.new_pack_count(pack_size),
        blobs_used: plan.blobs_used,
        blobs_unused: plan.blobs_unused,
        bytes_before: plan.packs.iter().map(|p| p.record.size as u64).sum(),
        // Packs missing from the store free nothing.
        bytes_deleted: plan
            .delete
            .iter()
            .filter(|&&i| plan.packs[i].present)
            .map(size)
            .sum::<u64>()
            + plan.unindexed.iter().map(|(_, s)| s).sum::<u64>(),
        bytes_repacked: plan.repack.iter().map(size).sum(),
        unused_bytes_before: plan.packs.iter().map(|p| p.unused_bytes).sum(),
        unused_bytes_after: plan.unused_bytes_after,
        index_files_replaced: if plan.commits() {
            plan.old_ids.len()
        } else {
            0
        },
        ..Default::default()
    }
}

/// Carries out the plan; each phase commits its index before it deletes anything. Index files
/// in `held` (under retention) are not deleted, and with object lock the files a phase writes
/// join them. Returns the live index files after.
fn carry_out(
    repo: &Repository,
    plan: &Plan,
    per_file: usize,
    held: &mut HashSet<IndexId>,
    removable: &[IndexId],
    report: &mut PruneReport,
) -> Result<Vec<IndexId>> {
    let locked = repo.config().object_lock.is_some();
    // (0) Packs that no index file lists need no new index to go, and free space first.
    for (name, _) in &plan.unindexed {
        repo.delete(FileType::Pack, name)
            .with_context(|| format!("deleting unindexed pack {name}"))?;
    }
    let mut live = plan.old_ids.clone();
    let mut committed = false;
    // (1) Wholly unused packs.
    if plan.drops_unused() {
        let keep = plan.records_without(&plan.delete, &[]);
        live = replace_index(repo, keep, &live, per_file, held, report)?;
        committed = true;
        if locked {
            held.extend(live.iter().copied());
        }
        delete_packs(repo, plan, &plan.delete)?;
    }
    // (2) Repack.
    if !plan.repack.is_empty() {
        let new_packs = repack(repo, plan)?;
        report.packs_written = new_packs.len() as u64;
        let mut keep = plan.records_without(&plan.delete, &plan.repack);
        keep.extend(new_packs);
        live = replace_index(repo, keep, &live, per_file, held, report)?;
        committed = true;
        delete_packs(repo, plan, &plan.repack)?;
    }
    if !committed {
        let superseded: HashSet<&IndexId> = plan.superseded.iter().collect();
        live.retain(|id| !superseded.contains(id));
        // Only with object lock (otherwise an untidy index is rewritten, which deletes them).
        index_commit::delete_superseded(repo, removable)?;
    }
    Ok(live)
}

/// Commits a new index of `packs` superseding `old`, then deletes `old`. Returns the new files.
fn replace_index(
    repo: &Repository,
    packs: Vec<PackRecord>,
    old: &[IndexId],
    per_file: usize,
    held: &HashSet<IndexId>,
    report: &mut PruneReport,
) -> Result<Vec<IndexId>> {
    let written = index_commit::commit(repo, packs, old, per_file)?;
    report.index_files_written += written.len();
    let go: Vec<IndexId> = old
        .iter()
        .filter(|id| !held.contains(id))
        .copied()
        .collect();
    index_commit::delete_superseded(repo, &go)?;
    Ok(written)
}

fn delete_packs(repo: &Repository, plan: &Plan, which: &[usize]) -> Result<()> {
    for &i in which {
        let id = plan.packs[i].record.id;
        repo.delete(FileType::Pack, &id.to_hex()).with_context(|| {
            format!("deleting pack {id} (no index lists it any more; the next prune removes it)")
        })?;
    }
    Ok(())
}

/// Copies the used blobs of the packs to repack into new packs, verifying each first so that
/// corruption is found rather than carried along. Returns the new packs.
fn repack(repo: &Repository, plan: &Plan) -> Result<Vec<PackRecord>> {
    let saver = BlobSaver::new(repo)?;
    for &i in &plan.repack {
        let p = &plan.packs[i];
        let bytes = repo
            .backend()
            .read(FileType::Pack, &p.record.id.to_hex())
            .with_context(|| format!("reading pack {} to repack", p.record.id))?;
        for e in &p.used {
            let sealed = bytes
                .get(e.offset as usize..e.end() as usize)
                .ok_or_else(|| {
                    crate::error::err!(
                        Corrupt,
                        "pack {} is shorter than its index says",
                        p.record.id
                    )
                })?;
            repo.open_blob(e, sealed)
                .with_context(|| format!("repacking pack {}", p.record.id))?;
            saver.add_sealed(e.blob_type, e.id, e.compression, e.raw_len, sealed.to_vec())?;
        }
    }
    saver.flush()
}

#[cfg(test)]
#[path = "prune_tests.rs"]
mod tests;
