//! Maintenance under injected faults, through the library: prune and `repair index` failing at every
//! single write and every single delete leave a repository that loads, checks clean and restores
//! every snapshot; prune on a full disk frees the unused packs first; a failed snapshot deletion in
//! `forget` stops before prune.

use crate::util::faulty::{Faulty, DATA_TYPES};
use crate::util::{copy_dir, files_under, pseudo_hex, pseudo_random};
use backstock::backend::{Backend, FileType, LocalBackend};
use backstock::crypto::kdf::{KdfParams, M_COST_MIN};
use backstock::ids::SnapshotId;
use backstock::repository::lock::{LockGuard, LockKind};
use backstock::repository::{OpenOptions, Repository};
use backstock::{backup, BackupOptions, Progress};
use backstock::{check, ReadData};
use backstock::{forget_locked, prune_after, ForgetOptions};
use backstock::{prune, PruneOptions, PruneReport};
use backstock::{repair_index, RepairIndexOptions};
use backstock::{restore, RestoreOptions, RestoreProgress};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

const PASSWORD: &[u8] = b"fault-injection";
/// Far below the default, so that a small repository needs several index files.
const PER_FILE: usize = 30;

/// One version of the backed-up directory: 90 small text files (a third never change, a third
/// change every second version, a third every version) and a 400 KB text file of which one block
/// of lines changes in each version after the first.
fn version_files(v: usize) -> BTreeMap<String, Vec<u8>> {
    let mut m = BTreeMap::new();
    for i in 0..90 {
        let ver = match i % 3 {
            0 => 0,
            1 => v / 2,
            _ => v,
        };
        m.insert(
            format!("small/{i:03}.txt"),
            pseudo_hex(&format!("s{i}v{ver}"), 300).into_bytes(),
        );
    }
    let bulk: Vec<String> = (0..4000)
        .map(|line| {
            let block = line / 100;
            let rev = usize::from((1..=v).contains(&block));
            pseudo_hex(&format!("b{line}r{rev}"), 99)
        })
        .collect();
    m.insert("bulk.txt".to_string(), bulk.join("\n").into_bytes());
    m
}

fn write_version(dir: &Path, v: usize) {
    if dir.exists() {
        fs::remove_dir_all(dir).unwrap();
    }
    for (rel, bytes) in version_files(v) {
        crate::util::write(&dir.join(rel), bytes);
    }
}

/// Every file under `dir`, by path relative to it.
fn read_tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    files_under(dir)
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            (rel, fs::read(&p).unwrap())
        })
        .collect()
}

fn open(backend: Arc<dyn Backend>) -> Repository {
    let opts = OpenOptions {
        no_cache: true,
        ..Default::default()
    };
    Repository::open(backend, PASSWORD, &opts).unwrap()
}

/// A repository built once: four versions backed up, the first two forgotten along with two
/// snapshots of data only they hold, so that prune both deletes wholly unused packs and repacks
/// partly used ones, over several index files.
struct Base {
    _tmp: tempfile::TempDir,
    repo: PathBuf,
    /// The snapshots kept, with the version each holds.
    kept: Vec<(SnapshotId, usize)>,
    /// The backed-up directory inside the snapshots (the restore subpath).
    subpath: String,
}

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let repo_dir = tmp.path().join("repo");
        let kdf = KdfParams {
            m_cost: M_COST_MIN,
            t_cost: 1,
            p_cost: 1,
        };
        let repo = Repository::init_with(
            Arc::new(LocalBackend::new(&repo_dir)),
            PASSWORD,
            kdf,
            Some(1 << 20),
        )
        .unwrap();
        drop(repo);
        let src = tmp.path().join("data");
        let mut kept = Vec::new();
        let mut forgotten = Vec::new();
        for v in 0..4 {
            write_version(&src, v);
            let id = backup_at(&repo_dir, &src, v, 0);
            if v < 2 {
                forgotten.push(id);
                // A snapshot of data no other snapshot has: a backup writes packs of its own, so
                // once it is forgotten its packs are wholly unused.
                let scratch = tmp.path().join(format!("scratch{v}"));
                crate::util::write(
                    &scratch.join("media.bin"),
                    pseudo_random(&format!("scratch{v}"), 700_000),
                );
                forgotten.push(backup_at(&repo_dir, &scratch, v, 30));
            } else {
                kept.push((id, v));
            }
        }
        let backend = LocalBackend::new(&repo_dir);
        for id in &forgotten {
            backend.delete(FileType::Snapshot, &id.to_hex()).unwrap();
        }
        Base {
            repo: repo_dir,
            kept,
            subpath: src.to_string_lossy().trim_start_matches('/').to_string(),
            _tmp: tmp,
        }
    })
}

/// Backs up `dir` as of month `v + 1`, minute `minute`.
fn backup_at(repo_dir: &Path, dir: &Path, v: usize, minute: u32) -> SnapshotId {
    let mut repo = open(Arc::new(LocalBackend::new(repo_dir)));
    let time = format!("2026-0{}-01T12:{minute:02}:00Z", v + 1);
    let opts = BackupOptions {
        paths: vec![dir.to_path_buf()],
        time: Some(chrono::DateTime::parse_from_rfc3339(&time).unwrap()),
        ..Default::default()
    };
    let r = backup(&mut repo, &opts, &Progress::default()).unwrap();
    assert!(r.failures.is_empty(), "{:?}", r.failures);
    r.id.expect("not a dry run")
}

fn prune_opts() -> PruneOptions {
    PruneOptions {
        max_unused_percent: 0.0,
        index_blobs_per_file: PER_FILE,
        ..Default::default()
    }
}

fn repair_opts() -> RepairIndexOptions {
    RepairIndexOptions {
        read_all_packs: false,
        index_blobs_per_file: PER_FILE,
    }
}

/// A fresh copy of the base repository.
fn copy_of_base(tmp: &Path, name: &str) -> PathBuf {
    let dir = tmp.join(name);
    copy_dir(&base().repo, &dir);
    dir
}

fn restore_all(repo: &Repository, lock: &LockGuard, dir: &Path, ctx: &str) {
    let b = base();
    for (id, v) in &b.kept {
        let snap = repo
            .find_snapshot(&id.to_hex(), &Default::default())
            .unwrap_or_else(|e| panic!("{ctx}: snapshot {id}: {e:#}"))
            .1;
        let target = dir.join(format!("restore-{}-{v}", rand::random::<u64>()));
        let opts = RestoreOptions {
            target: target.clone(),
            ..Default::default()
        };
        let summary = restore(
            repo,
            lock,
            &snap.tree,
            &b.subpath,
            &opts,
            &RestoreProgress::default(),
        )
        .unwrap_or_else(|e| panic!("{ctx}: restoring version {v}: {e:#}"));
        assert!(summary.errors.is_empty(), "{ctx}: {:?}", summary.errors);
        assert!(
            read_tree(&target) == version_files(*v),
            "{ctx}: version {v} does not restore identical"
        );
        fs::remove_dir_all(&target).unwrap();
    }
}

/// With the fault gone: the index loads, check finds no errors, every snapshot restores identical,
/// and a second prune succeeds and leaves nothing for check to note (no superseded index file, no
/// unindexed pack).
fn verify(dir: &Path, work: &Path, ctx: &str) {
    let mut repo = open(Arc::new(LocalBackend::new(dir)));
    let lock = repo.lock(LockKind::Read).unwrap();
    repo.load_index_strict(&lock)
        .unwrap_or_else(|e| panic!("{ctx}: loading the index: {e:#}"));
    drop(lock);
    let r = check(&mut repo, ReadData::All).unwrap();
    assert!(r.errors.is_empty(), "{ctx}: check: {:?}", r.errors);
    let lock = repo.lock(LockKind::Read).unwrap();
    repo.load_index(&lock).unwrap();
    restore_all(&repo, &lock, work, ctx);
    drop(lock);
    prune(&mut repo, &prune_opts()).unwrap_or_else(|e| panic!("{ctx}: second prune: {e:#}"));
    let r = check(&mut repo, ReadData::All).unwrap();
    assert!(
        r.errors.is_empty() && r.notes.is_empty(),
        "{ctx}: check after the second prune: {:?} {:?}",
        r.errors,
        r.notes
    );
    assert_eq!(r.snapshots, base().kept.len(), "{ctx}");
}

/// How many counted writes and deletes a clean run of `op` makes on a copy of the base.
fn count_ops(tmp: &Path, op: &dyn Fn(&mut Repository) -> anyhow::Result<()>) -> (u64, u64) {
    let dir = copy_of_base(tmp, "count");
    let backend = Arc::new(Faulty::new(&dir, &DATA_TYPES));
    let mut repo = open(backend.clone());
    op(&mut repo).unwrap();
    let counts = (backend.writes(), backend.deletes());
    verify(&dir, tmp, "clean run");
    fs::remove_dir_all(&dir).unwrap();
    counts
}

/// Runs `op` once per counted write (then per counted delete) of a clean run, failing exactly that
/// one, and verifies the repository after each.
fn fail_every_operation(
    what: &str,
    op: &dyn Fn(&mut Repository) -> anyhow::Result<()>,
) -> (u64, u64) {
    let tmp = tempfile::tempdir().unwrap();
    let (writes, deletes) = count_ops(tmp.path(), op);
    eprintln!("{what}: {writes} writes and {deletes} deletes, each failed once");
    for (kind, count) in [("write", writes), ("delete", deletes)] {
        for n in 1..=count {
            let ctx = format!("{what} failing at {kind} {n} of {count}");
            let dir = copy_of_base(tmp.path(), "work");
            let mut backend = Faulty::new(&dir, &DATA_TYPES);
            if kind == "write" {
                backend.fail_write = Some(n);
            } else {
                backend.fail_delete = Some(n);
            }
            let mut repo = open(Arc::new(backend));
            let err = op(&mut repo)
                .err()
                .unwrap_or_else(|| panic!("{ctx}: no error"));
            assert!(
                format!("{err:#}").contains("injected fault"),
                "{ctx}: {err:#}"
            );
            drop(repo);
            verify(&dir, tmp.path(), &ctx);
            fs::remove_dir_all(&dir).unwrap();
        }
    }
    (writes, deletes)
}

fn run_prune(repo: &mut Repository) -> anyhow::Result<()> {
    Ok(prune(repo, &prune_opts()).map(|_| ())?)
}

#[test]
fn the_base_repository_makes_prune_delete_and_repack_over_several_index_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_of_base(tmp.path(), "plan");
    let mut repo = open(Arc::new(LocalBackend::new(&dir)));
    let dry = prune(
        &mut repo,
        &PruneOptions {
            dry_run: true,
            ..prune_opts()
        },
    )
    .unwrap();
    assert!(dry.packs_deleted > 0 && dry.packs_repacked > 0, "{dry:?}");
    assert!(dry.blobs_used > 4 * PER_FILE, "{dry:?}");
    assert!(fs::read_dir(dir.join("index")).unwrap().count() >= 4);
    let real: PruneReport = prune(&mut repo, &prune_opts()).unwrap();
    assert!(real.index_files_written > 4, "{real:?}");
    assert_eq!(
        real.packs_written, dry.packs_written,
        "dry run and real run"
    );
}

#[test]
fn prune_survives_a_failure_at_every_write_and_delete() {
    let (writes, deletes) = fail_every_operation("prune", &run_prune);
    // Two commits of several index files each, new packs, old index files and packs deleted.
    assert!(
        writes > 10 && deletes > 10,
        "{writes} writes, {deletes} deletes"
    );
}

#[test]
fn repair_index_survives_a_failure_at_every_write_and_delete() {
    let (writes, deletes) = fail_every_operation("repair index", &|repo| {
        Ok(repair_index(repo, &repair_opts()).map(|_| ())?)
    });
    assert!(
        writes > 4 && deletes >= 4,
        "{writes} writes, {deletes} deletes"
    );
}

#[test]
fn prune_on_a_full_disk_frees_unused_packs_before_it_repacks() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_of_base(tmp.path(), "full");
    // Room for index files and locks, not for one pack.
    let mut backend = Faulty::new(&dir, &DATA_TYPES);
    let full = backend.used() + 64 * 1024;
    backend.budget = Some(full);
    let backend = Arc::new(backend);
    let mut repo = open(backend.clone());
    let before = backend.used();
    let r =
        prune(&mut repo, &prune_opts()).unwrap_or_else(|e| panic!("prune on a full disk: {e:#}"));
    assert!(r.packs_deleted > 0 && r.packs_repacked > 0, "{r:?}");
    assert!(
        backend.used() + 1_000_000 < before,
        "{} bytes before, {} after",
        before,
        backend.used()
    );
    drop(repo);
    verify(&dir, tmp.path(), "after prune on a full disk");
}

#[test]
fn a_failed_snapshot_deletion_stops_forget_before_prune() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_of_base(tmp.path(), "forget");
    // The base's two kept snapshots: forget the older one, with its deletion failing.
    let (older, _) = base().kept[0];
    let mut backend = Faulty::new(&dir, &[FileType::Snapshot]);
    backend.fail_delete = Some(1);
    let mut repo = open(Arc::new(backend));
    let opts = ForgetOptions {
        ids: vec![older.to_hex()],
        ..Default::default()
    };
    let packs_before = LocalBackend::new(&dir).list(FileType::Pack).unwrap();
    let index_before = LocalBackend::new(&dir).list(FileType::Index).unwrap();
    let guard = repo.lock(LockKind::Exclusive).unwrap();
    let report = forget_locked(&repo, &guard, &opts, chrono::Utc::now()).unwrap();
    assert_eq!((report.deleted, report.failures.len()), (0, 1));
    let err = prune_after(&mut repo, &guard, &report, &prune_opts()).unwrap_err();
    drop(guard);
    assert!(format!("{err:#}").contains("prune was not run"), "{err:#}");
    assert_eq!(
        LocalBackend::new(&dir).list(FileType::Pack).unwrap(),
        packs_before
    );
    assert_eq!(
        LocalBackend::new(&dir).list(FileType::Index).unwrap(),
        index_before
    );
    assert!(LocalBackend::new(&dir)
        .stat(FileType::Snapshot, &older.to_hex())
        .unwrap()
        .is_some());

    // Once the deletion goes through, prune follows and frees the forgotten data.
    let mut repo = open(Arc::new(LocalBackend::new(&dir)));
    let guard = repo.lock(LockKind::Exclusive).unwrap();
    let report = forget_locked(&repo, &guard, &opts, chrono::Utc::now()).unwrap();
    assert_eq!((report.deleted, report.failures.len()), (1, 0));
    let pruned = prune_after(&mut repo, &guard, &report, &prune_opts()).unwrap();
    assert!(pruned.packs_deleted > 0, "{pruned:?}");
}
